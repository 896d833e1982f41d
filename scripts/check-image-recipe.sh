#!/usr/bin/env bash
# Prove the image's install recipe where no image can be built (no container daemon here):
# copy the build context the Dockerfile sees (the "!" paths of .dockerignore) into a clean
# folder, run the builder stage's scripts/install-runtime.sh there into a new virtual
# environment, then start the installed command the way the image does.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
sed -n 's/^!//p' .dockerignore | while read -r path; do
  mkdir -p "$work/src/$(dirname "$path")"
  cp -R "$path" "$work/src/$path"
done
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +

( cd "$work/src" && sh scripts/install-runtime.sh "$work/venv" "$work/src" ) >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; echo "image recipe: install failed" >&2; exit 1; }

# The runtime set only: no test or lint tool came along.
if "$work/venv/bin/python" -c "import pytest" 2>/dev/null; then
  echo "image recipe: pytest is installed in the runtime environment" >&2
  exit 1
fi
# Run from an empty folder with a clean environment, as the image's ENTRYPOINT would.
mkdir "$work/run"
cd "$work/run"
env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME="$work/run" hotfix-bot --help >/dev/null
# The migrations ship inside the package: an empty SQLite database upgrades to the head.
env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME="$work/run" \
  DATABASE_URL="sqlite:///$work/run/recipe.db" hotfix-bot db upgrade
echo "image recipe: clean install from requirements.lock OK; hotfix-bot --help and db upgrade ran"

#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml. Run it after any change to the dependencies
# (tests/test_lock.py fails while pyproject.toml and the locks disagree):
#     scripts/lock.sh            # keep current pins where pyproject still allows them
#     scripts/lock.sh --upgrade  # move every pin to the newest allowed release
#
# requirements-dev.lock: runtime + `dev` extra, what CI installs.
# requirements.lock:     runtime only, what the image installs; resolved inside the dev lock so
#                        both pin the same versions.
# Both are universal (one lock for Linux, macOS and Windows, Python >= 3.11) and carry the hash
# of every published file, so `pip install -r` runs in hash-checking mode.
set -euo pipefail
cd "$(dirname "$0")/.."

uv="${UV:-}"
if [[ -z "$uv" ]]; then
  if [[ -x .venv/bin/uv ]]; then uv=.venv/bin/uv; else uv=uv; fi
fi

common=(--quiet --universal --python-version 3.11 --generate-hashes
        --custom-compile-command scripts/lock.sh
        "$@")
# uv reads neither pip's config nor its local wheel folders: resolve against its default index
# only, so the hashes are those of the published files every machine downloads.
export UV_NO_CONFIG=1

"$uv" pip compile pyproject.toml --extra dev "${common[@]}" --output-file requirements-dev.lock
"$uv" pip compile pyproject.toml --constraint requirements-dev.lock "${common[@]}" \
  --output-file requirements.lock
echo "wrote requirements.lock and requirements-dev.lock" >&2

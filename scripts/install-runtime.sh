#!/bin/sh
# Install hotfix-bot for running (no dev tools) into a new virtual environment, from the lock.
# The Dockerfile's builder stage runs exactly this; CI runs it too in a clean folder
# (scripts/check-image-recipe.sh), so the image's recipe is proven where no image can be built.
#     scripts/install-runtime.sh VENV [SOURCE]    # SOURCE: the project folder, default "."
set -eu
venv="${1:?usage: install-runtime.sh VENV [SOURCE]}"
source_dir="${2:-.}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
# Hash-checking mode (the lock carries hashes), wheels only: no compiler is needed or used.
"$venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
  --require-hashes --only-binary=:all: -r "$source_dir/requirements.lock"
# The project itself, without touching the locked set.
"$venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
  --no-deps "$source_dir"
"$venv/bin/python" -m pip check

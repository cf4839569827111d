#!/usr/bin/env bash
# Regenerates requirements/lock.txt, the pinned and hashed set setup.sh, the Windows workflow and
# `make windows-deps` install from. One lock for Linux and Windows (uv's universal resolution,
# with environment markers where they differ), Python 3.11, the base dependencies plus the test
# and build extras of pyproject.toml (which keeps the ranges).
#
#   make lock                                        pins stay where they are; only what
#                                                    pyproject.toml's changes need moves
#   make lock LOCK_ARGS=--upgrade                    everything to the newest in range
#   make lock LOCK_ARGS="--upgrade-package fastapi"  one package (repeat the flag for more)
#
# Needs the package index. uv is used from PATH when there, otherwise installed with pip into
# .cache/lock-tool (setup.sh itself needs only pip).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=${UV_VERSION:-0.13.9}
uv=$(command -v uv || true)
if [ -z "$uv" ]; then
  tool=.cache/lock-tool
  if [ ! -x "$tool/bin/uv" ] || [ "$("$tool/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    echo "lock: installing uv $UV_VERSION into $tool"
    "${PYTHON:-python3}" -m venv "$tool"
    "$tool/bin/python" -m pip install -q "uv==$UV_VERSION"
  fi
  uv=$tool/bin/uv
fi

"$uv" pip compile pyproject.toml --extra test --extra build \
  --universal --python-version 3.11 --generate-hashes \
  --constraints requirements/constraints.txt \
  --custom-compile-command "make lock" \
  --output-file requirements/lock.txt --quiet "$@"
echo "lock: requirements/lock.txt pins $(grep -c '^[A-Za-z0-9]' requirements/lock.txt) packages" \
  "(git diff requirements/lock.txt shows what moved)"

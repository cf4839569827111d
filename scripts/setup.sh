#!/usr/bin/env bash
# Sets up everything the application and its tests need on a fresh Debian machine:
# the system libraries Qt and the forms need (when run as root), then the virtual
# environment in .venv with the project and its test extra. Safe to run again:
# it only installs what is missing or what changed in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's offscreen/xcb platforms, a CJK font for Qt and reportlab, pdftoppm for looking at forms.
debs=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
      fonts-wqy-microhei poppler-utils postgresql)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root or install them): ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,build]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

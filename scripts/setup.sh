#!/usr/bin/env bash
# Sets up everything the application and its tests need on a fresh Debian machine:
# the system libraries Qt and the forms need (when run as root), then the virtual
# environment in .venv with the project's locked dependencies (requirements/lock.txt, hashes
# checked; `make lock` regenerates it) and the project itself, editable. Safe to run again:
# it only installs what is missing or what changed in pyproject.toml or the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's offscreen and xcb platforms (the xcb ones so that `make run` opens a window on a Debian
# desktop: Qt 6.5+ needs libxcb-cursor0 and friends), a CJK font for Qt and reportlab, pdftoppm
# for looking at forms, PostgreSQL for the district's tests, Chromium and its WebDriver for the
# district console's browser tests.
debs=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
      libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
      libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
      fonts-wqy-microhei poppler-utils postgresql chromium chromium-driver)
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
lock=requirements/lock.txt
stamp=.venv/.installed-$(cat pyproject.toml "$lock" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q --require-hashes -r "$lock"
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

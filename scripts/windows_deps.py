"""`make windows-deps`: downloads every entry of requirements/lock.txt that applies on Windows
(win_amd64, CPython 3.11) as a Windows wheel, checked against the lock's hashes, into
.cache/windows-wheels. That proves the locked set installs on the hosted Windows runner without
building anything from source, before a push finds out.

The lock's environment markers are evaluated here for Windows, and the entries go to pip
without them: `pip download --platform` evaluates markers against the machine it runs on, so
it would fetch Linux-only packages (jeepney, SecretStorage) and leave out Windows-only ones
(pywin32-ctypes, pefile, colorama, tzdata).

A second run finds every wheel in the folder (by the lock's hashes) and downloads nothing.

    python scripts/windows_deps.py                 fails when the index is not reachable
    python scripts/windows_deps.py --if-reachable  says so and succeeds instead (`make test`)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
CACHE = ROOT / ".cache" / "windows-wheels"
INDEX = "https://pypi.org/simple/"

# The hosted Windows runner: actions/setup-python 3.11 on windows-latest (x64).
WINDOWS_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.9",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_python_implementation": "CPython",
    "platform_release": "10",
    "platform_system": "Windows",
    "platform_version": "10.0.20348",
    "python_full_version": "3.11.9",
    "python_version": "3.11",
    "sys_platform": "win32",
}


@dataclass(frozen=True)
class Locked:
    """One pinned entry of the lock: `name==version ; marker` and its allowed hashes."""

    name: str
    version: str
    marker: Marker | None
    hashes: frozenset[str]

    def applies(self, environment: dict[str, str] | None = None) -> bool:
        """Whether the entry is installed in `environment` (the running one when None)."""
        return self.marker is None or self.marker.evaluate(environment)

    def line(self) -> str:
        """The entry for pip, without its marker."""
        hashes = " ".join(f"--hash=sha256:{h}" for h in sorted(self.hashes))
        return f"{self.name}=={self.version} {hashes}"


def read_lock(path: Path = LOCK) -> list[Locked]:
    """The lock's entries: continuation lines joined, comments dropped."""
    entries: list[Locked] = []
    logical = ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        text = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if text.endswith("\\"):
            logical += text[:-1] + " "
            continue
        logical += text
        if logical.strip():
            entries.append(_parse(logical))
        logical = ""
    return entries


def _parse(logical: str) -> Locked:
    words = logical.split()
    hashes = frozenset(w.split(":", 1)[1] for w in words if w.startswith("--hash=sha256:"))
    others = [w for w in words if not w.startswith("--hash=")]
    if any(w.startswith("-") for w in others):
        raise ValueError(f"unexpected option in the lock: {logical!r}")
    requirement = Requirement(" ".join(others))
    pins = list(requirement.specifier)
    if len(pins) != 1 or pins[0].operator != "==":
        raise ValueError(f"not pinned with ==: {logical!r}")
    return Locked(canonicalize_name(requirement.name), pins[0].version, requirement.marker, hashes)


def for_windows(entries: list[Locked]) -> list[Locked]:
    return [e for e in entries if e.applies(WINDOWS_ENV)]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_from_cache(entries: list[Locked]) -> list[Locked]:
    """The entries with no wheel in the cache whose hash the lock allows."""
    have: dict[str, set[str]] = {}
    for wheel in CACHE.glob("*.whl") if CACHE.is_dir() else []:
        try:
            name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        except ValueError:
            continue
        have.setdefault(name, set()).add(sha256(wheel))
    return [e for e in entries if not (have.get(e.name, set()) & e.hashes)]


def index_url() -> str:
    configured = os.environ.get("PIP_INDEX_URL", "").split()
    return configured[0] if configured else INDEX


def reachable(url: str, timeout: float = 5.0) -> bool:
    if not url.startswith(("http://", "https://")):
        return True  # a local index: let pip say
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError, ValueError):
        return False


def download(entries: list[Locked]) -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "windows-requirements.txt"
        requirements.write_text("\n".join(e.line() for e in entries) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "pip", "download", "--quiet",
                   "--platform", "win_amd64", "--python-version", "3.11",
                   "--implementation", "cp", "--abi", "cp311", "--only-binary=:all:",
                   "--require-hashes", "--no-deps", "--dest", str(CACHE),
                   "-r", str(requirements)]
        return subprocess.call(command, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-reachable", action="store_true",
                        help="skip, successfully, when the package index is not reachable")
    args = parser.parse_args(argv)

    entries = for_windows(read_lock())
    missing = missing_from_cache(entries)
    if not missing:
        print(f"windows-deps: all {len(entries)} locked Windows wheels are in "
              f"{CACHE.relative_to(ROOT)}")
        return 0
    if args.if_reachable and not reachable(index_url()):
        print("windows-deps: package index not reachable, skipped")
        return 0
    print(f"windows-deps: downloading {len(missing)} of {len(entries)} locked Windows wheels "
          f"(win_amd64, CPython 3.11) into {CACHE.relative_to(ROOT)}", flush=True)
    started = time.monotonic()
    if download(missing) != 0:
        print("windows-deps: FAILED: a locked dependency has no Windows wheel that matches "
              "the lock (see pip's message above)", file=sys.stderr)
        return 1
    still = missing_from_cache(entries)
    if still:
        print("windows-deps: FAILED: no wheel with the lock's hash for: "
              + ", ".join(f"{e.name}=={e.version}" for e in still), file=sys.stderr)
        return 1
    print(f"windows-deps: all {len(entries)} locked Windows wheels downloaded "
          f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

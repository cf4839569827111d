"""requirements/lock.txt, the locked dependencies (`make lock`): hashed, within pyproject.toml's
ranges, valid for Windows as well as Linux, and what this environment has installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _windows_deps() -> ModuleType:
    """scripts/windows_deps.py, which reads the lock for `make windows-deps`."""
    path = ROOT / "scripts" / "windows_deps.py"
    spec = importlib.util.spec_from_file_location("windows_deps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("windows_deps", module)
    spec.loader.exec_module(module)
    return module


WD = _windows_deps()
ENTRIES = WD.read_lock(LOCK)
PINS = {e.name: e for e in ENTRIES}


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in [*project["dependencies"], *extras["test"], *extras["build"]]]


def test_every_pinned_line_has_a_hash() -> None:
    lines = LOCK.read_text("utf-8").splitlines()
    pinned = [i for i, line in enumerate(lines)
              if "==" in line and not line.lstrip().startswith("#")]
    assert len(pinned) == len(ENTRIES) > 50
    for i in pinned:  # the hashes are the continuation lines under the pin
        following = []
        for line in lines[i + 1:]:
            if not line.lstrip().startswith("--hash="):
                break
            following.append(line)
        assert any("--hash=sha256:" in line for line in following), lines[i]
    assert all(e.hashes for e in ENTRIES)
    assert len(PINS) == len(ENTRIES), "a package pinned twice"


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_range(requirement: Requirement) -> None:
    entry = PINS.get(canonicalize_name(requirement.name))
    assert entry is not None, f"{requirement.name} is not in the lock: run `make lock`"
    assert requirement.specifier.contains(Version(entry.version), prereleases=True), (
        f"lock pins {entry.name}=={entry.version}, outside pyproject.toml's {requirement}")


def test_the_lock_covers_windows() -> None:
    windows = {e.name for e in WD.for_windows(ENTRIES)}
    assert {"pywin32-ctypes", "pefile", "colorama"} <= windows  # keyring, PyInstaller, click
    assert not {"jeepney", "secretstorage"} & windows  # Linux's keyring only
    assert {"pyside6-essentials", "sqlcipher3", "psycopg-binary"} <= windows


def test_installed_versions_are_the_locked_ones() -> None:
    """Entries whose markers do not apply here are skipped; `make setup` reinstalls when the
    lock changes, so a difference means an environment that was not set up from it."""
    wrong = []
    for entry in ENTRIES:
        if not entry.applies():
            continue
        try:
            installed = importlib.metadata.version(entry.name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{entry.name}=={entry.version} is not installed")
            continue
        if Version(installed) != Version(entry.version):
            wrong.append(f"{entry.name}: installed {installed}, locked {entry.version}")
    assert wrong == [], "run `make setup`: " + "; ".join(wrong)

"""The PyInstaller bundle builds from build.spec, carries its data folders, and runs both ways."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.ui.calc_view import EXAMPLE_CASE

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 15 * 60
RUN_TIMEOUT_S = 120
DEMO_TIMEOUT_S = 300  # seeding and starting the district take longer than the window alone


def run(args: list[str], timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[build]')")
    out = tmp_path_factory.mktemp("bundle")
    built = run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(out / "dist"),
         "--workpath", str(out / "work"), str(ROOT / "build.spec")],
        BUILD_TIMEOUT_S,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return out / "dist" / "counter-desk"


def executable(bundle: Path) -> Path:
    return bundle / ("counter-desk.exe" if sys.platform == "win32" else "counter-desk")


def data_root(bundle: Path) -> Path:
    return bundle / "_internal"


@pytest.mark.slow
def test_bundle_carries_resources_and_forms(bundle: Path) -> None:
    assert executable(bundle).is_file()
    assert (data_root(bundle) / "resources" / "policy" / "assistance.yaml").is_file()
    assert (data_root(bundle) / "forms").is_dir()
    shipped = sorted(p.name for p in (ROOT / "resources" / "policy").glob("*.yaml"))
    bundled = sorted(p.name for p in (data_root(bundle) / "resources" / "policy").glob("*.yaml"))
    assert bundled == shipped
    migrations = data_root(bundle) / "desktop" / "store" / "migrations" / "versions"
    assert (migrations / "0001_initial_schema.py").is_file()
    # nothing the app does not use: numpy (about 42 MB) came with zxing-cpp and is not needed
    assert not [p for p in bundle.rglob("numpy*") if p.is_dir()]
    # the demo's district (run inside the counter): its migrations as files, and of Faker's
    # locales the demo's zh_CN and the fallbacks only
    district = data_root(bundle) / "district" / "migrations"
    assert (district / "env.py").is_file()
    assert (district / "versions" / "0001_district_schema.py").is_file()
    faker = data_root(bundle) / "faker" / "providers" / "person"
    assert (faker / "zh_CN" / "__init__.py").is_file()
    assert not (faker / "fr_FR").exists()


@pytest.mark.slow
def test_bundle_shows_the_window(bundle: Path, tmp_path: Path) -> None:
    shown = run([str(executable(bundle))], RUN_TIMEOUT_S,
                COUNTER_DESK_SMOKE="1", QT_QPA_PLATFORM="offscreen",
                COUNTER_DESK_SMOKE_STORE=str(tmp_path / "store.sqlite"),
                COUNTER_DESK_SMOKE_FORMS=str(tmp_path / "forms"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "counter-desk: window shown: 医疗救助柜台" in lines
    # the local store opens from the bundle: its Alembic migrations were shipped and ran
    assert "counter-desk: store ready" in lines
    # and it prints: the form definitions, the bundled font, cn2an's configuration
    assert "counter-desk: forms written: 6" in lines
    approval = (tmp_path / "forms" / "approval.pdf").read_bytes()
    assert approval.startswith(b"%PDF") and b"/FontFile2" in approval


def _processes_mentioning(text: str) -> list[int]:
    """Processes (Linux: /proc) whose command line or environment names `text`; empty where
    there is no /proc to read."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        for part in ("cmdline", "environ"):
            try:
                if text.encode() in (entry / part).read_bytes():
                    found.append(int(entry.name))
                    break
            except OSError:  # gone, or another user's
                continue
    return found


@pytest.mark.slow
def test_bundle_demo_reaches_the_main_window_and_leaves_nothing(
        bundle: Path, tmp_path: Path) -> None:
    """`counter-desk --demo` from the bundle: the district is seeded and served inside the
    counter (no Python, no `district` command beside it), the demo clerk's main window opens,
    and at exit neither the demo's folder nor a server is left."""
    temp = tmp_path / "temp"
    temp.mkdir()
    shown = run([str(executable(bundle)), "--demo"], DEMO_TIMEOUT_S,
                COUNTER_DESK_SMOKE="1", QT_QPA_PLATFORM="offscreen",
                TMPDIR=str(temp), TEMP=str(temp), TMP=str(temp),
                # a keyring that keeps nothing: the demo falls back to one in memory, and the
                # machine's own keyring is not touched
                PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
                XDG_CONFIG_HOME=str(tmp_path / "config"))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert [line for line in lines
            if line.startswith("counter-desk: window shown: 医疗救助柜台 — ")], shown.stdout
    assert "counter-desk: signed in: huayang.clerk1" in lines
    assert "counter-desk: ready" in lines
    assert "Traceback" not in shown.stderr
    assert list(temp.glob("counter-desk-demo-*")) == []
    url = re.search(r"区服务器 (http://127\.0\.0\.1:(\d+))", shown.stdout)
    assert url is not None, shown.stdout
    with socket.socket() as probe:  # nothing listens on the demo district's port any more
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", int(url.group(2)))) != 0
    assert _processes_mentioning(str(temp)) == []


@pytest.mark.slow
def test_bundle_calc_command(bundle: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(EXAMPLE_CASE, ensure_ascii=False), encoding="utf-8")
    good = run([str(executable(bundle)), "calc", str(case)], RUN_TIMEOUT_S)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["payable"] == "600.00"

    bad_case = json.loads(json.dumps(EXAMPLE_CASE))
    bad_case["fees"][0]["total"] = "900.00"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_case), encoding="utf-8")
    refused = run([str(executable(bundle)), "calc", str(bad)], RUN_TIMEOUT_S)
    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: fees[0].self_pay: ")


# -- the Windows installer's script (installer/counter-desk.iss) ---------------------------------

ISS = ROOT / "installer" / "counter-desk.iss"


def _iss_sources() -> list[str]:
    """The Source of every [Files] line that takes something from the bundle."""
    text = ISS.read_text("utf-8")
    files = text.split("[Files]", 1)[1].split("\n[", 1)[0]
    sources = []
    for line in files.splitlines():
        line = line.strip()
        if line.startswith("Source:") and "{#BundleDir}" in line:
            sources.append(line.split('"')[1].replace("{#BundleDir}\\", ""))
    return sources


@pytest.mark.slow
def test_the_installer_takes_only_what_the_bundle_has(bundle: Path) -> None:
    sources = _iss_sources()
    assert {"counter-desk.exe", "counter-desk-cli.exe", "_internal\\*"} <= set(sources)
    for source in sources:
        relative = source.removesuffix("\\*").replace("\\", "/")
        if sys.platform != "win32":  # the same programs, without the .exe, when built here
            relative = relative.removesuffix(".exe")
        assert (bundle / relative).exists(), f"{source} is not in the bundle"
    text = ISS.read_text("utf-8")
    for line in text.splitlines():  # files the script takes from the repository itself
        if line.startswith("SetupIconFile="):
            icon = line.split("=", 1)[1].replace("..\\", "").replace("\\", "/")
            assert (ROOT / icon).is_file()
    # uninstall keeps the data unless asked, and asks with "no" as the default
    assert "MB_DEFBUTTON2" in text and "usPostUninstall" in text


@pytest.mark.slow
def test_the_console_program_prints_and_the_window_program_is_beside_it(
        bundle: Path, tmp_path: Path) -> None:
    cli = bundle / ("counter-desk-cli.exe" if sys.platform == "win32" else "counter-desk-cli")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(EXAMPLE_CASE, ensure_ascii=False), encoding="utf-8")
    done = run([str(cli), "calc", str(case)], RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "payable" in json.loads(done.stdout)
    assert executable(bundle).is_file()

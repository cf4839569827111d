"""Benchmark: the counter's start, each figure beside its raw baseline in the same run (issue 13).

1. process start → sign-in window shown: `python -m desktop --exit-when-ready` against a bare
   PySide6 dialog (QApplication, a QDialog shown, nothing else), fresh processes taken in turns,
   median of --starts each; timed by this process from spawning the child to reading the line
   the child prints at its first event-loop turn after the window showed. Twice: as this machine
   runs (PYTHONDONTWRITEBYTECODE=1 here: our modules compiled at each start) and with bytecode
   cached (PYTHONPYCACHEPREFIX in a temporary folder, warmed by one start not counted).
2. sign-in → main window shown: the real path in fresh processes — the sign-in window first
   (desktop.ui.app.SignInFirst), the counter started behind it on a sealed, seeded store, a
   clerk who signed in before signs in offline; timed from the sign-in accepted (password
   checked) to the main window shown and painted. Beside it: a bare QMainWindow with five
   tabs of empty tables, shown and painted in the same process.
3. memory: RSS after that clerk opened a person with --rows fee rows (+ --settled settled),
   against the RSS of the bare dialog's process; with the RSS at each step on the way.

Prints the load average and whether bytecode was cached. Targets (issue 13): the sign-in window
≤ 2× the bare one, the main window ≤ 150 ms after sign-in, ≤ 150 MiB after opening a person.
RSS is read from /proc (Linux). Run: `.venv/bin/python bench/bench_start.py [--starts 9]
[--runs 3]` (about half a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
TARGET_RATIO = 2.0
TARGET_WINDOW_MS = 150.0
TARGET_RSS_MB = 150.0  # MiB, as VmRSS / 1024 (the "150 MB", its figures read so)
USER, PASSWORD = "bench.clerk", "bench-口令-2026"

BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog
app = QApplication(sys.argv)
dialog = QDialog()
dialog.setWindowTitle("bare")
dialog.show()
def ready():
    print("ready", flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""

BARE_RSS = BARE.replace('print("ready", flush=True)',
                        'print("RSS " + open("/proc/self/status").read().split("VmRSS:")[1]'
                        '.split()[0], flush=True)')

# The real path after the sign-in window: SignInFirst, the counter behind it, an offline
# sign-in, the main window, a person opened. Prints JSON: seconds and RSS (MiB) on the way.
SIGNED_IN = """
import json, sys, time
from pathlib import Path
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QTableView
from desktop.ui.app import SignInFirst
from desktop.ui.fonts import apply_ui_font

def rss():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024

steps = {}
app = QApplication(sys.argv)
apply_ui_font(app)
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
first = SignInFirst(app, Path(sys.argv[1]), settings=settings)
first.show()
app.processEvents()
steps["sign-in window shown"] = rss()
stamps = {}
first.dialog.accepted.connect(lambda: stamps.setdefault("accepted", time.perf_counter()))
first.start_behind()
while first.counter is None and not first.failed:
    app.processEvents()
    time.sleep(0.005)
assert first.counter is not None
counter = first.counter
steps["counter started behind it"] = rss()
first.dialog.username.setText(sys.argv[3])
first.dialog.password.setText(sys.argv[4])
first.dialog.accept()
app.processEvents()
shown = time.perf_counter()
window = counter.window
assert window is not None and window.isVisible(), first.dialog.error.text()
steps["main window shown"] = rss()
view = window.counter
view.search.setText("王秀英")
view.open_selected()
app.processEvents()
assert view.session is not None
steps["person opened"] = rss()
# the baseline, in the same process: a bare main window with five tabs of empty tables
began = time.perf_counter()
bare = QMainWindow()
tabs = QTabWidget()
for n in range(5):
    tabs.addTab(QTableView(), f"tab {n}")
bare.setCentralWidget(tabs)
bare.show()
app.processEvents()
bare_s = time.perf_counter() - began
print("RESULT " + json.dumps({"window": shown - stamps["accepted"], "bare_window": bare_s,
                              "rss": steps}), flush=True)
first.close()
"""


def say(text: str) -> None:
    print(text, flush=True)


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "?"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bytecode_note(env: dict[str, str]) -> str:
    if env.get("PYTHONPYCACHEPREFIX"):
        return "bytecode cached (PYTHONPYCACHEPREFIX, warmed by a start not counted)"
    source = ROOT / "desktop" / "ui" / "app.py"
    cached = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
    fresh = cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
    writing = "off" if env.get("PYTHONDONTWRITEBYTECODE") else "on"
    return (f"as this machine runs: bytecode writing {writing}, desktop/ui/app.py "
            f"{'has a current .pyc' if fresh else 'has no current .pyc (compiled at each start)'}")


def until_ready(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `command` to the child's line saying its window is shown."""
    began = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    elapsed = None
    for line in child.stdout:
        if "ready" in line:
            elapsed = time.perf_counter() - began
            break
    _out, err = child.communicate(timeout=60)
    if elapsed is None or child.returncode != 0:
        raise SystemExit(f"start failed ({child.returncode}): {command}\n{err}")
    return elapsed


def starts(runs: int, env: dict[str, str], folder: Path) -> tuple[list[float], list[float]]:
    """The bare dialog and the counter's sign-in window, started in turns."""
    bare_cmd = [sys.executable, "-c", BARE]
    app_cmd = [sys.executable, "-m", "desktop", "--exit-when-ready",
               "--store", str(folder / "start.sqlite")]
    if env.get("PYTHONPYCACHEPREFIX"):  # warm the cache: not counted
        until_ready(bare_cmd, env)
        until_ready(app_cmd, env)
    bare, app = [], []
    for _ in range(runs):
        bare.append(until_ready(bare_cmd, env))
        app.append(until_ready(app_cmd, env))
    return bare, app


def ratio_line(label: str, value: float, baseline: float, unit: str, target: str,
               met: bool) -> str:
    return (f"{label:44s} {value:8.1f} {unit}  baseline {baseline:8.1f} {unit}  "
            f"ratio {value / baseline:5.2f}×  ({target}: {'met' if met else 'NOT met'})")


def seed(folder: Path, rows: int, settled: int) -> tuple[Path, Path]:
    """A sealed store (its key in a file keyring) with one person's fee rows, and a clerk who
    signed in online here before (so can sign in offline)."""
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(ROOT))
    from bench_counter import seed as seed_person
    from bench_keyring import bench_key

    from desktop.services.accounts import remember_user
    from desktop.store import open_store

    path = folder / "counter.sqlite"
    key = bench_key(path)
    seed_person(path, rows, settled, key)
    with open_store(path, key=key) as store:
        remember_user(store, USER, "测试经办人", ["clerk"], PASSWORD, now=datetime.now(UTC))
    return path, folder / "bench-keyring.json"


class SignedIn(NamedTuple):
    window: float  # seconds from the sign-in accepted to the main window shown
    bare_window: float  # seconds to show the bare main window, same process
    rss: dict[str, float]  # MiB at each step, in order


def signed_in_run(path: Path, keyring_file: Path, env: dict[str, str],
                  folder: Path) -> SignedIn:
    child_env = {**env, "PYTHON_KEYRING_BACKEND": "bench_keyring.FileKeyring",
                 "BENCH_KEYRING_FILE": str(keyring_file),
                 "PYTHONPATH": os.pathsep.join(p for p in (str(BENCH), str(ROOT),
                                                           env.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", SIGNED_IN, str(path),
                           str(folder / "counter.ini"), USER, PASSWORD],
                          cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=120,
                          check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"signed-in run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("RESULT "))
    return SignedIn(float(result["window"]), float(result["bare_window"]),
                    {str(k): float(v) for k, v in result["rss"].items()})


def bare_rss(env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", BARE_RSS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RSS "))
    return int(line.split()[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=9, help="fresh starts of each (9)")
    parser.add_argument("--runs", type=int, default=3, help="signed-in processes (3)")
    parser.add_argument("--rows", type=int, default=300, help="fee rows to tick (300)")
    parser.add_argument("--settled", type=int, default=300, help="settled rows (300)")
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    say(f"start benchmark; {os.cpu_count()} CPUs, load average {load_average()} "
        "(a shared machine: other work slows every figure)")
    met = True
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        folder = Path(tmp)
        env["COUNTER_DESK_DEPLOYMENT"] = str(folder / "no-deployment.toml")
        cached = {**env, "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        say(f"1. process start → sign-in window shown, median of {args.starts} fresh processes "
            "each, in turns")
        for mode in (env, cached):
            bare, app = starts(args.starts, mode, folder)
            b, a = statistics.median(bare), statistics.median(app)
            ok = a <= TARGET_RATIO * b
            met = met and ok
            say("   " + ratio_line("sign-in window vs bare QDialog", a * 1000, b * 1000, "ms",
                                   f"≤ {TARGET_RATIO:.0f}×", ok))
            say(f"      {bytecode_note(mode)}; sign-in min {min(app) * 1000:.0f} / max "
                f"{max(app) * 1000:.0f} ms, bare min {min(bare) * 1000:.0f} / max "
                f"{max(bare) * 1000:.0f} ms; load average now {load_average()}")
        say(f"   seeding a sealed store: 1 person, {args.rows} + {args.settled} fee rows …")
        path, keyring_file = seed(folder, args.rows, args.settled)
        runs = [signed_in_run(path, keyring_file, env, folder) for _ in range(args.runs)]
        window = statistics.median(r.window for r in runs) * 1000
        bare_window = statistics.median(r.bare_window for r in runs) * 1000
        ok = window <= TARGET_WINDOW_MS
        met = met and ok
        say(f"2. sign-in accepted → main window shown, median of {args.runs} fresh processes "
            f"({bytecode_note(env)})")
        say("   " + ratio_line("main window after sign-in vs bare QMainWindow", window,
                               bare_window, "ms", f"≤ {TARGET_WINDOW_MS:.0f} ms", ok))
        bare_mb = statistics.median(bare_rss(env) for _ in range(3))
        person = statistics.median(r.rss["person opened"] for r in runs)
        ok = person <= TARGET_RSS_MB
        met = met and ok
        say(f"3. memory (RSS, MiB), median of {args.runs} processes; "
            f"{args.rows} + {args.settled} fee rows; same bytecode state as 2")
        say("   " + ratio_line("after opening a person vs bare QDialog", person, bare_mb,
                               "MiB", f"≤ {TARGET_RSS_MB:.0f} MiB", ok))
        for step in runs[0].rss:
            value = statistics.median(r.rss[step] for r in runs)
            say(f"      {step:32s} {value:7.1f} MiB")
    say(f"load average at the end {load_average()}")
    say(f"targets (issue 13): {'all met' if met else 'NOT all met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())

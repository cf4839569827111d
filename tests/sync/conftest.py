"""A real district server on 127.0.0.1, seeded with a small synthetic district."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STREET = "310105001"  # 长宁区华阳路街道
PASSWORD = "demo-pass-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DistrictServer:
    url: str
    database_url: str
    port: int
    seed: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "district", "serve", "--port", str(self.port),
             "--database-url", self.database_url],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("district server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def codes(self) -> list[str]:
        (street,) = [s for s in self.seed["streets"] if s["code"] == STREET]
        return list(street["enrolment_codes"])

    def user(self, role: str, nth: int = 0) -> str:
        return [u["username"] for u in self.seed["users"]
                if u["street_code"] == STREET and role in u["roles"]][nth]


def seed_and_serve(tmp: Path, persons: int = 40, database_url: str | None = None
                   ) -> DistrictServer:
    """A seeded district (SQLite in `tmp`, or the empty database at `database_url`), served."""
    database_url = database_url or f"sqlite:///{tmp / 'district.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-m", "district", "seed", "--persons", str(persons), "--streets", STREET,
         "--password", PASSWORD, "--database-url", database_url, "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    seed = json.loads(done.stdout[done.stdout.index("{\n"):])
    port = free_port()
    server = DistrictServer(f"http://127.0.0.1:{port}", database_url, port, seed)
    server.start()
    return server


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path)
    yield server
    server.kill()


@pytest.fixture(scope="module", name="served")
def served_district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictServer]:
    """One seeded district for a whole test module (two enrolment codes for 华阳路街道)."""
    server = seed_and_serve(tmp_path_factory.mktemp("district"), persons=10)
    yield server
    server.kill()

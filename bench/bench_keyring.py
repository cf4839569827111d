"""The benchmarks' cache keys: a keyring kept in a JSON file next to the benchmark's store.

The benchmarks open their stores sealed, as the counter does (`load_or_create_cache_key`, then
`open_store(path, key=...)`), but on a build machine there may be no OS keyring, and a store
reused across runs needs the same key each time. Their data are synthetic; a real counter's key
is only ever in the OS keyring. A child process (the start benchmark) gets the same backend with
PYTHON_KEYRING_BACKEND=bench_keyring.FileKeyring, PYTHONPATH=bench and BENCH_KEYRING_FILE.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV_FILE = "BENCH_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    priority = 0.1

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = Path(path or os.environ[ENV_FILE])

    def _read(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = self._read()
        secrets[f"{service}/{username}"] = password
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(secrets))

    def delete_password(self, service: str, username: str) -> None:
        secrets = self._read()
        if secrets.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self.path.write_text(json.dumps(secrets))


def bench_key(store_path: Path) -> bytes:
    """The store's key, from a file keyring beside it (made on first use)."""
    from desktop.sync.credentials import load_or_create_cache_key

    keyring.set_keyring(FileKeyring(store_path.parent / "bench-keyring.json"))
    return load_or_create_cache_key(store_path)

"""Settings of the district server, from the environment with command-line overrides.

Environment variables: DISTRICT_DATABASE_URL, DISTRICT_DATA_DIR, DISTRICT_HOST, DISTRICT_PORT,
DISTRICT_SESSION_HOURS, DISTRICT_OFFLINE_DAYS (how old a counter's offline work may be when it
arrives, 30 by default), DISTRICT_LOG_LEVEL, DISTRICT_LOG_FORMAT (json | text).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
DATABASE_FILE = "district.sqlite3"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    session_hours: float = 12.0
    offline_days: int = 30
    log_level: str = "INFO"
    log_format: str = "json"

    def with_overrides(self, **values: Any) -> Settings:
        """These settings with every value that is not None replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def data_dir(environ: Mapping[str, str]) -> Path:
    """Where the embedded SQLite database lives unless a database URL is given."""
    configured = environ.get("DISTRICT_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(platformdirs.user_data_dir("counter-desk-district", appauthor=False))


def default_database_url(environ: Mapping[str, str]) -> str:
    return f"sqlite:///{data_dir(environ) / DATABASE_FILE}"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if environ is None else environ
    settings = Settings(
        database_url=env.get("DISTRICT_DATABASE_URL") or default_database_url(env),
        host=env.get("DISTRICT_HOST", DEFAULT_HOST),
        port=_number(env, "DISTRICT_PORT", DEFAULT_PORT, int),
        session_hours=_number(env, "DISTRICT_SESSION_HOURS", 12.0, float),
        offline_days=_number(env, "DISTRICT_OFFLINE_DAYS", 30, int),
        log_level=env.get("DISTRICT_LOG_LEVEL", "INFO").upper(),
        log_format=env.get("DISTRICT_LOG_FORMAT", "json"),
    ).with_overrides(**overrides)
    if settings.log_format not in ("json", "text"):
        raise SettingsError(
            f"DISTRICT_LOG_FORMAT must be json or text, not {settings.log_format!r}")
    if not 0 < settings.port < 65536:
        raise SettingsError(f"port must be 1–65535, not {settings.port}")
    if not 1 <= settings.offline_days <= 366:
        raise SettingsError("DISTRICT_OFFLINE_DAYS must be 1–366")
    if settings.session_hours <= 0:
        raise SettingsError("DISTRICT_SESSION_HOURS must be positive")
    return settings


def _number(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None

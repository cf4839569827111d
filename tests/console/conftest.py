"""Fixtures for the district console: a seeded district (SQLite, in this process) and browsers
of it through Starlette's TestClient over https (the session cookie is `Secure`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from district.app import create_app
from district.config import Settings
from district.db import Database
from district.seed import SeedOptions, SeedReport, seed_district
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@dataclass
class ConsoleDistrict:
    db: Database
    settings: Settings
    report: SeedReport

    def user(self, street_code: str | None, suffix: str, district: str = "changning") -> str:
        if street_code is None:
            return f"{district}.{suffix}"
        for user in self.report.users:
            if user.street_code == street_code and user.username.endswith("." + suffix):
                return user.username
        raise LookupError(f"no seeded {suffix} at {street_code}")

    def add_user(self, role: str, street_code: str | None = None, *,
                 username: str | None = None, display_name: str = "控制台用户",
                 password: str = PASSWORD) -> str:
        """A new user made in the database (the console itself gives street users counter
        roles only); returns the user name, a fresh one unless `username` is given."""
        from district import models
        from district.security import hash_password

        name = username or f"t{uuid.uuid4().hex[:8]}.{role}"
        with self.db.write() as session:
            user = models.User(username=name, display_name=display_name,
                               password_hash=hash_password(password), street_code=street_code,
                               district="changning", active=True, failed_logins=0,
                               must_change_password=False)
            session.add(user)
            session.flush()
            session.add(models.UserRole(user_id=user.id, role=role))
        return name

    def browser(self) -> Browser:
        return Browser(TestClient(create_app(self.settings, self.db),
                                  base_url="https://testserver", follow_redirects=False))


class Browser:
    """One browser: its cookie jar, and the CSRF token of the last page it read."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **kwargs)  # type: ignore[arg-type]
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True,
             **kwargs: object):  # type: ignore[no-untyped-def]
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=form, **kwargs)  # type: ignore[arg-type]

    def sign_in(self, username: str, password: str = PASSWORD) -> Browser:
        response = self.post("/console/login", {"username": username, "password": password},
                             csrf=False)
        assert response.status_code == 303, response.text
        self.get(response.headers["location"].removeprefix("https://testserver"))
        return self


@pytest.fixture(scope="session")
def console_district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleDistrict]:
    folder: Path = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(url)
    report = seed_district(db, SeedOptions(persons=60, password=PASSWORD,
                                           streets=[CHANGNING_STREET, MINHANG_STREET]))
    try:
        yield ConsoleDistrict(db, Settings(database_url=url), report)
    finally:
        db.dispose()


@pytest.fixture
def browser(console_district: ConsoleDistrict) -> Browser:
    return console_district.browser()


@pytest.fixture
def admin(console_district: ConsoleDistrict) -> Browser:
    """The Changning district administrator, signed in."""
    return console_district.browser().sign_in(console_district.user(None, "admin"))

"""人员 in a real browser (issue 14): headless Chromium against a real district server on
127.0.0.1 — add a clerk, reset their password, deactivate them and see their next push refused,
with the counter's side spoken over the wire as a counter does."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desktop import wire
from tests.console.chrome import chrome, shoot  # noqa: F401  (the fixture)
from tests.console.test_browser import Page, wait_for
from tests.district.harness import CHANGNING_STREET, ServerProcess, audit_event, seed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    folder = Path(tempfile.mkdtemp(prefix="console-people-"))
    url = f"sqlite:///{folder / 'district.sqlite'}"
    report = seed(url, persons=10, streets=[CHANGNING_STREET], codes=1)
    process = ServerProcess(url, folder / "server.log")
    process.start()
    try:
        yield process, report
    finally:
        process.stop()


class WireCounter:
    """A registered counter PC, as the wire sees it."""

    def __init__(self, base_url: str, code: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        r = self.http.post("/devices/register", json={"enrolment_code": code,
                                                      "device_name": "人员测试柜台"},
                           headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
        assert r.status_code == 201, r.text
        self.token = r.json()["token"]
        self.session = ""

    def call(self, path: str, body: dict[str, Any] | str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}",
                   wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION),
                   "Content-Type": "application/json"}
        if self.session:
            headers["X-Session-Token"] = self.session
        content = body if isinstance(body, str) else httpx.Request(
            "POST", "/", json=body).content.decode()
        r = self.http.post(path, content=content, headers=headers)
        if r.status_code == 200 and "session_token" in r.json():
            self.session = r.json()["session_token"]
        return r

    def push(self, actor: str) -> httpx.Response:
        return self.call("/push", wire.Push(items=[audit_event(actor, 1)]).model_dump_json())


def test_add_reset_and_deactivate_a_clerk_in_the_browser(
        server: tuple[ServerProcess, dict[str, Any]], chrome: Any) -> None:  # noqa: F811
    process, report = server
    page = Page(chrome, f"http://127.0.0.1:{process.port}")
    page.sign_in("changning.admin")
    wait_for(lambda: page.path == "/console/", what=f"the home page, not {page.path}")
    page.open(f"/console/people?street={CHANGNING_STREET}")
    page.click("new-user")
    page.fill("username", "huayang.newclerk")
    page.fill("display_name", "新来的经办人")
    page.choose("street_code", CHANGNING_STREET)
    if not page.el("role-clerk").is_selected():
        page.click("role-clerk")
    shoot(chrome, "people-add")
    page.click("add-user-submit")
    first = wait_for(lambda: page.text("one-time-password"), what="the one-time password")
    assert "请当面交给本人，首次登录须修改" in page.body
    shoot(chrome, "people-one-time-password")

    (street,) = [s for s in report["streets"] if s["code"] == CHANGNING_STREET]
    counter = WireCounter(process.base_url, street["enrolment_codes"][0])
    logged = counter.call("/login", {"username": "huayang.newclerk", "password": first})
    assert logged.json()["must_change_password"] is True
    assert counter.push("huayang.newclerk").json()["code"] == "password_change_required"
    assert counter.call("/password", {"current_password": first,
                                      "new_password": "clerk-own-2026"}).status_code == 200
    assert counter.push("huayang.newclerk").status_code == 200

    page.open("/console/people/huayang.newclerk")
    page.click("reset-huayang.newclerk")
    second = wait_for(lambda: page.text("one-time-password"), what="the new password")
    assert second != first
    refused = counter.push("huayang.newclerk")
    assert refused.status_code == 401
    assert counter.call("/login", {"username": "huayang.newclerk",
                                   "password": second}).json()["must_change_password"] is True
    counter.call("/password", {"current_password": second, "new_password": "clerk-own-2027"})
    assert counter.push("huayang.newclerk").status_code == 200

    page.open("/console/people/huayang.newclerk")
    page.click("deactivate-huayang.newclerk")
    page.click("confirm")
    page.click("confirm-deactivate")
    wait_for(lambda: page.path.startswith("/console/people?") and "账号已停用" in page.body,
             what="the list after deactivating")
    assert "inactive" in (page.el("person-huayang.newclerk").get_attribute("class") or "")
    shoot(chrome, "people")
    refused = counter.push("huayang.newclerk")
    assert refused.status_code == 401 and refused.json()["code"] == "session_invalid"
    again = counter.call("/login", {"username": "huayang.newclerk",
                                    "password": "clerk-own-2027"})
    assert again.status_code == 401

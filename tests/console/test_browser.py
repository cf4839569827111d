"""The district console in a real browser (issue 14): Debian's headless Chromium, driven through
chromedriver, against a real district server on 127.0.0.1 — a district's day, from sign-in to
the month's money. The counters in it are the counter's own code paths (registration, sign-in,
sync, the calculation), never mocks.

With CONSOLE_SCREENSHOTS=1 the test also writes the README's screenshots into docs/console/.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import desktop.services.reports as counter_reports
from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result
from desktop.services.device import ServerSettings, district_client, register_counter
from desktop.store import open_store
from desktop.sync.worker import SyncWorker
from tests.console.chrome import chrome, shoot  # noqa: F401  (the fixture)
from tests.district.harness import (
    CHANGNING_STREET,
    PASSWORD,
    Counter,
    ServerProcess,
    claimable_rows,
    fresh_recipients,
    seed,
    shanghai_today,
)

pytestmark = pytest.mark.slow

ADMIN = "changning.admin"


@dataclass
class Live:
    server: ServerProcess
    report: dict[str, Any]
    folder: Path
    used: set[str] = field(default_factory=set)  # persons a test has applied for

    def report_code(self) -> str:
        street = next(s for s in self.report["streets"] if s["code"] == CHANGNING_STREET)
        codes: list[str] = street["enrolment_codes"]
        return codes.pop()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def user(self, suffix: str) -> str:
        return next(u["username"] for u in self.report["users"]
                    if u["username"].endswith("." + suffix)
                    and u.get("street_code") == CHANGNING_STREET)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    folder = Path(tempfile.mkdtemp(prefix="console-browser-"))
    url = f"sqlite:///{folder / 'district.sqlite'}"
    report = seed(url, persons=60, streets=[CHANGNING_STREET], codes=2)
    server = ServerProcess(url, folder / "server.log")
    server.start()
    try:
        yield Live(server, report, folder)
    finally:
        server.stop()


def wait_for(check: Callable[[], Any], seconds: float = 30, what: str = "") -> Any:
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
        except WebDriverException:  # not there yet, or the page refreshed under the check
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what or check}")
        time.sleep(0.2)


def _gone(element: Any) -> bool:
    """Whether the page `element` belonged to has been replaced. chromedriver says so either
    as a stale element or, when the node left while it looked, as an inspector error."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


class Page:
    """The browser, in the words of the console's pages (their stable ids)."""

    def __init__(self, driver: Any, root: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver = driver
        self.root = root
        self.by = By

    def open(self, path: str) -> None:
        self.driver.get(self.root + path)

    def el(self, element_id: str) -> Any:
        return self.driver.find_element(self.by.ID, element_id)

    def named(self, name: str) -> Any:
        return self.driver.find_element(self.by.NAME, name)

    def text(self, element_id: str) -> str:
        return str(self.el(element_id).text)

    def fill(self, element_id: str, value: str) -> None:
        field = self.el(element_id)
        field.clear()
        field.send_keys(value)

    def choose(self, element_id: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.el(element_id)).select_by_value(value)

    def click(self, element_id: str) -> None:
        """Click; for anything but a checkbox, wait until the next page has replaced this one
        (a form's answer, a link's page): the next step reads the new page, not the old."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        element = self.el(element_id)
        if element.get_attribute("type") in ("checkbox", "radio") or element.get_attribute(
                "download") is not None:  # a download leaves the page where it is
            element.click()
            return
        before = self.driver.find_element(self.by.TAG_NAME, "html")
        try:
            element.click()
        except WebDriverException as exc:
            # chromedriver may report the clicked node gone when the form's answer replaced
            # the page within the click itself: the navigation happened, which is the point
            if "does not belong to the document" not in str(exc):
                raise
        WebDriverWait(self.driver, 30).until(lambda _driver: _gone(before))

    @property
    def body(self) -> str:
        return str(self.driver.find_element(self.by.TAG_NAME, "body").text)

    @property
    def path(self) -> str:
        return str(self.driver.current_url).removeprefix(self.root)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.open("/console/login")
        self.fill("username", username)
        self.fill("password", password)
        self.click("sign-in")


def test_a_district_day_in_the_console(live: Live, chrome: Any,  # noqa: F811
                                       memory_keyring: Any) -> None:
    page = Page(chrome, live.root)

    # -- sign in -------------------------------------------------------------------------------
    page.open("/console/")
    assert page.path == "/console/login"
    shoot(chrome, "login")
    page.sign_in(ADMIN)
    assert page.path == "/console/"
    cookie = chrome.get_cookie("console_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    shoot(chrome, "home")

    # -- a PC: a one-time code issued here, used by the counter's own registration ---------
    page.open("/console/devices")
    page.choose("code-street", CHANGNING_STREET)
    page.fill("code-hours", "24")
    page.click("issue-code-submit")
    code = page.text("enrolment-code").strip()
    assert code
    shoot(chrome, "devices-code")
    registered = register_counter(ServerSettings(live.root), code, "浏览器测试柜台")
    assert registered.street_code == CHANGNING_STREET
    page.open("/console/devices")
    assert page.el(f"device-{registered.device_id}")
    shoot(chrome, "devices")

    # -- data: a fee file with one bad row, refused with its reason, nothing written -------
    page.open("/console/data")
    bad = live.folder / "fees-bad.csv"
    bad.write_bytes(_fee_file_with_a_bad_row(live))
    page.choose("kind", "fees")
    page.el("file").send_keys(str(bad))
    page.click("upload-submit")
    wait_for(lambda: page.el("status").get_attribute("data-status") == "previewed",
             what=f"the preview, on {page.path}: {page.body[:300]}")
    rejections = page.text("rejections")
    assert "自负金额" in rejections
    assert not page.driver.find_elements(page.by.ID, "run-import")
    shoot(chrome, "data-preview")

    # -- the month: the district's workbook says what the counter's own report says --------
    # This month, a counter of the street makes and has approved two applications (the
    # district checks each push and signature), and the real counter code pulls them.
    month = _approve_two_applications(live)
    with open_store(live.folder / "counter.sqlite") as store:
        client = district_client(ServerSettings(live.root), store=store)
        sign_in(store, client, live.user("clerk1"), PASSWORD)
        status = SyncWorker(store, client, on_result=record_push_result).sync_now()
        assert status.online and status.last_error is None, status
        year, mon = (int(part) for part in month.split("-"))
        counter = counter_reports.monthly_summary(store, street_code=CHANGNING_STREET,
                                                  year=year, month=mon)
        client.close()
    assert counter.applications == 2 and counter.total > 0
    page.open(f"/console/month?month={month}")
    shoot(chrome, "month")
    before = set(chrome.downloads.iterdir())
    page.click("download-xlsx")
    book_path = wait_for(lambda: [p for p in chrome.downloads.iterdir()
                                  if p not in before and p.suffix == ".xlsx"],
                         what="the month's xlsx")[0]
    book = openpyxl.load_workbook(book_path)
    streets = {str(row[1]): (int(row[2]), Decimal(str(row[4])).quantize(Decimal("0.01")))
               for row in book["区汇总"].iter_rows(min_row=4, values_only=True)
               if row[1] and str(row[1]).isdigit()}
    assert streets[CHANGNING_STREET] == (counter.applications, counter.total)

    # -- the audit: everything above is in the district's chain, and the chain holds ---------
    page.open(f"/console/audit?user={ADMIN}")
    assert "完整" in page.text("chain-status")
    events = page.text("audit-events")
    assert "console.sign_in" in events or "登录" in events
    shoot(chrome, "audit")


def _approve_two_applications(live: Live) -> str:
    """Two applications of this month, pushed, reviewed and approved through the API as a
    counter does; the month (Shanghai) they count in."""
    counter = Counter.register(live.server.base_url, live.report_code(), "审批用柜台")
    try:
        counter.login(live.user("clerk1"))
        counter.pull()
        for _ in range(2):
            person = next(p for p in fresh_recipients(counter) if claimable_rows(counter, p)
                          and p not in live.used)
            live.used.add(person)
            item = counter.application(person, claimable_rows(counter, person))
            assert counter.push_one(item).status == "accepted"
            counter.pull()
            application = str(item.payload["application_id"])
            for role in ("reviewer", "approver"):
                assert counter.push_one(counter.signature(
                    application, role, live.user(role))).status == "accepted"
    finally:
        counter.close()
    return shanghai_today().strftime("%Y-%m")


def _fee_file_with_a_bad_row(live: Live) -> bytes:
    """Three fee rows of seeded persons, the second with an amount that is not one."""
    import sqlite3

    from district.imports.files import FEE_HEADER

    db = sqlite3.connect(live.folder / "district.sqlite")
    people = db.execute(  # the admin's district's: an upload touches no other
        "SELECT p.id_number, p.name FROM persons p JOIN streets s ON s.code = p.street_code "
        "WHERE s.district = 'changning' ORDER BY p.id LIMIT 3").fetchall()
    hospital = db.execute("SELECT code, name, level FROM institutions "
                          "WHERE in_shanghai LIMIT 1").fetchone()
    db.close()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FEE_HEADER)
    for i, (number, name) in enumerate(people):
        row = {h: "" for h in FEE_HEADER}
        row.update(_fee_cells(number, name, hospital, i))
        if i == 1:
            row["自负金额"] = "三十元"
        writer.writerow([row[h] for h in FEE_HEADER])
    return out.getvalue().encode("utf-8")


def _fee_cells(number: str, name: str, hospital: tuple[str, str, int], i: int
               ) -> dict[str, str]:
    from datetime import date, timedelta

    from district.imports.files import FEE_HEADER, fee_cells

    cells = fee_cells({
        "institution_code": hospital[0], "hospital_level": hospital[2],
        "receipt_no": f"BR{int(time.time())}{i:03d}", "issuer_code": None, "check_code": None,
        "receipt_qr": None, "receipt_date": date.today() - timedelta(days=10 + i),
        "kind": "outpatient", "total_fen": 100_00 + i, "out_of_scope_fen": 10_00,
        "self_pay_fen": 30_00, "deductible_part_fen": 0, "external_deductible_fen": 0,
        "external_reimbursed_fen": 0, "out_of_province_filed": False, "one_stop_settled": False,
        "already_claimed": False, "clearing_pending": False, "major_illness": False,
        "major_illness_doc": False, "means_test_included": False}, (number, name),
        (hospital[1], True))
    return dict(zip(FEE_HEADER, cells, strict=True))

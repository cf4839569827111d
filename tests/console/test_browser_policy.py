"""政策参数 in a real browser (issue 14 "Done when": publish a value and see a counter's calc
change for a later fee date): Debian's headless Chromium against a real district server on
127.0.0.1; the counter is the counter's own code (registration, sign-in, pull, CounterSession).

The admin picks the category rate a person's later fee row is computed with, enters a lower
value from that row's date with its source, reads the preview (validation, the open applications
it affects), confirms; the counter pulls and quotes the later row lower, the earlier one as
before. A value the rules refuse comes back on the form with its field named.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.services.accounts import sign_in
from tests.console.chrome import chrome, shoot  # noqa: F401  (the fixture)
from tests.console.test_browser import Page, wait_for
from tests.e2e.test_clerks_morning import registered_desk
from tests.e2e.test_policy_values import choose, quote_one
from tests.sync.conftest import PASSWORD, DistrictServer, seed_and_serve

pytestmark = pytest.mark.slow


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path, persons=40)
    yield server
    server.kill()


def test_a_value_published_in_the_browser_changes_a_counters_later_fees(
        district: DistrictServer, chrome: Any, memory_keyring: Any,  # noqa: F811
        tmp_path: Path) -> None:
    desk = registered_desk(district, tmp_path, "华阳路 4号窗口")
    store, worker = desk.store, desk.worker
    clerk = district.user("clerk")
    sign_in(store, desk.client, clerk, PASSWORD)
    assert worker.sync_now().online
    pair = choose(store, clerk)
    early_before, _ = quote_one(store, pair.person_id, clerk, pair.early)
    late_before, _ = quote_one(store, pair.person_id, clerk, pair.late)
    key = sorted(pair.rate_keys)[0]

    page = Page(chrome, district.url)
    page.sign_in("changning.admin", PASSWORD)
    page.open("/console/policy")
    assert page.el(f"value-{key}")
    # a value the rules refuse: back on the form, the field named, nothing published
    page.choose("publish-key", key)
    page.fill("publish-value", "1.5")
    page.fill("publish-effective-from", pair.late_date.isoformat())
    page.fill("publish-source", "CN-2026 3.3")
    page.click("preview-publish")
    assert "0 到 1 之间的比例" in wait_for(lambda: page.text("error-value"), what="the refusal")
    assert "未发布：数值" in page.body
    # the value itself
    page.choose("publish-key", key)
    page.fill("publish-value", "0.10")
    page.fill("publish-effective-from", pair.late_date.isoformat())
    page.fill("publish-source", "CN-2026 3.3")
    if not page.el("publish-assumption").is_selected():
        page.click("publish-assumption")
    shoot(chrome, "policy-form")
    page.click("preview-publish")
    assert "校验通过" in wait_for(lambda: page.text("validation-result"), what="the preview")
    assert page.text("affected-count").isdigit()
    assert page.text("preview-value") == "10%"  # a rate, as people read it
    shoot(chrome, "policy-preview")
    page.click("confirm-publish")
    wait_for(lambda: "notice=published" in page.path, what="the published notice")
    assert page.path == "/console/policy?notice=published"
    assert "新值已发布" in page.body
    page.open(f"/console/policy/history?key={key}")
    assert "政策未明确，按本区口径" in page.text("history")
    # who published it, by name (the login is the name's tooltip)
    publisher = page.driver.find_element(page.by.CSS_SELECTOR, '#history span[title]')
    assert publisher.get_attribute("title") == "changning.admin" and publisher.text
    shoot(chrome, "policy-history")

    assert worker.sync_now().online
    early_after, _ = quote_one(store, pair.person_id, clerk, pair.early)
    late_after, used = quote_one(store, pair.person_id, clerk, pair.late)
    assert early_after == early_before
    assert late_after < late_before and used[key] == "0.10"

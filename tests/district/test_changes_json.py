"""The change page the route sends (each change's data copied as its stored JSON text) is the
page changes_page builds and page_json writes, for every protocol served, on both back ends."""

from __future__ import annotations

import json

import pytest

from desktop import wire
from district.db import Database
from district.services.changes import changes_page, changes_page_json, page_json
from tests.district.conftest import SeededDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET


@pytest.mark.parametrize("protocol", [wire.OLDEST_PROTOCOL, wire.PROTOCOL_VERSION])
def test_the_page_sent_is_the_page_built(district: SeededDistrict, protocol: int) -> None:
    db = Database(district.server.database_url)
    try:
        with db.read() as session:
            for street in (CHANGNING_STREET, MINHANG_STREET):
                for size, count in ((1, True), (37, False), (5000, True)):
                    cursor, pages = 0, 0
                    while pages < 20:
                        sent = changes_page_json(session, street, cursor, size, count=count,
                                                 protocol=protocol)
                        built = changes_page(session, street, cursor, size, count=count,
                                             protocol=protocol)
                        assert json.loads(sent) == json.loads(page_json(built, protocol))
                        page = wire.ChangesPage.model_validate_json(sent)
                        cursor, pages = page.next_cursor, pages + 1
                        if not page.more:
                            break
    finally:
        db.dispose()

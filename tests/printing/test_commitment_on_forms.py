"""The 免申即享 commitment printed on the forms (issue 15 point 2): the 申请表 and the 审批表 say
since when the person consented, and when the consent was revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from desktop.printing.forms import load_form
from desktop.printing.jobs import document_pdf
from desktop.services.commitments import commitment_state, revoke_commitment
from desktop.services.counter import CounterSession
from desktop.store import Store
from tests.printing.test_forms import (  # noqa: F401  (store: the forms' fixture)
    CONTEXT,
    SECRET,
    TODAY,
    pages,
    store,
    text_in,
)
from tests.services.test_counter import P


def _auto_saved(opened: Store) -> uuid.UUID:
    counter = CounterSession(opened, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick_all(["F00"])
    return counter.submit(auto_enrolled=True, bank_account="6222021234567890128",
                          now=datetime(2026, 6, 10, 2, tzinfo=UTC)).application_id


def test_the_forms_print_the_commitment_given_then_revoked(store: Store) -> None:  # noqa: F811
    application_id = _auto_saved(store)
    application = load_form("changning_application")
    approval = load_form("approval")

    def printed() -> tuple[str, str, str]:
        first = pages(document_pdf(store, application_id, "application", context=CONTEXT))[0]
        second = pages(document_pdf(store, application_id, "approval", context=CONTEXT))[0]
        return (text_in(first, application.element("auto_enrolled").box),
                text_in(first, application.element("commitment").box),
                text_in(second, approval.element("auto_enrolled").box))

    ticked, line, flag = printed()
    assert "√是" in ticked
    assert "已签署承诺，自2026-06-10起" in line
    assert flag.replace("免申即享", "") == "是（承诺自2026-06-10起）"
    state = commitment_state(store, P, "assistance")
    assert state is not None
    revoke_commitment(store, state.id, username="zhao", password=SECRET, reason="本人撤销",
                      now=datetime(2026, 6, 20, 2, tzinfo=UTC))
    _ticked, line, flag = printed()
    assert "已于2026-06-20撤销" in line
    assert flag.replace("免申即享", "") == "是（承诺已于2026-06-20撤销）"

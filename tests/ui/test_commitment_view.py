"""The person's 免申即享 commitment in the counter view (issue 15 point 2): since when it was
given, the revoke button while it is live, and once revoked, when and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.services.counter import CounterSession
from desktop.store import Store, open_store
from desktop.ui.counter_view import CounterView
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "counter.sqlite")
    fill(opened, [row("F1", "2026-04-08", "1000.00")])
    remember_with_key(opened, "li", "李经办", ["clerk"], "pw-li-synthetic")
    counter = CounterSession(opened, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick("F1")
    counter.submit(auto_enrolled=True, now=datetime(2026, 6, 10, 2, tzinfo=UTC))
    return opened


def test_the_commitment_is_shown_and_revoked_in_the_person_s_view(qtbot: QtBot,
                                                                  store: Store) -> None:
    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    assert view.open_person(P)
    assert view.commitment_label.text() == "已承诺免申即享（自 2026-06-10 起）（待上传）"
    assert not view.revoke_button.isHidden()
    view.revoke_button.click()
    dialog = view.revoke_dialog
    assert dialog is not None and dialog.username.text() == "li"
    dialog.password.setText("pw-li-synthetic")
    dialog.reason.setPlainText("本人书面申请撤销")
    dialog.accept()
    assert view.commitment_label.text().startswith("免申即享已撤销（")
    assert "原因：本人书面申请撤销" in view.commitment_label.text()
    assert view.revoke_button.isHidden()
    assert "已撤销免申即享" in view.error.text()

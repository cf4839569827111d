"""After an administrator reset a clerk's password, the counter's sign-in window has them choose
their own before anything else, against a real district server (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop.services.accounts import SignedIn, sign_in, verify_password
from desktop.store import Store, open_store
from desktop.store.models import AuditEventRecord
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring, load_device_token, save_device_token
from desktop.ui.login import LoginDialog
from desktop.ui.password_change import NewPasswordDialog
from district.db import Database
from district.services import staff_admin
from district.values import utcnow
from tests.sync.conftest import PASSWORD, DistrictServer

NEW = "my-own-pass-2026"


@pytest.fixture
def counter(district: DistrictServer, tmp_path: Path, memory_keyring: MemoryKeyring
            ) -> Iterator[tuple[Store, DistrictClient]]:
    client = DistrictClient(district.url)
    registered = client.register(district.codes()[0], "改密测试柜台")
    save_device_token(district.url, registered.token, "pwd")
    client.close()
    client = DistrictClient(district.url, lambda: load_device_token(district.url, "pwd"))
    store = open_store(tmp_path / "counter.sqlite")
    yield store, client
    client.close()
    store.close()


def _reset(district: DistrictServer, username: str) -> str:
    """The console's reset, on the server's database: a one-time password."""
    db = Database(district.database_url)
    try:
        with db.write() as session:
            _, one_time = staff_admin.reset_password(session, district="changning",
                                                     username=username, now=utcnow())
    finally:
        db.dispose()
    return one_time


def _dialog(qtbot: QtBot, store: Store, client: DistrictClient) -> LoginDialog[SignedIn]:
    dialog: LoginDialog[SignedIn] = LoginDialog(lambda u, p: sign_in(store, client, u, p))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _answer(dialog: LoginDialog[SignedIn], steps: list[tuple[str, str] | None],
            seen: list[str]) -> None:
    """When the new-password dialog opens, type each pair and press OK (None: 返回登录),
    noting the error shown after each."""

    def step() -> None:
        ask: NewPasswordDialog | None = getattr(dialog, "password_dialog", None)
        if ask is None or not ask.isVisible():
            QTimer.singleShot(20, step)
            return
        intro = ask.findChild(QLabel, "newPasswordIntro")
        seen.append(intro.text() if intro is not None else "")
        for pair in steps:
            if pair is None:
                ask.reject()
                return
            ask.first.setText(pair[0])
            ask.again.setText(pair[1])
            ask.accept()
            seen.append(ask.error.text())
            if not ask.isVisible():
                return

    QTimer.singleShot(0, step)


def test_a_reset_clerk_chooses_a_new_password_and_the_verifier_holds_it(
        qtbot: QtBot, district: DistrictServer, counter: tuple[Store, DistrictClient]) -> None:
    store, client = counter
    clerk = district.user("clerk")
    one_time = _reset(district, clerk)
    dialog = _dialog(qtbot, store, client)
    dialog.username.setText(clerk)
    dialog.password.setText(one_time)
    seen: list[str] = []
    _answer(dialog, [("short-1", "short-1"), (NEW, NEW + "x"), (one_time, one_time),
                     (NEW, NEW)], seen)
    dialog.accept()
    intro, *errors = seen
    assert "请先设置您自己的新密码" in intro and "至少 10 个字符" in intro
    assert errors[:3] == ["新密码至少 10 个字符。", "两次输入的新密码不一致。",
                          "新密码不能与当前密码相同。"]
    assert dialog.result() == LoginDialog.DialogCode.Accepted
    assert isinstance(dialog.user, SignedIn) and not dialog.user.offline
    assert dialog.user.username == clerk and dialog.user.signer is not None
    # the verifier holds the new password, never the one-time one nor the old one
    assert verify_password(store, clerk, NEW)
    assert not verify_password(store, clerk, one_time)
    assert not verify_password(store, clerk, PASSWORD)
    with store.read_session() as session:
        actions = [e.action for e in session.query(AuditEventRecord).filter(
            AuditEventRecord.actor == clerk)]
    assert "user.password_change_required" in actions and "user.password_changed" in actions
    # offline, the new password opens the counter too
    assert sign_in(store, None, clerk, NEW).offline


def test_the_new_password_cannot_be_skipped(
        qtbot: QtBot, district: DistrictServer, counter: tuple[Store, DistrictClient]) -> None:
    store, client = counter
    clerk = district.user("clerk", 1)
    one_time = _reset(district, clerk)
    dialog = _dialog(qtbot, store, client)
    dialog.username.setText(clerk)
    dialog.password.setText(one_time)
    seen: list[str] = []
    _answer(dialog, [None], seen)
    dialog.accept()
    assert dialog.user is None and dialog.isVisible()
    assert dialog.error.text() == "须先设置新密码才能登录。"
    assert not verify_password(store, clerk, one_time)
    # the one-time password still only leads to the new-password dialog
    dialog.password.setText(one_time)
    _answer(dialog, [(NEW, NEW)], seen)
    dialog.accept()
    assert isinstance(dialog.user, SignedIn) and verify_password(store, clerk, NEW)

"""Users' signing keys at the counter (desktop.services.signing): made and registered at an
online sign-in, sealed by the password, opened by the one derivation that checks it, and the only
way a user signs here."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from desktop.domain import signing as acts
from desktop.services import signing
from desktop.services.accounts import new_verifier, open_verifier, remember_user, sign_in
from desktop.services.approvals import ApprovalRefused, sign
from desktop.store import Store, open_store
from desktop.store.models import SigningKeyRecord
from desktop.sync.client import DistrictClient
from tests.sync.conftest import PASSWORD, DistrictServer, free_port, seed_and_serve

SECRET = "pass-2026-synthetic"
_CODES = itertools.count()  # each test's counter uses up its own enrolment code


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictServer]:
    running = seed_and_serve(tmp_path_factory.mktemp("district"), persons=5)
    yield running
    running.kill()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "counter.sqlite") as opened:
        yield opened


@pytest.fixture
def online(server: DistrictServer) -> Iterator[DistrictClient]:
    with DistrictClient(server.url) as client:
        token = client.register(server.codes()[next(_CODES)], "keys").token
    with DistrictClient(server.url, lambda: token) as client:
        yield client


def keys(store: Store) -> list[SigningKeyRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(SigningKeyRecord).order_by(
            SigningKeyRecord.created_at)))


def test_a_sealed_key_opens_only_with_its_verifiers_password() -> None:
    verifier, opened = new_verifier(SECRET)
    private = acts.new_private_key()
    sealed = signing.seal(private, opened)
    assert SECRET not in sealed
    again = open_verifier(verifier, SECRET)
    assert again is not None and again == opened  # the same derivation, from the password
    key = signing.unseal(sealed, again)
    assert key is not None and acts.public_key_b64(key) == acts.public_key_b64(private)
    assert open_verifier(verifier, SECRET + "x") is None
    _, other = new_verifier(SECRET)  # the same password under another verifier (salt)
    assert signing.unseal(sealed, other) is None
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert signing.unseal(tampered, opened) is None


def test_online_sign_in_registers_one_key_and_keeps_it(store: Store, server: DistrictServer,
                                                       online: DistrictClient) -> None:
    reviewer = server.user("reviewer")
    first = sign_in(store, online, reviewer, PASSWORD)
    assert first.signer is not None
    (record,) = keys(store)
    assert record.registered_at is not None and record.device_id == first.signer.device_id
    sealed_before = record.sealed_private_key
    second = sign_in(store, online, reviewer, PASSWORD)  # a new verifier: the key is resealed
    (again,) = keys(store)
    assert second.signer is not None and second.signer.key_id == first.signer.key_id
    assert again.sealed_private_key != sealed_before
    offline = sign_in(store, None, reviewer, PASSWORD)
    assert offline.offline and offline.signer is not None
    assert offline.signer.key_id == first.signer.key_id
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            registered = connection.execute(text(
                "SELECT k.key_id, k.device_id FROM signing_keys k JOIN users u "
                "ON u.id = k.user_id WHERE u.username = :u"), {"u": reviewer}).all()
    finally:
        engine.dispose()
    assert (first.signer.key_id, first.signer.device_id) in [tuple(r) for r in registered]


def test_a_key_the_district_revoked_is_replaced_at_the_next_online_sign_in(
        store: Store, server: DistrictServer, online: DistrictClient) -> None:
    approver = server.user("approver")
    first = sign_in(store, online, approver, PASSWORD)
    assert first.signer is not None
    engine = create_engine(server.database_url)
    try:
        with engine.begin() as connection:  # the district's step when a password changes
            connection.execute(text(
                "UPDATE signing_keys SET revoked_at = :t, revoked_reason = 'password_changed' "
                "WHERE key_id = :k"), {"t": datetime.now(UTC).replace(tzinfo=None),
                                       "k": first.signer.key_id})
    finally:
        engine.dispose()
    second = sign_in(store, online, approver, PASSWORD)
    assert second.signer is not None and second.signer.key_id != first.signer.key_id
    old, new = keys(store)
    assert old.revoked_at is not None and new.revoked_at is None


def test_without_a_district_the_new_key_waits_and_nobody_signs_with_it(
        store: Store, server: DistrictServer) -> None:
    """An online sign-in whose key registration fails (the district went away in between)
    leaves a key that proves nothing yet: signing with it is refused here, said in words."""
    remember_user(store, "wang", "王审批", ["approver"], SECRET)
    with DistrictClient(f"http://127.0.0.1:{free_port()}", lambda: "t", timeout=2) as gone:
        with store.read_session() as session:
            from desktop.store.models import UserRecord

            verifier = session.get_one(UserRecord, "wang").password_verifier
        opened = open_verifier(verifier, SECRET)
        assert opened is not None
        assert signing.ensure_signing_key(store, gone, "wang", opened) is None
    (record,) = keys(store)
    assert record.registered_at is None
    with pytest.raises(signing.SigningUnavailable) as refused:
        signing.unlock(store, "wang", SECRET)
    assert "尚未在区里登记" in refused.value.message
    with pytest.raises(signing.SigningUnavailable) as wrong:
        signing.unlock(store, "wang", SECRET + "x")
    assert wrong.value.reason == "password"


def test_a_user_who_never_signed_in_online_here_cannot_sign(store: Store) -> None:
    """A user row with a verifier but no key (made up, or from before keys existed) signs
    nothing at this counter."""
    remember_user(store, "zhao", "赵审核", ["reviewer"], SECRET)
    with pytest.raises(ApprovalRefused) as refused:
        sign(store, uuid.uuid4(), role="reviewer", username="zhao", password=SECRET)
    assert refused.value.rule == "no_key"
    assert "不能在本机签名" in refused.value.message

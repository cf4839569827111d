"""Users as an online sign-in leaves them at a counter, with their signing key, for tests that run
without a district: `remember_with_key` is `remember_user` plus the key pair the sign-in would have
made and registered (the registration is taken as done, since no district verifies here). Tests
against a real district sign in through it instead, which registers the key there."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from desktop import wire
from desktop.domain import signing as acts
from desktop.services import signing
from desktop.services.accounts import open_verifier, remember_user
from desktop.store import Store
from desktop.store.models import ApplicationRecord, SigningKeyRecord, UserRecord

TEST_DEVICE = "00000000-0000-4000-8000-000000000001"


def remember_with_key(store: Store, username: str, display_name: str, roles: Iterable[str],
                      password: str, *, now: datetime | None = None,
                      device_id: str = TEST_DEVICE) -> signing.Signer:
    now = now or datetime.now(UTC)
    remember_user(store, username, display_name, roles, password, now=now)
    return give_key(store, username, password, now=now, device_id=device_id)


def give_key(store: Store, username: str, password: str, *, now: datetime | None = None,
             device_id: str = TEST_DEVICE) -> signing.Signer:
    """A sealed key for `username`, marked registered, and opened as a sign-in would."""
    now = now or datetime.now(UTC)
    with store.read_session() as session:
        user = session.get(UserRecord, username)
        verifier = None if user is None else user.password_verifier
    opened = open_verifier(verifier, password)
    assert opened is not None, f"{username} has no verifier of this password here"
    private = acts.new_private_key()
    record = signing.key_record(username, private, opened, now, registered_at=now,
                                device_id=device_id)
    with store.session() as session:
        session.add(record)
    signer = signing.Signer(username, record.key_id, device_id, private)
    signing.remember(signer)
    return signer


def proves(store: Store, username: str, proof: wire.Proof, act: acts.SignedAct) -> bool:
    """Whether `proof` is `username`'s key at this store signing exactly `act`."""
    with store.read_session() as session:
        key = session.get(SigningKeyRecord, proof.key_id)
    return key is not None and key.username == username and acts.verify(
        key.public_key, act, proof.signature)


def case_of(store: Store, application_id: uuid.UUID) -> dict[str, Any]:
    with store.read_session() as session:
        return dict(session.get_one(ApplicationRecord, application_id).case or {})


def payable_of(store: Store, application_id: uuid.UUID) -> Decimal:
    with store.read_session() as session:
        return session.get_one(ApplicationRecord, application_id).payable


def open_signer(username: str, device_id: str = TEST_DEVICE) -> signing.Signer:
    """An open key for a 经办人 signed in at a counter no district checks (service tests that
    save without a sign-in): nothing is stored, the key only signs what the handler saves."""
    private = acts.new_private_key()
    signer = signing.Signer(username, acts.key_id_of(acts.public_key_b64(private)), device_id,
                            private)
    signing.remember(signer)
    return signer

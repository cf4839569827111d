"""POST /signing-keys: the signed-in user registers their public signing key for this PC."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.exc import IntegrityError

from desktop import wire
from desktop.wire import ErrorBody
from district.api.deps import DbDep, SessionDep, require_session
from district.api.errors import ApiError
from district.services.signing_keys import KeyRefused, register_key
from district.values import utcnow

router = APIRouter(tags=["login"], dependencies=[Depends(require_session)])


@router.post("/signing-keys", response_model=wire.SigningKeyRegistered, responses={
    409: {"model": ErrorBody, "description": "the key is revoked, or another user's or PC's"}})
def register_signing_key(body: wire.RegisterSigningKey, identity: SessionDep,
                         db: DbDep) -> wire.SigningKeyRegistered:
    for attempt in range(2):  # the same key sent twice at once: the second reads the first
        try:
            with db.write() as session:
                return register_key(session, identity.user, identity.device.id,
                                    body.public_key, utcnow())
        except KeyRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")

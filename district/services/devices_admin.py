"""The district's counter PCs (柜台电脑), as the console manages them (issue 14).

- Every registered PC of the streets a console user sees: its number and name, when it was
  registered, its last contact with the district, the program version and the outbox items it
  reported waiting (district.app records these from its own requests), and, for a revoked one,
  who revoked it, when and why.
- A one-time enrolment code for a street, with an expiry (72 hours unless said otherwise); the
  code is returned once and only its hash is kept (district.security.enrolment_code_hash).
- The codes still outstanding (issued, not used, not expired): when, by whom, until when; never
  the code itself.
- Revoking a PC, with a reason: its next request is refused as `device_revoked`
  (district.api.deps), its clerks' sessions on it end, and the signing keys registered on it
  are revoked, so a stolen PC's keys prove nothing from then on.

Every change is in the district's audit chain, in the transaction that makes it. No FastAPI
here: the console (district.console.devices) turns DeviceAdminError into a page.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from district import models
from district.security import enrolment_code_hash, new_enrolment_code
from district.services.audit import record_console_event

DEFAULT_CODE_HOURS = 72
MAX_CODE_HOURS = 30 * 24
# a PC not heard from for longer than this is flagged in the list
STALE_AFTER = timedelta(days=3)
REASON_MAX = 200  # devices.revoked_reason
KEY_REASON = "device_revoked"  # signing_keys.revoked_reason of the keys on a revoked PC


class DeviceAdminError(ValueError):
    """A request the console must refuse: the field it is about and a Chinese message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class DeviceNotFound(LookupError):
    """No such PC in the streets the user sees (not told apart from none at all)."""


@dataclass(frozen=True)
class DeviceRow:
    id: str
    name: str
    number: int | None
    street_code: str
    street_name: str
    registered_at: datetime
    last_seen_at: datetime | None
    app_version: str | None
    waiting_items: int | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def stale(self, now: datetime) -> bool:
        """In use and not heard from (or never, since registration) for over STALE_AFTER."""
        if self.revoked:
            return False
        return (self.last_seen_at or self.registered_at) < now - STALE_AFTER


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, never stored
    code_id: int
    street_code: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class OutstandingCode:
    code_id: int
    street_code: str
    created_at: datetime
    expires_at: datetime | None
    issued_by: str | None


@dataclass(frozen=True)
class Revoked:
    device: DeviceRow
    sessions_ended: int
    keys_revoked: int


def _row(device: models.Device, street: models.Street) -> DeviceRow:
    return DeviceRow(device.id, device.name, device.number, device.street_code, street.name,
                     device.registered_at, device.last_seen_at, device.app_version,
                     device.waiting_items, device.revoked_at, device.revoked_by,
                     device.revoked_reason)


def list_devices(session: Session, street_codes: Collection[str]) -> list[DeviceRow]:
    """The PCs of these streets, by street and number; revoked ones too (they say so)."""
    if not street_codes:
        return []
    rows = session.execute(
        select(models.Device, models.Street)
        .join(models.Street, models.Street.code == models.Device.street_code)
        .where(models.Device.street_code.in_(list(street_codes)))
        .order_by(models.Device.street_code, models.Device.number, models.Device.registered_at))
    return [_row(device, street) for device, street in rows]


def find_device(session: Session, device_id: str, street_codes: Collection[str]
                ) -> DeviceRow:
    """One PC of these streets, or DeviceNotFound."""
    row = session.execute(
        select(models.Device, models.Street)
        .join(models.Street, models.Street.code == models.Device.street_code)
        .where(models.Device.id == device_id)).first()
    if row is None or row[0].street_code not in street_codes:
        raise DeviceNotFound(device_id)
    return _row(row[0], row[1])


def check_hours(text: str | int) -> int:
    """The validity of a new code, in whole hours: 1 to MAX_CODE_HOURS."""
    try:
        hours = int(str(text).strip())
    except ValueError:
        raise DeviceAdminError("hours", "有效期应为整数小时。") from None
    if not 1 <= hours <= MAX_CODE_HOURS:
        raise DeviceAdminError("hours", f"有效期应在 1 至 {MAX_CODE_HOURS} 小时之间。")
    return hours


def issue_code(session: Session, street_code: str, hours: int, actor: str, now: datetime
               ) -> IssuedCode:
    """A one-time enrolment code for a street (the caller checked the user may act there),
    valid `hours`; only its hash is stored. Audited."""
    hours = check_hours(hours)
    if session.get(models.Street, street_code) is None:
        raise DeviceAdminError("street_code", "没有这个街镇。")
    code = new_enrolment_code()
    expires = now + timedelta(hours=hours)
    row = models.EnrolmentCode(code_hash=enrolment_code_hash(code), street_code=street_code,
                               created_at=now, expires_at=expires, issued_by=actor)
    session.add(row)
    session.flush()
    record_console_event(session, actor, "device.enrolment_code_issued",
                         f"enrolment_code:{row.id}",
                         {"street_code": street_code, "hours": hours,
                          "expires_at": expires.isoformat()}, now, street_code)
    return IssuedCode(code, row.id, street_code, now, expires)


def outstanding_codes(session: Session, street_codes: Collection[str], now: datetime
                      ) -> list[OutstandingCode]:
    """The codes of these streets not yet used and not expired, newest first."""
    if not street_codes:
        return []
    query = (select(models.EnrolmentCode)
             .where(models.EnrolmentCode.street_code.in_(list(street_codes)),
                    models.EnrolmentCode.used_at.is_(None),
                    (models.EnrolmentCode.expires_at.is_(None))
                    | (models.EnrolmentCode.expires_at > now))
             .order_by(models.EnrolmentCode.created_at.desc(), models.EnrolmentCode.id.desc()))
    return [OutstandingCode(c.id, c.street_code, c.created_at, c.expires_at, c.issued_by)
            for c in session.scalars(query)]


def revoke_device(session: Session, device_id: str, street_codes: Collection[str],
                  reason: str, actor: str, now: datetime) -> Revoked:
    """Revoke a PC of these streets: refused from its next request on, its sessions ended, the
    signing keys registered on it revoked. The reason is required. Audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise DeviceAdminError("reason", "请填写停用原因（例如：电脑丢失、报废、更换）。")
    if len(reason) > REASON_MAX:
        raise DeviceAdminError("reason", f"停用原因最多 {REASON_MAX} 个字。")
    find_device(session, device_id, street_codes)  # DeviceNotFound outside the user's streets
    device = session.get_one(models.Device, device_id, with_for_update=True)
    if device.revoked_at is not None:
        raise DeviceAdminError("device", "这台电脑已经停用。")
    device.revoked_at = now
    device.revoked_by = actor
    device.revoked_reason = reason
    sessions = session.execute(delete(models.LoginSession)
                               .where(models.LoginSession.device_id == device_id))
    keys = session.execute(
        update(models.SigningKey)
        .where(models.SigningKey.device_id == device_id, models.SigningKey.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=KEY_REASON))
    ended = int(sessions.rowcount)  # type: ignore[attr-defined]
    revoked_keys = int(keys.rowcount)  # type: ignore[attr-defined]
    session.flush()
    record_console_event(session, actor, "device.revoked", f"device:{device_id}",
                         {"name": device.name, "number": device.number, "reason": reason,
                          "sessions_ended": ended, "keys_revoked": revoked_keys},
                         now, device.street_code)
    return Revoked(find_device(session, device_id, street_codes), ended, revoked_keys)


def count_in_use(session: Session, street_codes: Collection[str]) -> int:
    """PCs not revoked in these streets."""
    if not street_codes:
        return 0
    return session.scalar(select(func.count()).select_from(models.Device).where(
        models.Device.street_code.in_(list(street_codes)),
        models.Device.revoked_at.is_(None))) or 0

"""The human application number (申请编号) a counter gives an application when it is saved.

`华阳-2026-03-0042`: the street's short name, the year of the application's date, this PC's
number within its street (the district gives it at registration: wire.DeviceRegistered
.device_number) and this PC's sequence in that year (desktop.domain.streets). Nothing needs
the network: the district numbers the PCs of a street, each PC numbers its own applications.

The registration's street name and device number are kept in the counter store (local_state),
written by `remember_registration` after the PC registers. The sequence of each year is kept
there too, and moved on in the transaction that saves the application: a crash or a refusal
before the commit undoes both, so a number is given to exactly one saved application.

A PC registered with a server from before numbers (no device number) asks the district for
its number after each online sign-in until it has one (`learn_device_number`, GET /devices/me);
until then it numbers nothing: its applications have `number` None, and screens and forms show
`display_number`, the first eight characters of the application's id, as before.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.streets import NUMBER, application_number
from desktop.store import Store
from desktop.store.local_state import set_state_value, state_value
from desktop.store.models import ApplicationRecord
from desktop.sync.client import DistrictClient, Offline, ServerRefused

DEVICE_NUMBER = "device_number"  # this PC's number within its street, from the registration
STREET_NAME = "street_name"  # the street's full name (华阳路街道), from the registration
_SEQUENCE = "application_sequence:{year}"  # the last sequence given in that year


def remember_registration(store: Store, street_name: str, device_number: int | None) -> None:
    """Keep what numbering needs from this PC's registration (desktop.services.device
    .Registration): its street's name and its number there (None: a server before numbers)."""
    with store.session() as session:
        set_state_value(session, STREET_NAME, street_name)
        if device_number is not None:
            set_state_value(session, DEVICE_NUMBER, str(device_number))


def learn_device_number(store: Store, client: DistrictClient) -> int | None:
    """This PC's number, asked of the district when the store has none (a PC registered with a
    server from before numbers). None when the district cannot say: offline, a server without
    GET /devices/me, or a PC it never numbered. Never raises for the district's answer."""
    with store.read_session() as session:
        known = device_number(session)
    if known is not None:
        return known
    try:
        info = client.device_info()
    except (Offline, ServerRefused):
        return None
    if info.device_number is None or info.device_number < 1:
        return None
    remember_registration(store, info.street_name, info.device_number)
    return info.device_number


def device_number(session: Session) -> int | None:
    value = state_value(session, DEVICE_NUMBER)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def next_number(session: Session, year: int) -> str | None:
    """The next number of `year` at this PC, taken in the session's transaction (it is given
    for good when the transaction commits); None when this PC has no device number.

    The sequence never goes below a number this PC already gave in the store: a store whose
    kept sequence is behind its applications (a hand-edited row) does not repeat one."""
    number = device_number(session)
    street = state_value(session, STREET_NAME)
    if number is None or number < 1 or not street:
        return None
    key = _SEQUENCE.format(year=year)
    kept = state_value(session, key)
    last = int(kept) if kept is not None and kept.isdigit() else 0
    prefix = application_number(street, year, number, 1).rsplit("-", 1)[0] + "-"
    for given in session.scalars(select(ApplicationRecord.number).where(
            ApplicationRecord.number.startswith(prefix, autoescape=True))):
        match = NUMBER.match(given or "")
        if match is not None:
            last = max(last, int(match["sequence"]))
    set_state_value(session, key, str(last + 1))
    return application_number(street, year, number, last + 1)


def display_number(number: str | None, application_id: uuid.UUID | str) -> str:
    """What screens and forms print as the 申请编号: the number, or (an application of a PC
    without a device number) the first eight characters of its id."""
    return number if number else str(application_id)[:8]

"""The policy values this counter pulled from the district (ParameterVersionRecord), read back
as PublishedValues, and the parameters the engine computes with: the shipped files plus these
(M18: a new value reaches every counter without reinstalling).

The parameters are built again only when the pulled rows differ from the last build's: reading
the rows (a few hundred) is cheap, building the merged parameters and losing their lookup caches
is not something to do on every quote.
"""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.policy.parameters import (
    PolicyParameters,
    PublishedValue,
    default_parameters,
    with_published,
)
from desktop.store.models import ParameterVersionRecord

_lock = threading.Lock()
_last: tuple[tuple[PublishedValue, ...], PolicyParameters] | None = None


def pulled_values(session: Session) -> tuple[PublishedValue, ...]:
    return tuple(PublishedValue(r.key, r.effective_from, r.value, r.source, bool(r.assumption))
                 for r in session.scalars(select(ParameterVersionRecord).order_by(
                     ParameterVersionRecord.key, ParameterVersionRecord.effective_from)))


def pulled_parameters(session: Session) -> PolicyParameters:
    """The shipped parameters with the values pulled from the district."""
    global _last
    values = pulled_values(session)
    with _lock:
        if _last is not None and _last[0] == values:
            return _last[1]
    parameters = with_published(default_parameters(), values)
    with _lock:
        _last = (values, parameters)
    return parameters

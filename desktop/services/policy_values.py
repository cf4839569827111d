"""The parameters a counter computes with: the shipped files plus the dated values the district
published and this counter pulled (desktop.store.parameter_values; M18: a new value reaches
every counter without reinstalling). Each value counts for fee dates from its effective_from:
the engine picks values by fee date, so a fee before it keeps the old value.

Every place that computes at the counter takes them from here: the counter (CounterSession),
saving an application, the monthly run and the 计算器 tab; the district recomputes a pushed
application with the same values (district.services.parameters.current_parameters).
"""

from __future__ import annotations

from desktop.policy.parameters import PolicyParameters
from desktop.store.database import Store
from desktop.store.parameter_values import pulled_parameters


def current_parameters(store: Store) -> PolicyParameters:
    """The shipped parameters with the values pulled from the district (cached until a pull
    changes them)."""
    with store.read_session() as session:
        return pulled_parameters(session)

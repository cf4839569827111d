"""Every shipped parameter has a name in the office's words (the console's policy page, the
forms' parameter versions): none falls back to the generic "政策参数"."""

from __future__ import annotations

from desktop.policy.contract import default_parameters
from desktop.policy.sources import parameter_name


def test_every_shipped_parameter_has_its_own_name() -> None:
    parameters = default_parameters()
    labels = {code: c.label for code, c in parameters.categories.items()}
    unnamed = sorted({f"{v.file}:{v.key}" for v in parameters.all_values()
                      if parameter_name(v.key, labels)[0] == "政策参数"})
    assert unnamed == []

"""The caveats a clerk must read next to an amount computed from the parameters (POLICY.md §4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from desktop.policy.model import Warning
from desktop.policy.parameters import ParameterValue


def parameter_warnings(values: Iterable[ParameterValue], on: date) -> list[Warning]:
    """Assumed values (e.g. D1) and sources whose validity ended before `on` (D5), once each."""
    values = list(values)
    out: list[Warning] = []
    seen: set[str] = set()
    for entry in values:
        if entry.assumption and entry.source not in seen:
            seen.add(entry.source)
            out.append(Warning(
                "assumption",
                f"参数 {entry.key} 是政策文件未明确时的假定值（{entry.source}），"
                "请以正式文件为准。"))
    expired: set[str] = set()
    for entry in values:
        if entry.expired_on(on) and entry.effective_to is not None:
            label = entry.source.split(" ")[0]
            if label not in expired:
                expired.add(label)
                out.append(Warning(
                    "expired_source",
                    f"{label} 已于 {entry.effective_to.isoformat()} 到期，按 POLICY D5 继续执行，"
                    "直至载入新的政策参数。"))
    return out

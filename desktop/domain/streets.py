"""Street short names and the human application number (申请编号), pure.

An application's number is `<short name>-<year>-<device>-<sequence>`, e.g. `华阳-2026-03-0042`:
the street's short name, the application's year (of its 申请日期), the counter PC's number
within its street (given by the district at registration, two digits) and the PC's own
sequence in that year (four digits; a PC past 9999 in a year goes on with five). Every part is
known at the counter, so numbers are unique district-wide without the network: the district
numbers the PCs of a street, each PC numbers its own applications.

Both the counter (which makes numbers) and the district (which checks them) use this module.
"""

from __future__ import annotations

import re

# A short name that would be another's (虹桥街道 and 虹桥镇 both give 虹桥) keeps its kind.
_OVERRIDES = {"虹桥镇": "虹桥镇"}
# longest first: 华阳路街道 → 华阳, not 华阳路
_SUFFIXES = ("路街道", "街道", "镇", "乡")

NUMBER = re.compile(r"^(?P<street>[^-\s]+)-(?P<year>[0-9]{4})-(?P<device>[0-9]{2,})"
                    r"-(?P<sequence>[0-9]{4,})$")
MAX_NUMBER_LENGTH = 32  # the column at the counter and at the district


def street_short_name(name: str) -> str:
    """华阳路街道 → 华阳, 江苏路街道 → 江苏, 新泾镇 → 新泾, 虹桥街道 → 虹桥, 虹桥镇 → 虹桥镇."""
    name = name.strip()
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def application_number(street_name: str, year: int, device_number: int, sequence: int) -> str:
    """The number of the `sequence`-th application of `year` at PC `device_number`."""
    if device_number < 1 or sequence < 1 or not 1000 <= year <= 9999:
        raise ValueError(f"no application number for device {device_number}, "
                         f"sequence {sequence}, year {year}")
    return f"{street_short_name(street_name)}-{year:04d}-{device_number:02d}-{sequence:04d}"


def number_problem(number: str, street_name: str, year: int, device_number: int | None
                   ) -> str | None:
    """Why `number` is not a number this PC (`device_number` of the street `street_name`) may
    give an application of `year`, in Chinese; None when it is."""
    match = NUMBER.match(number)
    if match is None or len(number) > MAX_NUMBER_LENGTH:
        return f"申请编号 {number} 格式不对（应形如 华阳-2026-03-0042）。"
    sequence = int(match["sequence"])
    if sequence < 1 or device_number is None or device_number < 1:
        return f"申请编号 {number} 不是本柜台可以使用的编号。"
    expected_street = street_short_name(street_name)
    if match["street"] != expected_street:
        return f"申请编号 {number} 的街镇简称应为“{expected_street}”。"
    if int(match["year"]) != year:
        return f"申请编号 {number} 的年份应为申请日期的年份 {year}。"
    if match["device"] != f"{device_number:02d}":
        return f"申请编号 {number} 的柜台号应为本柜台的 {device_number:02d}。"
    if number != application_number(street_name, year, device_number, sequence):
        return f"申请编号 {number} 格式不对（应形如 华阳-2026-03-0042）。"
    return None


# The district whose rules apply, from the county part (first 6 digits) of the street code.
DISTRICT_OF_COUNTY = {"310105": "changning", "310112": "minhang"}


def district_of(street_code: str) -> str:
    """The rules' district of a street ("shanghai": the city's, where no district has its
    own)."""
    return DISTRICT_OF_COUNTY.get(street_code[:6], "shanghai")

"""Qt item models over what the services return: they show, they do not compute.

Amounts arrive as Decimals and are only formatted here (`format_amount`); which rows can be
ticked, and why not, comes from the counter session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from desktop.services.counter import FeeRowView, format_amount
from desktop.store.search import PersonHit

Index = QModelIndex | QPersistentModelIndex
_GREY = QBrush(QColor("#808080"))
MATCH_LABELS = {
    "id_exact": "身份证号", "id_suffix": "身份证尾号", "name_exact": "姓名",
    "name_prefix": "姓名", "pinyin_prefix": "拼音", "initials_prefix": "拼音首字母",
    "name_contains": "姓名", "phone": "电话",
}


class _Table(QAbstractTableModel):
    """A flat table with fixed column headings; subclasses say how many rows and what data."""

    COLUMNS: tuple[str, ...] = ()

    def _count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class PersonResultsModel(_Table):
    COLUMNS = ("姓名", "身份证号", "电话", "居委", "匹配")
    ELASTIC = (0, 3)  # 姓名 and 居委 may be long: the view elides them, the tooltip is whole

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[PersonHit] = []

    def set_hits(self, hits: Sequence[PersonHit]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def _count(self) -> int:
        return len(self.hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (hit.name, hit.masked_id_number, hit.phone_masked or "", hit.committee or "",
                    MATCH_LABELS.get(hit.match_kind.value, ""))[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return hit.person_id
        return None


class FeeRowsModel(_Table):
    """The person's fee rows; column 0 is the tick box (checkable only for rows that count)."""

    COLUMNS = ("勾选", "日期", "医疗机构", "级别", "类别", "总金额", "自费", "自负",
               "票据号码", "不能计入的原因")
    ELASTIC = (2, 9)  # 医疗机构 and the reason share the width left; elided, whole as tooltip
    LEVELS: ClassVar[dict[int, str]] = {1: "一级", 2: "二级", 3: "三级"}

    def __init__(self, on_tick: Callable[[str, bool], bool]) -> None:
        """`on_tick(row_id, on)` asks the session; it returns False when it refused."""
        super().__init__()
        self.rows: list[FeeRowView] = []
        self.ticked: set[str] = set()
        self._position: dict[str, int] = {}
        self._on_tick = on_tick

    def set_rows(self, rows: Sequence[FeeRowView], ticked: Sequence[str] = ()) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._position = {row.id: n for n, row in enumerate(self.rows)}
        self.ticked = set(ticked)
        self.endResetModel()

    def set_ticked(self, ticked: Sequence[str]) -> None:
        """Only the rows whose tick changed are repainted (and filtered again by the proxy):
        a tick is one row, not the whole table."""
        changed = self.ticked.symmetric_difference(ticked)
        self.ticked = set(ticked)
        rows = sorted(self._position[i] for i in changed if i in self._position)
        # many at once (Ctrl+A, a cleared person): one span instead of a signal a row
        spans = [(rows[0], rows[-1])] if len(rows) > 32 else [(n, n) for n in rows]
        for first, last in spans:
            self.dataChanged.emit(self.index(first, 0), self.index(last, 0),
                                  [Qt.ItemDataRole.CheckStateRole])

    def row_index(self, row_id: str) -> int:
        return self._position.get(row_id, -1)

    def _count(self) -> int:
        return len(self.rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self.rows[index.row()].tickable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return (Qt.CheckState.Checked if row.id in self.ticked
                    else Qt.CheckState.Unchecked)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:  # why not tickable; 医疗机构: its whole name too
            why = row.reason or row.waived_by or ""
            return f"{row.institution}\n{why}".strip() if column == 2 else why
        if role == Qt.ItemDataRole.ForegroundRole and not row.tickable:
            return _GREY
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role == Qt.ItemDataRole.UserRole + 1:  # for the filters
            return (row.date.year, row.kind)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == 0:
            state = "已勾选" if row.id in self.ticked else "未勾选"
            amount = format_amount(row.self_pay)
            why = f"，{row.reason}" if row.reason else ""
            return f"{row.date.isoformat()} {row.kind_label} 自负 {amount} 元 {state}{why}"
        return None

    def _text(self, row: FeeRowView, column: int) -> str:
        if column == 0:
            return ""
        values = (
            "", row.date.isoformat(), row.institution, self.LEVELS.get(row.hospital_level, ""),
            row.kind_label, format_amount(row.total), format_amount(row.out_of_scope),
            format_amount(row.self_pay), row.receipt_no, row.reason or row.waived_by or "")
        return values[column]

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        row = self.rows[index.row()]
        on = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) \
            else value
        return self._on_tick(row.id, on)


class FeeRowsFilter(QSortFilterProxyModel):
    """Filters by year and kind (None: all)."""

    def __init__(self) -> None:
        super().__init__()
        self.year: int | None = None
        self.kind: str | None = None

    def set_filter(self, year: int | None, kind: str | None) -> None:
        if not hasattr(self, "beginFilterChange"):  # Qt before 6.9
            self.year, self.kind = year, kind
            self.invalidateRowsFilter()
            return
        self.beginFilterChange()
        self.year, self.kind = year, kind
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        year, kind = model.index(source_row, 0, source_parent).data(Qt.ItemDataRole.UserRole + 1)
        return (self.year is None or year == self.year) and (self.kind is None
                                                             or kind == self.kind)


class RowsTableModel(_Table):
    """A read-only table of text rows (queues, buckets, pending scans)."""

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__()
        self.COLUMNS = tuple(columns)
        self.rows: list[tuple[str, ...]] = []
        self.keys: list[Any] = []

    def set_rows(self, rows: Sequence[tuple[str, ...]], keys: Sequence[Any] = ()) -> None:
        self.beginResetModel()
        self.rows = [tuple(r) for r in rows]
        self.keys = list(keys) or [None] * len(self.rows)
        self.endResetModel()

    def _count(self) -> int:
        return len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.rows[index.row()][index.column()]  # the tip: all of an elided text
        if role == Qt.ItemDataRole.UserRole:
            return self.keys[index.row()]
        return None

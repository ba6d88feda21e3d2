"""What every vendor cell parser returns, and the MNC-width correction the driver applies.

Vendor dumps print the MNC as the firmware likes (Fibocom prints MNC ``01`` as ``1``), so
the width of an MNC taken from a dump is not evidence. The width comes from ``+COPS``
numeric (5 or 6 digits) or the SIM (EF_AD); :func:`fix_mnc_width` re-renders a cell's
MNC with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from modem.errors import ParseError
from modem.models import Cell, NeighbourCell, ServingCell

__all__ = [
    "CellReport",
    "as_neighbour",
    "as_serving",
    "fix_mnc_width",
    "fix_report_mnc_width",
    "require_report",
]

CellT = TypeVar("CellT", bound=Cell)


@dataclass(frozen=True, slots=True)
class CellReport:
    """The serving cell (if the module reported one) and its neighbours.

    Attributes:
        serving: the cell the module is camped on, or None (searching, no service).
        neighbours: neighbour cells in the order the module printed them.
    """

    serving: ServingCell | None = None
    neighbours: tuple[NeighbourCell, ...] = ()


def fix_mnc_width(cell: CellT, operator_or_imsi_mnc_len: int | None) -> CellT:
    """Return ``cell`` with its MNC rendered with the known width (2 or 3 digits).

    ``"1"`` becomes ``"01"`` with width 2 and ``"001"`` with width 3; ``"001"`` becomes
    ``"01"`` with width 2. An MNC whose value does not fit the width (``"260"`` with width
    2) is left as printed, since it then contradicts the width rather than lacking one.

    Args:
        cell: a serving or neighbour cell.
        operator_or_imsi_mnc_len: 2 or 3, from ``+COPS`` numeric or EF_AD; None leaves
            the cell unchanged.

    Raises:
        ValueError: the width is not 2, 3 or None.
    """
    if operator_or_imsi_mnc_len is None or cell.mnc is None:
        return cell
    if operator_or_imsi_mnc_len not in (2, 3):
        raise ValueError(f"MNC width must be 2 or 3, not {operator_or_imsi_mnc_len}")
    significant = cell.mnc.lstrip("0") or "0"
    if len(significant) > operator_or_imsi_mnc_len:
        return cell
    fixed = significant.zfill(operator_or_imsi_mnc_len)
    if fixed == cell.mnc:
        return cell
    return dataclasses.replace(cell, mnc=fixed)


def fix_report_mnc_width(report: CellReport, operator_or_imsi_mnc_len: int | None) -> CellReport:
    """Apply :func:`fix_mnc_width` to the serving cell and every neighbour of a report."""
    serving = (
        None if report.serving is None else fix_mnc_width(report.serving, operator_or_imsi_mnc_len)
    )
    neighbours = tuple(fix_mnc_width(n, operator_or_imsi_mnc_len) for n in report.neighbours)
    return CellReport(serving=serving, neighbours=neighbours)


def require_report(report: CellReport, seen: bool, what: str, text: str) -> CellReport:
    """Return ``report`` when the command's prefix was seen, else raise ``ParseError``."""
    if not seen:
        raise ParseError(f"no {what} line in the answer", text)
    return report


def _cell_values(cell: Cell) -> dict[str, Any]:
    return {f.name: getattr(cell, f.name) for f in dataclasses.fields(Cell)}


def as_serving(cell: Cell, state: str | None = None) -> ServingCell:
    """The same cell as a :class:`~modem.models.ServingCell` with the vendor's state word."""
    return ServingCell(**_cell_values(cell), state=state)


def as_neighbour(cell: Cell) -> NeighbourCell:
    """The same cell as a :class:`~modem.models.NeighbourCell` (a serving state is dropped)."""
    return NeighbourCell(**_cell_values(cell))

"""What every vendor cell parser returns, and the MNC-width correction the driver applies.

Vendor dumps print the MNC as the firmware likes (Fibocom prints MNC ``01`` as ``1``), so
the width of an MNC taken from a dump is not evidence. The width comes from ``+COPS``
numeric (5 or 6 digits) or the SIM (EF_AD); :func:`fix_mnc_width` re-renders a cell's
MNC with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

from modem.models import Cell, NeighbourCell, Rat, ServingCell

__all__ = [
    "CellReport",
    "NoCell",
    "fix_mnc_width",
    "fix_report_mnc_width",
]

CellT = TypeVar("CellT", bound=Cell)


@dataclass(frozen=True, slots=True)
class NoCell:
    """The module said, in its own words, that it has no serving cell.

    Attributes:
        rat: the RAT the statement is about (Cinterion ``^SMONI: 4G,SEARCH``), or None.
        state: the module's word (``SEARCH``, ``NONE``, ``NO SERVICE``), or None.
    """

    rat: Rat | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class CellReport:
    """The serving cell (if the module reported one) and its neighbours.

    Attributes:
        serving: the cell the module is camped on, or None (searching, no service).
        neighbours: neighbour cells in the order the module printed them.
        nr_leg: in 5G non-standalone (EN-DC), the NR secondary cell; the LTE anchor is
            the serving cell. It has no global identity (only PCI and channel).
        no_cell: set when the module said it has no serving cell (``^MONSC: NONE``,
            ``+QENG: "servingcell","SEARCH"``, ``+CPSI: NO SERVICE``).
    """

    serving: ServingCell | None = None
    neighbours: tuple[NeighbourCell, ...] = ()
    nr_leg: ServingCell | None = None
    no_cell: NoCell | None = None


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
    return dataclasses.replace(report, serving=serving, neighbours=neighbours)

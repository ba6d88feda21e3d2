"""Vendor serving- and neighbour-cell parsers, one module per module maker.

Each vendor module describes its answer layouts as data (:mod:`modem.at.cells.layout`:
per RAT, which field holds what, in which radix and unit) and one reader walks them; the
simulator prints its answers from the same tables. Every parser takes a module's whole
answer (echo and ``OK`` included or not) and returns a :class:`CellReport`; it raises
only :class:`~modem.errors.ParseError`. MCC/MNC are given as printed; the driver applies
:func:`fix_mnc_width` with the width it learnt from ``+COPS`` or the SIM.
"""

from modem.at.cells.cinterion import parse_smoni, parse_smonp
from modem.at.cells.fibocom import parse_gtccinfo
from modem.at.cells.huawei import parse_monnc, parse_monsc
from modem.at.cells.quectel import parse_qeng_neighbourcell, parse_qeng_servingcell
from modem.at.cells.report import CellReport, NoCell, fix_mnc_width, fix_report_mnc_width
from modem.at.cells.sierra import parse_gstatus, parse_lteinfo
from modem.at.cells.simcom import parse_ccinfo, parse_cpsi
from modem.at.cells.telit import parse_csurvc, parse_moni, parse_rfsts, parse_servinfo
from modem.at.cells.ublox import parse_ucged, parse_ucged_measurements

__all__ = [
    "CellReport",
    "NoCell",
    "fix_mnc_width",
    "fix_report_mnc_width",
    "parse_ccinfo",
    "parse_cpsi",
    "parse_csurvc",
    "parse_gstatus",
    "parse_gtccinfo",
    "parse_lteinfo",
    "parse_moni",
    "parse_monnc",
    "parse_monsc",
    "parse_qeng_neighbourcell",
    "parse_qeng_servingcell",
    "parse_rfsts",
    "parse_servinfo",
    "parse_smoni",
    "parse_smonp",
    "parse_ucged",
    "parse_ucged_measurements",
]

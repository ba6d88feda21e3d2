"""The pure AT layer: response parsers for 3GPP TS 27.007 and vendor cell commands.

Every ``parse_*`` function takes a module's answer as text and returns typed values from
:mod:`modem.models`; none performs I/O and none raises anything but
:class:`~modem.errors.ParseError`.
"""

from modem.at import cme
from modem.at.cells import (
    CellReport,
    fix_mnc_width,
    fix_report_mnc_width,
    parse_cpsi,
    parse_gstatus,
    parse_gtccinfo,
    parse_lteinfo,
    parse_moni,
    parse_monnc,
    parse_monsc,
    parse_qeng_neighbourcell,
    parse_qeng_servingcell,
    parse_rfsts,
    parse_servinfo,
    parse_smoni,
    parse_ucged,
)
from modem.at.identity import (
    luhn_check_digit,
    luhn_valid,
    parse_cgmi,
    parse_cgmm,
    parse_cgmr,
    parse_cgsn,
    parse_cimi,
    parse_cnum,
    parse_cpin,
    parse_crsm_iccid,
    parse_crsm_mnc_length,
    parse_iccid,
)
from modem.at.network import (
    parse_cesq,
    parse_cfun,
    parse_cops,
    parse_cops_list,
    parse_csq,
    split_operator_id,
)
from modem.at.registration import act_to_rat, parse_creg, parse_urc

__all__ = [
    "CellReport",
    "act_to_rat",
    "cme",
    "fix_mnc_width",
    "fix_report_mnc_width",
    "luhn_check_digit",
    "luhn_valid",
    "parse_cesq",
    "parse_cfun",
    "parse_cgmi",
    "parse_cgmm",
    "parse_cgmr",
    "parse_cgsn",
    "parse_cimi",
    "parse_cnum",
    "parse_cops",
    "parse_cops_list",
    "parse_cpin",
    "parse_cpsi",
    "parse_creg",
    "parse_crsm_iccid",
    "parse_crsm_mnc_length",
    "parse_csq",
    "parse_gstatus",
    "parse_gtccinfo",
    "parse_iccid",
    "parse_lteinfo",
    "parse_moni",
    "parse_monnc",
    "parse_monsc",
    "parse_qeng_neighbourcell",
    "parse_qeng_servingcell",
    "parse_rfsts",
    "parse_servinfo",
    "parse_smoni",
    "parse_ucged",
    "parse_urc",
    "split_operator_id",
]

"""Vendor cell parsers called directly: typed results, MNC-width fixing and precise errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modem import at
from modem.at import CellReport, fix_mnc_width, fix_report_mnc_width
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

ALL_CELL_PARSERS: list[Callable[[str], CellReport]] = [
    at.parse_qeng_servingcell,
    at.parse_cpsi,
    at.parse_ucged,
    at.parse_servinfo,
    at.parse_rfsts,
    at.parse_moni,
    at.parse_gstatus,
    at.parse_lteinfo,
    at.parse_monsc,
    at.parse_monnc,
    at.parse_gtccinfo,
    at.parse_smoni,
]


@pytest.mark.parametrize("parse", ALL_CELL_PARSERS, ids=lambda p: p.__name__)
def test_answer_without_the_command_prefix_is_an_error(parse: Callable[[str], CellReport]) -> None:
    with pytest.raises(ParseError):
        parse("AT\r\r\nOK\r\n")


def test_quectel_neighbour_answer_of_just_ok_is_empty() -> None:
    assert at.parse_qeng_neighbourcell("OK") == CellReport()


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (at.parse_qeng_servingcell, '+QENG: "servingcell","NOCONN","TDMA",1,2,3'),
        (at.parse_qeng_servingcell, '+QENG: "servingcell","NOCONN","LTE","FDD",228,01,1A2B'),
        (
            at.parse_qeng_servingcell,
            '+QENG: "servingcell","NOCONN","LTE","FDD",228,01,XYZ,101,'
            "1300,3,5,5,4D2,-95,-10,-65,15,40",
        ),
        (at.parse_qeng_neighbourcell, '+QENG: "neighbourcell","NR5G",1,2,3,4'),
        (at.parse_cpsi, "+CPSI: CDMA,Online,1,2,3"),
        (at.parse_cpsi, "+CPSI: LTE,Online,2-2-8,0x9CA4,20964868,46,EUTRAN-BAND20,6200,3,3,-1,-2"),
        (at.parse_ucged, "+UCGED: 5\n6,4,001,01"),
        (at.parse_ucged, "+UCGED: 2\n9,4,001,01\n1,2,3"),
        (at.parse_servinfo, '#SERVINFO: 66786,-68,"T-Mobile"'),
        (at.parse_servinfo, '#SERVINFO: 66786,-68,"T-Mobile","31026X",3089F02,2D18,640,3,-101'),
        (at.parse_rfsts, '#RFSTS: "310 260",1,2,3'),
        (at.parse_monsc, "^MONSC: CDMA,1,2,3"),
        (at.parse_monnc, "^MONNC: LTE,1850"),
        (at.parse_gtccinfo, "+GTCCINFO:\n1,7,262,1,05D5,0019BF801,1300,358,103,100,13,60,60,22"),
        (at.parse_gtccinfo, "+GTCCINFO:\n1,4,262,1,05D5,0019BF801,1300,358,103,100,13,60,99,22"),
        (at.parse_smoni, "^SMONI: 5G,1,2"),
        (at.parse_smoni, "^SMONI: 4G,6300,20"),
    ],
)
def test_malformed_rows_are_parse_errors(parse: Callable[[str], CellReport], text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


def test_cell_values_are_typed() -> None:
    report = at.parse_cpsi(
        "+CPSI: LTE,Online,228-02,0x9CA4,20964868,46,EUTRAN-BAND20,6200,3,3,-178,-1089,-742,8"
    )
    serving = report.serving
    assert isinstance(serving, ServingCell)
    assert serving.rat is Rat.LTE
    assert serving.is_identified
    assert serving.area == 0x9CA4
    assert isinstance(serving.rsrp, float)


@pytest.mark.parametrize(
    ("printed", "width", "fixed"),
    [
        ("1", 2, "01"),
        ("1", 3, "001"),
        ("01", 3, "001"),
        ("001", 2, "01"),
        ("260", 3, "260"),
        ("260", 2, "260"),  # contradicts the width: kept as printed
        ("0", 2, "00"),
        ("02", None, "02"),
    ],
)
def test_fix_mnc_width(printed: str, width: int | None, fixed: str) -> None:
    cell = ServingCell(rat=Rat.LTE, mcc="262", mnc=printed, tac=1, ci=2, state="NOCONN")
    result = fix_mnc_width(cell, width)
    assert result.mnc == fixed
    assert isinstance(result, ServingCell)
    assert result.state == "NOCONN"
    assert (result.mcc, result.tac, result.ci) == ("262", 1, 2)


def test_fix_mnc_width_rejects_a_bad_width() -> None:
    with pytest.raises(ValueError):
        fix_mnc_width(ServingCell(rat=Rat.LTE, mnc="1"), 4)


def test_fix_mnc_width_leaves_absent_mnc() -> None:
    neighbour = NeighbourCell(rat=Rat.LTE, pci=1)
    assert fix_mnc_width(neighbour, 2) is neighbour


def test_fix_report_mnc_width_on_fibocom() -> None:
    report = at.parse_gtccinfo(
        "+GTCCINFO:\n1,4,262,1,05D5,0019BF801,1300,358,103,100,13,60,60,22\n"
        "2,4,262,1,05D5,0019BF802,1300,357,,55,40,16"
    )
    fixed = fix_report_mnc_width(report, 2)
    assert fixed.serving is not None
    assert fixed.serving.mnc == "01"
    assert [n.mnc for n in fixed.neighbours] == ["01"]

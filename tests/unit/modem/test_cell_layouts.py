"""The layout tables: every vendor layout printed from values and read back gives the same
values, so the simulator (which prints) and the parsers (which read) cannot drift apart;
and the codecs keep the radix, unit and "not known" rules of each field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modem.at.cells import cinterion, fibocom, huawei, quectel, sierra, simcom, telit, ublox
from modem.at.cells.layout import (
    Band,
    Choice,
    Dec,
    Field,
    Hex,
    HexDec,
    Index,
    Layout,
    Leading,
    Level,
    Plmn,
    Role,
    Word,
    fields,
    read_row,
    render_row,
    select_layout,
)
from modem.at.common import clean
from modem.at.network import HCSQ_LAYOUTS
from modem.at.pin import PIN_COUNTER_QUERIES
from modem.errors import ParseError
from modem.models import Rat

TABLES: dict[str, dict[str, Layout]] = {
    "quectel serving": quectel.SERVING_LAYOUTS,
    "quectel neighbour": quectel.NEIGHBOUR_LAYOUTS,
    "simcom cpsi": simcom.CPSI_LAYOUTS,
    "simcom ccinfo": simcom.CCINFO_LAYOUTS,
    "ublox ucged": ublox.UCGED_LAYOUTS,
    "telit servinfo": telit.SERVINFO_LAYOUTS,
    "telit rfsts": telit.RFSTS_LAYOUTS,
    "telit moni": telit.MONI_LAYOUTS,
    "telit csurvc": telit.CSURVC_LAYOUTS,
    "sierra gstatus": sierra.GSTATUS_LAYOUTS,
    "sierra lteinfo": sierra.LTEINFO_LAYOUTS,
    "huawei monsc": huawei.MONSC_LAYOUTS,
    "huawei monnc": huawei.MONNC_LAYOUTS,
    "fibocom gtccinfo": fibocom.GTCCINFO_LAYOUTS,
    "cinterion smoni": cinterion.SMONI_LAYOUTS,
    "cinterion smonp": cinterion.SMONP_LAYOUTS,
    "huawei hcsq": HCSQ_LAYOUTS,
    "pin counters": {
        f"{family} {i}": layout
        for family, queries in PIN_COUNTER_QUERIES.items()
        for query in queries
        for i, layout in enumerate(query.layouts)
    },
}

# Values on every codec's grid (indexes step 0.5/1/0.2 dB), so reading gives them back.
SAMPLE: dict[str, Any] = {
    "mcc": "228",
    "mnc": "01",
    "lac": 0x1A2B,
    "tac": 0x04D2,
    "ci": 0x1A2B3C4,
    "pci": 101,
    "psc": 300,
    "bsic": 33,
    "arfcn": 642016,
    "uarfcn": 10737,
    "earfcn": 1300,
    "band": 3,
    "rsrp": -95.0,
    "rsrq": -10.0,
    "rssi": -65.0,
    "sinr": 12.0,
    "rscp": -80.0,
    "ecio": -6.0,
    "ecno": -6.0,
    "state": "NOCONN",
    "mode": "LTE",
    "pin": 3,
    "puk": 10,
    "current": 3,
    "value": -95.5,
}

LAYOUTS = [
    (f"{table}/{name}", layout)
    for table, layouts in TABLES.items()
    for name, layout in layouts.items()
    if layout.role is not Role.IGNORE or table in ("pin counters", "huawei hcsq")
]


# Other values a key field may need to take for its layout to apply.
CANDIDATES: dict[str, list[Any]] = {
    "mode": ["LTE", "ENDC", "NR5G", "WCDMA", "GSM", "Unknown"],
    "state": ["NOCONN", "LIMSRV", "CONN", "SEARCH", "Online"],
    "ci": [None],
}


def _sample_for(layout: Layout) -> dict[str, Any]:
    values = dict(SAMPLE)
    for item in layout.fields:
        codec = item.codec
        if item.attr == "rat" and isinstance(codec, Choice):
            values["rat"] = next(iter(codec.words.values()))
        if item.attr == "state" and isinstance(codec, Word):
            values["state"] = codec.words[0]
        if item.attr == "state" and isinstance(codec, Choice):
            values["state"] = next(iter(codec.words.values()))
        if item.attr == "ci" and isinstance(codec, Hex) and codec.width == 4:
            values["ci"] = 0x5F1  # a 16-bit GSM cell id
        if item.match is not None and isinstance(item.attr, str) and item.read:
            # A key field: give it a value that satisfies its pattern.
            for candidate in [values.get(item.attr), *CANDIDATES.get(item.attr, [])]:
                text = clean(codec.render(candidate))
                if re.fullmatch(item.match, text, re.IGNORECASE):
                    values[item.attr] = candidate
                    break
    return values


def _field(layout: Layout, attr: str) -> Any:
    for item in layout.fields:
        if item.attr == attr:
            return item.codec
    return None


def _row_from(layout: Layout, texts: list[str]) -> Any:
    printed = [f for f in layout.fields if not (isinstance(f.at, int) and f.at < 0)]
    if all(isinstance(f.at, int) for f in printed):
        return texts
    return {str(f.at).upper(): text for f, text in zip(printed, texts, strict=True)}


@pytest.mark.parametrize(("name", "layout"), LAYOUTS, ids=[n for n, _ in LAYOUTS])
def test_printed_rows_read_back_to_the_same_values(name: str, layout: Layout) -> None:
    values = _sample_for(layout)
    row = _row_from(layout, render_row(layout, values))
    assert select_layout([layout], row) is layout, (name, row)
    read = read_row(layout, row)
    for item in layout.fields:
        if item.attr is None or not item.read:
            continue
        names = item.attr if isinstance(item.attr, tuple) else (item.attr,)
        for attr in names:
            wanted = values.get(attr)
            if attr == "rat" and layout.rat is not None:
                wanted = layout.rat
            if attr == "mnc" and getattr(item.codec, "unpadded", False):
                assert int(read[attr]) == int(wanted), (name, attr)
                continue
            if isinstance(wanted, float):
                assert read[attr] == pytest.approx(wanted, abs=0.01), (name, attr, row)
            else:
                assert read[attr] == wanted, (name, attr, row)


def test_every_vendor_layout_is_covered() -> None:
    assert len(LAYOUTS) >= 60


@pytest.mark.parametrize(
    ("codec", "text", "value"),
    [
        (Hex(), "1A2B3C4", 0x1A2B3C4),
        (Hex(), "0x972d", 0x972D),
        (Hex(), "00 0B", 0x0B),  # stray space inside the digits
        (Hex(), "FFFF", None),  # the vendors' "not known"
        (Hex(), "00FFFFFFF", None),
        (Hex(zero_unknown=True), "0000000", None),
        (Hex(), "0000", 0),  # a zero is a value, not a marker
        (HexDec(), "550d (21773)", 21773),
        (Dec(), "-", None),
        (Dec(), "0x1F", 0x1F),
        (Level(scale=10), "-1089", -108.9),
        (Level(suffix="dbm"), "-83dbm", -83.0),
        (Index(-140.0, 1.0, 97), "60", -80.0),
        (Index(-140.0, 1.0, 97), "255", None),
        (Band("EUTRAN-BAND"), "EUTRAN-BAND20", 20),
        (Band("n"), "n78", 78),
        (Band(offset=5000), "5078", 78),
        (Band(offset=100), "103", 3),
        (Leading(), "79 EGSM 900", 79),
        (Plmn(), "228-02", ("228", "02")),
        (Plmn(separator=" "), '"310 260"', ("310", "260")),
        (Plmn(separator=""), '"310260"', ("310", "260")),
        (Plmn(separator=""), '"22801"', ("228", "01")),
    ],
)
def test_codecs_read(codec: Any, text: str, value: Any) -> None:
    found = codec.read(text, "field")
    if isinstance(value, float):
        assert found == pytest.approx(value)
    else:
        assert found == value


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        (Hex(), "G1"),
        (Dec(), "12a"),
        (Level(), "loud"),
        (Index(-140.0, 1.0, 97), "98"),
        (HexDec(), "550d (21774)"),  # the hex and the decimal disagree
        (Plmn(), "22802x"),
        (Band(), "band"),
    ],
)
def test_codecs_refuse_with_parse_error(codec: Any, text: str) -> None:
    with pytest.raises(ParseError):
        codec.read(text, "field")


def test_layout_choice_by_keys_and_field_count() -> None:
    layouts = list(telit.SERVINFO_LAYOUTS.values())
    lte = "66786,-68,T,310260,3089F02,2D18,640,3,-101".split(",")
    umts = "10700,-70,T,310260,123,2D18,7,3,-80,II,01".split(",")
    gsm = "42,-93,T,28601,63,855E,03,1".split(",")
    assert select_layout(layouts, lte) is telit.SERVINFO_LAYOUTS["LTE"]
    assert select_layout(layouts, umts) is telit.SERVINFO_LAYOUTS["UMTS"]
    assert select_layout(layouts, gsm) is telit.SERVINFO_LAYOUTS["GSM"]


def test_first_field_with_a_value_wins() -> None:
    layout = Layout(
        "two sources",
        Role.SERVING,
        (Field("pci", "PCI", Dec()), Field("pci", "ID", Hex())),
        rat=Rat.LTE,
    )
    assert read_row(layout, {"ID": "EC"})["pci"] == 236
    assert read_row(layout, {"PCI": "7", "ID": "EC"})["pci"] == 7


def test_a_row_of_the_wrong_length_is_a_parse_error() -> None:
    layout = quectel.SERVING_LAYOUTS["GSM"]
    with pytest.raises(ParseError):
        read_row(layout, ['"servingcell"', '"NOCONN"', '"GSM"', "228"])


def test_rendered_values_keep_the_vendor_radix() -> None:
    row = render_row(simcom.CPSI_LAYOUTS["LTE"], dict(SAMPLE, rat=Rat.LTE, state="Online"))
    assert row[3] == "0x04D2"  # TAC hex with 0x
    assert row[4] == str(0x1A2B3C4)  # cell id decimal
    assert row[11] == "-950"  # RSRP in tenths
    monsc = render_row(huawei.MONSC_LAYOUTS["LTE"], SAMPLE)
    assert monsc[5] == "65"  # PCI 101 in hex


def test_layout_specs_read_like_the_manuals_format() -> None:
    built = fields('"servingcell",state,@GSM|G2,mcc+mnc:plmn,ci:hex~id,bsic*,=0,,Label::rssi', {
        "plmn": Plmn(), "hex": Hex(width=4), "id": r"[0-9A-F]{4}",
    })  # fmt: skip
    assert [f.at for f in built] == [0, 1, 2, 3, 4, 5, 6, "Label"]
    quoted, state, word, plmn, ci, bsic, const, rssi = built
    assert isinstance(quoted.codec, Word) and quoted.codec.quoted
    assert state.attr == "state" and isinstance(word.codec, Word)
    assert word.codec.words == ("GSM", "G2")
    assert plmn.attr == ("mcc", "mnc")
    assert (ci.attr, ci.match, ci.codec) == ("ci", r"[0-9A-F]{4}", Hex(width=4))
    assert not bsic.read and const.attr is None
    assert rssi.at == "Label" and isinstance(rssi.codec, Level)


@pytest.mark.parametrize("spec", ["ci:nosuch", "nosuch", "ci~nosuch", "ci:pattern"])
def test_layout_specs_refuse_unknown_names(spec: str) -> None:
    with pytest.raises(ValueError):
        fields(spec, {"pattern": r"\d+"})

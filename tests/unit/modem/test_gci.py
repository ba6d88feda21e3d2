"""Global cell identity helpers, checked against the worked examples of the research notes §1.8."""

from __future__ import annotations

import pytest

from modem.gci import eutran_split, global_cell_id_str, nr_split, utran_split
from modem.models import Rat, ServingCell


def test_telit_lm960_eci() -> None:
    # CI 3089F02 = 50 896 642: eNB 198 815, cell 2.
    assert 0x3089F02 == 50896642
    assert eutran_split(50896642) == (198815, 2)


def test_simcom_decimal_eci() -> None:
    # +CPSI prints 20964868 = 0x13FE604: eNB 81 894, cell 4.
    assert eutran_split(20964868) == (81894, 4)


def test_quectel_wcdma_uc_id() -> None:
    # B55EEFF: RNC 2901, C-Id 61 183 (OpenCellID's "long CID").
    assert utran_split(0xB55EEFF) == (2901, 61183)


@pytest.mark.parametrize(("bits", "split"), [(24, (1860765, 312)), (22, (465191, 4408))])
def test_sierra_nci(bits: int, split: tuple[int, int]) -> None:
    # NR5G Cell ID 1C649D138 = 7 621 693 752; the split depends on the gNB id length.
    assert 0x1C649D138 == 7621693752
    assert nr_split(7621693752, bits) == split


def test_nr_split_round_trip() -> None:
    for bits in range(22, 33):
        gnb, cell = nr_split(0xFFFFFFFFF, bits)
        assert gnb << (36 - bits) | cell == 0xFFFFFFFFF


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (eutran_split, -1),
        (eutran_split, 1 << 28),
        (utran_split, 1 << 32),
        (lambda v: nr_split(v), 1 << 36),
        (lambda v: nr_split(v, 21), 5),
        (lambda v: nr_split(v, 33), 5),
    ],
)
def test_out_of_range(call: object, value: int) -> None:
    assert callable(call)
    with pytest.raises(ValueError):
        call(value)


def test_global_cell_id_str_keeps_mnc_width() -> None:
    cell = ServingCell(rat=Rat.LTE, mcc="228", mnc="01", tac=1234, ci=27440068)
    assert global_cell_id_str(cell) == "228-01-1234-27440068"
    gsm = ServingCell(rat=Rat.GSM, mcc="310", mnc="001", lac=0x55FA, ci=0x1D23)
    assert global_cell_id_str(gsm) == "310-001-22010-7459"


def test_global_cell_id_needs_all_parts() -> None:
    with pytest.raises(ValueError):
        global_cell_id_str(ServingCell(rat=Rat.LTE, mcc="228", tac=1, ci=2))

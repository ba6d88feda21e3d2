"""Importing OpenCelliD CSV exports into the store."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmlc.cellimport import (
    FIELD_COUNT_REASON,
    OPENCELLID_COLUMNS,
    ImportReport,
    import_cells,
    parse_cell_row,
    read_cells,
)
from gmlc.errors import GmlcError, NotFoundError
from gmlc.store import CellRecord, Store

HEADER = ",".join(OPENCELLID_COLUMNS)
GOOD = [
    "LTE,228,1,1234,27440068,0,8.541694,47.376887,800,42,1,1600000000,1790000000,-95",
    "GSM,228,3,501,10021,,8.5,47.4,2500,7,1,1600000000,1790000000,0",
    "UMTS,262,2,7001,6553601,301,13.4,52.5,1200,3,0,1600000000,1790000000,",
    "NR,310,260,40000,68719476735,12,-73.98,40.75,300,1,1,1600000000,1790000000,0",
    "CDMA,310,4119,100,2001,,-75.0,40.0,5000,2,1,1600000000,1790000000,0",
]
BAD = {
    "WIFI,228,1,1,1,,8.5,47.4,100,1,1,0,0,0": "unknown radio",
    "LTE,abc,1,1,1,,8.5,47.4,100,1,1,0,0,0": "bad mcc",
    "LTE,228,-1,1,1,,8.5,47.4,100,1,1,0,0,0": "bad net (mnc)",
    "LTE,228,1,,1,,8.5,47.4,100,1,1,0,0,0": "bad area",
    "LTE,228,1,1,1e5,,8.5,47.4,100,1,1,0,0,0": "bad cell",
    "LTE,228,1,1,1,,8.5,95.0,100,1,1,0,0,0": "bad lat",
    "LTE,228,1,1,1,,north,47.4,100,1,1,0,0,0": "bad lon",
    "LTE,228,1,1,1,,8.5,47.4,-3,1,1,0,0,0": "bad range",
    "LTE,228,1,1,1,,8.5,47.4,100,many,1,0,0,0": "bad samples",
    "LTE,228,1,1,1,,8.5,47.4": FIELD_COUNT_REASON,
}


def _write(path: Path, lines: list[str], *, compress: bool = False, newline: str = "\r\n") -> Path:
    data = (newline.join(lines) + newline).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["csv", "gzip"])
def test_good_rows_are_imported_with_longitude_first(
    store: Store, tmp_path: Path, compress: bool
) -> None:
    path = _write(tmp_path / "cells.csv", [HEADER, *GOOD], compress=compress)
    report = import_cells(store, path)
    assert (report.rows_read, report.rows_imported, report.bad_total) == (5, 5, 0)
    cell = store.find_cell("LTE", 228, 1, 1234, 27440068)
    assert cell == CellRecord("LTE", 228, 1, 1234, 27440068, 47.376887, 8.541694, 800, 42)
    assert store.find_cell("NR", 310, 260, 40000, 2**36 - 1) is not None
    assert store.find_cell("CDMA", 310, 4119, 100, 2001) is not None


def test_bad_rows_are_counted_by_reason_and_good_rows_still_load(
    store: Store, tmp_path: Path
) -> None:
    lines = [HEADER, GOOD[0], *BAD, GOOD[1], "", "\ufffd\ufffd,1"]
    path = _write(tmp_path / "cells.csv", lines)
    report = import_cells(store, path)
    assert report.rows_read == 2 + len(BAD) + 1  # the blank line is not a row
    assert report.rows_imported == 2
    expected: dict[str, int] = {}
    for reason in [*BAD.values(), FIELD_COUNT_REASON]:
        expected[reason] = expected.get(reason, 0) + 1
    assert dict(report.bad_rows) == expected
    assert report.examples[0].line == 3 and report.examples[0].reason == "unknown radio"
    assert len(report.examples) == 10
    assert store.cell_stats()["total"] == 2
    assert report.to_json()["bad_rows"] == len(BAD) + 1


def test_reimporting_is_idempotent_and_applies_updates(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path / "cells.csv", [HEADER, *GOOD])
    import_cells(store, path)
    moved = GOOD[0].replace("47.376887", "47.0").replace(",800,", ",950,")
    path = _write(tmp_path / "cells.csv", [HEADER, moved, *GOOD[1:]])
    report = import_cells(store, path, batch_size=2)
    assert report.rows_imported == 5
    assert store.cell_stats()["total"] == 5
    cell = store.find_cell("LTE", 228, 1, 1234, 27440068)
    assert cell is not None and (cell.lat, cell.range_m) == (47.0, 950)


def test_header_with_bom_lf_endings_and_fewer_columns_is_accepted(
    store: Store, tmp_path: Path
) -> None:
    columns = OPENCELLID_COLUMNS[:-1]  # older MLS exports have no averageSignal
    lines = ["\ufeff" + ",".join(columns), *(row.rsplit(",", 1)[0] for row in GOOD)]
    report = import_cells(store, _write(tmp_path / "mls.csv", lines, newline="\n"))
    assert (report.rows_imported, report.bad_total) == (5, 0)


def test_progress_reports_bytes_and_rows(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path / "cells.csv", [HEADER, *GOOD])
    calls: list[tuple[int, int]] = []
    import_cells(store, path, on_progress=lambda done, rows: calls.append((done, rows)))
    assert calls[-1] == (path.stat().st_size, 5)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (("\r\n".join(GOOD) + "\r\n").encode(), "not an OpenCelliD cell export"),
        (b"radio,mcc,net\r\nLTE,228,1\r\n", "missing: area, cell, lon, lat, range, samples"),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_whole(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "cells.csv"
    path.write_bytes(content)
    with pytest.raises(GmlcError, match=message):
        import_cells(store, path)
    assert store.cell_stats()["total"] == 0


def test_truncated_gzip_keeps_earlier_batches_and_says_so(store: Store, tmp_path: Path) -> None:
    rows = [f"LTE,228,1,1,{n},,8.5,47.4,100,1,1,0,0,0" for n in range(1, 6001)]
    whole = gzip.compress(("\r\n".join([HEADER, *rows]) + "\r\n").encode())
    path = tmp_path / "cells.csv.gz"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(GmlcError, match="damaged or truncated"):
        import_cells(store, path, batch_size=1000)
    imported = store.cell_stats()["total"]
    assert 0 < imported < 6000
    path.write_bytes(whole)
    import_cells(store, path, batch_size=1000)
    assert store.cell_stats()["total"] == 6000


def test_missing_file_is_not_found(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        import_cells(store, tmp_path / "absent.csv")


def test_demo_cell_file_in_the_repository_imports_cleanly(store: Store) -> None:
    demo = Path(__file__).resolve().parents[3] / "demo" / "data" / "demo_cells.csv"
    if not demo.exists():
        pytest.skip("demo/data/demo_cells.csv is not in this tree")
    report = import_cells(store, demo)
    assert report.bad_total == 0 and report.rows_imported > 0


def test_parse_cell_row_reports_the_reason() -> None:
    assert parse_cell_row(GOOD[0].split(",")).cell == 27440068
    with pytest.raises(ValueError, match="bad lat"):
        parse_cell_row("LTE,228,1,1,1,,8.5,-91,100,1,1,0,0,0".split(","))


@settings(max_examples=150, deadline=None)
@given(
    body=st.lists(
        st.one_of(
            st.sampled_from(GOOD + list(BAD)),
            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
            st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        ),
        max_size=25,
    )
)
def test_any_body_after_a_header_is_either_read_or_counted(body: list[str]) -> None:
    raw = ("\r\n".join([HEADER, *body]) + "\r\n").encode("utf-8", "surrogatepass")
    report = ImportReport()
    try:
        good = list(read_cells(io.BytesIO(raw), report))
    except GmlcError as error:
        # Only a structural CSV problem (an unterminated quote, a NUL) may stop a read.
        assert "not valid CSV" in str(error)
        return
    assert report.rows_read == len(good) + report.bad_total
    assert all(isinstance(cell, CellRecord) for cell in good)

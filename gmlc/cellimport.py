"""Import a cell database in the OpenCelliD / MLS CSV export format into the store.

The format (one header line, then one cell per line, empty fields written as ``,,``)::

    radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal

Longitude comes *before* latitude. ``net`` is the MNC (the System ID for CDMA), ``area`` the
LAC or TAC, ``range`` the coverage radius in metres. Columns are found by their header
name, so exports that omit trailing columns (older MLS files lack ``averageSignal``) load
as well; the nine columns the store needs must be present.

The file is read as a stream (plain or gzip, recognised by its first bytes), so memory
stays flat for files of any size; rows are upserted in batches, each batch its own
transaction, which makes a re-run after an interruption safe: the same cell is updated,
never duplicated. A row that cannot be read is counted under the reason it failed and
reported, never silently dropped; a few examples keep their line numbers.
"""

from __future__ import annotations

import csv
import gzip
import io
import operator
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, cast

from gmlc.errors import GmlcError, NotFoundError
from gmlc.store import CellFieldError, CellRecord, Store

__all__ = [
    "OPENCELLID_COLUMNS",
    "BadRowExample",
    "ImportReport",
    "import_cells",
    "parse_cell_row",
    "read_cells",
]

OPENCELLID_COLUMNS: Final = (
    "radio",
    "mcc",
    "net",
    "area",
    "cell",
    "unit",
    "lon",
    "lat",
    "range",
    "samples",
    "changeable",
    "created",
    "updated",
    "averageSignal",
)
_NEEDED: Final = ("radio", "mcc", "net", "area", "cell", "lon", "lat", "range", "samples")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_EXAMPLES_KEPT: Final = 10
_PROGRESS_EVERY_ROWS: Final = 5000

# Reasons a row is refused, as reported to the operator; keyed by the store's field names.
_REASON_FOR_FIELD: Final = {
    "radio": "unknown radio",
    "mcc": "bad mcc",
    "mnc": "bad net (mnc)",
    "area": "bad area",
    "cell": "bad cell",
    "lat": "bad lat",
    "lon": "bad lon",
    "range_m": "bad range",
    "samples": "bad samples",
}
FIELD_COUNT_REASON: Final = "wrong number of fields"


class _BadRowError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class BadRowExample:
    """One refused row, for the report: its line number and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did. Filled in while the rows stream through."""

    rows_read: int = 0
    rows_imported: int = 0
    bad_rows: Counter[str] = field(default_factory=Counter)
    examples: list[BadRowExample] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bad_total(self) -> int:
        """How many rows were refused."""
        return sum(self.bad_rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput over the whole import."""
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        return {
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "bad_rows": self.bad_total,
            "bad_rows_by_reason": dict(self.bad_rows.most_common()),
            "examples": [{"line": e.line, "reason": e.reason} for e in self.examples],
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
        }


def _whole_number(text: str, reason: str) -> int:
    if text.isdigit() and text.isascii():
        return int(text)
    text = text.strip()
    # int() would also take "+5", "1_000" and non-ASCII digits; the format has none of them.
    if not (text.isascii() and text.isdigit()):
        raise _BadRowError(reason)
    return int(text)


def _degrees(text: str, reason: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _BadRowError(reason) from None


@dataclass(frozen=True)
class _Columns:
    """Where the needed fields sit in a row, from the header."""

    pick: Callable[[list[str]], tuple[str, ...]]  # the nine fields in _NEEDED order
    width: int


def _columns_from_header(header: list[str], source: str) -> _Columns:
    names = [name.strip().lstrip("\ufeff") for name in header]
    lowered = [name.lower() for name in names]
    missing = [name for name in _NEEDED if name not in lowered]
    if missing:
        raise GmlcError(
            f"{source} is not an OpenCelliD cell export: the first line must be the header "
            f"{','.join(OPENCELLID_COLUMNS)} (missing: {', '.join(missing)})"
        )
    return _Columns(
        pick=operator.itemgetter(*(lowered.index(name) for name in _NEEDED)),
        width=len(names),
    )


def parse_cell_row(fields: list[str], columns: tuple[str, ...] = OPENCELLID_COLUMNS) -> CellRecord:
    """Turn one CSV row into a cell record.

    Args:
        fields: the row's fields, as the csv module splits them.
        columns: the header's column names (default: the full OpenCelliD header).

    Raises:
        ValueError: the row cannot be a cell; the message is the reason, as counted in
            an import report (e.g. ``"bad lat"``, ``"wrong number of fields"``).
    """
    try:
        return _parse(fields, _columns_from_header(list(columns), "the header"))
    except _BadRowError as bad:
        raise ValueError(bad.reason) from None


def _parse(fields: list[str], at: _Columns) -> CellRecord:
    if len(fields) != at.width:
        raise _BadRowError(FIELD_COUNT_REASON)
    radio, mcc, net, area, cell, lon, lat, range_m, samples = at.pick(fields)
    try:
        return CellRecord(
            radio=radio.strip().upper(),
            mcc=_whole_number(mcc, "bad mcc"),
            mnc=_whole_number(net, "bad net (mnc)"),
            area=_whole_number(area, "bad area"),
            cell=_whole_number(cell, "bad cell"),
            lat=_degrees(lat, "bad lat"),
            lon=_degrees(lon, "bad lon"),
            range_m=_whole_number(range_m, "bad range"),
            samples=_whole_number(samples, "bad samples"),
        )
    except CellFieldError as error:
        raise _BadRowError(_REASON_FOR_FIELD.get(error.field, f"bad {error.field}")) from None


class _CountingReader(io.RawIOBase):
    """Passes reads through and counts the bytes, for a progress bar over the file size."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def read_cells(
    stream: IO[bytes],
    report: ImportReport,
    *,
    source: str = "the file",
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[CellRecord]:
    """Yield the good rows of an OpenCelliD CSV (plain or gzip) and count the bad ones.

    Args:
        stream: the file, opened in binary mode.
        report: updated as rows are read (``rows_read``, ``bad_rows``, ``examples``).
        source: how to name the file in errors.
        on_progress: called every few thousand rows with (bytes of ``stream`` consumed,
            rows read), for a progress bar over the file size.

    Raises:
        GmlcError: the header is missing or wrong, or the file is damaged (rows before
            the damage have been yielded).
    """
    counter = _CountingReader(stream)
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    binary: IO[bytes] = buffered
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    # Undecodable bytes become U+FFFD, so the row they are in is refused and counted
    # rather than aborting the import. A UTF-8 BOM survives as U+FEFF in the first
    # header name, where _columns_from_header strips it.
    text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")
    rows = csv.reader(text)
    line = 0
    try:
        header = next(rows, None)
        line = 1
        if header is None:
            raise GmlcError(f"{source} is empty; expected an OpenCelliD cell export")
        at = _columns_from_header(header, source)
        for fields in rows:
            line = rows.line_num
            if not fields:
                continue  # a blank line is not a row
            report.rows_read += 1
            try:
                yield _parse(fields, at)
            except _BadRowError as bad:
                report.bad_rows[bad.reason] += 1
                if len(report.examples) < _EXAMPLES_KEPT:
                    report.examples.append(BadRowExample(line, bad.reason))
            if on_progress is not None and report.rows_read % _PROGRESS_EVERY_ROWS == 0:
                on_progress(counter.consumed, report.rows_read)
    except csv.Error as error:
        raise GmlcError(f"{source} line {line + 1}: not valid CSV ({error})") from None
    except (OSError, EOFError, zlib.error) as error:
        raise GmlcError(
            f"{source} is damaged or truncated after line {line} ({type(error).__name__}); "
            "the rows before it were imported, and importing a good copy again is safe"
        ) from None
    if on_progress is not None:
        on_progress(counter.consumed, report.rows_read)


def import_cells(
    store: Store,
    path: Path,
    *,
    batch_size: int = 5000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Stream an OpenCelliD CSV (``.csv`` or ``.csv.gz``) into the store.

    Args:
        store: a migrated store.
        path: the export file.
        batch_size: rows per transaction.
        on_progress: called now and then with (bytes of the file read so far, rows read).

    Returns:
        The report: rows read and imported, bad rows by reason with examples, duration.

    Raises:
        NotFoundError: the file does not exist.
        GmlcError: the file cannot be read, has no OpenCelliD header, or is damaged.
        StoreError: the database failed (batches already written stay written).
    """
    report = ImportReport()
    started = time.monotonic()
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except OSError as error:
        raise GmlcError(f"cannot read {path}: {error.strerror}") from None
    with raw:
        cells = read_cells(raw, report, source=str(path), on_progress=on_progress)
        report.rows_imported = store.upsert_cells(cells, batch_size=batch_size)
    report.seconds = time.monotonic() - started
    return report

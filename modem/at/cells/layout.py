"""Answer layouts as data, and the one reader (and writer) that walks them.

Theory of operation
-------------------
Vendor cell commands answer with rows: comma-separated fields after a prefix
(``+QENG: "servingcell","NOCONN","LTE",…``), ``Label: value`` blocks (Sierra
``!GSTATUS``), ``key:value`` tokens (Telit ``#MONI``) or column tables (Sierra
``!LTEINFO``). Every such row is turned into a *row*: a list of fields, or a mapping
from a label to its text. A :class:`Layout` then says, per vendor and RAT, which
field holds what: a :class:`Field` names the attribute (``ci``, ``rsrp``…), its
position (an index or a label) and a codec (:mod:`modem.at.cells.codecs`), which
converts text to a value (radix, unit, "not known" markers) and a value back to the
vendor's text.

:func:`read_row` walks a layout over a row and returns the values;
:func:`render_row` walks the same layout the other way, which is how the simulated
modems print their answers, so the parser and the simulator cannot drift apart.
:func:`read_cells` applies a :class:`CommandLayouts` (all layouts of one command) to a
module's whole answer and builds the :class:`~modem.at.cells.report.CellReport`.

Layouts are written as specs that read like the manuals' format lines (see
:func:`fields`): ``'"servingcell",state:q,"GSM",mcc,mnc,lac,ci,bsic*,arfcn,=0,rssi'``
is Quectel's GSM serving row, field by field, so a new layout is one table row.

A layout is chosen by its *keys*: fields whose codec is a :class:`Word` or a
:class:`Choice` (the RAT word, ``"servingcell"``), or that carry a ``match`` pattern,
must all fit, and the row must have a field count the layout allows. The first layout
that fits reads the row (all that fit, for block answers such as ``!GSTATUS``).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from modem.at.cells.codecs import (
    Band,
    Choice,
    Codec,
    Const,
    Dec,
    Digits,
    Hex,
    HexDec,
    Index,
    Leading,
    Level,
    Plmn,
    Text,
    Word,
)
from modem.at.cells.report import CellReport, NoCell
from modem.at.common import clean, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import Cell, NeighbourCell, Rat, ServingCell

__all__ = [
    "Band",
    "Choice",
    "Codec",
    "CommandLayouts",
    "Const",
    "Dec",
    "Digits",
    "Field",
    "Hex",
    "HexDec",
    "Index",
    "Layout",
    "Leading",
    "Level",
    "Plmn",
    "Role",
    "Row",
    "Text",
    "Word",
    "cell_values",
    "constants",
    "fields",
    "iter_rows",
    "read_cells",
    "read_row",
    "read_rows",
    "render_row",
    "select_layout",
]

#: A split row: positional fields, or text by upper-case label.
Row = Sequence[str] | Mapping[str, str]


class Role(enum.Enum):
    """What a row reports."""

    SERVING = "serving"
    NEIGHBOUR = "neighbour"
    NR_LEG = "nr_leg"  # the NR secondary cell of an EN-DC (5G NSA) connection
    FIRST_SERVING = "first_serving"  # the first such row is the serving cell, later ones neighbours
    NO_CELL = "no_cell"  # the module says it has no serving cell (searching, no service)
    IGNORE = "ignore"  # a row with nothing we keep (survey carriers without identity)


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a row.

    Attributes:
        attr: the attribute it holds (a :class:`~modem.models.Cell` field, ``state``, or
            a pair such as ``("mcc", "mnc")`` for a :class:`Plmn`); None for fields that
            only select the layout or are printed with a constant.
        at: the index in a positional row (negative: counted from the end, read only),
            or the label in a labelled row as the module prints it (matched ignoring case;
            labelled rows are mappings from upper-case labels).
        codec: how the text converts.
        match: a pattern the field's cleaned text must match for the layout to apply.
        read: False for fields only the simulator prints (derived values such as Srxlev).
    """

    attr: str | tuple[str, ...] | None
    at: int | str
    codec: Codec
    match: str | None = None
    read: bool = True

    @property
    def is_key(self) -> bool:
        """True when the field takes part in choosing the layout."""
        return self.match is not None or isinstance(self.codec, Word | Choice)


@dataclass(frozen=True, slots=True)
class Layout:
    """How one vendor prints one kind of row (one RAT, serving or neighbour).

    Attributes:
        name: for messages (``Quectel LTE serving cell``).
        role: what the row reports.
        fields: the fields, in any order.
        rat: the RAT when no field carries ``rat``.
        sizes: the field counts a positional row may have (``None``: any).
        finish: a vendor rule applied to the values read (units decided per row).
    """

    name: str
    role: Role
    fields: tuple[Field, ...]
    rat: Rat | None = None
    sizes: range | None = None
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def width(self) -> int:
        """How many positional fields the layout prints."""
        positions = [f.at for f in self.fields if isinstance(f.at, int)]
        return max(positions, default=-1) + 1


# The codec of an attribute when a layout spec names none.
_DEFAULT_CODECS: dict[str, Codec] = {
    **dict.fromkeys(("mcc", "mnc"), Digits()),
    **dict.fromkeys(("lac", "tac", "ci"), Hex()),
    **dict.fromkeys(
        ("pci", "psc", "bsic", "arfcn", "uarfcn", "earfcn", "band", "pin", "puk", "pin2",
         "puk2", "current"),
        Dec(),
    ),
    **dict.fromkeys(("rsrp", "rsrq", "rssi", "sinr", "rscp", "ecio", "ecno", "value"), Level()),
    **dict.fromkeys(("state", "operator", "imsi", "mode"), Text()),
}  # fmt: skip


def fields(spec: str, codecs: Mapping[str, object] | None = None) -> tuple[Field, ...]:
    """Build a layout's fields from a spec that reads like the manual's answer format.

    The spec lists the row's fields separated by commas, in order (a positional row), or
    as ``Label::item`` (a labelled row). Each item is one of:

    * empty: a field nothing is read from and nothing printed into;
    * ``=TEXT``: a field printed as ``TEXT`` and not read;
    * ``"word"``: a quoted word the row must carry (``"servingcell"``); ``@word`` or
      ``@one|other``: the same, unquoted;
    * ``attr[:codec][~match][*]``: the attribute (``ci``, ``rsrp``; ``mcc+mnc`` for a
      pair; ``_`` for none) read with the named codec (or the attribute's usual one:
      hex LAC/TAC/cell id, decimal channels, dBm levels, digit-string MCC/MNC), which
      must fit the named pattern for the layout to apply; ``*`` marks a field only
      printed, never read (values derived for the simulator).

    Codec and pattern names are looked up in ``codecs`` (codecs, and patterns as strings).

    Raises:
        ValueError: an item that names an unknown codec or pattern.
    """
    table = codecs or {}
    built: list[Field] = []
    for index, raw in enumerate(spec.split(",")):
        item = raw.strip()
        at: int | str = index
        if "::" in item:
            label, _, item = item.partition("::")
            at = label.strip()
            item = item.strip()
        if not item:
            continue
        if item.startswith("="):
            built.append(Field(None, at, Const(item[1:])))
        elif len(item) >= 2 and item[0] == item[-1] == '"':
            built.append(Field(None, at, Word((item[1:-1],), quoted=True)))
        elif item.startswith("@"):
            built.append(Field(None, at, Word(tuple(item[1:].split("|")))))
        else:
            built.append(_attribute_field(item, at, table))
    return tuple(built)


def _attribute_field(item: str, at: int | str, table: Mapping[str, object]) -> Field:
    read = not item.endswith("*")
    item = item.rstrip("*")
    item, _, match_name = item.partition("~")
    name, _, codec_name = item.partition(":")
    attr: str | tuple[str, ...] | None = None
    if name != "_":
        attr = tuple(name.split("+")) if "+" in name else name
    codec = table.get(codec_name) if codec_name else _DEFAULT_CODECS.get(name)
    match = table.get(match_name) if match_name else None
    if isinstance(codec, str) or not hasattr(codec, "render") or not hasattr(codec, "read"):
        raise ValueError(f"layout spec item {item!r}: unknown codec {codec_name or name!r}")
    if match_name and not isinstance(match, str):
        raise ValueError(f"layout spec item {item!r}: unknown pattern {match_name!r}")
    return Field(
        attr, at, cast(Codec, codec), match=match if isinstance(match, str) else None, read=read
    )


def constants(start: int, *texts: str) -> tuple[Field, ...]:
    """Fields printed with fixed texts at ``start``, ``start + 1``…, and not read."""
    return tuple(Field(None, start + index, Const(text)) for index, text in enumerate(texts))


def _get(row: Row, at: int | str) -> str | None:
    if isinstance(row, Mapping):
        return row.get(at.upper()) if isinstance(at, str) else None
    if isinstance(at, int) and -len(row) <= at < len(row):
        return row[at]
    return None


def _fits(layout: Layout, row: Row) -> bool:
    """True when the row's keys fit the layout (its length is checked by the reader)."""
    for item in layout.fields:
        if not item.is_key:
            continue
        text = _get(row, item.at)
        if text is None:
            return False
        codec = item.codec
        if isinstance(codec, Word | Choice) and not codec.accepts(text):
            return False
        if item.match is not None and not re.fullmatch(item.match, clean(text), re.IGNORECASE):
            return False
    if layout.sizes is not None and not isinstance(row, Mapping):
        return len(row) in layout.sizes
    return True


def select_layout(layouts: Iterable[Layout], row: Row) -> Layout | None:
    """The first layout whose keys fit ``row``, or None."""
    for layout in layouts:
        if _fits(layout, row):
            return layout
    return None


def read_row(layout: Layout, row: Row, line: str = "") -> dict[str, Any]:
    """Read ``row`` with ``layout`` into ``{attribute: value}``.

    A field past the end of the row (or a label not printed) reads as "not known". When
    several fields hold one attribute, the first with a value wins.

    Raises:
        ParseError: the row has a field count the layout does not allow, or a field is
            unreadable.
    """
    if layout.sizes is not None and not isinstance(row, Mapping) and len(row) not in layout.sizes:
        raise ParseError(f"{layout.name} row has {len(row)} fields", line or ",".join(row))
    values: dict[str, Any] = {}
    if layout.rat is not None:
        values["rat"] = layout.rat
    for item in layout.fields:
        if item.attr is None or not item.read:
            continue
        text = _get(row, item.at)
        value = item.codec.read("" if text is None else text, f"{layout.name} {item.attr}")
        pairs = (
            zip(item.attr, value, strict=True)
            if isinstance(item.attr, tuple)
            else ((item.attr, value),)
        )
        for name, found in pairs:
            # Several fields may hold one attribute (alternative labels): the first
            # one with a value wins.
            if values.get(name) is None:
                values[name] = found
    return layout.finish(values) if layout.finish is not None else values


def render_row(layout: Layout, values: Mapping[str, Any]) -> list[str]:
    """Print ``values`` the way the vendor does: one text per position (labelled layouts
    give the texts in field order)."""
    texts: dict[int | str, str] = {}
    for item in layout.fields:
        if isinstance(item.at, int) and item.at < 0:
            continue  # read from the end of a row; the printed position says the same
        if isinstance(item.attr, tuple):
            value: Any = tuple(values.get(name) for name in item.attr)
        elif item.attr is not None:
            value = values.get(item.attr)
            if item.attr == "rat" and value is None:
                value = layout.rat
        else:
            value = None
        texts[item.at] = item.codec.render(value)
    if all(isinstance(at, int) for at in texts):
        return [texts.get(index, "") for index in range(layout.width)]
    return [texts[item.at] for item in layout.fields]


_CELL_FIELDS = frozenset(f.name for f in dataclasses.fields(Cell))


def cell_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that are :class:`~modem.models.Cell` attributes."""
    return {name: value for name, value in values.items() if name in _CELL_FIELDS}


# --------------------------------------------------------------------------- whole answers


@dataclass(frozen=True, slots=True)
class CommandLayouts:
    """Every layout one command answers with, and how its answer is cut into rows.

    Attributes:
        prefix: the answer prefix without the colon (``+QENG``).
        layouts: tried in order; the first that fits reads a row.
        bare_rows: lines without the prefix that start with a digit are rows too
            (Fibocom ``+GTCCINFO`` rows, Telit ``#CSURVC`` survey lines).
        split: turns a row's text (after the prefix) into a row.
        every_layout: apply every layout that fits, not only the first (one block holds
            several cells, e.g. the LTE anchor and the NR leg of ``!GSTATUS``).
    """

    prefix: str
    layouts: tuple[Layout, ...]
    bare_rows: bool = False
    split: Callable[[str], Row] = split_fields
    every_layout: bool = False


@dataclass
class _Collected:
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = field(default_factory=list)
    nr_leg: ServingCell | None = None
    no_cell: NoCell | None = None

    def add(self, layout: Layout, values: dict[str, Any]) -> None:
        cell = cell_values(values)
        state = values.get("state")
        role = layout.role
        if role is Role.FIRST_SERVING:
            role = Role.SERVING if self.serving is None else Role.NEIGHBOUR
        if role is Role.SERVING:
            self.serving = ServingCell(**cell, state=state)
        elif role is Role.NR_LEG:
            self.nr_leg = ServingCell(**cell, state=state, nsa_leg=True)
        elif role is Role.NEIGHBOUR:
            self.neighbours.append(NeighbourCell(**cell))
        elif role is Role.NO_CELL:
            self.no_cell = NoCell(rat=values.get("rat", layout.rat), state=state)

    def report(self) -> CellReport:
        return CellReport(
            serving=self.serving,
            neighbours=tuple(self.neighbours),
            nr_leg=self.nr_leg,
            no_cell=self.no_cell if self.serving is None else None,
        )


def read_rows(
    spec: CommandLayouts, rows: Iterable[tuple[str, Row]], *, seen: bool = False
) -> CellReport:
    """Read ``(line, row)`` pairs with ``spec`` into a report.

    Args:
        spec: the command's layouts.
        rows: the rows with the line each came from (for messages).
        seen: the answer held the command's prefix even if no row follows (a bare
            ``+GTCCINFO:`` header), so an empty report is an answer, not an error.

    Raises:
        ParseError: no row and no prefix, a row no layout fits, or an unreadable field.
    """
    collected = _Collected()
    for line, row in rows:
        seen = True
        layouts = [lay for lay in spec.layouts if _fits(lay, row)]
        if not layouts:
            raise ParseError(f"{spec.prefix} row not understood", line)
        for layout in layouts if spec.every_layout else layouts[:1]:
            collected.add(layout, read_row(layout, row, line))
    if not seen:
        raise ParseError(f"no {spec.prefix} line in the answer", spec.prefix)
    return collected.report()


def iter_rows(spec: CommandLayouts, text: str) -> Iterable[tuple[str, Row]]:
    """The rows of a module's answer: prefixed lines, and bare digit rows if allowed."""
    wanted = (spec.prefix,)
    for line in split_lines(text):
        body = payload(line, wanted)
        if body is not None:
            if body:
                yield line, spec.split(body)
        elif spec.bare_rows and line[:1].isdigit() and "," in line:
            yield line, spec.split(line)


def read_cells(spec: CommandLayouts, text: str) -> CellReport:
    """Read a module's whole answer with ``spec``.

    Raises:
        ParseError: no row at all, a row no layout fits, or an unreadable field.
    """
    wanted = (spec.prefix,)
    seen = any(payload(line, wanted) is not None for line in split_lines(text))
    return read_rows(spec, iter_rows(spec, text), seen=seen)

"""Codecs: how one field of a module's answer converts between text and a value.

A codec reads the module's text (radix, unit, "not known" markers) and prints a value
back the way the vendor does; the layouts of :mod:`modem.at.cells.layout` name one per
field. Reading never raises anything but :class:`~modem.errors.ParseError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from modem.at.common import UNKNOWN_MARKERS, clean, dbm, dec, digits, hex_id
from modem.errors import ParseError

__all__ = [
    "Band",
    "Choice",
    "Codec",
    "Const",
    "Dec",
    "Digits",
    "Hex",
    "HexDec",
    "Index",
    "Leading",
    "Level",
    "Plmn",
    "Text",
    "Word",
]


class Codec(Protocol):
    """Converts one field between the module's text and a value."""

    def read(self, text: str, what: str) -> Any:
        """The value of ``text`` (None for "not known"); raises ``ParseError``."""
        ...

    def render(self, value: Any) -> str:
        """The module's text for ``value`` (its "not known" marker for None)."""
        ...


@dataclass(frozen=True, slots=True)
class Hex:
    """A hexadecimal identifier (LAC, TAC, cell id, Huawei PCI).

    Reading accepts a ``0x`` prefix, stray spaces inside the digits and the vendors'
    all-``F`` "not known" markers (see :func:`~modem.at.common.hex_id`).
    """

    width: int = 1
    lower: bool = False
    missing: str = "-"
    prefix: str = ""
    zero_unknown: bool = False
    quoted: bool = False

    def read(self, text: str, what: str) -> int | None:
        return hex_id(clean(text).replace(" ", ""), what, zero_is_unknown=self.zero_unknown)

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        body = f"{self.prefix}{int(value):0{self.width}X}"
        body = body.lower() if self.lower else body
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True, slots=True)
class HexDec:
    """Hex followed by the same number in decimal, cross-checked: ``550d (21773)``."""

    width: int = 1
    lower: bool = True
    missing: str = "--"

    _PAIR = re.compile(r"([0-9A-Fa-f]+)\s*\((\d+)\)")

    def read(self, text: str, what: str) -> int | None:
        value = text.strip()
        match = self._PAIR.fullmatch(value)
        if match is None:
            return hex_id(value, what)
        number = int(match.group(1), 16)
        if number != int(match.group(2)):
            raise ParseError(
                f"{what}: hex {match.group(1)} and decimal {match.group(2)} differ", value
            )
        return number

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        text = f"{int(value):0{self.width}X}"
        return f"{text.lower() if self.lower else text} ({int(value)})"


@dataclass(frozen=True, slots=True)
class Dec:
    """A decimal integer (channel, PCI, decimal cell id); a ``0x`` value is read as hex.

    ``width`` zero-pads the rendered number (u-blox prints ``001``).
    """

    missing: str = "-"
    width: int = 1
    quoted: bool = False

    def read(self, text: str, what: str) -> int | None:
        if clean(text).lower().startswith("0x"):
            return hex_id(text, what)
        return dec(text, what)

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        body = f"{int(value):0{self.width}d}"
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True, slots=True)
class Digits:
    """A digit string whose width matters (MCC, MNC); ``unpadded`` prints ``1`` for ``01``."""

    missing: str = "-"
    unpadded: bool = False
    quoted: bool = False

    def read(self, text: str, what: str) -> str | None:
        return digits(text)

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        body = str(int(value)) if self.unpadded else str(value)
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True, slots=True)
class Level:
    """A signal level in dBm or dB, printed as ``value * scale`` (SIMCom prints tenths).

    ``decimals`` digits after the point are rendered, zero-padded to ``width`` characters
    (u-blox prints ``-076.50``); ``suffix`` (``dbm``) is accepted when reading and added
    when rendering; ``signless`` prints the magnitude only (SIMCom's WCDMA RSCP).
    """

    scale: float = 1.0
    decimals: int = 0
    missing: str = "-"
    suffix: str = ""
    width: int = 0
    quoted: bool = False
    signless: bool = False

    def read(self, text: str, what: str) -> float | None:
        value = dbm(text, what)
        return None if value is None else value / self.scale

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        scaled = float(value) * self.scale
        scaled = abs(scaled) if self.signless else scaled
        if self.decimals:
            body = f"{scaled:0{self.width}.{self.decimals}f}"
        else:
            body = f"{round(scaled):0{self.width}d}"
        body += self.suffix
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True, slots=True)
class Index:
    """A report index mapped linearly to dBm/dB: ``base + step * index`` (36.133, 38.133).

    ``unknown`` is the index meaning "not known"; values above ``top`` are an error.
    """

    base: float
    step: float
    top: int
    unknown: int | None = 255
    missing: str = "255"

    def read(self, text: str, what: str) -> float | None:
        value = dec(text, what)
        if value is None or value == self.unknown:
            return None
        if not 0 <= value <= self.top:
            raise ParseError(f"{what} index {value} out of range 0..{self.top}", text)
        # Rounded so that -20.2 + 0.2 * 66 prints as -7.0, not -6.999999999999998.
        return round(self.base + self.step * value, 3)

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        index = round((float(value) - self.base) / self.step)
        return str(max(0, min(self.top, index)))


@dataclass(frozen=True, slots=True)
class Band:
    """A band number inside text (``EUTRAN-BAND20``, ``B66``, ``n41``) or offset by a code
    (Fibocom prints LTE band 3 as ``103`` and NR n78 as ``5078``)."""

    prefix: str = ""
    offset: int = 0
    missing: str = "-"

    _DIGITS = re.compile(r"(\d+)\s*$")

    def read(self, text: str, what: str) -> int | None:
        value = clean(text)
        if value.upper() in UNKNOWN_MARKERS:
            return None
        match = self._DIGITS.search(value)
        if match is None:
            raise ParseError(f"{what}: cannot read {text!r}", text)
        number = int(match.group(1))
        return number - self.offset if self.offset and number >= self.offset else number

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        return f"{self.prefix}{int(value) + self.offset}"


@dataclass(frozen=True, slots=True)
class Leading:
    """A number followed by words in one field: SIMCom's ``79 EGSM 900`` is ARFCN 79."""

    suffix: str = ""
    missing: str = "-"

    _DIGITS = re.compile(r"\s*(\d+)")

    def read(self, text: str, what: str) -> int | None:
        value = clean(text)
        if value.upper() in UNKNOWN_MARKERS:
            return None
        match = self._DIGITS.match(value)
        if match is None:
            raise ParseError(f"{what}: cannot read {text!r}", text)
        return int(match.group(1))

    def render(self, value: Any) -> str:
        return self.missing if value is None else f"{int(value)}{self.suffix}"


@dataclass(frozen=True, slots=True)
class Plmn:
    """MCC and MNC in one field: ``228-02`` (SIMCom), ``"310 260"`` (Telit), ``310260``.

    Read into the pair ``(mcc, mnc)``; without a separator, 5 digits are MCC + 2-digit MNC
    and 6 digits MCC + 3-digit MNC.
    """

    separator: str = "-"
    quoted: bool = False
    missing: str = ""

    def read(self, text: str, what: str) -> tuple[str | None, str | None]:
        value = clean(text)
        if value.upper() in UNKNOWN_MARKERS:
            return None, None
        for separator in ("-", " "):
            if separator in value:
                mcc, _, mnc = value.partition(separator)
                return digits(mcc), digits(mnc.strip())
        if value.isdigit() and len(value) in (5, 6) and value[:3] != "000":
            return value[:3], value[3:]
        raise ParseError(f"{what}: {text!r} is not MCC and MNC", text)

    def render(self, value: Any) -> str:
        mcc, mnc = value if value is not None else (None, None)
        if mcc is None or mnc is None:
            return self.missing
        body = f"{mcc}{self.separator}{mnc}"
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True, slots=True)
class Text:
    """Free text (the vendor's state word, an operator name); empty is None."""

    quoted: bool = False
    missing: str = ""

    def read(self, text: str, what: str) -> str | None:
        value = clean(text)
        return value or None

    def render(self, value: Any) -> str:
        if value is None:
            return self.missing
        return f'"{value}"' if self.quoted else str(value)


@dataclass(frozen=True, slots=True)
class Word:
    """A fixed word that selects the layout (``"servingcell"``); the first one is printed."""

    words: tuple[str, ...]
    quoted: bool = False

    def accepts(self, text: str) -> bool:
        """True when ``text`` is one of the words (case and quotes ignored)."""
        return " ".join(clean(text).upper().split()) in {w.upper() for w in self.words}

    def read(self, text: str, what: str) -> str:
        return self.words[0]

    def render(self, value: Any) -> str:
        return f'"{self.words[0]}"' if self.quoted else self.words[0]


@dataclass(frozen=True, slots=True)
class Choice:
    """A word that selects the layout and stands for a value (``"CAT-M"`` is LTE-M).

    Rendering prints the first word that stands for the value.
    """

    words: Mapping[str, Any]
    quoted: bool = False

    def accepts(self, text: str) -> bool:
        """True when ``text`` is one of the words (case, quotes and extra spaces ignored)."""
        return self._key(text) in self._table()

    def _table(self) -> dict[str, Any]:
        return {word.upper(): value for word, value in self.words.items()}

    @staticmethod
    def _key(text: str) -> str:
        return " ".join(clean(text).upper().split())

    def read(self, text: str, what: str) -> Any:
        table = self._table()
        key = self._key(text)
        if key not in table:
            raise ParseError(f"{what}: unknown word {text!r}", text)
        return table[key]

    def render(self, value: Any) -> str:
        for word, meaning in self.words.items():
            if meaning == value:
                return f'"{word}"' if self.quoted else word
        raise ValueError(f"no word stands for {value!r}")


@dataclass(frozen=True, slots=True)
class Const:
    """A field printed with a fixed text and not read (bandwidth codes, reserved fields)."""

    text: str

    def read(self, text: str, what: str) -> None:
        return None

    def render(self, value: Any) -> str:
        return self.text

"""The tolerant walk over an MLP document and the readers of its element text.

Shared by the request and answer decoders (:mod:`mlp.decoder`) and the shape decoder
(:mod:`mlp.shapedecoder`): naming elements by local name in the document's MLP namespace
(SALVE's own as ``salve:...``, any other namespace an ignored extension), picking one child
or refusing a repeated one, and reading digits, decimals, enumerations and ``ver`` with
the result code each failure earns (the table in :mod:`mlp.decoder`). Every failure names
the element by its path and never echoes the submitted value.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from lxml import etree

from mlp.codes import ResultCode
from mlp.errors import MlpDecodeError
from mlp.model import SALVE_NS

__all__ = [
    "DIGITS_RE",
    "Element",
    "Walker",
    "check_ver",
    "decimal_value",
    "element_text",
    "enum_value",
    "fail",
    "integer_value",
    "need_child",
    "nonempty_text",
    "one_child",
    "optional_integer",
    "optional_text",
    "reject_unsupported",
    "safe_name",
]

Element = etree._Element
_E = TypeVar("_E", bound=StrEnum)

_VER_RE = re.compile(r"\s*(\d{1,3})(?:\.\d{1,3}){0,2}\s*", re.ASCII)
DIGITS_RE = re.compile(r"\s*(\d{1,10})\s*", re.ASCII)
_DECIMAL_RE = re.compile(r"\s*[+-]?(?:\d{1,15}(?:\.\d{0,20})?|\.\d{1,20})\s*", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}", re.ASCII)


def fail(code: ResultCode, path: str, reason: str) -> MlpDecodeError:
    return MlpDecodeError(code, f"{path}: {reason}")


class Walker:
    """Element naming for one document: MLP elements by local name, SALVE ones
    prefixed ``salve:``, elements of any other namespace are extensions (``""``)."""

    __slots__ = ("mlp_ns",)

    def __init__(self, root: Element) -> None:
        tag = root.tag
        namespace = tag[1:].partition("}")[0] if isinstance(tag, str) and tag[:1] == "{" else ""
        # A root in the SALVE namespace is not an MLP document at all.
        self.mlp_ns = "\0" if namespace == SALVE_NS else namespace

    def name(self, element: Element) -> str:
        tag = element.tag
        if not isinstance(tag, str):
            return ""
        if tag[:1] != "{":
            return tag
        namespace, _, local = tag[1:].partition("}")
        if namespace == self.mlp_ns:
            return local
        if namespace == SALVE_NS:
            return "salve:" + local
        return ""

    def children(self, element: Element) -> dict[str, list[Element]]:
        # The naming of name() inlined: this loop runs for every element of every
        # request and dominates decoding time.
        groups: dict[str, list[Element]] = {}
        mlp_ns = self.mlp_ns
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag[:1] == "{":
                namespace, _, name = tag[1:].partition("}")
                if namespace != mlp_ns:
                    if namespace != SALVE_NS:
                        continue
                    name = "salve:" + name
            else:
                name = tag
            found = groups.get(name)
            if found is None:
                groups[name] = [child]
            else:
                found.append(child)
        return groups


def one_child(groups: dict[str, list[Element]], name: str, path: str) -> Element | None:
    found = groups.get(name)
    if not found:
        return None
    if len(found) > 1:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/{name}", "element repeated")
    return found[0]


def need_child(groups: dict[str, list[Element]], name: str, path: str) -> Element:
    element = one_child(groups, name, path)
    if element is None:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/{name}", "mandatory element missing")
    return element


def reject_unsupported(groups: dict[str, list[Element]], names: frozenset[str], path: str) -> None:
    for name in groups:
        if name in names:
            raise fail(ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED, f"{path}/{name}", "not supported")


def element_text(element: Element, path: str) -> str:
    if len(element):
        raise fail(ResultCode.SYNTAX_ERROR, path, "element where text was expected")
    text = element.text
    return text.strip() if text else ""


def nonempty_text(element: Element, path: str) -> str:
    text = element_text(element, path)
    if not text:
        raise fail(ResultCode.FORMAT_ERROR, path, "empty value")
    return text


def optional_text(groups: dict[str, list[Element]], name: str, path: str) -> str | None:
    element = one_child(groups, name, path)
    return None if element is None else nonempty_text(element, f"{path}/{name}")


def integer_value(element: Element, path: str) -> int:
    match = DIGITS_RE.fullmatch(element_text(element, path))
    if match is None:
        raise fail(ResultCode.FORMAT_ERROR, path, "not a non-negative integer")
    return int(match.group(1))


def optional_integer(groups: dict[str, list[Element]], name: str, path: str) -> int | None:
    element = one_child(groups, name, path)
    return None if element is None else integer_value(element, f"{path}/{name}")


def decimal_value(element: Element, path: str) -> float:
    text = element_text(element, path)
    if _DECIMAL_RE.fullmatch(text) is None:
        raise fail(ResultCode.FORMAT_ERROR, path, "not a decimal number")
    return float(text)


def enum_value(kind: type[_E], value: str, path: str) -> _E:
    # A dict lookup: calling the enum class is several times slower, and this runs
    # for most attributes of every request.
    member = kind.__members__.get(value.strip().upper())
    if member is None:
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE, path, "value not in enumeration"
        )
    return member


def check_ver(element: Element, path: str) -> str | None:
    ver = element.get("ver")
    if ver is None:
        return None
    match = _VER_RE.fullmatch(ver)
    if match is None:
        raise fail(ResultCode.FORMAT_ERROR, f"{path}@ver", "not a version number")
    if match.group(1) != "3":
        raise fail(ResultCode.UNSUPPORTED_VERSION, f"{path}@ver", "only MLP 3.x is supported")
    return ver.strip()


def safe_name(name: str) -> str:
    return name if _NAME_RE.fullmatch(name) else "element"

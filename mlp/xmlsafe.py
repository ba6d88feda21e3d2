"""Hardened XML parsing for MLP documents (lxml/libxml2).

An MLP endpoint parses documents from strangers, so the parser is configured to do
nothing but parse:

* the body size is checked before any byte reaches libxml2;
* ``resolve_entities=False``: entities are never expanded or fetched, and any
  reference to one (in text or in an attribute value) rejects the document;
* ``no_network=True`` and ``load_dtd=False``: the DOCTYPE's DTD is never fetched,
  neither from the network nor from a file relative to the working directory;
* ``huge_tree=False`` keeps libxml2's limits (depth 256, 10 MB text nodes,
  entity amplification);
* a DOCTYPE with a non-empty internal subset is rejected, because libxml2 applies
  ``ATTLIST`` defaults from it even with DTD loading off, so a document could
  change attributes such as ``msid/@type`` without showing them;
* ``collect_ids`` keeps its default: with ``collect_ids=False`` lxml 6.1 /
  libxml2 2.14 open the DOCTYPE's SYSTEM file despite ``load_dtd=False``.

A SYSTEM or PUBLIC DOCTYPE without an internal subset is normal in MLP
(``<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">``) and accepted; it is
simply not read. A parser is created per call: they are cheap (a few
microseconds) and must not be shared between threads.
"""

from __future__ import annotations

import re

from lxml import etree

from mlp.codes import ResultCode
from mlp.errors import MlpDecodeError

__all__ = ["parse_document"]

# "&" not starting one of the five predefined entities or a character reference.
_ENTITY_REFERENCE_RE = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);|#)")


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
    )


def _has_internal_subset(tree: etree._ElementTree) -> bool:
    # lxml has no direct flag: docinfo.internalDTD exists even for SYSTEM-only
    # DOCTYPEs, and ATTLIST-only subsets are invisible to DTD.iterelements().
    # libxml2 serializes a non-empty internal subset as "<!DOCTYPE name ... [".
    first_line = etree.tostring(tree).split(b"\n", 1)[0]
    return first_line.startswith(b"<!DOCTYPE") and first_line.rstrip().endswith(b"[")


def parse_document(body: bytes, *, max_body_bytes: int) -> etree._Element:
    """Parse one MLP document safely and return its root element.

    Args:
        body: the raw bytes as received; the XML declaration decides the encoding.
        max_body_bytes: larger bodies are refused without parsing.

    Returns:
        The root element. Comments and processing instructions are removed.

    Raises:
        MlpDecodeError: 106 SYNTAX ERROR for an oversized or empty body, XML that is
            not well-formed or exceeds libxml2's limits, a DOCTYPE with an internal
            subset, or an entity reference.
        TypeError: ``body`` is not bytes.
    """
    if not isinstance(body, bytes):
        raise TypeError(f"an MLP document must be bytes, not {type(body).__name__}")
    if len(body) > max_body_bytes:
        raise MlpDecodeError(
            ResultCode.SYNTAX_ERROR, f"document larger than {max_body_bytes} bytes"
        )
    if not body.strip():
        raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "empty document")
    try:
        root = etree.fromstring(body, _new_parser())
    except etree.XMLSyntaxError as exc:
        raise MlpDecodeError(
            ResultCode.SYNTAX_ERROR, "document is not well-formed XML", line=exc.lineno
        ) from exc
    except (etree.LxmlError, ValueError, LookupError) as exc:
        # Unknown encodings and similar refusals from lxml before parsing starts.
        raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "document cannot be read as XML") from exc
    tree = root.getroottree()
    # lxml-stubs lack DocInfo.doctype; it is a str ("" without a DOCTYPE).
    if tree.docinfo.doctype:  # type: ignore[union-attr]
        if _has_internal_subset(tree):
            raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "DOCTYPE internal subset not accepted")
        # Without a DOCTYPE an undeclared entity is a well-formedness error; with one,
        # libxml2 accepts it because the unread external DTD might declare it. In text
        # it stays an entity node, but in an attribute value it silently vanishes, so
        # the document itself is searched.
        encoding = tree.docinfo.encoding or "UTF-8"
        if next(root.iter(etree.Entity), None) is not None or _mentions_entity(body, encoding):
            raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "entity reference not accepted")
    return root


def _mentions_entity(body: bytes, encoding: str) -> bool:
    try:
        text = body.decode(encoding)
    except (LookupError, UnicodeError):
        # An encoding Python cannot read back: the document cannot be checked.
        return True
    # In well-formed XML a bare "&" always starts a reference. Inside comments or
    # CDATA it would be literal text; refusing those rare documents is the safe side.
    return _ENTITY_REFERENCE_RE.search(text) is not None

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
* a DOCTYPE whose internal subset declares anything is rejected, because libxml2
  applies ``ATTLIST`` defaults from it even with DTD loading off, so a document could
  change attributes such as ``msid/@type``, ``slir/@res_type`` or a default ``xmlns``
  without showing them. The decision is made on the DTD libxml2 parsed, never on the
  request text: a SYSTEM or PUBLIC literal may legally hold newlines, tabs, ``[`` or
  ``]>``, and the document may be UTF-16;
* any entity reference is refused, decided on libxml2's own diagnostics (an undeclared
  entity is reported whatever the document's encoding) and on the entity nodes in the
  tree, never by searching the request text;
* ``collect_ids`` keeps its default: with ``collect_ids=False`` lxml 6.1 /
  libxml2 2.14 open the DOCTYPE's SYSTEM file despite ``load_dtd=False``.

A SYSTEM or PUBLIC DOCTYPE without an internal subset is normal in MLP
(``<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">``) and accepted; it is
simply not read. A parser is created per call: they are cheap (a few
microseconds) and must not be shared between threads.
"""

from __future__ import annotations

from typing import Any, cast

from lxml import etree

from mlp.codes import ResultCode
from mlp.errors import MlpDecodeError

__all__ = ["parse_document"]


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


def _declares_anything(tree: etree._ElementTree) -> bool:
    """Whether the parsed internal DTD subset holds any declaration.

    lxml lists element and entity declarations, but not attribute-list declarations for
    an element the subset does not declare, nor notations. For those, ask libxml2 itself:
    its serializer writes the internal subset (`` [ ... ]>``) exactly when the parsed DTD
    has a declaration of any kind (``xmlDtdDumpOutput`` tests its element, attribute,
    entity and notation tables), and a DOCTYPE written without one always ends in a quote
    or in the root name, never in ``]>``. This reads libxml2's rendering of the parsed
    DTD, not the request, so no spelling of the request can hide a declaration.
    """
    # lxml-stubs lack DTD.iterelements/iterentities and say internalDTD is never None.
    dtd: Any = tree.docinfo.internalDTD
    if dtd is None:
        return False
    if next(dtd.iterelements(), None) is not None or next(dtd.iterentities(), None) is not None:
        return True
    root = tree.getroot()
    whole = etree.tostring(tree)
    element = etree.tostring(root)
    if not whole.endswith(element):
        return True  # an unexpected rendering: fail closed
    return whole[: len(whole) - len(element)].rstrip().endswith(b"]>")


def _refers_to_entity(root: etree._Element, parser: etree.XMLParser) -> bool:
    # Without a DOCTYPE an undeclared entity is a well-formedness error. With one,
    # libxml2 accepts it (the unread external DTD might declare it) and only warns: in
    # text the reference stays an entity node, in an attribute value it silently
    # vanishes. The warning is raised on the decoded characters, so it is there
    # whatever the document's encoding, BOM or declaration.
    if next(root.iter(etree.Entity), None) is not None:
        return True
    return any("ENTITY" in entry.type_name for entry in parser.error_log)


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
    parser = _new_parser()
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise MlpDecodeError(
            ResultCode.SYNTAX_ERROR, "document is not well-formed XML", line=exc.lineno
        ) from exc
    except (etree.LxmlError, ValueError, LookupError) as exc:
        # Unknown encodings and similar refusals from lxml before parsing starts.
        raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "document cannot be read as XML") from exc
    tree = root.getroottree()
    if cast(Any, tree.docinfo.internalDTD) is None:
        # No DOCTYPE: an entity reference would not have been well-formed.
        return root
    if _declares_anything(tree):
        raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "DOCTYPE internal subset not accepted")
    if _refers_to_entity(root, parser):
        raise MlpDecodeError(ResultCode.SYNTAX_ERROR, "entity reference not accepted")
    return root

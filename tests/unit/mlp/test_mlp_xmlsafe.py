"""Hostile XML: every payload is refused (or made harmless) without touching
files or the network."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from mlp import MlpDecodeError, MsidType, ResultCode, decode_request
from mlp.xmlsafe import parse_document

SLIR_TAIL = (
    b'<svc_init ver="3.2.0"><hdr><client><id>ID</id></client></hdr>'
    b"<slir><msids><msid>46701234567</msid></msids></slir></svc_init>"
)


def request_with(prolog: bytes, client_id: bytes = b"acme") -> bytes:
    return prolog + SLIR_TAIL.replace(b"ID", client_id)


class _CountingHandler(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY leak "fetched"><!ATTLIST msid type CDATA "IMSI">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def assert_refused(body: bytes, *, max_body_bytes: int = 65536) -> MlpDecodeError:
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(body, max_body_bytes=max_body_bytes)
    assert caught.value.result_code is ResultCode.SYNTAX_ERROR
    return caught.value


def test_external_file_entity_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = request_with(
        f'<!DOCTYPE svc_init [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'.encode(), b"&x;"
    )
    error = assert_refused(body)
    assert "TOP-SECRET" not in str(error)
    assert "DOCTYPE" in error.add_info


def test_external_url_entity_is_refused_without_a_connection(
    loopback_server: tuple[str, list[str]],
) -> None:
    url, hits = loopback_server
    body = request_with(f'<!DOCTYPE svc_init [<!ENTITY x SYSTEM "{url}/e">]>'.encode(), b"&x;")
    assert_refused(body)
    assert hits == []


def test_external_parameter_entity_is_refused_without_a_connection(
    loopback_server: tuple[str, list[str]],
) -> None:
    url, hits = loopback_server
    body = request_with(f'<!DOCTYPE svc_init [<!ENTITY % p SYSTEM "{url}/p"> %p;]>'.encode())
    assert_refused(body)
    assert hits == []


def test_external_dtd_is_never_fetched(loopback_server: tuple[str, list[str]]) -> None:
    url, hits = loopback_server
    body = request_with(f'<!DOCTYPE svc_init SYSTEM "{url}/MLP_SVC_INIT_320.DTD">'.encode())
    request = decode_request(body)
    assert request.slir.msids[0].type is MsidType.MSISDN
    assert hits == []


def test_local_dtd_named_by_doctype_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If libxml2 read this DTD (relative to the working directory), its ATTLIST
    # default would turn the msid into an IMSI.
    (tmp_path / "MLP_SVC_INIT_320.DTD").write_text('<!ATTLIST msid type CDATA "IMSI">')
    monkeypatch.chdir(tmp_path)
    request = decode_request(request_with(b'<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">'))
    assert request.slir.msids[0].type is MsidType.MSISDN


def test_internal_attlist_default_is_refused() -> None:
    body = request_with(b'<!DOCTYPE svc_init [<!ATTLIST msid type CDATA "IMSI">]>')
    assert "internal subset" in assert_refused(body).add_info


def test_internal_entity_is_refused() -> None:
    body = request_with(b'<!DOCTYPE svc_init [<!ENTITY who "acme">]>', b"&who;")
    assert_refused(body)


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    body = request_with(f"<!DOCTYPE svc_init [{''.join(entities)}]>".encode(), b"&lol9;")
    assert_refused(body)


def test_quadratic_blowup_is_refused() -> None:
    body = request_with(
        b'<!DOCTYPE svc_init [<!ENTITY a "' + b"x" * 50_000 + b'">]>', b"&a;" * 20_000
    )
    assert_refused(body, max_body_bytes=1_000_000)


def test_undeclared_entity_behind_system_doctype_is_refused() -> None:
    body = request_with(b'<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">', b"&who;")
    assert "entity" in assert_refused(body).add_info


def test_deep_nesting_is_refused() -> None:
    nest = b"<x>" * 5000 + b"</x>" * 5000
    body = SLIR_TAIL.replace(b"<hdr>", b"<hdr>" + nest)
    assert_refused(body)


def test_huge_text_node_is_refused() -> None:
    body = request_with(b"", b"a" * 10_500_000)
    assert_refused(body, max_body_bytes=20_000_000)


def test_body_cap_applies_before_parsing() -> None:
    # Not XML at all: only the size check can produce this message.
    error = assert_refused(b"\x00" * 65537)
    assert "larger than 65536 bytes" in error.add_info


def test_body_at_the_cap_is_parsed() -> None:
    body = request_with(b"")
    padded = body.replace(b"<hdr>", b"<hdr>" + b" " * (1000 - len(body)))
    assert len(padded) == 1000
    assert decode_request(padded, max_body_bytes=1000).header.client is not None


def test_empty_internal_subset_is_harmless() -> None:
    assert decode_request(request_with(b"<!DOCTYPE svc_init [ ]>")).slir.msids


def test_utf16_document_is_accepted() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>' + request_with(b"", "Zürich".encode()).decode()
    request = decode_request(text.encode("utf-16"))
    assert request.header.client is not None
    assert request.header.client.id == "Zürich"


def test_parse_document_refuses_str() -> None:
    with pytest.raises(TypeError):
        parse_document("<a/>", max_body_bytes=10)  # type: ignore[arg-type]


def test_parser_messages_never_reach_add_info() -> None:
    error = assert_refused(b"<svc_init><hdr></svc_init>")
    assert error.add_info == "document is not well-formed XML"
    assert error.line == 1


def test_undeclared_entity_in_an_attribute_is_refused() -> None:
    # libxml2 drops such a reference from the attribute value without a trace.
    body = request_with(b'<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">').replace(
        b"<msid>", b'<msid type="&kind;">'
    )
    assert "entity" in assert_refused(body).add_info


def test_predefined_and_character_references_are_fine() -> None:
    body = request_with(b'<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">', b"a&amp;b&#65;&lt;")
    request = decode_request(body)
    assert request.header.client is not None
    assert request.header.client.id == "a&bA<"


# -- DOCTYPE spellings that hide an internal subset from a text check ------------------------
#
# libxml2 applies ATTLIST defaults from the internal subset even with DTD loading off, so
# every spelling below must be refused, whatever the encoding. Each would otherwise turn
# the SLIR into an asynchronous request or move an element into another namespace.

HIDDEN_SUBSETS = {
    "newline in SYSTEM literal": '<!DOCTYPE svc_init SYSTEM "x\n.dtd" [{decl}]>',
    "tab in SYSTEM literal": '<!DOCTYPE svc_init SYSTEM "x\t.dtd" [{decl}]>',
    "brackets in SYSTEM literal": '<!DOCTYPE svc_init SYSTEM "x]>[.dtd" [{decl}]>',
    "newline in PUBLIC id": '<!DOCTYPE svc_init PUBLIC "-//OMA\n//MLP//EN" "x.dtd" [{decl}]>',
    "PUBLIC id and tabs": '<!DOCTYPE\tsvc_init\tPUBLIC\t"-//OMA//EN"\t"x.dtd"\t[{decl}]>',
    "newlines between tokens": "<!DOCTYPE svc_init\nSYSTEM\n'x.dtd'\n[\n{decl}\n]\n>",
    "comment before": "<!DOCTYPE svc_init [<!-- ]> -->{decl}]>",
    "comment after": "<!DOCTYPE svc_init [{decl}<!-- a\n]> -->]>",
    "single-quoted literal with double quote": "<!DOCTYPE svc_init SYSTEM 'a\"\n]>' [{decl}]>",
}
DECLARATIONS = {
    "res_type default": '<!ATTLIST slir res_type CDATA "ASYNC">',
    "xmlns default": '<!ATTLIST eqop xmlns CDATA "urn:elsewhere">',
    "notation": '<!NOTATION n SYSTEM "x">',
}
ENCODINGS = {
    # name: (codec, BOM, XML declaration)
    "utf-8": ("utf-8", False, False),
    "utf-8 declared": ("utf-8", False, True),
    "utf-16le BOM": ("utf-16-le", True, False),
    "utf-16be BOM": ("utf-16-be", True, False),
    "utf-16le declared": ("utf-16-le", False, True),
    "utf-16be declared": ("utf-16-be", False, True),
    "utf-16be BOM declared": ("utf-16-be", True, True),
}
SLIR_WITH_EQOP = (
    '<svc_init ver="3.2.0"><hdr><client><id>acme</id><pwd>pw</pwd></client></hdr>'
    '<slir ver="3.2.0"><msids><msid>46701234567</msid></msids>'
    "<eqop><max_loc_age>1</max_loc_age></eqop></slir></svc_init>"
)


def encoded(text: str, encoding: str) -> bytes:
    codec, bom, declared = ENCODINGS[encoding]
    name = "UTF-16" if codec.startswith("utf-16") else "UTF-8"
    if declared:
        text = f'<?xml version="1.0" encoding="{name}"?>\n' + text
    return ("\ufeff" if bom else "").encode(codec) + text.encode(codec)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("declaration", DECLARATIONS)
@pytest.mark.parametrize("doctype", HIDDEN_SUBSETS)
def test_internal_subset_is_refused_however_the_doctype_is_spelled(
    doctype: str, declaration: str, encoding: str
) -> None:
    prolog = HIDDEN_SUBSETS[doctype].format(decl=DECLARATIONS[declaration])
    error = assert_refused(encoded(prolog + SLIR_WITH_EQOP, encoding))
    assert error.add_info == "DOCTYPE internal subset not accepted"


def test_the_hidden_defaults_would_change_the_request() -> None:
    # What the refusal prevents: parsed with the checks bypassed, the defaults apply.
    prolog = HIDDEN_SUBSETS["newline in SYSTEM literal"].format(
        decl=DECLARATIONS["res_type default"] + DECLARATIONS["xmlns default"]
    )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring((prolog + SLIR_WITH_EQOP).encode(), parser)
    slir = root.find("slir")
    assert slir is not None
    assert slir.get("res_type") == "ASYNC"
    assert root.find("slir/eqop") is None  # moved into another namespace


HARMLESS_DOCTYPES = {
    "SYSTEM": '<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">',
    "newline in SYSTEM literal": '<!DOCTYPE svc_init SYSTEM "MLP_SVC\n_INIT_320.DTD">',
    "brackets in SYSTEM literal": '<!DOCTYPE svc_init SYSTEM "x]>[.dtd">',
    "PUBLIC": '<!DOCTYPE svc_init PUBLIC "-//OMA//DTD SVC_INIT 3.2.0//EN" "svc_init.dtd">',
    "empty subset": "<!DOCTYPE svc_init [\n\t]>",
    "comment-only subset": "<!DOCTYPE svc_init [<!-- nothing ]> here -->]>",
    "no external id": "<!DOCTYPE svc_init>",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("doctype", HARMLESS_DOCTYPES)
def test_doctype_without_declarations_is_accepted_in_every_encoding(
    doctype: str, encoding: str
) -> None:
    body = encoded(HARMLESS_DOCTYPES[doctype] + SLIR_WITH_EQOP, encoding)
    request = decode_request(body)
    assert request.slir.res_type is None
    assert request.slir.eqop is not None
    assert request.slir.eqop.max_loc_age == 1


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("where", ["text", "attribute"])
def test_undeclared_entity_is_refused_in_every_encoding(where: str, encoding: str) -> None:
    text = HARMLESS_DOCTYPES["SYSTEM"] + SLIR_WITH_EQOP
    if where == "text":
        text = text.replace("<id>acme</id>", "<id>&who;</id>")
    else:
        text = text.replace("<msid>", '<msid type="&kind;">')
    error = assert_refused(encoded(text, encoding))
    assert error.add_info == "entity reference not accepted"


def test_utf16_without_bom_or_declaration_is_not_read() -> None:
    # XML 1.0 §4.3.3: UTF-16 needs a byte order mark; without one nothing says how to read it.
    body = (HARMLESS_DOCTYPES["SYSTEM"] + SLIR_WITH_EQOP).encode("utf-16-le")
    assert_refused(body)

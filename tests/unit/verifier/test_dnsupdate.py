"""RFC 2136 publishing without a server: TSIG key files, record checks, zone lines.

The exchanges with a real server (Knot: idempotent updates, a refused TSIG key) are in
``tests/integration/front/test_front_dns.py``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from verifier.dnsupdate import (
    DnsUpdateRecordError,
    DnsUpdateTransportError,
    TsigKey,
    TsigKeyError,
    ZoneRecord,
    load_tsig_key,
    publish,
    zone_lines,
)

SECRET = base64.b64encode(b"k" * 32).decode()


def key_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "tsig.key"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "text",
    [
        f'key "salve-update" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n',
        f'key salve-update. {{ algorithm HMAC-SHA256; secret "{SECRET}"; }};',
        f"# hmac-sha256:salve-update:{SECRET}\nkey:\n  - id: salve-update\n"
        f"    algorithm: hmac-sha256\n    secret: {SECRET}\n",
    ],
    ids=["bind", "bind-compact", "knot"],
)
def test_bind_and_knot_key_files_are_read(tmp_path: Path, text: str) -> None:
    key = load_tsig_key(key_file(tmp_path, text))
    assert key == TsigKey("salve-update", "hmac-sha256", b"k" * 32)
    assert SECRET not in repr(key)


@pytest.mark.parametrize(
    ("text", "mode", "words"),
    [
        (f'key "a" {{ algorithm hmac-sha256; secret "{SECRET}"; }};', 0o644, "readable by every"),
        (f'key "a" {{ algorithm hmac-md5; secret "{SECRET}"; }};', 0o600, "not accepted"),
        ('key "a" { algorithm hmac-sha256; secret "!!!"; };', 0o600, "not base64"),
        ('key "a" { algorithm hmac-sha256; };', 0o600, "no secret"),
        (
            f'key "a" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
            f'key "b" {{ algorithm hmac-sha256; secret "{SECRET}"; }};',
            0o600,
            "holds 2 TSIG keys",
        ),
        ("nothing here", 0o600, "holds no TSIG key"),
    ],
)
def test_unusable_key_files_are_refused(tmp_path: Path, text: str, mode: int, words: str) -> None:
    with pytest.raises(TsigKeyError, match=words):
        load_tsig_key(key_file(tmp_path, text, mode))


def test_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(TsigKeyError, match="does not exist"):
        load_tsig_key(tmp_path / "absent.key")


def test_zone_lines_split_long_txt_values() -> None:
    value = "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=PS256; sig=" + "A" * 400
    lines = zone_lines(
        [
            ZoneRecord("www.example.com", "LOC", 300, "47 22 36.000 N 8 32 30.000 E 0m 1m 2000m"),
            ZoneRecord("gmlc.example.net._m2dmrt.www.example.com.", "TXT", 60, value),
        ]
    )
    assert lines[0].startswith("www.example.com. 300 IN LOC 47 22 36.000 N 8 32 30.000 E")
    owner, ttl, klass, rdtype, rdata = lines[1].split(" ", 4)
    assert (owner, ttl, klass, rdtype) == (
        "gmlc.example.net._m2dmrt.www.example.com.",
        "60",
        "IN",
        "TXT",
    )
    strings = [s.strip('"') for s in rdata.split('" "')]
    assert [len(s) for s in strings] == [255, len(value) - 255]
    assert "".join(strings) == value


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (ZoneRecord("www.example.org", "TXT", 300, "v=salve1"), "outside the zone"),
        (ZoneRecord("www.example.com", "LOC", 300, "somewhere nice"), "not valid RDATA"),
        (ZoneRecord("www.example.com", "NOPE", 300, "x"), "not a record type"),
        (ZoneRecord("www.example.com", "TXT", -1, "x"), "out of range"),
        (ZoneRecord("www.example.com", "TXT", 300, "caf\u00e9"), "ASCII only"),
    ],
)
def test_records_that_cannot_be_published_fail_before_any_exchange(
    record: ZoneRecord, words: str
) -> None:
    key = TsigKey("k", "hmac-sha256", b"k" * 32)
    # The server address is never used: the records are checked first.
    with pytest.raises(DnsUpdateRecordError, match=words):
        publish("192.0.2.1:53", key, "example.com", [record], timeout=0.1)


def test_one_rrset_has_one_ttl() -> None:
    key = TsigKey("k", "hmac-sha256", b"k" * 32)
    records = [
        ZoneRecord("www.example.com", "TXT", 300, "a"),
        ZoneRecord("www.example.com", "TXT", 60, "b"),
    ]
    with pytest.raises(DnsUpdateRecordError, match="one TTL"):
        publish("192.0.2.1:53", key, "example.com", records, timeout=0.1)


def test_an_unreachable_server_is_a_transport_error() -> None:
    key = TsigKey("k", "hmac-sha256", b"k" * 32)
    record = ZoneRecord("www.example.com", "TXT", 300, "v=salve1")
    with pytest.raises(DnsUpdateTransportError):
        publish("127.0.0.1:1", key, "example.com", [record], timeout=1)

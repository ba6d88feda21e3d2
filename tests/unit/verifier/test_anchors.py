"""Trust anchors: the shipped IANA root anchor, RFC 7958 XML and master-file anchor files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dns.name
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.anchors import (
    ROOT_SERVERS,
    TrustAnchorError,
    iana_root_anchors,
    load_trust_anchors,
    parse_rfc7958,
    parse_trust_anchors,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<TrustAnchor id="X" source="test">
  <Zone>lab.test.</Zone>
  <KeyDigest id="old" validFrom="2010-01-01T00:00:00+00:00" validUntil="2020-01-01T00:00:00+00:00">
    <KeyTag>1</KeyTag><Algorithm>13</Algorithm><DigestType>2</DigestType>
    <Digest>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</Digest>
  </KeyDigest>
  <KeyDigest id="now" validFrom="2020-01-01T00:00:00+00:00">
    <KeyTag>2</KeyTag><Algorithm>15</Algorithm><DigestType>2</DigestType>
    <Digest>BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB</Digest>
  </KeyDigest>
  <KeyDigest id="later" validFrom="2030-01-01T00:00:00+00:00">
    <KeyTag>3</KeyTag><Algorithm>15</Algorithm><DigestType>2</DigestType>
    <Digest>CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC</Digest>
  </KeyDigest>
</TrustAnchor>
"""


def test_the_shipped_root_anchor_holds_both_current_ksks() -> None:
    anchors = iana_root_anchors(now=NOW)
    root = anchors.anchors[dns.name.root]

    assert sorted(d.key_tag for d in root.ds) == [20326, 38696]  # KSK-2017, KSK-2024
    assert {d.digest.hex().upper()[:16] for d in root.ds} == {
        "E06D44B80B8F1D39",
        "683D2D0ACB8C9B71",
    }
    assert anchors.hints[dns.name.root] == tuple(ROOT_SERVERS.values())
    # KSK-2010 (19036) ended in 2019 and is not trusted.
    assert 19036 not in {d.key_tag for d in root.ds}


def test_rfc7958_keeps_only_digests_valid_now() -> None:
    anchor = parse_rfc7958(XML, now=NOW)

    assert anchor.zone == dns.name.from_text("lab.test")
    assert [d.key_tag for d in anchor.ds] == [2]


def test_rfc7958_without_a_valid_digest_is_refused() -> None:
    with pytest.raises(TrustAnchorError, match=r"no key digest of lab\.test\. is valid"):
        parse_rfc7958(XML, now=datetime(2009, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"<TrustAnchor><Zone>x.</Zone>", "not well-formed"),
        (b"<Other/>", "root element"),
        (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><TrustAnchor/>', "entities"),
        (XML.replace(b"<KeyTag>2</KeyTag>", b""), "KeyTag"),
        (XML.replace(b'2020-01-01T00:00:00+00:00">', b'2020-01-01">'), "time zone"),
    ],
)
def test_bad_xml_anchors_say_why(document: bytes, words: str) -> None:
    with pytest.raises(TrustAnchorError, match=words):
        parse_trust_anchors(document, source="t", now=NOW)


def test_master_file_anchor_with_hints(tmp_path: Path) -> None:
    path = tmp_path / "anchor.txt"
    path.write_text(
        "lab.test. IN DS 12345 15 2 "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
        "lab.test. IN NS ns1.lab.test.\n"
        "ns1.lab.test. IN A 192.0.2.53\n"
        "ns1.lab.test. IN AAAA 2001:db8::53\n"
    )
    anchors = load_trust_anchors(path)
    zone = dns.name.from_text("lab.test")

    assert [d.key_tag for d in anchors.anchors[zone].ds] == [12345]
    assert anchors.hints[zone] == ("192.0.2.53", "2001:db8::53")
    assert anchors.anchor_for(dns.name.from_text("www.example.lab.test")).zone == zone  # type: ignore[union-attr]
    assert anchors.anchor_for(dns.name.from_text("other.test")) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no DS or DNSKEY"),
        ('lab.test. IN TXT "x"\n', "DS, DNSKEY, NS, A and AAAA records only"),
        (f"lab.test. IN DS 1 15 2 {'AA' * 32}\nlab.test. IN NS ns.lab.test.\n", "no A or AAAA"),
        ("lab.test. IN DS nonsense\n", "master-file form"),
    ],
)
def test_bad_master_file_anchors_say_why(text: str, words: str) -> None:
    with pytest.raises(TrustAnchorError, match=words):
        parse_trust_anchors(text.encode(), source="t", now=NOW)


def test_a_missing_file_is_a_trust_anchor_error(tmp_path: Path) -> None:
    with pytest.raises(TrustAnchorError, match="cannot read"):
        load_trust_anchors(tmp_path / "absent.txt")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_anchors_or_a_trust_anchor_error(data: bytes) -> None:
    try:
        parse_trust_anchors(data, source="fuzz", now=NOW)
    except TrustAnchorError:
        pass

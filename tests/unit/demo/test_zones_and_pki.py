"""The demo's DNS and certificates, without processes: zone lines, signed zone files, the CA."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from demo.pki import DemoCa
from demo.processes import DemoError
from demo.world import GMLC, SITE, demo_zones
from demo.zones import ZoneFileDns, parse_zone_lines
from mlp.dnsrecords import policy_record_name
from verifier.dns import open_resolver
from verifier.dnslab import LabRecord

LONG = "v=m2dmrt1; s=a; t=b; a=ES256; sig=" + "A" * 300


def test_zone_lines_as_the_tools_print_them_become_records() -> None:
    text = (
        "; the site's records\n"
        f'{policy_record_name(SITE)}. 300 IN TXT "v=salve1; gmlc={GMLC}:9211; age=60; mode=one"\n'
        f"{SITE}. 60 IN LOC 47 22 36.793 N 8 32 30.098 E 0.00m 1m 3000m 10m\n"
        f'x.{GMLC}. 300 IN TXT "{LONG[:255]}" "{LONG[255:]}"\n'
        "\n"
    )
    records = parse_zone_lines(text)
    assert [(r.owner, r.rdtype, r.ttl) for r in records] == [
        (policy_record_name(SITE), "TXT", 300),
        (SITE, "LOC", 60),
        (f"x.{GMLC}", "TXT", 300),
    ]
    assert records[0].value == f"v=salve1; gmlc={GMLC}:9211; age=60; mode=one"
    assert records[1].value.startswith("47 22 36.793 N 8 32 30.098 E")
    assert records[2].value == LONG  # the 255-byte strings joined, as clients read them


@pytest.mark.parametrize(
    "line", ["www. 300 IN", 'www. 300 CH TXT "x"', "www. 300 IN LOC not a place"]
)
def test_a_line_that_is_not_a_record_is_refused_in_words(line: str) -> None:
    with pytest.raises(DemoError, match="not a zone line"):
        parse_zone_lines(line)


def test_published_records_are_signed_into_files_a_client_validates(tmp_path: Path) -> None:
    dns = ZoneFileDns(tmp_path, demo_zones(), why="a test")
    anchor = dns.trust_anchor.read_text()
    policy = LabRecord(
        policy_record_name(SITE), "TXT", f"v=salve1; gmlc={GMLC}:9211; age=60; mode=one"
    )
    dns.publish([policy, LabRecord(f"x.{GMLC}", "TXT", LONG)])
    # A second publication replaces the RRset it names and keeps the others.
    dns.publish([LabRecord(f"x.{GMLC}", "TXT", "v=2")])

    assert dns.trust_anchor.read_text() == anchor  # the same keys sign every time
    resolver = open_resolver(zone_files=dns.files, trust_anchor=dns.trust_anchor)
    assert resolver.txt(policy.owner) == [policy.value]
    assert resolver.txt(f"x.{GMLC}") == ["v=2"]
    assert resolver.txt(f"y.{GMLC}") is None  # a proven absence
    args = dns.verifier_args()
    assert args.count("--zone-file") == 3 and args[-2:] == ["--trust-anchor", str(dns.trust_anchor)]
    assert "a test" in dns.description


def test_the_demo_ca_issues_certificates_a_tls_client_accepts(tmp_path: Path) -> None:
    ca = DemoCa(tmp_path)
    pair = ca.issue("gmlc", GMLC, "127.0.0.1")
    other = ca.issue("other", GMLC)

    leaf = x509.load_pem_x509_certificate(pair.chain.read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [GMLC]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert stat.S_IMODE(pair.key.stat().st_mode) == 0o600
    # The chain and key load as a server's, and the CA file as a client's trust.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pair.chain, pair.key)
    client = ssl.create_default_context(cafile=str(ca.ca_file))
    assert len(client.get_ca_certs()) == 1
    # Another certificate for the same name has another key (the attacker's kind).
    assert other.key.read_bytes() != pair.key.read_bytes()

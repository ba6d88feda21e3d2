"""What ``salve-verify`` accepts as a site, and the canonical host name it checks."""

from __future__ import annotations

import pytest

from verifier.checker import parse_site_url
from verifier.sources import parse_server


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.example.com", ("www.example.com", 443)),
        ("https://WWW.Example.COM:8443/", ("www.example.com", 8443)),
        ("https://bücher.example", ("xn--bcher-kva.example", 443)),
        ("  https://www.example.com.  ", ("www.example.com", 443)),
    ],
)
def test_site_urls_give_the_canonical_host_and_port(url: str, expected: tuple[str, int]) -> None:
    assert parse_site_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://www.example.com", "https://"),
        ("https://www.example.com/path", "--get"),
        ("https://www.example.com/?q=1", "--get"),
        ("https://user@www.example.com", "--get"),
        ("https://www.example.com:99999", "port"),
        ("https://192.0.2.1", "address or a number"),
        ("https://", "host name"),
    ],
)
def test_other_urls_are_usage_errors(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_site_url(url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.53", ("192.0.2.53", 53)),
        ("192.0.2.53:5300", ("192.0.2.53", 5300)),
        ("[2001:db8::53]:5300", ("2001:db8::53", 5300)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("resolver.example", ("resolver.example", 53)),
    ],
)
def test_dns_server_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["", ":53", "host:0", "host:65536", "host:²", "[::1", "[::1]x"])
def test_bad_dns_server_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text)

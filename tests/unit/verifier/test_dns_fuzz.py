"""Hypothesis against the record paths: any published value, any mangled answer, any header.

Whatever DNS carries, the verifier answers with a value, a proven absence, or one of its
typed errors: never another exception, never an unvalidated value.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dns.message
import dns.name
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlp.dnsrecords import DnsRecordError, SalvePolicy, format_loc, loc_precision_representable
from verifier.dns import SecureResolver, lookup_policy
from verifier.dnslab import LabRecord
from verifier.errors import DnsValidationError
from verifier.jwks import MAX_LIFETIME_S, freshness_lifetime
from verifier.sources import ServerSource, ZoneFileSource
from verifier.tlsclient import HttpResponse
from verifier.validation import Validator

SERVICE = "example.salve.test"
H = f"www.{SERVICE}"
POLICY_NAME = f"_salve.{H}"
POLICY = "v=salve1; gmlc=gmlc.salve.test:9211; age=300; mode=one"
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

World = Any


@pytest.fixture
def signed_world(make_world: Callable[..., World]) -> World:
    return make_world(records={SERVICE: [LabRecord(POLICY_NAME, "TXT", POLICY)]})


@SETTINGS
@given(value=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=600))
def test_any_published_policy_text_parses_or_is_a_record_error(
    signed_world: World, value: str
) -> None:
    signed_world.forge(POLICY_NAME, "TXT", [value], key=signed_world.keys[SERVICE][0])
    try:
        policy = lookup_policy(signed_world.resolver(), H)
    except DnsRecordError:
        return
    assert isinstance(policy, SalvePolicy)
    assert value.lstrip(" \t").startswith("v=")


@SETTINGS
@given(
    lat=st.floats(-89.9, 89.9),
    lon=st.floats(-179.9, 179.9),
    digit=st.integers(1, 9),
    power=st.integers(0, 6),
)
def test_published_locations_read_back_exactly(
    signed_world: World, lat: float, lon: float, digit: int, power: int
) -> None:
    hp = float(digit * 10**power)
    assert loc_precision_representable(hp)
    signed_world.forge(H, "LOC", [format_loc(lat, lon, hp_m=hp)], key=signed_world.keys[SERVICE][0])
    (site,) = signed_world.resolver().loc(H)

    assert site.hp_m == hp
    assert abs(site.lat - lat) < 1e-6 and abs(site.lon - lon) < 1e-6


class MangledServer:
    """A UDP server that answers each query with a genuine answer, mangled."""

    def __init__(self, source: ZoneFileSource) -> None:
        self.source = source
        self.mangle: Callable[[bytes], bytes] = lambda wire: wire
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            wire = self.source.respond(query).to_wire(max_size=65535)
            self.socket.sendto(self.mangle(wire), peer)

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def mangled(signed_world: World) -> Iterator[tuple[MangledServer, SecureResolver]]:
    server = MangledServer(ZoneFileSource(signed_world.signed.zones.values()))
    source = ServerSource("127.0.0.1", server.port, timeout=1.0)
    resolver = SecureResolver(Validator(signed_world.anchors, source))
    lookup_policy(resolver, H)  # validate the zone keys once, unmangled
    yield server, resolver
    server.close()


@SETTINGS
@given(
    changes=st.lists(st.tuples(st.integers(12, 2000), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.none() | st.integers(12, 2000),
)
def test_mangled_answers_give_the_policy_or_a_dns_error(
    mangled: tuple[MangledServer, SecureResolver],
    changes: list[tuple[int, int]],
    cut: int | None,
) -> None:
    server, resolver = mangled

    def mangle(wire: bytes) -> bytes:
        data = bytearray(wire)
        for position, byte in changes:
            if position < len(data):
                data[position] = byte
        return bytes(data[:cut] if cut is not None else data)

    server.mangle = mangle
    resolver.validator._answers.clear()  # ask again for the policy, keep the keys
    try:
        policy = lookup_policy(resolver, H)
    except (DnsValidationError, DnsRecordError):
        return
    # A change that survives validation changed nothing that is signed.
    assert policy == SalvePolicy.parse(POLICY)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(["cache-control", "age", "date", "expires", "etag"]),
            st.text(max_size=60),
        ),
        max_size=6,
    ),
    received=st.floats(0, 4e9),
)
def test_any_cache_headers_give_a_bounded_lifetime(
    headers: list[tuple[str, str]], received: float
) -> None:
    response = HttpResponse(200, tuple(headers), b"{}")
    fresh_until, _, _ = freshness_lifetime(response, received)

    assert fresh_until <= received + MAX_LIFETIME_S

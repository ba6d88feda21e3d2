"""A GMLC's statement keys: ``https://G:PORT/.well-known/salve/jwks.json``, cached per HTTP.

The key set is fetched over the verifier's own TLS 1.3 connection to G (the same checks
as for the site), and the SPKI of G's certificate on that connection is kept with it:
the M2DMRT declarations are checked against that key.

Caching follows RFC 9111 for a private cache: ``Cache-Control: no-store`` keeps nothing,
``no-cache`` keeps the copy but revalidates it every time, ``max-age`` (else ``Expires``
minus ``Date``) gives the freshness lifetime, less the response's ``Age``; without any of
them the copy is stale at once (no heuristic freshness for keys). Lifetimes are capped at
:data:`MAX_LIFETIME_S`. A stale copy with an ``ETag`` or ``Last-Modified`` is revalidated
with a conditional request; a ``304`` refreshes it, and the SPKI is taken from the new
connection. Which keys are *trusted* is decided each time by the DNS pins
(:func:`mlp.dnsrecords.apply_key_pins`), never by the cache.
"""

from __future__ import annotations

import base64
import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mlp.dnsrecords import GmlcEndpoint
from mlp.keys import KeyMaterialError, KeySet
from verifier.errors import GmlcUnreachableError, TlsError, VerifierError
from verifier.state import VerifierState
from verifier.tlsclient import HttpResponse, TlsClient

__all__ = ["JWKS_PATH", "MAX_LIFETIME_S", "GmlcKeys", "JwksFetcher", "freshness_lifetime"]

JWKS_PATH: Final = "/.well-known/salve/jwks.json"
MAX_LIFETIME_S: Final = 86400
MAX_JWKS_BYTES: Final = 256 * 1024
_DELTA_SECONDS: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
_DIRECTIVE: Final = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?([^\",]*)\"?)?\s*")


@dataclass(frozen=True, slots=True)
class GmlcKeys:
    """A GMLC's key set and the SPKI it presented.

    Attributes:
        endpoint: The GMLC.
        keys: Every key of its JWKS (not yet filtered by the DNS pins).
        spki_der: The DER SPKI of G's TLS certificate on the connection the set came from.
        fetched_at: When that connection was made (Unix seconds).
        from_cache: Whether this check used a cached copy.
    """

    endpoint: GmlcEndpoint
    keys: KeySet
    spki_der: bytes
    fetched_at: float
    from_cache: bool


def _directives(value: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in (value or "").split(","):
        match = _DIRECTIVE.fullmatch(part)
        if match:
            found.setdefault(match.group(1).lower(), match.group(2) or "")
    return found


def _seconds(text: str | None) -> int | None:
    # RFC 9111 delta-seconds: ASCII digits only (str.isdigit would take "²").
    return int(text) if text is not None and _DELTA_SECONDS.fullmatch(text) else None


def _http_date(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def freshness_lifetime(response: HttpResponse, received_at: float) -> tuple[float, bool, bool]:
    """How long a response stays fresh, per RFC 9111 §4.2 for a private cache.

    Returns:
        The Unix time it is fresh until, whether it may be stored (not ``no-store``), and
        whether it must be revalidated before each use (``no-cache``).
    """
    directives = _directives(response.header("cache-control"))
    store = "no-store" not in directives
    revalidate = "no-cache" in directives
    date = _http_date(response.header("date"))
    lifetime = _seconds(directives.get("max-age"))
    if lifetime is None:
        expires = _http_date(response.header("expires"))
        if expires is not None:
            lifetime = max(0, int(expires - (date if date is not None else received_at)))
    lifetime = min(lifetime or 0, MAX_LIFETIME_S)
    apparent_age = max(0.0, received_at - date) if date is not None else 0.0
    age = max(apparent_age, float(_seconds(response.header("age")) or 0))
    fresh_until = received_at + lifetime - age
    if revalidate:
        fresh_until = received_at
    return fresh_until, store, revalidate


class JwksFetcher:
    """Fetches and caches GMLC key sets."""

    def __init__(
        self,
        tls: TlsClient,
        state: VerifierState,
        *,
        address_of: Callable[[str], list[str]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Set up a fetcher.

        Args:
            tls: How TLS connections to GMLCs are made.
            state: Where copies are cached.
            address_of: The addresses to connect to for a GMLC host name.
            clock: The current time in Unix seconds.
        """
        self._tls = tls
        self._state = state
        self._address_of = address_of
        self._clock = clock
        # Parsed key sets by (document, SPKI): the same key objects serve every check,
        # so nothing is parsed again and OpenSSL keeps its per-key precomputation.
        self._parsed: dict[tuple[str, str], KeySet] = {}

    def get(self, endpoint: GmlcEndpoint, *, refresh: bool = False) -> GmlcKeys:
        """G's key set and SPKI: a fresh cached copy, or fetched (or revalidated) now.

        Args:
            endpoint: The GMLC, as the policy names it.
            refresh: Ignore a fresh copy (a conditional request is still used).

        Raises:
            GmlcUnreachableError: No connection, a TLS failure, an HTTP error, or a key set
                that cannot be read.
        """
        key = str(endpoint)
        now = self._clock()
        entry = self._state.jwks_entry(key)
        if entry is not None and not refresh and float(entry.get("fresh_until", 0)) > now:
            cached = self._from_entry(endpoint, entry, from_cache=True)
            if cached is not None:
                return cached
        return self._fetch(endpoint, entry)

    def _key_set(self, document: str, spki_b64: str) -> KeySet:
        cached = self._parsed.get((document, spki_b64))
        if cached is None:
            cached = KeySet.from_jwks(document)
            if len(self._parsed) > 64:
                self._parsed.clear()
            self._parsed[(document, spki_b64)] = cached
        return cached

    def _from_entry(
        self, endpoint: GmlcEndpoint, entry: dict[str, Any], *, from_cache: bool
    ) -> GmlcKeys | None:
        try:
            spki_b64 = str(entry["spki"])
            keys = self._key_set(str(entry["document"]), spki_b64)
            spki = base64.b64decode(spki_b64, validate=True)
            fetched_at = float(entry["fetched_at"])
        except (KeyError, TypeError, ValueError):
            return None
        return GmlcKeys(endpoint, keys, spki, fetched_at, from_cache)

    def _fetch(self, endpoint: GmlcEndpoint, entry: dict[str, Any] | None) -> GmlcKeys:
        where = str(endpoint)
        headers: list[tuple[str, str]] = [("Accept", "application/json")]
        if entry is not None:
            if entry.get("etag"):
                headers.append(("If-None-Match", str(entry["etag"])))
            if entry.get("last_modified"):
                headers.append(("If-Modified-Since", str(entry["last_modified"])))
        try:
            addresses = self._address_of(endpoint.host)
        except VerifierError as exc:
            raise GmlcUnreachableError(
                f"the GMLC {where} cannot be found: {exc.reason}", code="gmlc.address"
            ) from None
        connection = None
        failure: TlsError | None = None
        for address in addresses:
            try:
                connection = self._tls.connect(endpoint.host, endpoint.port, address)
                break
            except TlsError as exc:
                failure = exc
        if connection is None:
            assert failure is not None
            code = "gmlc." + failure.code.split(".", 1)[-1]
            raise GmlcUnreachableError(
                f"the GMLC {where} cannot be reached: {failure.reason}", code=code
            )
        try:
            received_at = self._clock()
            response = connection.request(
                "GET", JWKS_PATH, headers=headers, max_body=MAX_JWKS_BYTES
            )
        except TlsError as exc:
            raise GmlcUnreachableError(
                f"the GMLC {where} did not serve its key set: {exc.reason}"
            ) from None
        finally:
            connection.close()
        spki = connection.spki_der
        if response.status == 304 and entry is not None:
            document = str(entry.get("document", ""))
            stored = {**entry, **self._validators(response)}
        elif response.status == 200:
            document = response.body.decode("utf-8", "replace")
            stored = {"document": document, **self._validators(response)}
        else:
            raise GmlcUnreachableError(
                f"the GMLC {where} answered HTTP {response.status} for its key set",
                code="gmlc.http",
            )
        try:
            keys = self._key_set(document, base64.b64encode(spki).decode("ascii"))
        except KeyMaterialError as exc:
            raise GmlcUnreachableError(
                f"the key set of the GMLC {where} cannot be read: {exc}", code="gmlc.bad_jwks"
            ) from None
        fresh_until, store, _ = freshness_lifetime(response, received_at)
        if store:
            stored.update(
                spki=base64.b64encode(spki).decode("ascii"),
                fetched_at=received_at,
                fresh_until=fresh_until,
            )
            self._state.store_jwks_entry(str(endpoint), stored)
        else:
            self._state.store_jwks_entry(str(endpoint), None)
        return GmlcKeys(endpoint, keys, spki, received_at, from_cache=False)

    @staticmethod
    def _validators(response: HttpResponse) -> dict[str, str]:
        found = {}
        etag = response.header("etag")
        if etag:
            found["etag"] = etag
        modified = response.header("last-modified")
        if modified:
            found["last_modified"] = modified
        return found

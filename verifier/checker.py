"""The client check of a SALVE site, in the order of DESIGN "Client check".

Theory of operation
-------------------
:meth:`Verifier.check` runs the steps in this order, failing closed, so that each way an
attacker can try its luck meets its own reason:

1. **DNS** (validated from the trust anchor, :mod:`verifier.dns`): the ``_salve.H``
   policy (a proven absence with nothing remembered: NOT PROTECTED; a policy remembered
   from an earlier check still binds, like HSTS), the ``H`` LOC records, and for each
   GMLC the policy names: ``G._m2dmrt.H``, ``H._m2dmrt.G`` and ``_salve-keys.G``.
2. **TLS 1.3 to H** (:mod:`verifier.tlsclient`): certificate and host name; the RFC 9266
   exporter gives the session hash.
3. **JWKS** of each named GMLC over its own TLS connection (:mod:`verifier.jwks`), kept
   only for the keys DNS pins; G's SPKI from that connection.
4. **M2DMRT**: both declarations, against the SPKIs of H and of G, before the statement
   is looked at. A GMLC that fails 3 or 4 is set aside; when every named GMLC fails, the
   first one's failure is the verdict.
5. **The statement**, fetched on H's connection (none: refused, the policy requires one).
6-9. :func:`mlp.statement.verify_statement`: signature and pinned algorithm, ``until``,
   issuer and subject, freshness, binding (direct or through the Merkle proof); the key
   that signed must belong to the GMLC the statement names.
10. **Position** (:mod:`verifier.position`), in the policy's mode.

A VERIFIED check hands back the TLS connection it was made on
(:class:`CheckResult.connection`): application data must travel on it, since a verdict
covers only that connection. Any other outcome closes it.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final

from mlp.delivery import STATEMENT_PATH, DeliveryError, DeliveryFailure, parse_delivery
from mlp.dnsrecords import (
    DnsRecordError,
    GmlcEndpoint,
    KeyPin,
    LocSite,
    SalvePolicy,
    apply_key_pins,
    keys_record_name,
    policy_record_name,
)
from mlp.keys import KeySet, loads_json_object, split_compact_jws
from mlp.m2dmrt import (
    M2dmrtError,
    M2dmrtMalformedError,
    declaration_record_name,
    verify_declarations,
)
from mlp.merkle import InclusionProof
from mlp.names import HostNameError, canonical_host_name, check_host_name
from mlp.statement import (
    MAX_STATEMENT_LENGTH,
    StatementAlgorithmError,
    StatementBindingError,
    StatementError,
    StatementExpiredError,
    StatementIssuerError,
    StatementKeyRetiredError,
    StatementMalformedError,
    StatementNotYetValidError,
    StatementSignatureError,
    StatementStalePositionError,
    StatementSubjectError,
    StatementUnknownKeyError,
    VerifiedStatement,
    verify_statement,
)
from verifier.dns import SecureResolver, open_resolver
from verifier.errors import (
    DnsValidationError,
    Failure,
    RefusedError,
    TlsConnectError,
    TlsError,
    VerifierError,
)
from verifier.jwks import GmlcKeys, JwksFetcher
from verifier.position import PositionCheck, check_position
from verifier.state import VerifierState
from verifier.tlsclient import HttpResponse, TlsClient, TlsConnection
from verifier.verdict import Outcome, TlsSummary, Verdict

__all__ = ["CheckResult", "Verifier", "check", "check_statement", "parse_site_url"]

DEFAULT_PORT: Final = 443
STATEMENT_ERRORS: Final[Sequence[tuple[type[StatementError], str]]] = (
    (StatementMalformedError, "statement.malformed"),
    (StatementAlgorithmError, "statement.algorithm"),
    (StatementUnknownKeyError, "statement.unknown_key"),
    (StatementSignatureError, "statement.signature"),
    (StatementKeyRetiredError, "statement.key_retired"),
    (StatementIssuerError, "statement.issuer"),
    (StatementSubjectError, "statement.subject"),
    (StatementExpiredError, "statement.expired"),
    (StatementNotYetValidError, "statement.not_yet_valid"),
    (StatementStalePositionError, "statement.stale"),
    (StatementBindingError, "statement.binding"),
)


def parse_site_url(url: str) -> tuple[str, int]:
    """The canonical host name and port of ``https://HOST[:PORT][/]``.

    Raises:
        ValueError: Not such a URL (another scheme, a path, a query, user info, an
            IP address instead of a host name).
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        raise ValueError(f"{url!r}: give an https:// URL of the site")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{url!r}: give only https://HOST[:PORT] (use --get for a path)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number 1-65535") from None
    try:
        # Most URLs already carry the canonical name (urlsplit lower-cases it); the IDNA
        # mapping is only needed, and only paid for, when they do not.
        host = check_host_name(parts.hostname or "")
    except HostNameError:
        try:
            host = canonical_host_name(parts.hostname or "")
        except HostNameError as exc:
            raise ValueError(f"{url!r}: {exc}") from None
    return host, port


@dataclass
class CheckResult:
    """A verdict, and for VERIFIED the TLS connection it covers.

    Use it as a context manager (the connection is closed at the end) or close it.
    """

    verdict: Verdict
    connection: TlsConnection | None = None

    def close(self) -> None:
        """Close the connection, if any."""
        if self.connection is not None:
            self.connection.close()

    def __enter__(self) -> CheckResult:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class _Progress:
    """What a check has established so far (it becomes the verdict's details)."""

    url: str
    host: str
    port: int
    started: float
    policy: SalvePolicy | None = None
    remembered_until: int | None = None
    sites: tuple[LocSite, ...] = ()
    connection: TlsConnection | None = None
    gmlc: str | None = None
    statement: VerifiedStatement | None = None
    position: PositionCheck | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _GmlcRecords:
    """What DNS says about one named GMLC."""

    endpoint: GmlcEndpoint
    site_declarations: list[str]  # G._m2dmrt.H, signed by H over G's key
    gmlc_declarations: list[str]  # H._m2dmrt.G, signed by G over H's key
    pins: list[KeyPin]


class Verifier:
    """Checks SALVE sites; keeps DNS answers, key sets and remembered policies between checks."""

    def __init__(
        self,
        resolver: SecureResolver,
        *,
        ca: Path | None = None,
        state: VerifierState | None = None,
        addresses: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Set up a verifier.

        Args:
            resolver: The validating resolver (see :func:`verifier.dns.open_resolver`).
            ca: A CA file trusted for TLS instead of the system store.
            state: Remembered policies and cached key sets (default: memory only).
            addresses: Addresses to connect to by host name, instead of looking them up
                in DNS (like curl's ``--resolve``).
            timeout: Seconds allowed for each connection and exchange.
            clock: The current time in Unix seconds.

        Raises:
            ValueError: The CA file cannot be loaded.
        """
        self.resolver = resolver
        self.state = state or VerifierState(None)
        self.addresses = dict(addresses or {})
        self.tls = TlsClient(ca=ca, timeout=timeout)
        self.clock = clock
        self.jwks = JwksFetcher(self.tls, self.state, address_of=self._addresses_of, clock=clock)
        # Results of pure checks whose inputs repeat from one check to the next (same DNS
        # records, same keys): declarations that verified, key sets filtered by pins.
        self._verified_declarations: set[tuple[object, ...]] = set()
        self._pinned: dict[tuple[object, ...], KeySet] = {}

    def _addresses_of(self, host: str) -> list[str]:
        override = self.addresses.get(host)
        return [override] if override else self.resolver.addresses(host)

    # -- the check -------------------------------------------------------------------------

    def check(self, url: str) -> CheckResult:
        """Check the site at ``url`` (``https://HOST[:PORT]``).

        Returns:
            The verdict and, when VERIFIED, the open TLS connection it covers.

        Raises:
            ValueError: ``url`` is not a site URL.
        """
        host, port = parse_site_url(url)
        progress = _Progress(
            url=f"https://{host}" + (f":{port}" if port != 443 else ""),
            host=host,
            port=port,
            started=time.monotonic(),
        )
        try:
            not_protected = self._run(progress)
        except VerifierError as exc:
            return self._refused(progress, exc.failure, exc.code, exc.reason)
        if not_protected is not None:
            return CheckResult(
                self._verdict(progress, Outcome.NOT_PROTECTED, None, "not_protected", not_protected)
            )
        return CheckResult(
            self._verdict(progress, Outcome.VERIFIED, None, "verified", ""), progress.connection
        )

    def _refused(
        self, progress: _Progress, failure: Failure, code: str, reason: str
    ) -> CheckResult:
        if progress.connection is not None:
            progress.connection.close()
        return CheckResult(self._verdict(progress, Outcome.REFUSED, failure, code, reason))

    def _verdict(
        self, progress: _Progress, outcome: Outcome, failure: Failure | None, code: str, reason: str
    ) -> Verdict:
        connection = progress.connection
        return Verdict(
            outcome=outcome,
            failure=failure,
            code=code,
            reason=reason,
            url=progress.url,
            host=progress.host,
            port=progress.port,
            checked_at=self.clock(),
            elapsed_s=time.monotonic() - progress.started,
            dns_source=self.resolver.source,
            policy=progress.policy,
            remembered_until=progress.remembered_until,
            sites=progress.sites,
            tls=None
            if connection is None
            else TlsSummary(
                connection.address, connection.protocol, connection.cipher, connection.spki_sha256
            ),
            gmlc=progress.gmlc,
            statement=progress.statement,
            position=progress.position,
            notes=tuple(progress.notes),
        )

    def _run(self, progress: _Progress) -> str | None:
        """Run every step; None when verified, else why the site is not protected.

        Raises:
            VerifierError: A step failed.
        """
        policy = self._policy(progress)
        if policy is None:
            host = progress.host
            return f"DNSSEC proves that {host} publishes no SALVE policy (_salve.{host})"
        records = self._dns_records(progress, policy)
        connection = self._connect_site(progress)
        keys, key_owner = self._gmlc_keys(progress, records, connection)
        token, proof = self._fetch_statement(progress, connection)
        statement = self._verify_statement(progress, policy, keys, key_owner, token, proof)
        self._check_position(progress, policy, statement)
        return None

    # -- 1. DNS ----------------------------------------------------------------------------

    def _policy(self, progress: _Progress) -> SalvePolicy | None:
        """The validated policy, a remembered one's refusal, or None for a proven absence."""
        host = progress.host
        now = self.clock()
        remembered = self.state.remembered_policy(host, now)
        if remembered is not None:
            progress.remembered_until = remembered.until
        try:
            values = self.resolver.txt(_policy_name(host))
            policy = None if values is None else _parse_policy(tuple(values))
        except DnsValidationError as exc:
            if remembered is None:
                raise
            raise RefusedError(
                f"this client remembers the SALVE policy of {host} (validated "
                f"{_date(remembered.seen_at)}, kept until {_date(remembered.until)}), and DNS "
                f"now gives no valid policy: {exc.reason}",
                code="policy.remembered",
            ) from None
        except DnsRecordError as exc:
            raise DnsValidationError(
                f"the SALVE policy of {host} cannot be used: {exc}", code="dns.bad_record"
            ) from None
        if policy is None:
            if remembered is not None:
                raise RefusedError(
                    f"this client remembers the SALVE policy of {host} (validated "
                    f"{_date(remembered.seen_at)}, kept until {_date(remembered.until)}), but "
                    f"_salve.{host} is absent now: the site still requires a statement",
                    code="policy.remembered",
                )
            return None
        progress.policy = policy
        self.state.remember_policy(host, policy, now)
        if policy.max_age is not None and policy.max_age > 0:
            progress.remembered_until = int(now) + policy.max_age
        return policy

    def _txt(self, name: str) -> list[str]:
        try:
            return self.resolver.txt(name) or []
        except DnsRecordError as exc:
            raise DnsValidationError(
                f"the TXT records at {name} cannot be used: {exc}", code="dns.bad_record"
            ) from None

    def _dns_records(self, progress: _Progress, policy: SalvePolicy) -> list[_GmlcRecords]:
        host = progress.host
        sites = self.resolver.loc(host)
        progress.sites = tuple(sites or ())
        if not sites:
            raise RefusedError(
                f"{host} publishes no legitimate location (LOC record), so no position can "
                "be accepted",
                code="position.no_sites",
            )
        records = []
        for endpoint in policy.gmlcs:
            pins = []
            for value in self._txt(_keys_name(endpoint.host)):
                if value.lstrip(" \t").startswith("v=salve1"):
                    try:
                        pins.append(_parse_pin(value))
                    except DnsRecordError as exc:
                        raise DnsValidationError(
                            f"a key pin at _salve-keys.{endpoint.host} cannot be used: {exc}",
                            code="dns.bad_record",
                        ) from None
            records.append(
                _GmlcRecords(
                    endpoint,
                    self._txt(_declaration_name(host, endpoint.host)),
                    self._txt(_declaration_name(endpoint.host, host)),
                    pins,
                )
            )
        return records

    # -- 2. TLS to H -----------------------------------------------------------------------

    def _connect_site(self, progress: _Progress) -> TlsConnection:
        failure: TlsError | None = None
        for address in self._addresses_of(progress.host):
            try:
                progress.connection = self.tls.connect(progress.host, progress.port, address)
                return progress.connection
            except TlsConnectError as exc:
                failure = exc  # another address may answer
        assert failure is not None
        raise failure

    # -- 3-4. JWKS and M2DMRT --------------------------------------------------------------

    def _gmlc_keys(
        self, progress: _Progress, records: list[_GmlcRecords], connection: TlsConnection
    ) -> tuple[KeySet, dict[str, str]]:
        """The pinned keys of every GMLC that passed steps 3 and 4, and each key's GMLC."""
        passed: list[tuple[_GmlcRecords, KeySet]] = []
        failures: list[VerifierError] = []
        for gmlc in records:
            try:
                passed.append((gmlc, self._one_gmlc(progress, gmlc, connection)))
            except VerifierError as exc:
                failures.append(exc)
        if not passed:
            raise failures[0]
        if failures:
            progress.notes += [f.reason for f in failures]
        keys = []
        owner: dict[str, str] = {}
        for gmlc, pinned in passed:
            for key in pinned:
                if key.kid in owner:
                    raise RefusedError(
                        f"the key id {key.kid} is pinned by two GMLCs ({owner[key.kid]} and "
                        f"{gmlc.endpoint.host}); statements signed with it are ambiguous",
                        code="keys.ambiguous",
                    )
                owner[key.kid] = gmlc.endpoint.host
                keys.append(key)
        return KeySet(keys), owner

    def _one_gmlc(
        self, progress: _Progress, gmlc: _GmlcRecords, connection: TlsConnection
    ) -> KeySet:
        endpoint = gmlc.endpoint
        fetched = self.jwks.get(endpoint)
        try:
            self._check_declarations(progress.host, gmlc, connection, fetched)
        except RefusedError:
            if not fetched.from_cache:
                raise
            # A cached SPKI may predate a key rollover at G: look again before refusing.
            fetched = self.jwks.get(endpoint, refresh=True)
            self._check_declarations(progress.host, gmlc, connection, fetched)
        pins_key = (endpoint, id(fetched.keys), tuple(gmlc.pins))
        pinned = self._pinned.get(pins_key)
        if pinned is None:
            try:
                pinned = apply_key_pins(fetched.keys, gmlc.pins)
            except DnsRecordError as exc:
                raise DnsValidationError(
                    f"the key pins of {endpoint.host} cannot be used: {exc}",
                    code="dns.bad_record",
                ) from None
            if len(self._pinned) > 64:
                self._pinned.clear()
            # The key set object is kept alive by the fetcher, so its id stays its own.
            self._pinned[pins_key] = pinned
        if not gmlc.pins:
            raise RefusedError(
                f"the GMLC {endpoint.host} pins no statement key in DNS "
                f"(_salve-keys.{endpoint.host})",
                code="keys.no_pins",
            )
        if len(pinned) == 0:
            raise RefusedError(
                f"no key in the key set of {endpoint} is pinned by _salve-keys.{endpoint.host}",
                code="keys.unpinned",
            )
        return pinned

    def _check_declarations(
        self, host: str, gmlc: _GmlcRecords, connection: TlsConnection, fetched: GmlcKeys
    ) -> None:
        g = gmlc.endpoint.host
        checks = (
            (
                gmlc.site_declarations,
                host,
                g,
                connection.spki_der,
                fetched.spki_der,
                "m2dmrt.site_key",
            ),
            (
                gmlc.gmlc_declarations,
                g,
                host,
                fetched.spki_der,
                connection.spki_der,
                "m2dmrt.gmlc_key",
            ),
        )
        for values, signer, target, signer_spki, target_spki, code in checks:
            name = _declaration_name(signer, target)
            remembered = (tuple(values), signer, target, signer_spki, target_spki)
            if remembered in self._verified_declarations:
                continue
            try:
                verify_declarations(
                    values,
                    signer=signer,
                    target=target,
                    signer_spki_der=signer_spki,
                    target_spki_der=target_spki,
                )
            except M2dmrtMalformedError as exc:
                raise RefusedError(
                    f"the M2DMRT declaration {name} is missing or malformed: {exc}",
                    code="m2dmrt.missing",
                ) from None
            except M2dmrtError:
                key = f"SHA-256 {connection.spki_sha256[:16]}"
                if signer == host:
                    why = (
                        f"the site presented a TLS key ({key}) that its M2DMRT declaration "
                        f"of {g} does not cover ({name}): a certificate with another key"
                    )
                else:
                    why = (
                        f"{g} has not declared the TLS key the site presented ({key}) in its "
                        f"M2DMRT record {name}"
                    )
                raise RefusedError(why, code=code) from None
            if len(self._verified_declarations) > 256:
                self._verified_declarations.clear()
            self._verified_declarations.add(remembered)

    # -- 5. the statement ------------------------------------------------------------------

    def _fetch_statement(
        self, progress: _Progress, connection: TlsConnection
    ) -> tuple[str, InclusionProof | None]:
        response = connection.request(
            "GET", STATEMENT_PATH, headers=[("Accept", "application/json")]
        )
        if response.status == 200:
            try:
                delivery = parse_delivery(response.body)
            except DeliveryError as exc:
                raise RefusedError(
                    f"the statement document of {progress.host} is malformed: {exc}",
                    code="statement.delivery",
                ) from None
            if isinstance(delivery, DeliveryFailure):
                raise self._no_statement(progress.host, response, delivery)
            return delivery.statement, delivery.proof
        failure = None
        if response.status == 503:
            try:
                parsed = parse_delivery(response.body)
                failure = parsed if isinstance(parsed, DeliveryFailure) else None
            except DeliveryError:
                failure = None
        raise self._no_statement(progress.host, response, failure)

    @staticmethod
    def _no_statement(
        host: str, response: HttpResponse, failure: DeliveryFailure | None
    ) -> RefusedError:
        if failure is not None:
            detail = failure.error.replace("_", " ")
            if failure.mlp_result is not None:
                detail += f", MLP result {failure.mlp_result}"
            why = f"the site could not get one from its GMLC ({detail})"
        else:
            why = f"the site answered HTTP {response.status} for {STATEMENT_PATH}"
        return RefusedError(
            f"no location statement: {why}, and the policy of {host} requires one",
            code="statement.missing",
        )

    # -- 6-9. verify_statement -------------------------------------------------------------

    def _verify_statement(
        self,
        progress: _Progress,
        policy: SalvePolicy,
        keys: KeySet,
        key_owner: dict[str, str],
        token: str,
        proof: InclusionProof | None,
    ) -> VerifiedStatement:
        connection = progress.connection
        assert connection is not None
        statement = check_statement(
            token,
            proof,
            keys=keys,
            key_owner=key_owner,
            policy=policy,
            host=progress.host,
            session_hash=connection.session_hash,
            now=self.clock(),
        )
        progress.statement = statement
        progress.gmlc = str(policy.gmlc(statement.claims.iss))
        return statement

    # -- 10. position ----------------------------------------------------------------------

    def _check_position(
        self, progress: _Progress, policy: SalvePolicy, statement: VerifiedStatement
    ) -> None:
        result = check_position(statement.claims.pos, progress.sites, policy.mode)
        progress.position = result
        if not result.ok:
            raise RefusedError(result.reason, code=result.code)


def check_statement(
    token: str,
    proof: InclusionProof | None,
    *,
    keys: KeySet,
    key_owner: Mapping[str, str],
    policy: SalvePolicy,
    host: str,
    session_hash: bytes,
    now: float,
) -> VerifiedStatement:
    """Steps 6-9 of the check: :func:`mlp.statement.verify_statement`, then the key's owner.

    Args:
        token: The statement.
        proof: Its inclusion proof (a batch statement), else None.
        keys: The pinned keys of every GMLC that passed steps 3 and 4.
        key_owner: Which GMLC (host name) each key id belongs to.
        policy: The site's policy (issuers, position age).
        host: The site's host name (the expected ``sub``).
        session_hash: This connection's session hash.
        now: The current time, Unix seconds.

    Raises:
        RefusedError: With the code of the statement check that failed
            (``statement.binding``, ``statement.expired``, ...).
    """
    try:
        statement = verify_statement(
            token,
            keys,
            issuers=policy.issuers,
            subject=host,
            session_hash=session_hash,
            proof=proof,
            now=datetime.fromtimestamp(now, UTC),
            max_position_age_s=policy.age,
        )
    except StatementError as exc:
        code = next(c for kind, c in STATEMENT_ERRORS if isinstance(exc, kind))
        raise RefusedError(_statement_reason(exc, token, policy, now), code=code) from None
    owner = key_owner.get(statement.kid)
    if owner != statement.claims.iss:
        raise RefusedError(
            f"the statement names {statement.claims.iss} as its issuer but is signed with "
            f"a key of {owner}",
            code="statement.issuer",
        )
    return statement


# Record names and record values repeat from one check to the next; parsing them is pure,
# so each distinct text is read once (the results are immutable).
_policy_name = functools.lru_cache(maxsize=1024)(policy_record_name)
_keys_name = functools.lru_cache(maxsize=1024)(keys_record_name)
_declaration_name = functools.lru_cache(maxsize=1024)(declaration_record_name)
_parse_pin = functools.lru_cache(maxsize=1024)(KeyPin.parse)


@functools.lru_cache(maxsize=256)
def _parse_policy(values: tuple[str, ...]) -> SalvePolicy:
    return SalvePolicy.from_rrset(values)


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _statement_reason(exc: StatementError, token: str, policy: SalvePolicy, now: float) -> str:
    reason = str(exc)
    if isinstance(exc, StatementExpiredError):
        # Its signature verified before its expiry was looked at: the claims are the GMLC's.
        expired = _claimed_number(token, "exp")
        if expired is not None:
            when = datetime.fromtimestamp(expired, UTC).strftime("%H:%M:%S UTC")
            return f"the statement expired {now - expired:.0f} s ago (at {when}): an old statement"
    if isinstance(exc, StatementUnknownKeyError | StatementIssuerError):
        # Say who claims to have issued it: a GMLC the policy does not name is the usual
        # story (the attacker's own GMLC).
        kid, issuer = _claimed(token)
        if isinstance(exc, StatementUnknownKeyError):
            reason = (
                f"the statement is signed with key {kid!r}, which no GMLC named by the policy pins"
            )
        if issuer is not None and issuer not in policy.issuers:
            reason += f"; it names {issuer} as its issuer, which the policy does not name"
    return reason


def _claimed_number(token: str, name: str) -> int | None:
    """A whole-number claim of a token, for a refusal's words only."""
    try:
        parts = split_compact_jws(token, max_length=MAX_STATEMENT_LENGTH)
        value = loads_json_object(parts.payload).get(name)
    except ValueError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _claimed(token: str) -> tuple[str | None, str | None]:
    """The unverified ``kid`` and ``iss`` of a token, for a refusal's words only."""
    try:
        parts = split_compact_jws(token, max_length=MAX_STATEMENT_LENGTH)
        claims = loads_json_object(parts.payload)
    except ValueError:
        return None, None
    kid, issuer = parts.header.get("kid"), claims.get("iss")
    return (
        kid if isinstance(kid, str) else None,
        issuer if isinstance(issuer, str) else None,
    )


def check(
    url: str,
    *,
    dns_server: str | None = None,
    trust_anchor: Path | None = None,
    zone_files: Sequence[Path] = (),
    ca: Path | None = None,
    state_path: Path | None = None,
    addresses: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> CheckResult:
    """Check one site with a fresh :class:`Verifier` (see there for the arguments).

    Raises:
        ValueError: A bad URL, CA file, zone file or trust anchor file.
    """
    resolver = open_resolver(
        server=dns_server, trust_anchor=trust_anchor, zone_files=zone_files, timeout=timeout
    )
    verifier = Verifier(
        resolver,
        ca=ca,
        state=VerifierState(state_path),
        addresses=addresses,
        timeout=timeout,
    )
    return verifier.check(url)

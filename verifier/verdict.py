"""The verdict of a check: what a person reads, and the stable ``--json`` document.

Three outcomes: VERIFIED, REFUSED and NOT PROTECTED (DNSSEC proves the site publishes
no SALVE policy, and none is remembered). A refusal has a failure class, which is also
the exit code of ``salve-verify``: 1 refused (the checks ran and one failed), 4 DNS
failure, 5 TLS failure, 6 GMLC or key set unreachable; VERIFIED is 0, NOT PROTECTED 3.

JSON schema ``salve-verify/1`` (one object; with ``--watch``, one per line). Members are
never removed or renamed within a schema version; new ones may be added::

    schema        "salve-verify/1"
    verdict       "VERIFIED" | "REFUSED" | "NOT PROTECTED"
    exit_code     0 | 1 | 3 | 4 | 5 | 6
    failure       null | "refused" | "dns" | "tls" | "gmlc"
    code          "verified" | "not_protected" | a dotted reason code ("dns.unsigned",
                  "tls.certificate_expired", "m2dmrt.site_key", "statement.binding",
                  "position.outside", ...)
    reason        plain words (empty when verified)
    url, host, port
    checked_at    RFC 3339 UTC time of the check
    elapsed_s     seconds the check took
    dns           {"source": str, "policy": str | null, "remembered_until": time | null}
    sites         [{"lat": deg, "lon": deg, "hp_m": metres}]       (the LOC records)
    tls           null | {"address", "protocol", "cipher", "spki_sha256"}
    gmlc          null | "HOST:PORT" of the GMLC whose statement was checked
    statement     null | {"iss", "sub", "kid", "alg", "jti", "iat", "exp", "lt", "pm",
                          "bsz": int | null, "positions": [{"lat", "lon", "r"}]}
    position      null | {"mode": "one" | "all", "ok": bool,
                          "circles": [{"lat", "lon", "r", "site": index | null,
                                       "distance_m", "margin_m"}],
                          "unattested_sites": [index]}
    ages          null | {"statement_s": s since iat, "position_s": s since lt,
                          "max_position_s": the policy's age}

``statement`` and ``position`` are present whenever the statement's signature verified,
also when a later check (freshness, binding, position) refused it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from mlp.dnsrecords import LocSite, SalvePolicy
from mlp.statement import VerifiedStatement
from verifier.errors import Failure
from verifier.position import PositionCheck, format_distance, format_site

__all__ = ["SCHEMA", "Outcome", "TlsSummary", "Verdict"]

SCHEMA: Final = "salve-verify/1"
_FAILURE_NAMES: Final = {
    Failure.REFUSED: "refused",
    Failure.DNS: "dns",
    Failure.TLS: "tls",
    Failure.GMLC: "gmlc",
}


class Outcome(enum.Enum):
    """What the check concluded."""

    VERIFIED = "VERIFIED"
    REFUSED = "REFUSED"
    NOT_PROTECTED = "NOT PROTECTED"


@dataclass(frozen=True, slots=True)
class TlsSummary:
    """The TLS connection a check made to the site."""

    address: str
    protocol: str
    cipher: str
    spki_sha256: str


def _time(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class Verdict:
    """The result of one check (see the module docstring for the JSON form).

    Attributes:
        outcome: VERIFIED, REFUSED or NOT PROTECTED.
        failure: For REFUSED, the failure class (also the exit code).
        code: ``verified``, ``not_protected`` or the reason code of the failure.
        reason: Why, in plain words; empty when verified.
        url: The URL checked.
        host: The site's host name.
        port: Its port.
        checked_at: When (Unix seconds).
        elapsed_s: How long the check took.
        dns_source: Where DNS answers came from, in words.
        policy: The validated policy, when there was one.
        remembered_until: Until when a remembered policy binds the client.
        sites: The legitimate sites (LOC records).
        tls: The connection to the site, once made.
        gmlc: The GMLC whose statement was checked, ``HOST:PORT``.
        statement: The statement, once its signature verified.
        position: The position check, once made.
    """

    outcome: Outcome
    failure: Failure | None
    code: str
    reason: str
    url: str
    host: str
    port: int
    checked_at: float
    elapsed_s: float = 0.0
    dns_source: str = ""
    policy: SalvePolicy | None = None
    remembered_until: int | None = None
    sites: tuple[LocSite, ...] = ()
    tls: TlsSummary | None = None
    gmlc: str | None = None
    statement: VerifiedStatement | None = None
    position: PositionCheck | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """0 verified, 3 not protected, else the failure class (1, 4, 5, 6)."""
        if self.outcome is Outcome.VERIFIED:
            return 0
        if self.outcome is Outcome.NOT_PROTECTED:
            return 3
        return (self.failure or Failure.REFUSED).value

    @property
    def verified(self) -> bool:
        """Whether the outcome is VERIFIED."""
        return self.outcome is Outcome.VERIFIED

    def ages(self) -> dict[str, int] | None:
        """Seconds since the statement was issued and since its position was measured."""
        if self.statement is None:
            return None
        claims = self.statement.claims
        ages = {
            "statement_s": max(0, int(self.checked_at - claims.iat)),
            "position_s": max(0, int(self.checked_at - claims.lt)),
        }
        if self.policy is not None:
            ages["max_position_s"] = self.policy.age
        return ages

    def to_json(self) -> dict[str, Any]:
        """The ``salve-verify/1`` document."""
        statement = None
        if self.statement is not None:
            claims = self.statement.claims
            statement = {
                "iss": claims.iss,
                "sub": claims.sub,
                "kid": self.statement.kid,
                "alg": self.statement.alg,
                "jti": claims.jti,
                "iat": claims.iat,
                "exp": claims.exp,
                "lt": claims.lt,
                "pm": claims.pm,
                "bsz": claims.bsz,
                "positions": [c.to_claim() for c in claims.circles],
            }
        position = None
        if self.position is not None:
            position = {
                "mode": self.position.mode,
                "ok": self.position.ok,
                "circles": [
                    {
                        **fit.circle.to_claim(),
                        "site": self.sites.index(fit.site) if fit.site in self.sites else None,
                        "distance_m": round(fit.distance_m, 1),
                        "margin_m": round(fit.margin_m, 1),
                    }
                    for fit in self.position.fits
                ],
                "unattested_sites": [self.sites.index(s) for s in self.position.unattested],
            }
        return {
            "schema": SCHEMA,
            "verdict": self.outcome.value,
            "exit_code": self.exit_code,
            "failure": _FAILURE_NAMES[self.failure] if self.failure is not None else None,
            "code": self.code,
            "reason": self.reason,
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "checked_at": _time(self.checked_at),
            "elapsed_s": round(self.elapsed_s, 3),
            "dns": {
                "source": self.dns_source,
                "policy": self.policy.to_text() if self.policy is not None else None,
                "remembered_until": _time(self.remembered_until),
            },
            "sites": [{"lat": s.lat, "lon": s.lon, "hp_m": s.hp_m} for s in self.sites],
            "tls": None
            if self.tls is None
            else {
                "address": self.tls.address,
                "protocol": self.tls.protocol,
                "cipher": self.tls.cipher,
                "spki_sha256": self.tls.spki_sha256,
            },
            "gmlc": self.gmlc,
            "statement": statement,
            "position": position,
            "ages": self.ages(),
        }

    def lines(self, program: str = "salve-verify") -> list[str]:
        """The verdict for people: a headline, the reason, then the site, distance and ages."""
        head = f"{program}: {self.outcome.value} {self.url}"
        out = [head]
        if self.reason:
            out.append(f"  reason    {self.reason}")
        if self.tls is not None:
            out.append(
                f"  site      {self.host}:{self.port} ({self.tls.address}), {self.tls.protocol}, "
                f"key SHA-256 {self.tls.spki_sha256[:16]}"
            )
        out += self._position_lines()
        ages = self.ages()
        if ages is not None:
            out.append(
                f"  ages      statement {ages['statement_s']} s, position {ages['position_s']} s"
                + (
                    f" (the policy allows {ages['max_position_s']} s)"
                    if "max_position_s" in ages
                    else ""
                )
            )
        if self.statement is not None:
            out.append(
                f"  issuer    {self.statement.claims.iss} (key {self.statement.kid}, "
                f"{self.statement.alg})"
            )
        elif self.policy is not None:
            out.append(f"  policy    {self.policy.to_text()}")
        if self.remembered_until is not None:
            out.append(f"  memory    policy remembered until {_time(self.remembered_until)}")
        if self.dns_source:
            out.append(f"  dns       {self.dns_source}")
        out += [f"  note      {note}" for note in self.notes]
        return out

    def _position_lines(self) -> list[str]:
        if self.position is None:
            if self.sites:
                return [f"  sites     {'; '.join(format_site(s) for s in self.sites)}"]
            return []
        lines = []
        for fit in self.position.fits:
            if fit.site is None:
                continue
            where = "inside" if fit.inside else "outside"
            lines.append(
                f"  position  {format_distance(fit.distance_m)} from the site "
                f"({format_site(fit.site)}), circle ±{format_distance(fit.circle.radius_m)}, "
                f"{format_distance(fit.margin_m)} {where}"
            )
        lines += [
            f"  site      {format_site(site)} has no position in the statement"
            for site in self.position.unattested
            if self.position.mode == "all"
        ]
        return lines

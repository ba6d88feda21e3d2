"""The attacker's moves, in the order of DESIGN "Client check".

Each move sets up the attacker's tools (:mod:`demo.attacker`) in a started
:class:`~demo.lab.Lab` and lets a client check the site with ``salve-verify``; it returns
the verdict. The order is the check's order, so that each move meets its own reason:
DNSSEC, the remembered policy, M2DMRT, the key pins and issuers, freshness, binding, a
missing statement (twice: the GMLC refuses the attacker's account, then the stolen
password from the attacker's network), and the distance.

Where the client is misled to the attacker, it is by address (curl's ``--resolve``): the
URL stays the site's, and so do the name and certificate checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from demo.attacker import relay_from, replay, statements_from
from demo.configs import GmlcNode
from demo.lab import Check, Lab
from demo.processes import wait_for
from demo.world import (
    ATTACKER_ADDRESS,
    ATTACKER_CLIENT,
    ATTACKER_OWN_CLIENT,
    ATTACKER_SIM,
    POLICY_AGE_S,
    SITE,
    SITE_ADDRESS,
    SITE_CLIENT,
    SITE_SIM,
)
from mlp.delivery import StatementDelivery, parse_delivery
from mlp.keys import loads_json_object, split_compact_jws
from mlp.statement import DEFAULT_LEEWAY_S, MAX_STATEMENT_LENGTH

__all__ = ["MOVES", "Move"]

#: How long a move may wait for the recorded statement to be old.
REPLAY_WAIT_S: Final = 60.0


@dataclass(frozen=True)
class Move:
    """One attacker move.

    Attributes:
        key: A short name (the attacker suite's test ids).
        title: What the attacker does, in words.
        stage: Sets it up in the lab and returns the client's verdict.
    """

    key: str
    title: str
    stage: Callable[[Lab], Check]


def _forged_dns(lab: Lab) -> Check:
    # A client that never met the site asks the attacker's DNS server, which serves the
    # site's records as the attacker wants them: its own GMLC, a LOC in Frankfurt.
    lab.forger.serve(lab.forged("records"))
    return lab.verify(state=None, dns=_forger_dns(lab))


def _forger_dns(lab: Lab) -> list[str]:
    return ["--dns", lab.forger.server, "--trust-anchor", str(lab.dns.trust_anchor)]


def _forged_absence(lab: Lab) -> Check:
    # The client that checked the site before is told there is no _salve policy.
    lab.forger.serve(lab.forged("absence"))
    return lab.verify(state=lab.client_state, dns=_forger_dns(lab))


def _misissued_certificate(lab: Lab) -> Check:
    lab.attacker_site.present(lab.pair("misissued"))
    lab.attacker_site.answer = relay_from(SITE, lab.site_port, SITE_ADDRESS, ca_file=lab.ca_file)
    return _misled(lab)


def _stolen_key(lab: Lab) -> None:
    lab.attacker_site.present(lab.pair("site"))


def _misled(lab: Lab, *, map_with: Check | None = None) -> Check:
    """The client that knows the site checks it, misled to the attacker's address."""
    return lab.verify(state=lab.client_state, address=ATTACKER_ADDRESS, map_with=map_with)


def _serve_statements(
    lab: Lab,
    node: GmlcNode,
    client_id: str,
    msisdn: str,
    *,
    source: str = ATTACKER_ADDRESS,
    map_with: Check | None = None,
) -> Check:
    """With the stolen key, serve statements ``node`` issues to ``client_id`` (asking from
    ``source``) for the SIM ``msisdn``; the misled client's verdict."""
    _stolen_key(lab)
    account = lab.mlp(node, client_id, source=source)
    lab.attacker_site.answer = statements_from(account, msisdn, SITE, max_loc_age=POLICY_AGE_S)
    return _misled(lab, map_with=map_with)


def _own_gmlc(lab: Lab) -> Check:
    return _serve_statements(lab, lab.attacker_gmlc, ATTACKER_OWN_CLIENT, ATTACKER_SIM.msisdn)


def _expiry(document: bytes) -> int:
    delivery = parse_delivery(document)
    assert isinstance(delivery, StatementDelivery)
    parts = split_compact_jws(delivery.statement, max_length=MAX_STATEMENT_LENGTH)
    return int(loads_json_object(parts.payload)["exp"])


def _replay(lab: Lab) -> Check:
    _stolen_key(lab)
    # The statement it recorded from its own session with the site: it has expired
    # for every client by now, or the attacker waits until it has.
    stale_from = _expiry(lab.old_statement) + DEFAULT_LEEWAY_S + 0.5
    wait_for("the recorded statement to expire", lambda: time.time() >= stale_from, REPLAY_WAIT_S)
    lab.attacker_site.answer = replay(lab.old_statement)
    return _misled(lab)


def _relay(lab: Lab) -> Check:
    _stolen_key(lab)
    lab.attacker_site.answer = relay_from(SITE, lab.site_port, SITE_ADDRESS, ca_file=lab.ca_file)
    return _misled(lab)


def _own_account(lab: Lab) -> Check:
    return _serve_statements(lab, lab.gmlc, ATTACKER_CLIENT, ATTACKER_SIM.msisdn)


def _stolen_password(lab: Lab) -> Check:
    # The site's own client id and password, for the site's own SIM: only the place the
    # request comes from is wrong.
    return _serve_statements(lab, lab.gmlc, SITE_CLIENT, SITE_SIM.msisdn)


def _operator_mistake(lab: Lab) -> Check:
    # The GMLC's operator authorizes the attacker's SIM for the site's client by mistake.
    # The attacker asks from a host it controls in the site's network (where it stole the
    # key) with the stolen password, for its own SIM, which is in Frankfurt.
    lab.operator(lab.gmlc, "client", "authorize", SITE_CLIENT, "--msisdn", ATTACKER_SIM.msisdn)
    genuine = lab.genuine or lab.verify_genuine()
    return _serve_statements(
        lab, lab.gmlc, SITE_CLIENT, ATTACKER_SIM.msisdn, source=SITE_ADDRESS, map_with=genuine
    )


MOVES: Final[tuple[Move, ...]] = (
    Move(
        "forged_dns",
        "serves forged DNS records (its GMLC, a LOC in Frankfurt) to a new client",
        _forged_dns,
    ),
    Move(
        "forged_absence",
        "forges the absence of the _salve policy, to a client that has seen it",
        _forged_absence,
    ),
    Move(
        "misissued_certificate",
        "presents a mis-issued certificate for the site, with another key",
        _misissued_certificate,
    ),
    Move("own_gmlc", "has its own GMLC sign a statement placing it at the site", _own_gmlc),
    Move("replay", "replays a statement it recorded earlier from its own session", _replay),
    Move("relay", "relays a fresh statement from its own session with the real site", _relay),
    Move(
        "own_account",
        "asks the real GMLC, with its own account, for a statement for the site",
        _own_account,
    ),
    Move(
        "stolen_password",
        "asks with the site's stolen GMLC password, from its own network",
        _stolen_password,
    ),
    Move(
        "operator_mistake",
        "gets its own SIM, in Frankfurt, enrolled for the site by an operator's mistake",
        _operator_mistake,
    ),
)

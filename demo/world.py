"""Who and where in the demo: names, addresses, accounts, places, SIMs and the DNS tree.

The site ``www.bank.salve.test`` on 127.0.0.1 with its GMLC; the attacker on 127.0.0.2
with its own GMLC on 127.0.0.3. :mod:`demo.lab` builds the world from these, the moves
(:mod:`demo.moves`) and the attacker suite refer to them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Final

from verifier.dnslab import LabZone, default_lab_zones

__all__ = [
    "APPLIANCE_INTERVAL_S",
    "ATTACKER_ADDRESS",
    "ATTACKER_CELL",
    "ATTACKER_CLIENT",
    "ATTACKER_GMLC",
    "ATTACKER_GMLC_ADDRESS",
    "ATTACKER_OWN_CLIENT",
    "ATTACKER_SIM",
    "CHECK_TIMEOUT_S",
    "FRANKFURT",
    "GMLC",
    "GMLC_ZONE",
    "PARENT_ZONE",
    "POLICY_AGE_S",
    "POLICY_MAX_AGE_S",
    "READY_TIMEOUT_S",
    "SITE",
    "SITE_ADDRESS",
    "SITE_CLIENT",
    "SITE_SIM",
    "SITE_ZONE",
    "STATEMENT_VALIDITY_S",
    "ZURICH",
    "Location",
    "Sim",
    "demo_zones",
    "free_port",
]

SITE: Final = "www.bank.salve.test"
GMLC: Final = "gmlc.carrier.salve.test"
ATTACKER_GMLC: Final = "gmlc.attacker.test"
PARENT_ZONE: Final = "salve.test"
SITE_ZONE: Final = "bank.salve.test"
GMLC_ZONE: Final = "carrier.salve.test"
SITE_ADDRESS: Final = "127.0.0.1"
ATTACKER_ADDRESS: Final = "127.0.0.2"
ATTACKER_GMLC_ADDRESS: Final = "127.0.0.3"
SITE_CLIENT: Final = "bank-front"
ATTACKER_CLIENT: Final = "attacker-web"
ATTACKER_OWN_CLIENT: Final = "attacker-front"
#: The position age the site's policy allows, and how long the GMLC's statements live
#: (short, so that a recorded statement is old by the time the attacker replays it).
POLICY_AGE_S: Final = 60
POLICY_MAX_AGE_S: Final = 86400
STATEMENT_VALIDITY_S: Final = 2
APPLIANCE_INTERVAL_S: Final = 5
READY_TIMEOUT_S: Final = 60.0
CHECK_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class Location:
    """A place: a legitimate site (LOC, ``precision_m`` its diameter) or a cell."""

    name: str
    lat: float
    lon: float
    precision_m: int = 3000


#: Where the site's data centre is (its LOC record), and where the attacker's SIM is.
ZURICH: Final = Location("Zurich data centre", 47.376887, 8.541694, 3000)
FRANKFURT: Final = Location("Frankfurt", 50.110924, 8.682127)


@dataclass(frozen=True, slots=True)
class Sim:
    """A simulated SIM: its scenario (``modem/sim/scenarios``) and its appliance."""

    scenario: str
    msisdn: str
    appliance: str
    site: str


SITE_SIM: Final = Sim("demo", "41791234567", "bank-zrh-1", ZURICH.name)
ATTACKER_SIM: Final = Sim("demo-attacker", "4915112345678", "attacker-fra-1", FRANKFURT.name)


#: The attacker SIM's serving cell (modem/sim/scenarios/demo-attacker.toml).
ATTACKER_CELL: Final = ("LTE", 262, 1, 27163, 45948417)


def demo_zones() -> list[LabZone]:
    """The real DNS tree: the parent zone and, delegated from it, the site's and the GMLC's.

    Each zone signs with another algorithm (Ed25519, ECDSA P-256 with NSEC3, RSA), so a
    check walks all three.
    """
    return default_lab_zones(
        parent=PARENT_ZONE, service=SITE_ZONE, gmlc=GMLC_ZONE, gmlc_host=GMLC, address=SITE_ADDRESS
    )


def free_port(address: str = SITE_ADDRESS) -> int:
    """A TCP port free on ``address`` now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port

"""A DNSSEC lab: signed zones in pure Python, and a Knot DNS server on loopback.

Tests and the demo share this module, so they stage the same trees.

Pure signing (no daemon): :func:`build_zone` turns a :class:`LabZone` into a dnspython
zone, :func:`sign_zone` signs it with NSEC or NSEC3 (opt-out optional) chains, and
:func:`sign_lab` signs a whole tree, children first, with each child's DS in its
parent, and returns the trust anchor text for the top zone. :func:`write_lab` writes the
signed zone files and the anchor file for ``salve-verify --zone-file``.

Knot (:class:`KnotLab`): ``knotd`` on a free loopback port, signing the same zones
itself (each zone with its own algorithm), accepting RFC 2136 updates signed with a TSIG
key, and answering zone transfers to holders of that key. :meth:`KnotLab.start` waits
until every zone answers, publishes each child's DS in its parent, and writes the trust
anchor file (the top zone's DS, plus NS/A hints for iterative resolution).

Layout: :mod:`verifier.dnslab.zones` (records, zones, the default tree, SALVE's records),
:mod:`verifier.dnslab.signing` (keys, chains, signed trees, zone files) and
:mod:`verifier.dnslab.knot` (the Knot lab).
"""

from verifier.dnslab.knot import KnotLab, knotd_path
from verifier.dnslab.signing import (
    LabKey,
    SignedLab,
    generate_key,
    sign_lab,
    sign_zone,
    write_lab,
    write_site_zone,
)
from verifier.dnslab.zones import (
    LabError,
    LabRecord,
    LabZone,
    build_zone,
    default_lab_zones,
    presentation,
    salve_records,
)

__all__ = [
    "KnotLab",
    "LabError",
    "LabKey",
    "LabRecord",
    "LabZone",
    "SignedLab",
    "build_zone",
    "default_lab_zones",
    "generate_key",
    "knotd_path",
    "presentation",
    "salve_records",
    "sign_lab",
    "sign_zone",
    "write_lab",
    "write_site_zone",
]

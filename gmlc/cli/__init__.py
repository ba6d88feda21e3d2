"""``salve-gmlc``: set up, run and administer a GMLC node.

Every command takes ``--config FILE``; without it the file named by ``$SALVE_GMLC_CONFIG``
is used, else ``/etc/salve/gmlc.toml`` if present, else the environment alone
(``SALVE_GMLC_*`` variables). Output is for people unless ``--json`` is given; errors are
one line in plain words on stderr.

One module per command group: :mod:`~gmlc.cli.node` (``init``, ``serve``),
:mod:`~gmlc.cli.db`, :mod:`~gmlc.cli.clients` (with their networks, certificates, domains
and statement options), :mod:`~gmlc.cli.appliances`, :mod:`~gmlc.cli.cells`,
:mod:`~gmlc.cli.keys`, :mod:`~gmlc.cli.audit` and :mod:`~gmlc.cli.dns`; what they share is
in :mod:`~gmlc.cli.common`, the parser and the error guard in :mod:`~gmlc.cli.main`.

Exit codes: 0 done, 1 failed, 2 usage error (bad arguments), 3 not found, 4 conflict
(already exists), 5 a domain not enrolled (its DNS does not show that it names this GMLC),
130 interrupted.
"""

from __future__ import annotations

from gmlc.cli.common import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_NOT_ENROLLED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    format_table,
    parse_time,
    resolve_config_path,
)
from gmlc.cli.main import build_parser, main

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_NOT_ENROLLED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "format_table",
    "main",
    "parse_time",
    "resolve_config_path",
]

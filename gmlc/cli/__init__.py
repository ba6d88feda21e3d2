"""``salve-gmlc``: set up, run and administer a GMLC node.

Every command takes ``--config FILE``; without it the file named by ``$SALVE_GMLC_CONFIG``
is used, else ``/etc/salve/gmlc.toml`` if present, else the environment alone
(``SALVE_GMLC_*`` variables). Output is for people unless ``--json`` is given; errors are
one line, ``salve-gmlc: message``, on stderr. The conventions (``--version``,
``--log-level``, the exit codes listed in ``--help``, no traceback, Ctrl-C) are
:mod:`runtime.cli`'s.

One module per command group: :mod:`~gmlc.cli.node` (``init``, ``serve``),
:mod:`~gmlc.cli.db`, :mod:`~gmlc.cli.clients` (with their networks, certificates, domains
and statement options), :mod:`~gmlc.cli.appliances`, :mod:`~gmlc.cli.cells`,
:mod:`~gmlc.cli.keys`, :mod:`~gmlc.cli.audit` and :mod:`~gmlc.cli.dns`; what they share is
in :mod:`~gmlc.cli.common`, the parser in :mod:`~gmlc.cli.main`. This module imports nothing
before the guard runs; the commands (SQLAlchemy, cryptography, uvicorn …) are imported
inside it, so that even a Ctrl-C in the first tenth of a second ends in words.

Exit codes: 0 done, 1 failed, 2 usage error (bad arguments), 3 not found, 4 conflict
(already exists), 5 a domain not enrolled (its DNS does not show that it names this GMLC),
6 cannot listen (serve), 7 the DNS update failed (dns update), 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one ``salve-gmlc`` command; returns its exit code (see the module docstring)."""
    try:
        from gmlc.cli.common import PROGRAM, describe_error
        from runtime.cli import run
    except KeyboardInterrupt:
        # Ctrl-C while the guard itself loads: the guard's words, and 130 (128 + SIGINT).
        print("salve-gmlc: interrupted", file=sys.stderr)
        return 130

    def body() -> int:
        from gmlc.cli.main import run_command

        return run_command(argv)

    return run(PROGRAM, body, describe=describe_error)

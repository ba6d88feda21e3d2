"""salve-verify: the client that checks a SALVE site.

::

    import verifier

    with verifier.check("https://www.example.com") as result:
        print(result.verdict.outcome.value, result.verdict.reason)
        if result.verdict.verified:
            page = result.connection.request("GET", "/")   # on the verified connection

Modules: :mod:`verifier.checker` (the check, in DESIGN "Client check" order),
:mod:`verifier.dns` (DNSSEC-validating lookups, also used by the front and the GMLC),
:mod:`verifier.verdict` (the verdict and its ``--json`` schema), :mod:`verifier.cli`
(``salve-verify``), and the labs :mod:`verifier.dnslab` and :mod:`verifier.sitelab`.
The package imports only :mod:`mlp` of this project.

The names above are imported when first used (PEP 562): importing the package, as the
``salve-verify`` command does before its guard is in place, costs nothing, so even a
Ctrl-C at the command's first instant ends in words rather than a traceback.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.checker import CheckResult, Verifier, check
    from verifier.errors import Failure, VerifierError
    from verifier.verdict import Outcome, Verdict

__all__ = ["CheckResult", "Failure", "Outcome", "Verdict", "Verifier", "VerifierError", "check"]

_HOMES = {
    "CheckResult": "verifier.checker",
    "Verifier": "verifier.checker",
    "check": "verifier.checker",
    "Failure": "verifier.errors",
    "VerifierError": "verifier.errors",
    "Outcome": "verifier.verdict",
    "Verdict": "verifier.verdict",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'verifier' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

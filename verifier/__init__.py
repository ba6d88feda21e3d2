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
"""

from verifier.checker import CheckResult, Verifier, check
from verifier.errors import Failure, VerifierError
from verifier.verdict import Outcome, Verdict

__all__ = ["CheckResult", "Failure", "Outcome", "Verdict", "Verifier", "VerifierError", "check"]

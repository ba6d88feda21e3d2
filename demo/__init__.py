"""The SALVE story end to end: ``python -m demo`` (``make demo``) and the attacker suite.

:mod:`demo.lab` builds the world from real processes on loopback (a GMLC over TLS, an
appliance on the simulated modem, ``salve-front`` in front of an application, DNSSEC-signed
zones, and an attacker elsewhere); :mod:`demo.attacker` holds the attacker's own tools;
:mod:`demo.moves` its moves in the order of the client's check; :mod:`demo.story` tells it.
The attacker suite (``tests/attacks``, ``make attacks``) runs the same moves as tests.
"""

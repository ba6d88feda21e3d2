"""Building blocks the tests share: processes on loopback, certificates, a GMLC's state.

Plain functions and classes, importable from any test module or conftest
(``from tests.support.gmlc import …``); fixtures stay in the conftest files that use them.
"""

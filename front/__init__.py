"""salve-front: the site's TLS 1.3 front, binding a GMLC statement to every client session.

It terminates TLS 1.3 for the web application behind it (pyOpenSSL under Twisted, because
CPython's ``ssl`` cannot export keying material), computes each connection's RFC 9266
exporter and session hash, gets a statement bound to that session (or to a Merkle batch
of sessions) from the GMLC in the background, serves it at
``/.well-known/salve/statement`` on the same connection, and proxies every other request
to the application unchanged. It also publishes the site's DNS records and exchanges the
M2DMRT declaration with the GMLC.

Modules: :mod:`front.config` (TOML and environment), :mod:`front.tls` (contexts, SNI,
the session binding), :mod:`front.statements` (requests, batches, delivery),
:mod:`front.http` (one client connection), :mod:`front.proxy` and :mod:`front.headers`
(the upstream and the header rules), :mod:`front.gmlc` (MLP requests and the GMLC's TLS
key), :mod:`front.records` (DNS records and the declaration check), :mod:`front.declare`
(the declaration exchange), :mod:`front.metrics`, :mod:`front.timing` (the clock's types),
:mod:`front.errors`, :mod:`front.server` (the running service) and :mod:`front.cli`
(``salve-front``). The package uses :mod:`mlp`, :mod:`runtime` and :mod:`verifier` (its
DNSSEC lookups and RFC 2136 publishing); nothing imports it.
"""

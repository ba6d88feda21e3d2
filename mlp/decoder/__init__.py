"""Decode MLP documents into typed messages (OMA MLP 3.x §5.2, §5.3).

Theory of operation
-------------------
Deployed MLP clients do not follow the DTDs to the letter, and no peer validates
against them (their ``hdr`` model is not even deterministic), so decoding is a
tolerant structural walk followed by explicit checks with precise result codes:

* any ``ver`` of major version 3 on any element, in any mix; another major
  version is 103 UNSUPPORTED VERSION;
* children in any order; enumerations in any case; a default namespace on the
  root (elements are matched by local name in no namespace or the root's);
* elements in other namespaces, and unknown elements, are extensions and are
  ignored as §5.1.2 asks; SALVE's own extensions live in ``urn:salve:mlp:1``;
* MLP elements this server does not implement are 107 PROTOCOL ELEMENT NOT
  SUPPORTED rather than being silently dropped.

Result codes carried by :class:`~mlp.errors.MlpDecodeError`:

=====  ==========================================================================
106    not well-formed, hostile XML, missing or duplicated mandatory element
105    element or attribute text in the wrong format (digits, time, utc_off,
       coordinates, base64url of the session hash, version string)
103    ``ver`` with a major version other than 3
104    more targets (msids plus range sizes) than ``max_targets``
107    an MLP element we do not implement (``msid_group``, ``gsm_net_param``...)
109    an MLP attribute we do not implement (``loc_type/@per_type``)
110    an element value that is well-formed but invalid (latitude 91, an empty
       or inverted ``msid_range``, ``lev_conf`` 150, unknown ``resid``)
111    an attribute value outside its enumeration (``msid/@type="PHONE"``)
112    a valid element value we do not support (a CRS other than EPSG 4326,
       distance units other than metres)
113    a valid attribute value we do not support (``msid/@enc="CRP"``)
108    (:class:`~mlp.errors.MlpUnknownServiceError`) any root or service other
       than ``svc_init`` carrying ``slir``
=====  ==========================================================================

``add_info`` names the element by its path (``slir/eqop/hor_acc``) and a fixed
reason; it never echoes submitted values or parser messages.

Asynchronous requests: ``res_type="ASYNC"`` and ``pushaddr`` are decoded like every
other element (``Slir.res_type``, ``Slir.pushaddr``); whether to serve them is the
server's decision, not the codec's.

Layout: :mod:`mlp.decoder.walker` reads elements (naming, cardinality, text formats,
versions), :mod:`mlp.decoder.request` decodes ``svc_init``/``slir``,
:mod:`mlp.decoder.answer` decodes ``svc_result``/``slia`` and ``gem``,
:mod:`mlp.decoder.identities` the ``msid`` forms both carry, and
:mod:`mlp.decoder.shapes` the GML shapes.
"""

from mlp.decoder.answer import decode_answer
from mlp.decoder.request import decode_request

__all__ = ["decode_answer", "decode_request"]

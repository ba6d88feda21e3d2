"""Errors raised by the ``mlp`` package.

::

    MlpError
    ├── MlpDecodeError            input that is not an acceptable MLP document;
    │   │                         carries the result code to answer with
    │   └── MlpUnknownServiceError   root or service we do not offer (108, gem in HTTP 404)
    └── MlpEncodeError            a value that cannot be written as MLP (a caller's bug)

Other modules of the package (statements, keys, the HTTP client) add their own
subclasses of ``MlpError``. Wrong argument types stay ``TypeError``/``ValueError``.
"""

from __future__ import annotations

from mlp.codes import ResultCode

__all__ = [
    "MlpDecodeError",
    "MlpEncodeError",
    "MlpError",
    "MlpUnknownServiceError",
]


class MlpError(Exception):
    """Root of every error this package raises."""


class MlpDecodeError(MlpError):
    """A document that cannot be accepted, with the MLP answer it deserves.

    Attributes:
        result_code: the ``resid`` to answer with (105 FORMAT ERROR, 106 SYNTAX ERROR...).
        add_info: a short fixed text naming the offending element; safe to send back
            to the client (it never contains parser messages or submitted values).
        line: the line number in the document, when the XML parser reported one.
    """

    def __init__(self, result_code: ResultCode, add_info: str, *, line: int | None = None) -> None:
        super().__init__(f"{int(result_code)} {result_code.slogan}: {add_info}")
        self.result_code = result_code
        self.add_info = add_info
        self.line = line


class MlpUnknownServiceError(MlpDecodeError):
    """The document asks for a service this server does not offer (108).

    The GMLC answers with a ``gem`` in an HTTP 404, as MLP §5.6 prescribes for
    undefined services.
    """

    def __init__(self, add_info: str) -> None:
        super().__init__(ResultCode.SERVICE_NOT_SUPPORTED, add_info)


class MlpEncodeError(MlpError):
    """A value that the encoder cannot write as a valid MLP document."""

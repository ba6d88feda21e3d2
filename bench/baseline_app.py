"""The framework's ceiling: the same server stack answering a fixed SLIA with no work.

Served exactly like the GMLC (uvicorn, httptools, uvloop, same worker count), so the
ratio GMLC/baseline isolates the cost of our own work per request. The same answer from a
bare Starlette route measures what the FastAPI layer costs, and a bare route that also
parses the SLIR and signs once measures the floor that the native work of a request
(libxml2 and OpenSSL) sets, whatever the Python around it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.applications import Starlette
from starlette.routing import Route

from mlp.errors import MlpDecodeError
from mlp.keys import SigningKey
from mlp.xmlsafe import parse_document

FIXED_SLIA = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE svc_result SYSTEM "MLP_SVC_RESULT_320.DTD">\n'
    b'<svc_result ver="3.2.0"><slia ver="3.2.0"><pos><msid type="MSISDN">41791234567</msid>'
    b'<pd><time utc_off="+0000">20261123120000</time><shape><CircularArea><coord>'
    b"<X>47 22 36.793N</X><Y>8 32 30.098E</Y></coord><radius>1000</radius>"
    b"<distanceUnit>meter</distanceUnit></CircularArea></shape><lev_conf>68</lev_conf></pd>"
    b"</pos></slia></svc_result>\n"
)


def create_baseline_app() -> FastAPI:
    """Builds the baseline app; the body is read so request handling costs are comparable."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/mlp")
    async def mlp(request: Request) -> Response:
        await request.body()
        return Response(FIXED_SLIA, media_type="application/xml")

    return app


def create_starlette_baseline_app() -> Starlette:
    """The same fixed answer from a bare Starlette route (no FastAPI layer)."""

    async def mlp(request: Request) -> Response:
        await request.body()
        return Response(FIXED_SLIA, media_type="application/xml")

    return Starlette(routes=[Route("/mlp", mlp, methods=["POST"])])


def create_native_floor_app() -> Starlette:
    """A bare Starlette route that does only a request's native work, then the fixed answer.

    The SLIR goes through the GMLC's hardened parser and the body is signed once with an
    ES256 key, as a statement is; no decoding into objects, no authentication, no audit.
    """
    key = SigningKey.generate("ES256")

    async def mlp(request: Request) -> Response:
        body = await request.body()
        try:
            parse_document(body, max_body_bytes=65536)
        except MlpDecodeError:
            return Response(status_code=400)  # the harness's readiness probe
        key.sign(body)
        return Response(FIXED_SLIA, media_type="application/xml")

    return Starlette(routes=[Route("/mlp", mlp, methods=["POST"])])

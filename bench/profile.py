"""``make profile``: where one SLIR -> SLIA-with-statement request spends its time.

The GMLC's request path (decode, authenticate, authorize, look up the target and its
latest observation, position, sign, audit, encode) runs in-process on a prepared state
directory, without HTTP, under pyinstrument. The audit rows go through the same
group-commit writer as in the server, so waiting for the commit shows up as a lock wait.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
from pyinstrument import Profiler

from bench.harness import CLIENT_ID, MSISDN, fresh_session_hash, prepared_gmlc, slir_body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)

    # Imported here: the service is what is measured, and its settings come from the
    # prepared state directory's environment.
    from fastapi.testclient import TestClient

    from gmlc.app import _MlpEndpoint, create_app
    from gmlc.service import RequestContext
    from gmlc.settings import load_settings

    with prepared_gmlc() as gmlc:
        os.environ.update(gmlc.env)
        app = create_app(load_settings(gmlc.config))
        with TestClient(app) as client:
            token = gmlc.appliances[0].observation()
            answer = client.post("/v1/observations", content=token)
            if answer.status_code != httpx.codes.ACCEPTED:
                raise SystemExit(f"observation refused: {answer.text}")
            endpoint = _MlpEndpoint(app.state.gmlc)
            bodies = [
                slir_body(CLIENT_ID, gmlc.password, MSISDN, fresh_session_hash())
                for _ in range(args.requests + 1)
            ]

            async def answer(body: bytes) -> None:
                await endpoint.process(body, RequestContext("127.0.0.1", time.monotonic() + 5))

            async def answer_all() -> None:
                for body in bodies[1:]:
                    await answer(body)

            asyncio.run(answer(bodies[0]))
            profiler = Profiler(interval=0.0002)
            started = time.perf_counter()
            with profiler:
                asyncio.run(answer_all())
            elapsed = time.perf_counter() - started
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{elapsed / args.requests * 1e3:.2f} ms per request (profiled, in-process, one thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``make loadtest``: bounded mixed traffic against a real GMLC on loopback.

For a fixed time (60 s by default) and at most a fixed number of requests, a
separate load-generator process sends a mix of valid SLIRs with session hashes,
SLIRs with a wrong password, malformed XML, and signed observations from enrolled
appliances. Afterwards it checks what must hold under load:

* no 5xx answer and no dropped connection;
* every request answered (answered == sent);
* the audit trail is complete: one ``slir`` audit row per MLP request, one
  ``statement`` row per statement issued, one ``observation_rejected`` row per
  refused observation, and one stored observation per accepted one;
* memory is stable: the server's resident set size at start and end.

Exit status 0 when every check holds, 1 otherwise. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections import Counter
from typing import Any

from bench.harness import CLIENT_ID, MSISDN, fresh_session_hash, item, run_load, running_gmlc
from bench.harness import slir_body as build_slir


def _streams(gmlc: Any, per_stream: int, seed: int) -> list[list[dict[str, str]]]:
    """One stream per connection: each appliance's observations stay in sequence order."""
    rng = random.Random(seed)
    streams: list[list[dict[str, str]]] = []
    for appliance in gmlc.appliances:
        stream: list[dict[str, str]] = []
        for _ in range(per_stream):
            roll = rng.random()
            if roll < 0.55:
                body = build_slir(CLIENT_ID, gmlc.password, MSISDN, fresh_session_hash())
                stream.append(item("/mlp", body, "slir_valid"))
            elif roll < 0.70:
                body = build_slir(CLIENT_ID, "wrong-password", MSISDN, fresh_session_hash())
                stream.append(item("/mlp", body, "slir_wrong_password"))
            elif roll < 0.80:
                garbage = rng.choice(
                    [b"<svc_init ver='3.2.0'><hdr>", b"\x00\xff not xml", b"<a>" * 50]
                )
                stream.append(item("/mlp", garbage, "slir_malformed"))
            else:
                stream.append(item("/v1/observations", appliance.observation().encode(), "obs"))
        streams.append(stream)
    return streams


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    # Wrong passwords are part of the mix; the failure throttle is raised so that it
    # measures completeness under load rather than the throttle locking loopback out.
    relaxed = {"SALVE_GMLC_AUTH_FAILURE_LIMIT": str(10 * args.max_requests)}
    with running_gmlc(workers=args.workers, appliances=args.concurrency, extra_env=relaxed) as gmlc:
        audit_before = Counter(
            row["kind"] for row in map(json.loads, gmlc.cli("audit", "export").splitlines())
        )
        rss_start = gmlc.rss_kib()
        per_stream = args.max_requests // args.concurrency + 1
        print(
            f"sending mixed traffic for up to {args.seconds:g} s "
            f"({args.concurrency} connections, at most {args.max_requests} requests) ...",
            flush=True,
        )
        result = run_load(
            gmlc.port,
            _streams(gmlc, per_stream, args.seed),
            concurrency=args.concurrency,
            requests=args.max_requests,
            time_limit_s=args.seconds,
            cycle=False,
        )
        rss_end = gmlc.rss_kib()
        audit_after = Counter(
            row["kind"] for row in map(json.loads, gmlc.cli("audit", "export").splitlines())
        )
        appliances = json.loads(gmlc.cli("appliance", "list", "--json"))
    audit = audit_after - audit_before
    statuses: dict[str, int] = result["statuses"]
    by_tag: Counter[str] = Counter()
    for key, count in statuses.items():
        by_tag[key.rsplit(":", 1)[0]] += count
    mlp_requests = sum(v for k, v in by_tag.items() if k.startswith("slir"))
    obs_accepted = statuses.get("obs:202", 0)
    stored_seq = sum(a["last_seq"] for a in appliances)
    # The harness posted one observation before the load started.
    stored_during_load = stored_seq - 1

    checks = {
        "no 5xx": not any(k.rsplit(":", 1)[1].startswith("5") for k in statuses),
        "no transport errors": not result["errors"],
        "every valid SLIR answered 200": statuses.get("slir_valid:200", 0) == by_tag["slir_valid"],
        "one slir audit row per MLP request": audit["slir"] == mlp_requests,
        "one statement audit row per valid SLIR": audit["statement"] == by_tag["slir_valid"],
        "every refused observation audited": (
            audit["observation_rejected"] == by_tag["obs"] - obs_accepted
        ),
        "every accepted observation stored": stored_during_load == obs_accepted,
    }
    print(
        f"\nanswered {result['answered']} requests in {result['elapsed_s']:.1f} s "
        f"({result['throughput_rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms)"
    )
    for key in sorted(statuses):
        print(f"  {key:<32} {statuses[key]}")
    print("audit rows written during the run: " + ", ".join(f"{k}={v}" for k, v in audit.items()))
    print(f"server RSS: {rss_start / 1024:.1f} MiB at start, {rss_end / 1024:.1f} MiB at end")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

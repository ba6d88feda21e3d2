"""A small HTTP/1.1 keep-alive load generator, run in its own process.

It reads a job description (JSON) on stdin, opens ``concurrency`` connections to a
loopback server, and sends pre-built requests as fast as the server answers them,
one request in flight per connection (like web servers asking the GMLC on each new
TLS session). It prints one JSON object: counts per status code, throughput and
latency percentiles. Request bodies are built by the caller, so no signing or XML
work happens here while measuring.

Job: {"host", "port", "concurrency", "requests": N total, "time_limit_s",
      "streams": [[{"method","path","body_b64","tag"}...], ...],
      "sources": optional, one local address per stream to connect from}
The summary also has latency percentiles per tag (``by_tag``).
Connection i sends stream i % len(streams) in order; a stream's order is kept, which
is what sequence-numbered observations need. With "cycle": false (needed for them: a
repeated sequence number is a replay) a connection stops at the end of its stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Totals:
    latencies_ns: list[int] = field(default_factory=list)
    by_tag_ns: dict[str, list[int]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0


def _build(host: str, port: int, item: dict[str, str]) -> tuple[bytes, str]:
    body = base64.b64decode(item["body_b64"])
    head = (
        f"{item.get('method', 'POST')} {item['path']} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Content-Type: {item.get('content_type', 'application/xml')}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body, item.get("tag", "request")


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(
    job: dict,
    stream: list[tuple[bytes, str]],
    budget: list[int],
    deadline: float,
    totals: Totals,
    source: str | None = None,
) -> None:
    local = {"local_addr": (source, 0)} if source else {}
    reader, writer = await asyncio.open_connection(job["host"], job["port"], **local)
    index = 0
    try:
        while budget[0] > 0 and time.monotonic() < deadline:
            if not job.get("cycle", True) and index >= len(stream):
                break
            budget[0] -= 1
            request, tag = stream[index % len(stream)]
            index += 1
            started = time.perf_counter_ns()
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                totals.errors[f"{tag}:{type(exc).__name__}"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(job["host"], job["port"], **local)
                continue
            elapsed_ns = time.perf_counter_ns() - started
            totals.latencies_ns.append(elapsed_ns)
            totals.by_tag_ns.setdefault(tag, []).append(elapsed_ns)
            totals.statuses[f"{tag}:{status}"] += 1
            totals.sent += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index] / 1e6


async def run_job(job: dict) -> dict:
    """Runs one load job and returns its summary."""
    streams = [[_build(job["host"], job["port"], item) for item in s] for s in job["streams"]]
    totals = Totals()
    budget = [int(job["requests"])]
    started = time.perf_counter()
    deadline = time.monotonic() + float(job.get("time_limit_s", 60))
    sources = job.get("sources") or [None] * len(streams)
    await asyncio.gather(
        *(
            _connection(
                job,
                streams[i % len(streams)],
                budget,
                deadline,
                totals,
                sources[i % len(streams)],
            )
            for i in range(int(job["concurrency"]))
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(totals.latencies_ns)
    return {
        "concurrency": job["concurrency"],
        "answered": totals.sent,
        "elapsed_s": elapsed,
        "throughput_rps": totals.sent / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "statuses": dict(totals.statuses),
        "errors": dict(totals.errors),
        "by_tag": {
            tag: {
                "n": len(values),
                "p50_ms": _percentile(sorted(values), 0.50),
                "p99_ms": _percentile(sorted(values), 0.99),
            }
            for tag, values in totals.by_tag_ns.items()
        },
    }


def main() -> int:
    job = json.load(sys.stdin)
    try:
        import uvloop  # optional: speeds up the generator itself

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run_job(job))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

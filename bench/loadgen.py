"""A small HTTP/1.1 keep-alive load generator (stdlib asyncio only).

N connections to HOST:PORT, each sending requests back to back (closed loop: the
next request leaves when the previous response has been read completely), for a
fixed duration or a fixed number of requests. Every request is produced by a
callable, so method, path, headers and body may vary from request to request.

Latency is measured per request with time.perf_counter(), from the first byte
written to the last byte of the response read. Responses are framed by
Content-Length or Transfer-Encoding: chunked (or, failing both, by the server
closing the connection); 1xx interim responses are skipped.

Library use::

    from loadgen import Request, run_load
    result = asyncio.run(run_load(port=8000, factory=lambda n: Request("GET", "/api/health"),
                                  connections=16, duration=10))
    print(result.summary())

CLI use (prints a text summary, or JSON with --json)::

    python bench/loadgen.py --port 8000 -c 16 -d 10 /api/health
    python bench/loadgen.py --port 8000 -c 16 -d 10 -X POST \\
        -H 'Content-Type: application/json' -H 'Authorization: Bearer avm_...' \\
        --body '{"title": "bench {n}"}' /api/v1/projects

In --body and the path, "{n}" is replaced by the request's sequence number
(0, 1, 2, ... across all connections; --start-n shifts it). --factory
module:callable names any callable taking that number and returning a Request.

Flows (several dependent requests per iteration, e.g. queue a job, claim it, complete
it) use run_flow() or --flow module:callable: an async callable (session, n) that
sends requests with ``await session.request(req, label, want_body=True)`` and may
read each Response's status and body; returning False ends that connection's loop.
Latencies and statuses are also kept per label.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import itertools
import json
import math
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request", "Response", "Result", "Session", "run_load", "run_flow", "percentile",
           "template_factory"]

MAX_LINE = 65536


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | None = None


@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes  # empty unless the request asked for it (want_body=True)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


RequestFactory = Callable[[int], Request]


class ProtocolError(Exception):
    pass


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(k, len(sorted_values)) - 1]


@dataclass
class Result:
    connections: int
    elapsed_s: float
    latencies_s: list[float]  # every completed request (2xx or not)
    statuses: Counter[int]
    connection_errors: Counter[str]
    loadgen_cpu_s: float = 0.0
    iterations: int = 0  # completed flow iterations (= requests in factory mode)
    stopped_early: int = 0  # connections whose flow returned False before the end
    by_label: dict[str, tuple[list[float], Counter[int], Counter[str]]] = field(default_factory=dict)

    def label(self, name: str) -> tuple[list[float], Counter[int], Counter[str]]:
        entry = self.by_label.get(name)
        if entry is None:
            entry = self.by_label[name] = ([], Counter(), Counter())
        return entry

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        non_2xx = sum(n for s, n in self.statuses.items() if not 200 <= s < 300)
        return non_2xx + sum(self.connection_errors.values())

    def summary(self) -> dict[str, Any]:
        out = _summarise(self.latencies_s, self.statuses, self.connection_errors, self.elapsed_s)
        out = {"connections": self.connections, "elapsed_s": round(self.elapsed_s, 3), **out,
               "loadgen_cpu_s": round(self.loadgen_cpu_s, 3)}
        if self.by_label:
            out["iterations"] = self.iterations
            out["iterations_per_s"] = round(self.iterations / self.elapsed_s, 2) if self.elapsed_s > 0 else None
            out["stopped_early"] = self.stopped_early
            out["by_label"] = {name: _summarise(lat, st, ce, self.elapsed_s)
                               for name, (lat, st, ce) in self.by_label.items()}
        return out


def _summarise(latencies: list[float], statuses: Counter[int], connection_errors: Counter[str],
               elapsed_s: float) -> dict[str, Any]:
    lat = sorted(latencies)
    requests = sum(statuses.values())
    errors = sum(n for s, n in statuses.items() if not 200 <= s < 300) + sum(connection_errors.values())

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 3)

    return {
        "requests": requests,
        "errors": errors,
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "connection_errors": dict(connection_errors),
        "requests_per_s": round(requests / elapsed_s, 2) if elapsed_s > 0 else None,
        "latency_ms": {
            "p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
            "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None),
            "mean": ms(sum(lat) / len(lat) if lat else None),
        },
    }


def _encode(req: Request, host_header: str) -> bytes:
    body = req.body.encode() if isinstance(req.body, str) else (req.body or b"")
    names = {k.lower() for k in req.headers}
    lines = [f"{req.method} {req.path} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host_header}")
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    if "content-length" not in names and (body or req.method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader, method: str,
                         want_body: bool = False) -> tuple[int, bool, dict[bytes, bytes], bytes]:
    """Read one full response; returns (status, server wants the connection closed, headers, body).
    The body is kept only when `want_body` (else it is read and dropped)."""
    while True:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ProtocolError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        version = parts[0]
        headers: dict[bytes, bytes] = {}
        te = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"transfer-encoding":
                te = (te + b"," + value).lower() if te else value.lower()
            else:
                headers[name] = value
        if 100 <= status < 200 and status != 101:
            continue  # interim response; the real one follows
        break
    conn_tokens = {t.strip() for t in headers.get(b"connection", b"").lower().split(b",")}
    close = b"close" in conn_tokens or (version == b"HTTP/1.0" and b"keep-alive" not in conn_tokens)
    if method == "HEAD" or status in (204, 304):
        return status, close, headers, b""
    parts_: list[bytes] = []
    if te:
        if not te.rstrip().endswith(b"chunked"):
            data = await reader.read()  # framed by close
            return status, True, headers, data if want_body else b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            chunk = await reader.readexactly(size + 2)  # chunk data + CRLF
            if want_body:
                parts_.append(chunk[:-2])
        return status, close, headers, b"".join(parts_)
    if b"content-length" in headers:
        length = int(headers[b"content-length"])
        data = await reader.readexactly(length) if length else b""
        return status, close, headers, data if want_body else b""
    data = await reader.read()  # no framing: body runs to EOF
    return status, True, headers, data if want_body else b""


class Session:
    """One keep-alive connection of a flow. `request()` (re)connects as needed, times the
    request, records its status (overall and under `label`), and returns the Response, or
    None after a connection or protocol error or a timeout (recorded as a connection error)."""

    def __init__(self, host: str, port: int, result: Result, timeout: float, host_header: str) -> None:
        self.host, self.port, self.result, self.timeout, self.host_header = host, port, result, timeout, host_header
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, req: Request, label: str | None = None, *, want_body: bool = False) -> Response | None:
        data = _encode(req, self.host_header)
        per_label = self.result.label(label) if label is not None else None
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, limit=MAX_LINE), self.timeout)
            assert self.reader is not None
            started = time.perf_counter()
            self.writer.write(data)
            await self.writer.drain()
            status, close, headers, body = await asyncio.wait_for(
                _read_response(self.reader, req.method, want_body), self.timeout)
            elapsed = time.perf_counter() - started
            self.result.latencies_s.append(elapsed)
            self.result.statuses[status] += 1
            if per_label is not None:
                per_label[0].append(elapsed)
                per_label[1][status] += 1
            if close:
                self.close()
            return Response(status, headers, body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ProtocolError, ValueError) as exc:
            self.result.connection_errors[type(exc).__name__] += 1
            if per_label is not None:
                per_label[2][type(exc).__name__] += 1
            self.close()
            await asyncio.sleep(0.05)  # do not spin on a refused connection
            return None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


Flow = Callable[[Session, int], Awaitable[Any]]


async def _worker(host: str, port: int, flow: Flow, seq: itertools.count[int],
                  deadline: float | None, budget: list[int] | None, result: Result,
                  timeout: float, host_header: str) -> None:
    session = Session(host, port, result, timeout, host_header)
    try:
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            if budget is not None:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            if await flow(session, next(seq)) is False:
                result.stopped_early += 1
                return
            result.iterations += 1
    finally:
        session.close()


async def run_flow(*, port: int, flow: Flow, host: str = "127.0.0.1", connections: int = 16,
                   duration: float | None = 10.0, iterations: int | None = None, timeout: float = 30.0,
                   start_n: int = 0) -> Result:
    """Run `flow(session, n)` in a loop on each connection: for `duration` seconds, or until
    `iterations` iterations have started. n is unique across connections, from `start_n`."""
    if (duration is None) == (iterations is None):
        raise ValueError("give exactly one of duration or iterations")
    result = Result(connections=connections, elapsed_s=0.0, latencies_s=[], statuses=Counter(),
                    connection_errors=Counter())
    seq = itertools.count(start_n)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    deadline = started + duration if duration is not None else None
    budget = [iterations] if iterations is not None else None
    host_header = f"{host}:{port}"
    await asyncio.gather(*(_worker(host, port, flow, seq, deadline, budget, result, timeout, host_header)
                           for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result.loadgen_cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return result


async def run_load(*, port: int, factory: RequestFactory, host: str = "127.0.0.1", connections: int = 16,
                   duration: float | None = 10.0, requests: int | None = None, timeout: float = 30.0,
                   start_n: int = 0) -> Result:
    """Run the load: for `duration` seconds, or until `requests` requests have been sent."""
    if (duration is None) == (requests is None):
        raise ValueError("give exactly one of duration or requests")

    async def one(session: Session, n: int) -> None:
        await session.request(factory(n))

    return await run_flow(port=port, flow=one, host=host, connections=connections, duration=duration,
                          iterations=requests, timeout=timeout, start_n=start_n)


def template_factory(method: str, path: str, headers: dict[str, str], body: str | None) -> RequestFactory:
    """A factory filling "{n}" in the path and body with the request's sequence number."""
    def make(n: int) -> Request:
        return Request(method, path.replace("{n}", str(n)), headers,
                       body.replace("{n}", str(n)).encode() if body is not None else None)
    return make


def _load_factory(spec: str) -> Any:
    module, _, name = spec.partition(":")
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="HTTP/1.1 keep-alive load generator (closed loop).")
    ap.add_argument("path", nargs="?", default="/", help='request path; "{n}" is the sequence number')
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, required=True)
    ap.add_argument("-c", "--connections", type=int, default=16)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("-d", "--duration", type=float, help="seconds (default 10)")
    group.add_argument("-n", "--requests", type=int,
                       help="total requests (flows: iterations) instead of a duration")
    ap.add_argument("-X", "--method", default="GET")
    ap.add_argument("-H", "--header", action="append", default=[], help='"Name: value", repeatable')
    ap.add_argument("--body", default=None, help='request body; "{n}" is the sequence number')
    ap.add_argument("--start-n", type=int, default=0)
    ap.add_argument("--factory", default=None, help="module:callable(n) -> Request, instead of the options above")
    ap.add_argument("--flow", default=None,
                    help="module:callable, an async (session, n) sending several requests per iteration")
    ap.add_argument("--expand-env", action="store_true",
                    help="expand $VARS in header values (keeps secrets off the command line)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)

    flow = None
    if args.flow:
        if args.factory:
            ap.error("give --factory or --flow, not both")
        flow = _load_factory(args.flow)
        factory = None
    elif args.factory:
        factory = _load_factory(args.factory)
    else:
        headers = {}
        for h in args.header:
            name, sep, value = h.partition(":")
            if not sep:
                ap.error(f"bad header {h!r}")
            headers[name.strip()] = os.path.expandvars(value.strip()) if args.expand_env else value.strip()
        factory = template_factory(args.method.upper(), args.path, headers, args.body)
    duration = None if args.requests is not None else (args.duration or 10.0)
    if flow is not None:
        result = asyncio.run(run_flow(host=args.host, port=args.port, flow=flow, connections=args.connections,
                                      duration=duration, iterations=args.requests, timeout=args.timeout,
                                      start_n=args.start_n))
    else:
        result = asyncio.run(run_load(host=args.host, port=args.port, factory=factory,
                                      connections=args.connections, duration=duration, requests=args.requests,
                                      timeout=args.timeout, start_n=args.start_n))
    s = result.summary()
    if args.json:
        print(json.dumps(s))
    else:
        lat = s["latency_ms"]
        print(f"{s['requests']} requests in {s['elapsed_s']} s over {s['connections']} connections:"
              f" {s['requests_per_s']} req/s")
        print(f"latency ms: p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  max {lat['max']}")
        print(f"errors: {s['errors']}  statuses {s['status_counts']}  connection errors {s['connection_errors']}")
        print(f"load generator CPU: {s['loadgen_cpu_s']} s")
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Fetch concurrency benchmark: pressbot's Fetcher against a slow local feed server.

A separate process serves feeds on 50 loopback addresses (127.0.0.2–127.0.0.51, one listening
socket each), answering every request after a fixed delay (200 ms) with a real fixture feed
(20–60 KB, gzip when asked for, as real servers do), an ETag, and 304 Not Modified when the
request's If-None-Match matches. The server process is plain asyncio streams with HTTP/1.1
keep-alive, so on a 2-core machine it runs beside the client rather than in its event loop.

Phases, each with its own Fetcher (pressbot uses one client per cycle):

1. sequential — one request at a time over a sample of feeds; feeds/s is extrapolated from
   the sample (the server's delay makes every request cost the same, so that is fair);
2. concurrent — all feeds at once through FetchOptions(per_host=4, concurrency=200): wall
   time, feeds/s, speed-up over (1), and the ideal bound ceil(feeds / (hosts × per_host)) × delay;
3. conditional — the same feeds again sending phase 2's ETags: 304s and bytes vs phase 2.

The server counts every byte it reads and writes (request and response headers included; TCP/IP
overhead not included) and the highest number of requests in flight per address, which checks the
per-host limit from the outside.

Run: ``.venv/bin/python bench/bench_fetch.py [--quick]`` → table + ``bench/results/fetch.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import math
import multiprocessing as mp
import time
from email.utils import formatdate
from typing import Any

import httpx
from _common import feeds_manifest, fixtures_root, table, write_result

from pressbot.errors import FetchError
from pressbot.fetch import Fetcher, FetchOptions

HOSTS = 50
DELAY = 0.2
PER_HOST = 4
CONCURRENCY = 200
SERVER_LIFETIME = 600.0  # the server process exits by itself after this, whatever happens
PHASE_DEADLINE = 180.0
# shared counters (single writer: the server's event loop)
REQUESTS, OK, NOT_MODIFIED, BYTES_IN, BYTES_OUT, BODY_OUT, MAX_INFLIGHT = range(7)
COUNTERS = 7


# ----------------------------------------------------------------------------- the server process


def body_files() -> list[str]:
    """Realistic feed bodies: well-formed raw-capture fixtures of 20–60 KB."""
    return sorted(
        entry["file"]
        for entry in feeds_manifest()
        if entry.get("kind") == "raw capture"
        and entry.get("xml_wellformed")
        and 20_000 <= int(entry.get("bytes", 0)) <= 60_000
        and not entry["file"].endswith(".gz")
    )


def serve(ready: Any, stop: Any, counters: Any, inflight_max: Any, delay: float) -> None:
    """Entry point of the server process."""
    asyncio.run(_serve(ready, stop, counters, inflight_max, delay))


async def _serve(ready: Any, stop: Any, counters: Any, inflight_max: Any, delay: float) -> None:
    root = fixtures_root() / "feeds"
    bodies = []
    for name in body_files():
        raw = (root / name).read_bytes()
        bodies.append((raw, gzip.compress(raw, 6), '"' + hashlib.sha1(raw).hexdigest()[:16] + '"'))
    inflight = [0] * HOSTS
    date_cache: list[Any] = [0, ""]

    def http_date() -> str:
        now = int(time.time())
        if date_cache[0] != now:
            date_cache[:] = [now, formatdate(now, usegmt=True)]
        return str(date_cache[1])

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = int(writer.get_extra_info("sockname")[0].rsplit(".", 1)[1]) - 2
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                counters[BYTES_IN] += len(head)
                counters[REQUESTS] += 1
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                inflight[host] += 1
                inflight_max[host] = max(inflight_max[host], inflight[host])
                counters[MAX_INFLIGHT] = max(counters[MAX_INFLIGHT], sum(inflight))
                try:
                    await asyncio.sleep(delay)
                finally:
                    inflight[host] -= 1
                number = int(target.rsplit("/", 1)[-1].split(".")[0])
                raw, packed, etag = bodies[number % len(bodies)]
                common = (
                    f"Date: {http_date()}\r\nServer: bench\r\nETag: {etag}\r\nCache-Control: max-age=300\r\n"
                )
                if headers.get("if-none-match") == etag:
                    response = f"HTTP/1.1 304 Not Modified\r\n{common}\r\n".encode()
                    counters[NOT_MODIFIED] += 1
                    body = b""
                else:
                    zipped = "gzip" in headers.get("accept-encoding", "")
                    body = packed if zipped else raw
                    response = (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                        f"{common}Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nVary: Accept-Encoding\r\n"
                        + ("Content-Encoding: gzip\r\n" if zipped else "")
                        + f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    counters[OK] += 1
                writer.write(response + body)
                counters[BYTES_OUT] += len(response) + len(body)
                counters[BODY_OUT] += len(body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            IndexError,
            ValueError,
        ):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, f"127.0.0.{2 + h}", 0, backlog=512) for h in range(HOSTS)]
    ready.send([s.sockets[0].getsockname()[1] for s in servers])
    started = time.monotonic()
    while not stop.is_set() and time.monotonic() - started < SERVER_LIFETIME:
        await asyncio.sleep(0.1)
    for server in servers:
        server.close()


class FeedServer:
    """Starts the server process; ``urls(n)`` spreads n feeds round-robin over the hosts."""

    def __init__(self, delay: float):
        context = mp.get_context("spawn")
        self.counters = context.Array("q", COUNTERS, lock=False)
        self.inflight_max = context.Array("q", HOSTS, lock=False)
        self.stop = context.Event()
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=serve, args=(send, self.stop, self.counters, self.inflight_max, delay), daemon=True
        )
        self.process.start()
        if not receive.poll(30):
            self.close()
            raise RuntimeError("the bench feed server did not start within 30 s")
        self.ports: list[int] = receive.recv()

    def urls(self, count: int) -> list[str]:
        return [f"http://127.0.0.{2 + i % HOSTS}:{self.ports[i % HOSTS]}/feeds/{i}.xml" for i in range(count)]

    def reset(self) -> None:
        for i in range(COUNTERS):
            self.counters[i] = 0
        for i in range(HOSTS):
            self.inflight_max[i] = 0

    def snapshot(self) -> dict[str, int]:
        names = ("requests", "ok", "not_modified", "bytes_in", "bytes_out", "body_bytes_out", "max_inflight")
        return {name: int(self.counters[i]) for i, name in enumerate(names)} | {
            "max_inflight_per_host": max(self.inflight_max)
        }

    def close(self) -> None:
        self.stop.set()
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


# ----------------------------------------------------------------------------- the client side


def options(*, concurrency: int) -> FetchOptions:
    return FetchOptions(
        user_agent="pressbot-bench/1.0 (+https://example.invalid/pressbot)",
        timeout=20.0,
        retries=0,  # a failure is reported, not hidden by a retry
        per_host=PER_HOST,
        concurrency=concurrency,
        allow_private_networks=True,
    )


class PerOriginTransport(httpx.AsyncBaseTransport):
    """Diagnostic only (not pressbot code): one small httpcore pool per origin.

    httpcore 1.0.9 rescans every pooled connection, several times, on each request start and end
    (encode/httpcore#1035), so one pool of 200 connections costs O(200²) per request; pools of
    ``per_host`` connections keep that cost small. Passed through Fetcher's ``transport=``.
    """

    def __init__(self, per_origin: int):
        self._ssl = httpx.create_ssl_context()  # shared: building one per pool costs ~20 ms each
        self._limits = httpx.Limits(max_connections=per_origin, max_keepalive_connections=per_origin)
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(
                verify=self._ssl, limits=self._limits, trust_env=False
            )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


async def sequential(urls: list[str]) -> dict[str, Any]:
    latencies = []
    errors = 0
    async with Fetcher(options(concurrency=CONCURRENCY)) as fetcher:
        started = time.perf_counter()
        async with asyncio.timeout(PHASE_DEADLINE):
            for url in urls:
                t0 = time.perf_counter()
                try:
                    await fetcher.fetch(url)
                except FetchError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - started
        received = fetcher.bytes_received
    return {"feeds": len(urls), "wall_s": wall, "errors": errors, "bytes_received": received}


async def concurrent(
    urls: list[str], etags: dict[str, str] | None, *, per_origin_pools: bool = False
) -> dict[str, Any]:
    transport = PerOriginTransport(PER_HOST) if per_origin_pools else None
    async with Fetcher(options(concurrency=CONCURRENCY), transport=transport) as fetcher:

        async def one(url: str) -> Any:
            try:
                return await fetcher.fetch(url, etag=(etags or {}).get(url))
            except FetchError as error:
                return error

        cpu = time.process_time()
        started = time.perf_counter()
        async with asyncio.timeout(PHASE_DEADLINE):
            results = await asyncio.gather(*(one(url) for url in urls))
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        received = fetcher.bytes_received
    docs = {url: r for url, r in zip(urls, results, strict=True) if not isinstance(r, FetchError)}
    errors = [str(r) for r in results if isinstance(r, FetchError)]
    return {
        "feeds": len(urls),
        "wall_s": wall,
        "client_cpu_s": cpu,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "not_modified": sum(1 for d in docs.values() if d.not_modified),
        "bytes_received": received,
        "etags": {url: d.etag for url, d in docs.items() if d.etag},
    }


async def run(server: FeedServer, *, feeds: int, sample: int) -> dict[str, Any]:
    urls = server.urls(feeds)
    step = max(1, feeds // sample)
    sample_urls = urls[::step][:sample]

    server.reset()
    seq = await sequential(sample_urls)
    seq["server"] = server.snapshot()

    server.reset()
    first = await concurrent(urls, None)
    first["server"] = server.snapshot()

    server.reset()
    second = await concurrent(urls, first["etags"])
    second["server"] = server.snapshot()

    # Diagnostic, not the measured configuration: the same two cycles with one pool per origin.
    server.reset()
    first_sharded = await concurrent(urls, None, per_origin_pools=True)
    first_sharded["server"] = server.snapshot()
    server.reset()
    second_sharded = await concurrent(urls, first_sharded["etags"], per_origin_pools=True)
    second_sharded["server"] = server.snapshot()
    for phase in (first, second, first_sharded, second_sharded):
        phase.pop("etags")
    return {
        "sequential": seq,
        "concurrent": first,
        "conditional": second,
        "diagnostic_per_origin_pools": {"concurrent": first_sharded, "conditional": second_sharded},
    }


def _wire(phase: dict[str, Any]) -> int:
    return int(phase["server"]["bytes_in"] + phase["server"]["bytes_out"])


def _row(
    label: str, phase: dict[str, Any], *, seq_rate: float, wall: str, base: dict[str, Any] | None
) -> tuple[Any, ...]:
    kib = 1024
    rate = phase["feeds"] / phase["wall_s"]
    body, out, wire = phase["bytes_received"], phase["server"]["bytes_out"], _wire(phase)
    if base is not None:
        body_cell = f"{body / kib:,.0f} ({body / max(1, base['bytes_received']):.1%})"
        out_cell = f"{out / kib:,.0f} ({out / max(1, base['server']['bytes_out']):.1%})"
        wire_cell = f"{wire / kib:,.0f} ({wire / max(1, _wire(base)):.1%})"
    else:
        body_cell, out_cell, wire_cell = f"{body / kib:,.0f}", f"{out / kib:,.0f}", f"{wire / kib:,.0f}"
    return (
        label,
        phase["feeds"],
        wall,
        f"{rate:.1f}",
        f"{rate / seq_rate:.1f}×",
        f"{1000 * phase['client_cpu_s'] / phase['feeds']:.2f}" if "client_cpu_s" in phase else "—",
        phase["errors"],
        phase.get("not_modified", "—"),
        body_cell,
        out_cell,
        wire_cell,
        phase["server"]["max_inflight_per_host"],
    )


def report(result: dict[str, Any], *, feeds: int, delay: float) -> dict[str, Any]:
    seq, first, second = result["sequential"], result["concurrent"], result["conditional"]
    diag = result["diagnostic_per_origin_pools"]
    seq_rate = seq["feeds"] / seq["wall_s"]
    first_rate = first["feeds"] / first["wall_s"]
    ideal_wall = math.ceil(feeds / (HOSTS * PER_HOST)) * delay
    derived = {
        "sequential_feeds_per_s": seq_rate,
        "sequential_extrapolated_wall_s": feeds / seq_rate,
        "concurrent_feeds_per_s": first_rate,
        "speedup_vs_sequential": first_rate / seq_rate,
        "ideal_wall_s": ideal_wall,
        "ideal_speedup": (feeds / ideal_wall) / seq_rate,
        "efficiency_vs_ideal": ideal_wall / first["wall_s"],
        "conditional_feeds_per_s": second["feeds"] / second["wall_s"],
        "client_cpu_ms_per_feed": 1000 * first["client_cpu_s"] / feeds,
        "conditional_body_bytes_ratio": second["bytes_received"] / max(1, first["bytes_received"]),
        "conditional_response_bytes_ratio": second["server"]["bytes_out"]
        / max(1, first["server"]["bytes_out"]),
        "conditional_wire_bytes_ratio": _wire(second) / max(1, _wire(first)),
        "request_header_bytes_per_feed_conditional": second["server"]["bytes_in"] / feeds,
        "response_bytes_per_feed_conditional": second["server"]["bytes_out"] / feeds,
        "diagnostic_per_origin_pools_feeds_per_s": diag["concurrent"]["feeds"] / diag["concurrent"]["wall_s"],
        "diagnostic_per_origin_pools_speedup": (diag["concurrent"]["feeds"] / diag["concurrent"]["wall_s"])
        / seq_rate,
    }
    derived["targets"] = {
        "speedup_ge_40x": derived["speedup_vs_sequential"] >= 40,
        "conditional_response_bytes_lt_5pct": derived["conditional_response_bytes_ratio"] < 0.05,
        "conditional_wire_bytes_lt_5pct": derived["conditional_wire_bytes_ratio"] < 0.05,
    }
    rows = [
        _row(
            f"sequential, sample of {seq['feeds']}",
            seq,
            seq_rate=seq_rate,
            wall=f"{seq['wall_s']:.2f} s (→ {feeds / seq_rate:.0f} s for {feeds}, extrapolated)",
            base=None,
        ),
        _row(
            "concurrent cycle 1",
            first,
            seq_rate=seq_rate,
            wall=f"{first['wall_s']:.2f} s (ideal {ideal_wall:.1f} s)",
            base=None,
        ),
        _row(
            "conditional cycle 2 (ETags of 1)",
            second,
            seq_rate=seq_rate,
            wall=f"{second['wall_s']:.2f} s",
            base=first,
        ),
        None,
        _row(
            "diagnostic: per-origin pools, cycle 1",
            diag["concurrent"],
            seq_rate=seq_rate,
            wall=f"{diag['concurrent']['wall_s']:.2f} s",
            base=None,
        ),
        _row(
            "diagnostic: per-origin pools, cycle 2",
            diag["conditional"],
            seq_rate=seq_rate,
            wall=f"{diag['conditional']['wall_s']:.2f} s",
            base=diag["concurrent"],
        ),
    ]
    table(
        f"Fetch: {feeds} feeds on {HOSTS} loopback hosts, server delay {delay * 1000:.0f} ms, "
        f"FetchOptions(per_host={PER_HOST}, concurrency={CONCURRENCY})",
        (
            "phase",
            "feeds",
            "wall",
            "feeds/s",
            "speed-up",
            "client CPU ms/feed",
            "errors",
            "304s",
            "body KiB (Fetcher)",
            "response KiB (server)",
            "wire KiB (req+resp)",
            "max in flight/host",
        ),
        rows,
        caption=(
            f"targets: speed-up ≥ 40× → {derived['speedup_vs_sequential']:.1f}× (ideal for this setup "
            f"{derived['ideal_speedup']:.0f}×); cycle 2 < 5% of bytes → body {derived['conditional_body_bytes_ratio']:.1%}, "
            f"responses {derived['conditional_response_bytes_ratio']:.1%}, both directions {derived['conditional_wire_bytes_ratio']:.1%} "
            f"({derived['request_header_bytes_per_feed_conditional']:.0f} B request + "
            f"{derived['response_bytes_per_feed_conditional']:.0f} B response per feed).\n"
            "The server sends gzip (httpx asks for it); the Fetcher counts decompressed body bytes; the server counts "
            "headers and bodies as sent, not TCP/IP overhead. 'Diagnostic' rows pass a bench-only transport with one "
            "httpcore pool per origin to the same Fetcher: not pressbot's configuration."
        ),
    )
    return derived


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 feeds, sample of 10 (about 10 s)")
    parser.add_argument("--feeds", type=int, default=None)
    args = parser.parse_args()
    feeds = args.feeds or (200 if args.quick else 1000)
    sample = 10 if args.quick else 50
    server = FeedServer(DELAY)
    try:
        result = asyncio.run(run(server, feeds=feeds, sample=sample))
    finally:
        server.close()
    derived = report(result, feeds=feeds, delay=DELAY)
    write_result(
        "fetch",
        {
            "quick": args.quick,
            "setup": {
                "feeds": feeds,
                "hosts": HOSTS,
                "delay_s": DELAY,
                "per_host": PER_HOST,
                "concurrency": CONCURRENCY,
                "sequential_sample": sample,
                "bodies": body_files(),
                "note": "sequential feeds/s is measured on the sample and extrapolated; wire bytes exclude TCP/IP overhead",
            },
            "phases": result,
            "derived": derived,
        },
    )


if __name__ == "__main__":
    main()

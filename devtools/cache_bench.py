"""``make bench BENCH_ARGS=--only=cache``: the shared cache's reads, hiredis against
redis-py's own parser, side by side in one run.

What the app asks of Redis on each request with ``CACHE_URL`` set: the read pin
(``get_many`` of two small keys, core.replicas) and, for the API, a page-cache
answer (up to ~350 KB for a page of 100 numbers, api.pagecache). Both go through
``core.cache.ResilientRedisCache``, built twice, once per parser; the peer is
redis-py's own parser. Needs a Redis (``BENCH_REDIS_URL``, default
``redis://127.0.0.1:6379/12``); the keys are its own and deleted after.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from redis.utils import HIREDIS_AVAILABLE

from core.cache import ResilientRedisCache

HEADING = "## The shared cache's reads: hiredis against redis-py's parser"
PARSERS = {
    # redis-py's own (pure Python) parser, the one production runs: hiredis is not a
    # dependency (docs/scaling.md says why). RESP2 asked; redis-py 8 speaks RESP3
    # and picks its own pure-Python RESP3 parser then.
    "redis-py's own parser (the peer)": "redis._parsers._RESP2Parser",
    "hiredis": "redis._parsers._HiredisParser",
}
PREFIX = "switchboard-bench-cache"


def _cache(url: str, parser: str) -> ResilientRedisCache:
    return ResilientRedisCache(url, {"KEY_PREFIX": PREFIX, "OPTIONS": {"parser_class": parser}})


def _median_us(call: Callable[[], object], repeats: int, rounds: int = 5) -> float:
    call()  # connect and warm up
    medians = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            call()
        medians.append((time.perf_counter() - started) / repeats * 1e6)
    return statistics.median(medians)


def measure(url: str | None = None) -> list[tuple[str, float, float]]:
    """(parser, µs per 350 KB answer, µs per pin lookup) for each parser."""
    url = url or os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    item = b'{"number":"+14155550123","label":"Main line","inbound_agent":{"prompt":"'
    answer = ((item + b"x" * 3400 + b'"}},') * 100, '"etag"')  # a page of 100, cached
    writer = _cache(url, next(iter(PARSERS.values())))
    writer.set("answer", answer, 300)
    writer.set("pin", 1, 300)
    results = []
    try:
        for name, parser in PARSERS.items():
            if name == "hiredis" and not HIREDIS_AVAILABLE:
                print("hiredis is not installed: `.venv/bin/pip install hiredis` to compare")
                continue
            cache = _cache(url, parser)
            big = _median_us(lambda c=cache: c.get("answer"), repeats=300)
            pins = _median_us(lambda c=cache: c.get_many(["pin", "untrusted"]), repeats=2000)
            results.append((name, big, pins))
    finally:
        writer.delete_many(["answer", "pin"])
    return results


def report_lines(results: list[tuple[str, float, float]]) -> list[str]:
    peer = results[0]
    lines = [
        HEADING,
        "",
        "Through `core.cache.ResilientRedisCache` (Django's RedisCache), Redis on "
        "loopback, median of 5 rounds; ratio = the peer's time over this one's.",
        "",
        "| parser | page-cache answer (~350 KB) µs | ratio | read pin (get_many of 2) µs | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, big, pins in results:
        lines.append(
            f"| {name} | {big:,.0f} | {peer[1] / big:.2f}x | {pins:,.0f} | {peer[2] / pins:.2f}x |"
        )
    return lines


def write_report(output: str, lines: list[str]) -> None:
    """Replace this section of ``output`` (docs/benchmarks.md), or append it."""
    path = Path(output)
    previous = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    start = previous.find(HEADING)
    if start == -1:
        text = f"{previous.rstrip()}\n\n{block}"
    else:
        end = previous.find("\n## ", start + len(HEADING))
        text = previous[:start] + block + ("" if end == -1 else previous[end:])
    path.write_text(text, encoding="utf-8")

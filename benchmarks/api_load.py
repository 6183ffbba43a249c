"""Clients for the API benchmark, in a process of their own: ``--clients`` asyncio tasks, each
with an ``httpx.AsyncClient`` of one connection, asking for the given paths in turn.

    python -m benchmarks.api_load --url URL --token T --path status=/p/1/runs/current
        --path scenes=/p/1/scenes [--clients 50] [--interval 0] [--conditional] [--seconds S]

``--interval 0`` is closed-loop (each client asks again as soon as it is answered); ``--interval
1`` is a polling client (each asks once a second, starts spread over the first second). With
``--conditional`` a client sends the ETag it last got for a path as ``If-None-Match`` (a 304 is
a success). Runs for ``--seconds`` or until a line (or end of file) arrives on stdin, then
prints one JSON document: latencies in ms by path name, 304 counts, errors, the wall time and
this process's CPU seconds. Kept apart from the server's process so the figures are the
server's latency, not the load generator's contention for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(slots=True)
class Tally:
    latencies_ms: dict[str, list[float]]
    not_modified: dict[str, int]
    errors: list[str] = field(default_factory=list)


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _client(
    i: int,
    clients: int,
    c: httpx.AsyncClient,
    paths: list[tuple[str, str]],
    interval: float,
    conditional: bool,
    stop: asyncio.Event,
    tally: Tally,
) -> None:
    loop = asyncio.get_running_loop()
    if interval:  # spread the pollers over the first interval, as independent editors would be
        await asyncio.sleep(interval * i / clients)
    etags: dict[str, str] = {}
    n = i
    while not stop.is_set():
        name, path = paths[n % len(paths)]
        n += 1
        headers = {"If-None-Match": etags[name]} if conditional and name in etags else None
        t0 = loop.time()
        try:
            r = await c.get(path, headers=headers)
            ok = r.is_success or r.status_code == 304
            why = f"{name}: {r.status_code} {r.text[:160]}"
        except httpx.HTTPError as exc:
            ok, why, r = False, f"{name}: {type(exc).__name__}: {exc}", None
        ms = (loop.time() - t0) * 1000
        if not ok or r is None:
            tally.errors.append(why)
        else:
            tally.latencies_ms[name].append(ms)
            if r.status_code == 304:
                tally.not_modified[name] += 1
            if "etag" in r.headers:
                etags[name] = r.headers["etag"]
        if interval:
            left = t0 + interval - loop.time()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), left)


async def run_load(
    url: str,
    token: str,
    paths: list[tuple[str, str]],
    clients: int,
    interval: float,
    conditional: bool,
    seconds: float | None,
) -> dict[str, Any]:
    tally = Tally({name: [] for name, _ in paths}, {name: 0 for name, _ in paths})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # A client (one connection) per task: one shared pool of 50 connections costs the load
    # generator more CPU per request than the server spends answering it.
    async with contextlib.AsyncExitStack() as stack:
        conns = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                    limits=httpx.Limits(max_connections=1),
                )
            )
            for _ in range(clients)
        ]
        cpu0, t0 = _cpu_s(), time.monotonic()
        tasks = [
            asyncio.create_task(
                _client(i, clients, conns[i], paths, interval, conditional, stop, tally)
            )
            for i in range(clients)
        ]
        if seconds is not None:
            await asyncio.sleep(seconds)
        else:  # until the parent says so (a line, or stdin closed)
            await loop.run_in_executor(None, sys.stdin.readline)
        stop.set()
        await asyncio.gather(*tasks)
        wall_s, cpu_s = time.monotonic() - t0, _cpu_s() - cpu0
    return {
        "clients": clients,
        "interval_s": interval,
        "conditional": conditional,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "latencies_ms": tally.latencies_ms,
        "not_modified": tally.not_modified,
        "errors": tally.errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.api_load", description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--path", action="append", required=True, help="NAME=/path (repeatable)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between a client's asks")
    ap.add_argument("--conditional", action="store_true", help="send If-None-Match")
    ap.add_argument("--seconds", type=float, help="run this long (default: until stdin says)")
    args = ap.parse_args(argv)
    paths = [tuple(p.split("=", 1)) for p in args.path]
    if any(len(p) != 2 for p in paths):
        ap.error("--path takes NAME=/path")
    out = asyncio.run(
        run_load(
            args.url,
            args.token,
            [(n, p) for n, p in paths],
            args.clients,
            args.interval,
            args.conditional,
            args.seconds,
        )
    )
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

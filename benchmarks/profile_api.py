"""Where a polled API read's CPU goes: the server's CPU per request, and a profile by layer.

    .venv/bin/python -m benchmarks.profile_api --data-dir HOME --project-id N
        [--clients 50] [--seconds 8] [--http h11|httptools] [--loop asyncio|uvloop]

Serves ``HOME`` (a data dir with a processed project) with ``genesis_pipeline.api`` under
uvicorn in a process of its own, the read caches kept for an hour (every answer comes from
them: this measures serving, not the store), and has ``--clients`` closed-loop clients
(:mod:`benchmarks.api_load`, this process) ask for one route at a time: the run status, the
project status, a page of scenes. For each: requests per second, the server's and the clients'
CPU per request, unprofiled. Then the same under cProfile in every server thread (timer: the
thread's CPU time), with the self time summed by layer: uvicorn and its HTTP parser, the asyncio
loop, Starlette, FastAPI (routing, dependency resolution), pydantic, JSON encoding, thread-pool
hand-offs and Genesis's own code. Profiling slows small calls more than big ones, so the shares
are indicative; the unprofiled CPU per request is the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from benchmarks.api import free_port
from benchmarks.api_load import run_load

#: Layers by a profiled function's file (first match wins); built-ins by their name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("uvicorn + HTTP parser (h11/httptools)", ("/uvicorn/", "/h11/", "httptools")),
    ("asyncio loop, sockets", ("/asyncio/", "selectors", "uvloop", "socket", "ssl")),
    ("thread-pool hand-offs (anyio, threading)", ("/anyio/", "threading", "queue", "_thread")),
    ("JSON encoding", ("/json/", "_json", "api/responses.py")),
    ("pydantic (validation, serialization)", ("/pydantic/", "pydantic_core")),
    ("FastAPI (routing, dependencies, encoders)", ("/fastapi/",)),
    ("Starlette (middleware, routing, responses)", ("/starlette/",)),
    ("Genesis (auth, caches, handlers)", ("/genesis_pipeline/",)),
)


def _layer(func: tuple[str, int, str]) -> str:
    where = f"{func[0]}:{func[2]}"
    for name, marks in LAYERS:
        if any(m in where for m in marks):
            return name
    return "other (stdlib, enum, typing…)"


def _self_times(profiles: list[cProfile.Profile]) -> dict[tuple[str, int, str], float]:
    """Self time by function, summed over ``profiles``."""
    out: dict[tuple[str, int, str], float] = {}
    for p in profiles:
        p.snapshot_stats()
        for func, (_cc, _nc, tt, _ct, _callers) in p.stats.items():
            out[func] = out.get(func, 0.0) + tt
    return out


def serve(home: Path, port: int, profile_out: Path | None, http: str, loop: str) -> None:
    """Serve ``home`` until SIGTERM. With ``profile_out``, profile every thread; SIGUSR1 marks
    the start of the measured window (start-up, imports and warm-up are cleared), and the self
    times since then are written there as JSON on the way out."""
    import uvicorn

    from genesis_pipeline.api import cache, create_app
    from genesis_pipeline.config import Settings

    cache.READ_TTL_S = cache.TOKEN_TTL_S = 3600.0  # serve from the caches: measure serving
    profiles: list[cProfile.Profile] = []

    def start_profile(*_: object) -> None:
        sys.setprofile(None)
        p = cProfile.Profile(time.thread_time)
        profiles.append(p)
        p.enable()

    if profile_out is not None:
        threading.setprofile(start_profile)
        start_profile()

        def clear(*_: object) -> None:  # a profiler's callbacks hold the GIL: safe from here
            for p in profiles:
                p.clear()

        signal.signal(signal.SIGUSR1, clear)
    app = create_app(Settings(home=home))
    # uvicorn raises the SIGTERM it caught again once it has shut down: let it land here, so
    # the stats below are written.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", http=http, loop=loop)
    if profile_out is not None:
        times = _self_times(profiles)
        profile_out.write_text(json.dumps([[*f, tt] for f, tt in times.items()]))


@contextlib.contextmanager
def server(
    home: Path, profile_out: Path | None, http: str, loop: str
) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks.profile_api", "--serve", str(port),
           "--data-dir", str(home), "--http", http, "--loop", loop]  # fmt: skip
    if profile_out is not None:
        cmd += ["--profile-out", str(profile_out)]
    proc = psutil.Popen(cmd, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError("the server exited")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def route_paths(pid: int) -> dict[str, str]:
    return {
        "run status": f"/projects/{pid}/runs/current",
        "project status": f"/projects/{pid}",
        "scenes page": f"/projects/{pid}/scenes",
    }


def measure_route(
    url: str,
    proc: psutil.Process,
    token: str,
    name: str,
    path: str,
    clients: int,
    seconds: float,
    profiled: bool = False,
    client: str = "h11",
) -> dict[str, float]:
    asyncio.run(run_load(url, token, [(name, path)], 2, 0.0, False, 1.0, client))  # warm
    if profiled:
        proc.send_signal(signal.SIGUSR1)  # the profiled server counts from here
        time.sleep(0.2)
    cpu0 = sum(proc.cpu_times()[:2])
    got = asyncio.run(run_load(url, token, [(name, path)], clients, 0.0, False, seconds, client))
    server_cpu = sum(proc.cpu_times()[:2]) - cpu0
    n = len(got["latencies_ms"][name])
    xs = sorted(got["latencies_ms"][name])
    return {
        "requests": n,
        "errors": len(got["errors"]),
        "per_s": n / got["wall_s"],
        "server_cpu_us": 1e6 * server_cpu / max(n, 1),
        "client_cpu_us": 1e6 * got["cpu_s"] / max(n, 1),
        "p50_ms": xs[len(xs) // 2] if xs else 0.0,
        "p95_ms": xs[int(0.95 * (len(xs) - 1))] if xs else 0.0,
    }


def by_layer(self_times: Path) -> dict[str, float]:
    layers: dict[str, float] = {}
    for file, line, name, tt in json.loads(self_times.read_text()):
        layer = _layer((file, line, name))
        layers[layer] = layers.get(layer, 0.0) + tt
    return layers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_api", description=__doc__)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--project-id", type=int, default=1)
    ap.add_argument("--token", help="a token of the data dir (default: one is created)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--http", default="h11", choices=["h11", "httptools"])
    ap.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    ap.add_argument(
        "--client", default="h11", choices=["h11", "httptools", "httpx"], help="load's client"
    )
    ap.add_argument("--no-profile", action="store_true", help="only the unprofiled figures")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.serve, args.profile_out, args.http, args.loop)
        return 0
    token = args.token
    if token is None:
        from genesis_pipeline.config import Settings
        from genesis_pipeline.services import access
        from genesis_pipeline.store import Store

        store = Store(Settings(home=args.data_dir))
        name = f"profile-{os.getpid()}"
        token = access.create_token(store, name, "viewer", actor=access.cli_actor()).secret
    paths = route_paths(args.project_id)
    out = sys.stdout
    load = os.getloadavg()[0]
    out.write(f"# {args.http} + {args.loop}, {args.clients} closed-loop {args.client} clients, "
              f"{args.seconds:.0f} s per route, load before {load:.1f}\n\n")  # fmt: skip
    out.write("| route | req/s | p50 | p95 | server CPU / req | client CPU / req | errors |\n")
    out.write("|---|---|---|---|---|---|---|\n")
    with server(args.data_dir, None, args.http, args.loop) as (url, proc):
        for name, path in paths.items():
            m = measure_route(
                url, proc, token, name, path, args.clients, args.seconds, False, args.client
            )
            out.write(
                f"| {name} | {m['per_s']:.0f} | {m['p50_ms']:.0f} ms | {m['p95_ms']:.0f} ms | "
                f"{m['server_cpu_us']:.0f} µs | {m['client_cpu_us']:.0f} µs | {m['errors']} |\n"
            )
            out.flush()
    if args.no_profile:
        return 0
    out.write("\nProfiled (self CPU time by layer, share of the server's profiled time):\n\n")
    rows: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        prof = args.data_dir / f"profile-{name.replace(' ', '-')}.json"
        with server(args.data_dir, prof, args.http, args.loop) as (url, proc):
            measure_route(
                url, proc, token, name, path, args.clients, args.seconds, True, args.client
            )
        rows[name] = by_layer(prof)
    layers = sorted({k for r in rows.values() for k in r}, key=lambda k: -rows[
        "scenes page"].get(k, 0.0))  # fmt: skip
    out.write("| layer | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows) + "\n")
    for layer in layers:
        shares = [100 * r.get(layer, 0.0) / max(sum(r.values()), 1e-9) for r in rows.values()]
        out.write(f"| {layer} | " + " | ".join(f"{s:.0f}%" for s in shares) + " |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

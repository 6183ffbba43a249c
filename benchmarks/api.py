"""The HTTP API under load: status and scene-list latency with 50 concurrent clients while a
pipeline run writes, and the server's memory during a 2 GB streamed upload.

    .venv/bin/python -m benchmarks.api [--clients 50] [--upload-mb 2048] [--quick] [--out DIR]
        [--client h11|httptools|httpx]

A real ``genesis api`` server (its own process, a free loopback port) on a fresh data dir with
the benchmark clip processed once (not measured). Then, twice, a forced run is started through
the API and, while it writes, ``--clients`` clients in a process of their own
(:mod:`benchmarks.api_load`: asyncio tasks, a keep-alive connection each) ask for the run's
status and a page of scenes in turn until the run ends: first closed-loop (each asks again as
soon as it is answered: the most the server can be asked), then as polling clients (each asks
once a second and sends the ETag it holds, as an editor's panel would). p50 / p95 / max latency
per endpoint, the 304s, every error (a non-2xx, non-304 answer or a failed connection) and the
load generator's own CPU per request. Last, one upload of ``--upload-mb`` zero bytes is streamed
to the local upload target in 1 MiB chunks while the server's RSS is sampled every 20 ms: the
peak above its idle RSS (goal: flat, ≤ 100 MB). Goals: 0 errors, p95 ≤ 200 ms.

``python -m benchmarks --api`` runs the same after the main suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.footage import QUICK, RECIPES, STANDARD, BenchClip, ensure_clip
from benchmarks.report import environment
from benchmarks.suite import bench_env, scratch_dir

log = logging.getLogger("benchmarks.api")

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_P95_MS = 200.0
GOAL_UPLOAD_MB = 100.0
MIB = 1024 * 1024


@dataclass(slots=True)
class Phase:
    """One load phase: the clients' mode and what they measured."""

    mode: str  # "closed-loop" | "polling 1 s"
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    not_modified: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    load_s: float = 0.0
    client_cpu_s: float = 0.0
    run_status: str = ""

    @property
    def requests(self) -> int:
        return sum(len(xs) for xs in self.latencies_ms.values())

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, xs in self.latencies_ms.items():
            xs = sorted(xs)
            out[name] = {
                "requests": len(xs),
                "per_s": round(len(xs) / max(self.load_s, 1e-9), 1),
                "not_modified": self.not_modified.get(name, 0),
                "p50_ms": round(statistics.median(xs), 1) if xs else 0.0,
                "p95_ms": round(xs[int(0.95 * (len(xs) - 1))], 1) if xs else 0.0,
                "max_ms": round(xs[-1], 1) if xs else 0.0,
            }
        return out

    @property
    def worst_p95_ms(self) -> float:
        return max((v["p95_ms"] for v in self.summary().values()), default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "load_s": round(self.load_s, 1),
            "run_status": self.run_status,
            "endpoints": self.summary(),
            "errors": len(self.errors),
            "error_samples": self.errors[:10],
            "client_cpu_us_per_request": round(1e6 * self.client_cpu_s / max(self.requests, 1)),
        }


@dataclass(slots=True)
class ApiResults:
    clients: int
    client: str = "h11"
    server_stack: str = ""
    phases: list[Phase] = field(default_factory=list)
    upload_mb: int = 0
    upload_s: float = 0.0
    idle_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def upload_growth_mb(self) -> float:
        return self.peak_rss_mb - self.idle_rss_mb

    @property
    def errors(self) -> list[str]:
        return [e for p in self.phases for e in p.errors]

    def to_json(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "client": self.client,
            "server_stack": self.server_stack,
            "phases": [p.to_json() for p in self.phases],
            "errors": len(self.errors),
            "upload": {
                "mb": self.upload_mb,
                "seconds": round(self.upload_s, 1),
                "idle_rss_mb": round(self.idle_rss_mb, 1),
                "peak_rss_mb": round(self.peak_rss_mb, 1),
                "growth_mb": round(self.upload_growth_mb, 1),
            },
        }


def server_stack() -> str:
    """What uvicorn serves with here: it takes httptools and uvloop when they are installed."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn + {http} + {loop}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def api_server(home: Path, env: dict[str, str]) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    cmd = [sys.executable, "-m", "genesis_pipeline.cli", "api", "--port", str(port)]
    with open(home / "api-server.log", "ab") as out:
        proc = subprocess.Popen(
            [*cmd, "--data-dir", str(home)], stdout=out, stderr=out, env=env,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError((home / "api-server.log").read_text()[-2000:])
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("genesis api did not answer within 120 s")
            time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _genesis(home: Path, env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)]
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def _wait_run(client: httpx.Client, pid: int, timeout_s: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc: dict[str, Any] = client.get(f"/projects/{pid}/runs/current").json()
        if not (doc["running"] or doc["starting"]):
            return doc
        time.sleep(0.5)
    raise TimeoutError("the run did not end")


def load_while_running(
    url: str,
    token: str,
    pid: int,
    clients: int,
    phase: Phase,
    env: dict[str, str],
    say: Callable[[str], None],
    *,
    interval: float = 0.0,
    client: str = "h11",
) -> None:
    """Start a forced run, then load status and scenes from ``clients`` clients (a process of
    their own) until it ends."""
    auth = {"Authorization": f"Bearer {token}"}
    control = httpx.Client(base_url=url, headers=auth, timeout=60)
    started = control.post(f"/projects/{pid}/runs", json={"force": True})
    started.raise_for_status()
    while not control.get(f"/projects/{pid}/runs/current").json()["running"]:
        time.sleep(0.1)
    say(f"run started; {clients} {phase.mode} clients on status and scenes")
    cmd = [sys.executable, "-m", "benchmarks.api_load", "--url", url, "--token", token,
           "--clients", str(clients), "--interval", str(interval), "--client", client,
           "--path", f"status=/projects/{pid}/runs/current",
           "--path", f"scenes=/projects/{pid}/scenes"]  # fmt: skip
    if interval:
        cmd.append("--conditional")  # a polling panel sends the ETag it holds
    load = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )  # fmt: skip
    end = _wait_run(control, pid)
    out, _ = load.communicate("stop\n", timeout=120)
    if load.returncode != 0:
        raise RuntimeError(f"the load generator failed ({load.returncode})")
    got = json.loads(out)
    phase.latencies_ms = got["latencies_ms"]
    phase.not_modified = got["not_modified"]
    phase.errors = got["errors"]
    phase.load_s = got["wall_s"]
    phase.client_cpu_s = got["cpu_s"]
    phase.run_status = end["run"]["status"] if end["run"] else "none"


def streamed_upload(
    url: str, token: str, pid: int, server: psutil.Process, mb: int, res: ApiResults
) -> None:
    """Stream ``mb`` MiB to the local upload target; the server's RSS sampled throughout."""
    auth = {"Authorization": f"Bearer {token}"}
    c = httpx.Client(base_url=url, headers=auth, timeout=600)
    for _ in range(5):  # warm: the routes imported, the store opened
        c.get(f"/projects/{pid}/media")
    ticket = c.post(
        f"/projects/{pid}/uploads", json={"filename": "big.bin", "size_bytes": mb * MIB}
    ).json()
    res.idle_rss_mb = server.memory_info().rss / 1e6
    peak = [res.idle_rss_mb]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak[0] = max(peak[0], server.memory_info().rss / 1e6)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    zeros = bytes(MIB)
    t0 = time.monotonic()
    r = c.put(
        ticket["put_url"],
        content=(zeros for _ in range(mb)),
        headers={"X-Upload-Token": ticket["token"], "Content-Length": str(mb * MIB)},
    )
    res.upload_s = time.monotonic() - t0
    done.set()
    sampler.join()
    r.raise_for_status()
    res.upload_mb = mb
    res.peak_rss_mb = peak[0]


def measure(
    clip: BenchClip, scratch: Path, clients: int, upload_mb: int,
    say: Callable[[str], None] = log.info, client: str = "h11",
) -> ApiResults:  # fmt: skip
    home = scratch / "api-home"
    home.mkdir(parents=True, exist_ok=True)
    env = bench_env(home)
    env["GENESIS_MAX_UPLOAD_MB"] = str(upload_mb + 16)
    env["GENESIS_CAPTION_MODEL"] = str(scratch / "no-caption-model")  # as the main suite: no BLIP
    pid = int(json.loads(_genesis(home, env, "create-project", "--name", "api", "--json"))[
        "project_id"])  # fmt: skip
    _genesis(home, env, "add-media", "--project-id", str(pid), str(clip.path), "-q")
    say("processing the clip once (not measured)")
    _genesis(home, env, "process-project", "--project-id", str(pid), "-q")
    token = json.loads(
        _genesis(home, env, "token", "create", "--name", "bench", "--role", "admin", "--json")
    )["token"]
    res = ApiResults(clients, client, server_stack())
    with api_server(home, env) as (url, server):
        for mode, interval in (("closed-loop", 0.0), ("polling 1 s", 1.0)):
            phase = Phase(mode)
            load_while_running(
                url, token, pid, clients, phase, env, say, interval=interval, client=client
            )
            res.phases.append(phase)
        say(f"streaming a {upload_mb} MiB upload")
        streamed_upload(url, token, pid, server, upload_mb, res)
    return res


def markdown(res: ApiResults, when: str, env: dict[str, Any]) -> str:
    load = env["load_before"]
    lines = [
        f"# API under load, {when}",
        "",
        f"{env['cpu_model']}, {env['cpu_count']} cores; load average before: "
        f"{', '.join(f'{x:.1f}' for x in load)}. Server: {res.server_stack}. {res.clients} "
        f"clients ({res.client}, in a process of their own) while a forced run wrote.",
        "",
        "| clients | endpoint | requests | per s | 304 | p50 | p95 | max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in res.phases:
        lines += [
            f"| {p.mode} | {k} | {v['requests']} | {v['per_s']} | {v['not_modified']} | "
            f"{v['p50_ms']} ms | {v['p95_ms']} ms | {v['max_ms']} ms |"
            for k, v in p.summary().items()
        ]
    lines += [
        "",
        *(
            f"- {p.mode}: {p.load_s:.1f} s (the run ended: {p.run_status}), the clients' CPU "
            f"{p.to_json()['client_cpu_us_per_request']} µs per request"
            for p in res.phases
        ),
        "",
        "| target | goal | measured | result |",
        "|---|---|---|---|",
        f"| errors under load | 0 | {len(res.errors)} | {'pass' if not res.errors else 'FAIL'} |",
        *(
            f"| p95 latency (worst endpoint), {p.mode} | ≤ {GOAL_P95_MS:.0f} ms | "
            f"{p.worst_p95_ms} ms | {'pass' if p.worst_p95_ms <= GOAL_P95_MS else 'FAIL'} |"
            for p in res.phases
        ),
        f"| server RSS growth, {res.upload_mb} MiB streamed upload | ≤ {GOAL_UPLOAD_MB:.0f} MB | "
        f"{res.upload_growth_mb:.1f} MB (idle {res.idle_rss_mb:.0f}, peak "
        f"{res.peak_rss_mb:.0f}; {res.upload_mb / max(res.upload_s, 1e-9):.0f} MiB/s) | "
        f"{'pass' if res.upload_growth_mb <= GOAL_UPLOAD_MB else 'FAIL'} |",
    ]
    if res.errors:
        lines += ["", "Errors (first 10):", "", *(f"- {e}" for e in res.errors[:10])]
    return "\n".join(lines) + "\n"


def write(res: ApiResults, out: Path, load: tuple[float, ...]) -> Path:
    """``api-<date>-<machine>.json`` and ``api-latest.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    when = date.today().isoformat()
    env = environment(load)
    (out / f"api-{when}-{socket.gethostname()}.json").write_text(
        json.dumps({"date": when, "environment": env, **res.to_json()}, indent=1)
    )
    md = out / "api-latest.md"
    md.write_text(markdown(res, when, env))
    log.info("API results: %s", md)
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.api", description=__doc__)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument(
        "--upload-mb", type=int, help="MiB streamed in the upload (default 2048; --quick: 64)"
    )
    ap.add_argument("--quick", action="store_true", help="the 8 s clip (and a 64 MiB upload)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temp dir)")
    ap.add_argument(
        "--client", choices=["h11", "httptools", "httpx"], default="h11", help="the load's client"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    clip = ensure_clip(RECIPES[QUICK if args.quick else STANDARD])
    load = os.getloadavg()
    scratch = scratch_dir(args.keep)
    try:
        upload_mb = args.upload_mb or (64 if args.quick else 2048)
        res = measure(clip, scratch, args.clients, upload_mb, client=args.client)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    md = write(res, args.out, load)
    sys.stdout.write(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

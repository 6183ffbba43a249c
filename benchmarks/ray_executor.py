"""``python -m benchmarks.ray_executor``: the Ray executor against the local one, in one run.

    .venv/bin/python -m benchmarks.ray_executor [--quick] [--out DIR]

Starts a two-node Ray cluster on this machine (a head of 2 CPUs and a node of 2 CPUs declaring
one GPU, as the tests do), then measures with fresh ``genesis process-project`` processes, as
the app starts them:

* the main benchmark's 5-minute 720p clip, cold (a fresh data dir): local; Ray on a fresh
  cluster (model actors created and loading their models); Ray again with the actors up (the
  steady state of a cluster);
* a cache-hit re-run, local and Ray;
* a project of 4 clips on the cluster: wall time against the sum of the workers' own time on
  each call (how much ran at once), and local for comparison;
* per-call scheduling overhead: no-op calls through :class:`RayExecutor` (one at a time, and
  50 fanned out at once).

Writes ``<out>/ray-<date>-<machine>.json`` and ``<out>/ray-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.footage import RECIPES, STANDARD, Recipe, ensure_clip

log = logging.getLogger("benchmarks.ray")

RESULTS = Path(__file__).resolve().parent / "results"
OBJECT_STORE = 200 * 1024 * 1024
CLIP = RECIPES[STANDARD]  # the main benchmark's 5-minute 720p clip
QUICK_CLIP = Recipe("rayq", 8.0, (320, 180), 25, 2.7)


def _project_clips(quick: bool) -> list[Recipe]:
    base = QUICK_CLIP if quick else Recipe("ray4", 30.0, (640, 360), 30, 6.0)
    return [
        Recipe(base.name, base.duration_s, base.size, base.fps, base.mean_shot_s, seed=s)
        for s in (11, 12, 13, 14)
    ]


def noop(*args: Any, progress: Any) -> int:
    """A call that does nothing (for the scheduling overhead)."""
    return len(args)


def _genesis(home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    out = proc.stdout.strip()
    doc: dict[str, Any] = json.loads(out[out.index("{") :]) if "{" in out else {}
    doc["wall_s"] = round(wall, 3)
    return doc


def _new_project(home: Path, clips: list[Path]) -> int:
    created = _genesis(home, {}, "create-project", "--name", "bench", "--json")
    pid = int(created["project_id"])
    _genesis(home, {}, "add-media", "--project-id", str(pid), *map(str, clips), "--json")
    return pid


def _run(home: Path, pid: int, env: dict[str, str]) -> dict[str, Any]:
    return _genesis(home, env, "process-project", "--project-id", str(pid), "--json", "-q")


def _busy(report: dict[str, Any]) -> tuple[float, int]:
    """The workers' own seconds over every call of a Ray run, and the number of calls."""
    total, calls = 0.0, 0
    for d in report["step_details"]:
        workers = [i["worker"] for i in d.get("items", []) if "worker" in i]
        if "worker" in d:
            workers.append(d["worker"])
        total += sum(float(w["busy_s"]) for w in workers)
        calls += len(workers)
    return total, calls


def _steps(report: dict[str, Any]) -> dict[str, float]:
    return {d["step"]: round(float(d.get("duration_s", 0.0)), 3) for d in report["step_details"]}


def _scheduling(address: str) -> dict[str, float]:
    import ray.cloudpickle

    from genesis_pipeline.config import Settings
    from genesis_pipeline.runs.executor import Call, StepProgress
    from genesis_pipeline.runs.executor.ray_cluster import RayExecutor

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = RayExecutor(Settings(executor="ray", ray_address=address))
    executor.connect()
    quiet = StepProgress(lambda d, t, n: None, 1)
    one = [Call(noop, (), "noop")]
    list(executor.run(one, quiet))  # a worker process started and the function shipped
    single = []
    for _ in range(10):
        t0 = time.monotonic()
        list(executor.run(one, quiet))
        single.append(time.monotonic() - t0)
    many = [Call(noop, (i,), f"noop {i}") for i in range(50)]
    t0 = time.monotonic()
    list(executor.run(many, StepProgress(lambda d, t, n: None, len(many))))
    fanned = time.monotonic() - t0
    executor.close()
    ray.shutdown()
    return {
        "one_call_ms": round(1000 * statistics.median(single), 1),
        "fan_out_50_ms_per_call": round(1000 * fanned / len(many), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ray_executor")
    ap.add_argument("--quick", action="store_true", help="8 s clips (the smoke test)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from ray.cluster_utils import Cluster

    clip = ensure_clip(QUICK_CLIP if args.quick else CLIP).path
    four = [ensure_clip(r).path for r in _project_clips(args.quick)]
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="genesis-bench-ray-"))
    base = {"GENESIS_OFFLINE": "1", "GENESIS_CAPTION_MODEL": str(scratch / "no-blip")}
    local = {**base, "GENESIS_EXECUTOR": "local"}
    doc: dict[str, Any] = {"date": date.today().isoformat(), "quick": args.quick}
    t_cluster = time.monotonic()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "object_store_memory": OBJECT_STORE},
    )
    cluster.add_node(num_cpus=2, num_gpus=1, object_store_memory=OBJECT_STORE)
    cluster.wait_for_nodes()
    doc["cluster_start_s"] = round(time.monotonic() - t_cluster, 2)
    # The model actors ask for a share of the GPU node's declared GPU (so they run there, as on
    # a GPU host) and compute on its CPU (it has no CUDA), with the local executor's plan.
    # One owner for every Ray run, as one app host with one set of model actors: each run here
    # has a data dir of its own, and model actors are scoped by owner (by default the host and
    # its data dir), so three owners' actors at 0.5 GPU each would not fit the one GPU.
    ray_env = {
        **base,
        "GENESIS_EXECUTOR": "ray",
        "GENESIS_RAY_ADDRESS": cluster.address,
        "GENESIS_RAY_GPU_PER_MODEL": "0.5",
        "GENESIS_RAY_OWNER": "benchmark",
        "GENESIS_DEVICE": "cpu",
    }
    try:
        log.info("one clip: local, cold")
        home = scratch / "local"
        pid = _new_project(home, [clip])
        local_cold = _run(home, pid, local)
        local_rerun = _run(home, pid, local)
        log.info("one clip: ray, fresh cluster (actors start and load their models)")
        home = scratch / "ray-first"
        ray_first = _run(home, _new_project(home, [clip]), ray_env)
        log.info("one clip: ray, actors up")
        home = scratch / "ray"
        pid = _new_project(home, [clip])
        ray_cold = _run(home, pid, ray_env)
        ray_rerun = _run(home, pid, ray_env)
        log.info("four clips: ray, then local")
        home = scratch / "ray4"
        ray4 = _run(home, _new_project(home, four), ray_env)
        home = scratch / "local4"
        local4 = _run(home, _new_project(home, four), local)
        log.info("scheduling overhead")
        sched = _scheduling(cluster.address)
    finally:
        cluster.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    busy4, calls4 = _busy(ray4)
    doc.update(
        clip=clip.name,
        four_clips=[p.name for p in four],
        local_cold_s=local_cold["wall_s"],
        ray_first_s=ray_first["wall_s"],
        ray_cold_s=ray_cold["wall_s"],
        overhead_cold=round(ray_cold["wall_s"] / local_cold["wall_s"] - 1, 4),
        overhead_first=round(ray_first["wall_s"] / local_cold["wall_s"] - 1, 4),
        local_rerun_s=local_rerun["wall_s"],
        ray_rerun_s=ray_rerun["wall_s"],
        steps={
            "local": _steps(local_cold),
            "ray_first": _steps(ray_first),
            "ray": _steps(ray_cold),
        },
        four={
            "ray_wall_s": ray4["wall_s"],
            "local_wall_s": local4["wall_s"],
            "worker_busy_s": round(busy4, 3),
            "calls": calls4,
            "at_once": round(busy4 / ray4["wall_s"], 3),
            "steps_ray": _steps(ray4),
            "steps_local": _steps(local4),
        },
        scheduling=sched,
        environment={
            "machine": platform.node(),
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"ray-{doc['date']}-{platform.node()}"
    (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / "ray-latest.md").write_text(report(doc))
    sys.stdout.write(report(doc))
    return 0


def report(doc: dict[str, Any]) -> str:
    """The results as a Markdown page: targets first, then what was measured."""
    four, sched = doc["four"], doc["scheduling"]
    ok = lambda passed: "pass" if passed else "miss"  # noqa: E731
    lines = [
        f"# Ray executor vs local ({doc['date']}, {doc['environment']['cpus']} cores, "
        f"load {doc['environment']['load_before'][0]} before)",
        "",
        f"Clip: `{doc['clip']}`; captions skipped (no BLIP offline) in every run.",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
        f"| Ray cold pipeline overhead (actors up) | ≤ 10% | {doc['overhead_cold']:+.1%} "
        f"({doc['ray_cold_s']:.1f} s vs {doc['local_cold_s']:.1f} s) "
        f"| {ok(doc['overhead_cold'] <= 0.10)} |",
        f"| Ray cache-hit re-run | ≤ 2 s | {doc['ray_rerun_s']:.2f} s "
        f"| {ok(doc['ray_rerun_s'] <= 2.0)} |",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| Ray, fresh cluster (actors start, models load) | {doc['ray_first_s']:.1f} s "
        f"({doc['overhead_first']:+.1%}) |",
        f"| local cache-hit re-run | {doc['local_rerun_s']:.2f} s |",
        f"| cluster start (2 nodes) | {doc['cluster_start_s']:.1f} s |",
        f"| 4 clips, Ray wall | {four['ray_wall_s']:.1f} s |",
        f"| 4 clips, local wall | {four['local_wall_s']:.1f} s |",
        f"| 4 clips, workers' own time over {four['calls']} calls | "
        f"{four['worker_busy_s']:.1f} s |",
        f"| 4 clips, ran at once (busy / wall) | {four['at_once']:.2f} |",
        f"| one no-op call, round trip | {sched['one_call_ms']:.1f} ms |",
        f"| 50 no-op calls fanned out | {sched['fan_out_50_ms_per_call']:.1f} ms per call |",
        "",
        "Per step (s):",
        "",
        "| step | local | Ray (fresh cluster) | Ray (actors up) | 4 clips local | 4 clips Ray |",
        "|---|---|---|---|---|---|",
    ]
    for step in doc["steps"]["local"]:
        cells = [
            doc["steps"]["local"].get(step),
            doc["steps"]["ray_first"].get(step),
            doc["steps"]["ray"].get(step),
            four["steps_local"].get(step),
            four["steps_ray"].get(step),
        ]
        lines.append(f"| {step} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

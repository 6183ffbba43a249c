"""S3 storage against local disk: the same clip, the cold pipeline, the ratio in one run.

    .venv/bin/python -m benchmarks.storage [--runs 3] [--quick] [--out DIR]

An S3 API server (moto's server mode, in a process of its own on a loopback port) stands in for
the bucket; Genesis speaks to it over HTTP with the boto3 code it uses against AWS or MinIO.
Each run, alternating local and S3 so load drifts hit both alike: a fresh data dir (and for S3 a
fresh bucket) with the clip added (not measured), then ``genesis process-project`` measured in
a fresh process. For S3 the read-through cache is emptied after the clip is added, so the run
downloads the footage like a run whose footage came in by a presigned upload (the worst case;
footage uploaded through the app host is already in its cache). The report gives medians, the
ratio S3 / local (goal ≤ 1.15), per-step medians, and what S3 moved.

``python -m benchmarks --storage`` runs the same after the main suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.footage import QUICK, RECIPES, STANDARD, BenchClip, ensure_clip
from benchmarks.measure import Arg, Sample, run_measured
from benchmarks.suite import bench_env, run_task, scratch_dir

log = logging.getLogger("benchmarks.storage")

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_RATIO = 1.15
#: Test credentials the S3 server accepts (it checks none); the AWS chain reads them.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "genesis-bench",
    "AWS_SECRET_ACCESS_KEY": "genesis-bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/genesis-bench-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/genesis-bench-aws-credentials",
}


@dataclass(slots=True)
class StorageResults:
    """Cold pipeline samples per storage, and facts about the S3 runs."""

    clip: BenchClip
    local: list[Sample] = field(default_factory=list)
    s3: list[Sample] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return _median([s.wall_s for s in self.s3]) / _median([s.wall_s for s in self.local])

    @property
    def ratio_best(self) -> float:
        """Fastest S3 run over fastest local run: on a shared machine the least disturbed pair."""
        return min(s.wall_s for s in self.s3) / min(s.wall_s for s in self.local)

    def to_json(self) -> dict[str, Any]:
        def series(samples: list[Sample]) -> dict[str, Any]:
            return {
                "wall_s": [round(s.wall_s, 3) for s in samples],
                "median_s": round(_median([s.wall_s for s in samples]), 3),
                "peak_rss_mb": round(max(s.peak_rss_mb for s in samples), 1),
                "steps_median_s": _step_medians(samples),
            }

        return {
            "clip": {"path": str(self.clip.path), "duration_s": self.clip.duration_s},
            "local": series(self.local),
            "s3": series(self.s3),
            "ratio": round(self.ratio, 4),
            "ratio_best": round(self.ratio_best, 4),
            "goal_ratio": GOAL_RATIO,
            "facts": self.facts,
        }


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def _step_medians(samples: list[Sample]) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    for s in samples:
        for d in s.data.get("step_details", []):
            per.setdefault(d["step"], []).append(float(d.get("duration_s") or 0.0))
    return {k: round(_median(v), 3) for k, v in per.items()}


class MotoProcess:
    """moto's S3 server in a process of its own, on a free loopback port."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.2)

    def bucket(self) -> str:
        import boto3

        name = f"bench-{uuid.uuid4().hex[:12]}"
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_ENV["AWS_DEFAULT_REGION"],
        )
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _genesis() -> list[Arg]:
    exe = Path(sys.executable).parent / "genesis"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "genesis_pipeline.cli"]


def compare(
    clip: BenchClip, runs: int, work: Path, *, say: Callable[[str], object] = log.info
) -> StorageResults:
    """Cold ``process-project`` on local disk and on S3, ``runs`` times each, interleaved."""
    res = StorageResults(clip)
    server = MotoProcess()
    try:
        for r in range(runs):
            for kind in ("local", "s3"):
                say(f"storage: cold pipeline on {kind} ({r + 1}/{runs})")
                home = work / f"{kind}-{r}"
                shutil.rmtree(home, ignore_errors=True)
                env = bench_env(home)
                if kind == "s3":
                    bucket = server.bucket()
                    env.update(
                        S3_ENV,
                        GENESIS_STORAGE=f"s3://{bucket}/genesis",
                        GENESIS_S3_ENDPOINT_URL=server.endpoint,
                    )
                setup = run_task(
                    "setup_project", inproc=False, env=env, home=home, clip=clip.path
                ).data
                res.facts.setdefault(f"add_media_s_{kind}", []).append(
                    round(setup["add_media_s"], 3)
                )
                if kind == "s3":
                    # A cold read-through cache: the run downloads the footage.
                    shutil.rmtree(home / "storage-cache", ignore_errors=True)
                cmd: list[Arg] = [*_genesis(), "--data-dir", home, "--json", "-q"]
                cmd += ["process-project", "--project-id", str(setup["project_id"])]
                sample = run_measured(cmd, env=env)
                if sample.data.get("status") != "succeeded":
                    raise RuntimeError(f"{kind} run failed: {sample.data.get('error')}")
                (res.s3 if kind == "s3" else res.local).append(sample)
                if kind == "s3":
                    cached = home / "storage-cache" / "objects"
                    res.facts["s3_cache_mb"] = round(
                        sum(p.stat().st_size for p in cached.rglob("*") if p.is_file()) / 1e6, 1
                    )
                shutil.rmtree(home, ignore_errors=True)
    finally:
        server.stop()
    res.facts["clip_mb"] = round(Path(clip.path).stat().st_size / 1e6, 1)
    return res


def markdown(res: StorageResults, when: str, load: tuple[float, ...]) -> str:
    local, s3 = res.to_json()["local"], res.to_json()["s3"]
    ok = "pass" if res.ratio <= GOAL_RATIO else "miss"
    lines = [
        f"# S3 storage vs local disk ({when})",
        "",
        f"Clip: {res.clip.duration_s:.0f} s, {res.facts['clip_mb']} MB. Cold "
        "`genesis process-project` in a fresh process, medians of "
        f"{len(res.local)} runs each, interleaved; S3 = moto's S3 server on this machine "
        "(loopback HTTP), the read-through cache emptied before each S3 run. Load average "
        f"before/after: {load[0]:.1f} / {os.getloadavg()[0]:.1f}.",
        "",
        "| target | goal | measured | result |",
        "|---|---|---|---|",
        f"| cold pipeline, S3 / local (medians) | ≤ {GOAL_RATIO:.2f}× | {res.ratio:.3f}× | {ok} |",
        f"| the same, fastest run of each | | {res.ratio_best:.3f}× | |",
        "",
        "| | local | S3 |",
        "|---|---|---|",
        f"| cold pipeline (median) | {local['median_s']:.2f} s | {s3['median_s']:.2f} s |",
        f"| cold pipeline (fastest) | {min(local['wall_s']):.2f} s | {min(s3['wall_s']):.2f} s |",
        f"| runs | {', '.join(f'{x:.2f}' for x in local['wall_s'])} | "
        f"{', '.join(f'{x:.2f}' for x in s3['wall_s'])} |",
        f"| peak memory | {local['peak_rss_mb']:.0f} MB | {s3['peak_rss_mb']:.0f} MB |",
    ]
    for step in local["steps_median_s"]:
        a, b = local["steps_median_s"][step], s3["steps_median_s"].get(step, 0.0)
        lines.append(f"| step {step} | {a:.2f} s | {b:.2f} s |")
    lines += [
        "",
        f"add-media (not in the ratio): local {res.facts['add_media_s_local']} s, "
        f"S3 {res.facts['add_media_s_s3']} s (hash, probe and upload of the clip). "
        f"Local copies held after an S3 run: {res.facts.get('s3_cache_mb', 0)} MB.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.storage", description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the 8 s clip, one run")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temp dir)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    clip = ensure_clip(RECIPES[QUICK if args.quick else STANDARD])
    load = os.getloadavg()
    scratch = scratch_dir(args.keep)
    try:
        res = compare(clip, 1 if args.quick else max(1, args.runs), scratch / "storage")
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    write(res, args.out, load)
    return 0


def write(res: StorageResults, out: Path, load: tuple[float, ...]) -> dict[str, Path]:
    """``storage-<date>-<machine>.json`` and ``storage-latest.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    when = date.today().isoformat()
    doc = {"date": when, "load_before": load, **res.to_json()}
    js = out / f"storage-{when}-{socket.gethostname()}.json"
    js.write_text(json.dumps(doc, indent=1))
    md = out / "storage-latest.md"
    md.write_text(markdown(res, when, load))
    log.info(
        "S3 / local, cold pipeline: %.3f× (fastest runs %.3f×; goal ≤ %.2f×); wrote %s",
        res.ratio,
        res.ratio_best,
        GOAL_RATIO,
        md,
    )
    return {"json": js, "markdown": md}


if __name__ == "__main__":
    sys.exit(main())

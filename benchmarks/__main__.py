"""``python -m benchmarks``: the pipeline against the physical limit and against doing it by hand.

    .venv/bin/python -m benchmarks [--runs 3] [--long] [--quick] [--ray] [--storage] [--api]
        [--detectors] [--words] [--out DIR] [--no-png]

Generates (once, cached in ``benchmarks/media/``) a 5-minute 1280x720 30 fps clip with about
30 hard cuts and continuous espeak-ng speech, measures the decode-only limit, the scenes and
transcribe stages, the real pipeline cold / unchanged / after a chapter-rules change, the
by-hand baseline and the render of a cut dropping 30% of the scenes, and writes
``<out>/<date>-<machine>.json``, ``<out>/latest.md``, ``<out>/latest.html`` and
``<out>/latest.png``. ``--long`` adds the 20-minute variant (for scaling); ``--quick`` runs the
same code on an 8 s clip once (the smoke test). ``--storage`` adds S3 storage against local
disk on the same clip (:mod:`benchmarks.storage`, ``<out>/storage-latest.md``). ``--api``
adds the HTTP API under 50 clients while a run writes, and a 2 GB streamed upload's memory
(:mod:`benchmarks.api`, ``<out>/api-latest.md``). ``--detectors`` adds every scene detector on
edits with exact ground truth (:mod:`benchmarks.detectors`, ``<out>/detectors-latest.md``).
``--words`` adds Whisper's word timings against speech with exact word times
(:mod:`benchmarks.word_timings`, ``<out>/words-latest.md``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.footage import LONG, QUICK, RECIPES, STANDARD
from benchmarks.report import environment, targets, write_outputs
from benchmarks.suite import ClipResults, Plan, run_clip, scratch_dir, stage_accuracy

log = logging.getLogger("benchmarks")

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--long", action="store_true", help="also measure the 20-minute variant")
    ap.add_argument("--long-runs", type=int, default=1, help="runs per measurement, 20 min")
    ap.add_argument("--quick", action="store_true", help="an 8 s clip, one run (smoke test)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    ap.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temp dir)")
    ap.add_argument("--no-png", action="store_true", help="skip the PNG chart")
    ap.add_argument(
        "--ray", action="store_true", help="also Ray vs local (benchmarks.ray_executor)"
    )
    ap.add_argument(
        "--storage", action="store_true", help="also S3 storage vs local disk (cold pipeline)"
    )
    ap.add_argument(
        "--api", action="store_true", help="also the HTTP API under load (benchmarks.api)"
    )
    ap.add_argument(
        "--detectors",
        action="store_true",
        help="also every scene detector on edits with ground truth (benchmarks.detectors)",
    )
    ap.add_argument(
        "--words",
        action="store_true",
        help="also word timings against exact truth (benchmarks.word_timings)",
    )
    ap.add_argument(
        "--from-json", type=Path, help="re-draw the report from a results JSON, measuring nothing"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)

    if args.from_json:
        return redraw(args.from_json, args.out, png=not args.no_png)
    load_before = os.getloadavg()
    runs = 1 if args.quick else max(1, args.runs)
    scratch = scratch_dir(args.keep)
    t0 = time.monotonic()
    try:
        std = run_clip(
            RECIPES[QUICK if args.quick else STANDARD],
            "quick" if args.quick else "5 min",
            Plan(runs=runs, inproc=args.quick),
            scratch / "standard",
            say=log.info,
        )
        long = None
        if args.long and not args.quick:
            long = run_clip(
                RECIPES[LONG],
                "20 min",
                Plan(runs=max(1, args.long_runs), baselines=False, renders=False),
                scratch / "long",
                say=log.info,
            )
        if args.storage:
            from benchmarks import storage

            compared = storage.compare(std.clip, runs, scratch / "storage", say=log.info)
            storage.write(compared, args.out, load_before)
        if args.api:
            from benchmarks import api

            measured = api.measure(
                std.clip, scratch / "api", clients=50, upload_mb=64 if args.quick else 2048
            )
            api.write(measured, args.out, load_before)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    rows = targets(std, long)
    doc = {
        "date": date.today().isoformat(),
        "quick": args.quick,
        "runs": runs,
        "elapsed_s": round(time.monotonic() - t0, 1),
        "environment": environment(load_before),
        "targets": [t.to_json() for t in rows],
        "targets_obj": rows,
        "clips": [r.to_json() for r in (std, long) if r is not None],
    }
    paths = write_outputs(args.out, doc, std, long, png=not args.no_png)
    for kind, path in paths.items():
        log.info("wrote %s: %s", kind, path)
    misses = [t.id for t in rows if t.status == "miss"]
    log.info("targets missed: %s", ", ".join(misses) or "none")
    if args.detectors:
        from benchmarks import detectors

        detectors.main(["--out", str(args.out), *(["--quick"] if args.quick else [])])
    if args.words:
        from benchmarks import word_timings

        word_timings.main(["--out", str(args.out), *(["--quick"] if args.quick else [])])
    if args.ray:
        from benchmarks import ray_executor

        ray_executor.main(["--out", str(args.out), *(["--quick"] if args.quick else [])])
    return 0


def redraw(path: Path, out: Path, *, png: bool) -> int:
    """Targets, tables and chart again from a results JSON (accuracy recomputed from it)."""
    import json

    doc = json.loads(path.read_text())
    clips = [ClipResults.from_json(c) for c in doc["clips"]]
    for res in clips:
        stage_accuracy(res)
    std, long = clips[0], clips[1] if len(clips) > 1 else None
    rows = targets(std, long)
    doc.update(
        targets=[t.to_json() for t in rows],
        targets_obj=rows,
        clips=[r.to_json() for r in clips],
    )
    for kind, written in write_outputs(out, doc, std, long, png=png).items():
        log.info("wrote %s: %s", kind, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())

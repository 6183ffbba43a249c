"""Where the time of a cached re-run goes: ``genesis process-project`` with nothing changed.

    .venv/bin/python -m benchmarks.profile_rerun [--home DIR --project-id N] [--quick]
        [--out benchmarks/results/rerun-profile.md]

Without ``--home`` a project is set up on the benchmark clip and run once cold. Then, each in a
fresh process: the bare interpreter, ``import genesis_pipeline.cli``, the re-run itself (wall),
the re-run under ``-X importtime`` (imports by top-level package) and under cProfile (each
step, and the functions that cost most). Writes a Markdown report.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (documents the dependency; run through ``-m cProfile``)
import io
import json
import logging
import pstats
import re
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.footage import QUICK, RECIPES, STANDARD, ensure_clip
from benchmarks.measure import run_measured
from benchmarks.suite import bench_env, task_cmd

log = logging.getLogger("benchmarks.profile_rerun")

RESULTS = Path(__file__).resolve().parent / "results"
STEP_FUNCS = {
    "media": "_check_media",
    "transcribe": "genesis_pipeline/runs/steps/transcribe.py:run",
    "scenes": "genesis_pipeline/runs/steps/scenes.py:run",
    "captions": "genesis_pipeline/runs/steps/captions.py:run",
    "chapters": "genesis_pipeline/runs/steps/chapters.py:run",
    "narration": "genesis_pipeline/runs/steps/narration.py:run",
    "render": "genesis_pipeline/runs/steps/render.py:run",
}


def _cli(home: Path, project_id: int) -> list[str]:
    return [
        "-m",
        "genesis_pipeline",
        "--data-dir",
        str(home),
        "-q",
        "--json",
        "process-project",
        "--project-id",
        str(project_id),
    ]


def _median_wall(cmd: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(run_measured(cmd, env=env).wall_s for _ in range(runs))


def import_times(stderr: str) -> list[tuple[str, float]]:
    """Import time (s) of each top-level package, from ``-X importtime`` output.

    Sums each module's *self* time under its root package, so the figures add up (a package's
    time does not include what it imports from other packages).
    """
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s+(\S+)", line)
        if m:
            totals[m.group(3).split(".")[0]] += int(m.group(1)) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def _func_key(f: tuple[str, int, str]) -> str:
    path, line, name = f
    short = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", path)
    short = re.sub(r"^.*/(genesis_pipeline/)", r"\1", short)
    return f"{short}:{name}" if line else name


CALLEE_OF = (
    "genesis_pipeline/cli.py:cmd_process_project",
    "genesis_pipeline/runs/pipeline.py:run",
    "genesis_pipeline/runs/pipeline.py:_run_steps",
    *(v for v in STEP_FUNCS.values() if "/" in v),
)


def profile_summary(prof: Path, top: int = 30) -> dict[str, Any]:
    stats = pstats.Stats(str(prof))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in raw.items():
        rows.append({"func": _func_key(func), "calls": nc, "self_s": tt, "cum_s": ct})
    by_cum = sorted(rows, key=lambda r: -r["cum_s"])
    steps = {}
    for step, needle in STEP_FUNCS.items():
        hits = [r for r in rows if r["func"].endswith(needle) or r["func"] == needle]
        steps[step] = max((r["cum_s"] for r in hits), default=None)
    # Who each orchestrator function spends its time in: the edges of the call graph.
    callees: dict[str, list[dict[str, Any]]] = {}
    for parent in CALLEE_OF:
        keys = [f for f in raw if _func_key(f).endswith(parent)]
        edges = []
        for func, (_cc, _nc, _tt, _ct, callers) in raw.items():
            for k in keys:
                if k in callers:
                    ct = callers[k][3]
                    edges.append({"func": _func_key(func), "calls": callers[k][1], "cum_s": ct})
        callees[parent] = sorted(edges, key=lambda e: -e["cum_s"])[:12]
    ours = [r for r in by_cum if r["func"].startswith("genesis_pipeline/")]
    by_self = sorted(rows, key=lambda r: -r["self_s"])
    total = max((r["cum_s"] for r in rows), default=0.0)
    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(60)
    return {
        "total_s": total,
        "steps": steps,
        "callees": callees,
        "top_cumulative": by_cum[:top],
        "ours": ours[:top],
        "top_self": by_self[:top],
        "pstats_text": buf.getvalue(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_rerun")
    ap.add_argument("--home", type=Path)
    ap.add_argument("--project-id", type=int)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "rerun-profile.md")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    py = sys.executable
    scratch = Path(tempfile.mkdtemp(prefix="genesis-profile-"))
    try:
        home, pid = args.home, args.project_id
        clip = ensure_clip(RECIPES[QUICK if args.quick else STANDARD])
        if home is None or pid is None:
            home = scratch / "home"
            env = bench_env(home)
            log.info("setting up and running %s cold", clip.path.name)
            pid = run_measured(task_cmd("setup_project", home=home, clip=clip.path), env=env).data[
                "project_id"
            ]
            run_measured([py, *_cli(home, pid)], env=env)
        env = bench_env(home)
        log.info("timing the interpreter, the CLI import and the re-run")
        bare = _median_wall([py, "-c", "pass"], env, args.runs)
        cli_import = _median_wall([py, "-c", "import genesis_pipeline.cli"], env, args.runs)
        rerun = _median_wall([py, *_cli(home, pid)], env, args.runs)
        log.info("importtime")
        imp = scratch / "imports.txt"
        with imp.open("w") as err:
            import subprocess

            subprocess.run(
                [py, "-X", "importtime", *_cli(home, pid)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                check=True,
            )
        imports = import_times(imp.read_text())
        log.info("cProfile")
        prof = scratch / "rerun.prof"
        run_measured([py, "-m", "cProfile", "-o", str(prof), *_cli(home, pid)], env=env)
        summary = profile_summary(prof)
        log.info("cProfile of a chapter-rules change")
        prof2 = scratch / "chapters.prof"
        task = json.dumps({"home": str(home), "project_id": pid, "bump": 3})
        cmd = [py, "-m", "cProfile", "-o", str(prof2), "-m", "benchmarks.tasks"]
        chapters = run_measured([*cmd, "chapters_change", task], env=env)
        summary2 = profile_summary(prof2)
        report = render(clip.path.name, bare, cli_import, rerun, imports, summary)
        report += render_chapters(chapters.data.get("work_s"), summary2)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
        (args.out.with_suffix(".pstats.txt")).write_text(summary["pstats_text"])
        log.info("wrote %s", args.out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def render_chapters(work_s: float | None, s: dict[str, Any]) -> str:
    """The chapter-rules-change re-run (``save_rules`` + ``ProjectPipelineService.run``)."""
    lines = [
        "",
        "# Chapter rules changed: `save_rules` + `ProjectPipelineService.run`, in-process",
        "",
        f"Measured call under cProfile: {work_s or 0:.3f} s (imports excluded).",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    for step, v in s["steps"].items():
        lines.append(f"| {step} | {'—' if v is None else f'{v:.3f}'} |")
    lines.append("")
    for parent, edges in s["callees"].items():
        if not edges or "cli.py" in parent:
            continue
        lines += [f"`{parent}` calls:", "", "| callee | calls | cumulative s |", "|---|---|---|"]
        for e in edges:
            lines.append(f"| `{e['func']}` | {e['calls']} | {e['cum_s']:.3f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def render(
    clip: str,
    bare: float,
    cli_import: float,
    rerun: float,
    imports: list[tuple[str, float]],
    s: dict[str, Any],
) -> str:
    import os

    lines = [
        f"# Cached re-run profile — `genesis process-project`, nothing changed ({clip})",
        "",
        f"Load average at the end: {'/'.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| part | seconds |",
        "|---|---|",
        f"| bare interpreter (`python -c pass`) | {bare:.3f} |",
        f"| `import genesis_pipeline.cli` (incl. interpreter) | {cli_import:.3f} |",
        f"| whole re-run, wall (median) | {rerun:.3f} |",
        f"| whole re-run under cProfile (profiler overhead included) | {s['total_s']:.3f} |",
        "",
        "## Steps under cProfile (cumulative seconds)",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    for step, v in s["steps"].items():
        lines.append(f"| {step} | {'—' if v is None else f'{v:.3f}'} |")
    total_imports = sum(v for _, v in imports)
    lines += [
        "",
        f"## Imports by top-level package (`-X importtime`, self times: {total_imports:.3f} s)",
        "",
    ]
    lines += ["| package | seconds |", "|---|---|"]
    for name, v in imports[:20]:
        lines.append(f"| {name} | {v:.3f} |")
    lines += ["", "## Where the orchestrator's time goes (call-graph edges, cumulative)", ""]
    for parent, edges in s["callees"].items():
        if not edges:
            continue
        lines += [f"`{parent}` calls:", "", "| callee | calls | cumulative s |", "|---|---|---|"]
        for e in edges:
            lines.append(f"| `{e['func']}` | {e['calls']} | {e['cum_s']:.3f} |")
        lines.append("")
    lines += ["", "## Genesis functions by cumulative time", ""]
    lines += ["| function | calls | cumulative s | self s |", "|---|---|---|---|"]
    for r in s["ours"]:
        lines.append(f"| `{r['func']}` | {r['calls']} | {r['cum_s']:.3f} | {r['self_s']:.3f} |")
    lines += ["", "## All functions by self time", ""]
    lines += ["| function | calls | self s | cumulative s |", "|---|---|---|---|"]
    for r in s["top_self"]:
        lines.append(f"| `{r['func']}` | {r['calls']} | {r['self_s']:.3f} | {r['cum_s']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

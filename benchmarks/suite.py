"""What is measured, in what order, and in which fresh processes.

Every figure comes from a fresh process (so imports, model loads and memory are those a user
sees) measured by :func:`benchmarks.measure.run_measured`; each measurement is repeated
``runs`` times and reported as the median. The Genesis pipeline runs for real: the ``genesis``
CLI on a fresh data dir (cold), again on the same data dir (cached, nothing changed), and after a
chapter-rules change. Captions are skipped in every run: no BLIP checkpoint is reachable offline
(``GENESIS_OFFLINE=1``), so the step records "captions skipped" in a few milliseconds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.accuracy import cut_scores, scenedetect_cuts, wer
from benchmarks.footage import BenchClip, Recipe, ensure_clip
from benchmarks.measure import Arg, Sample, Series, run_measured
from genesis_pipeline.media.ffmpeg import ffmpeg_exe

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
REJECT_FRACTION = 0.3


def bench_env(home: Path | None = None) -> dict[str, str]:
    """The environment every measured process gets: offline, quiet, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENESIS_")}
    env.update(
        GENESIS_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if home is not None:
        env["GENESIS_HOME"] = str(home)
    return env


def _bin(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    if exe.is_file():
        return [str(exe)]
    found = shutil.which(name)
    if found:
        return [found]
    if name == "genesis":
        return [sys.executable, "-m", "genesis_pipeline"]
    if name == "scenedetect":
        return [sys.executable, "-m", "scenedetect"]
    raise FileNotFoundError(name)


def task_cmd(name: str, **args: Any) -> list[str]:
    return [sys.executable, "-m", "benchmarks.tasks", name, json.dumps(args, default=str)]


def run_task(name: str, *, inproc: bool, env: dict[str, str], **args: Any) -> Sample:
    """Run one of :mod:`benchmarks.tasks`: in a fresh process (measured), or in this one.

    In-process runs (``--quick``) skip an interpreter start and the heavy imports per task;
    their peak memory is this process's resident set, not the task's own.
    """
    if not inproc:
        return run_measured(task_cmd(name, **args), env=env)
    import psutil

    from benchmarks import tasks

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        data = json.loads(json.dumps(tasks.TASKS[name](**args), default=str))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    rss = psutil.Process().memory_info().rss / 2**20
    return Sample(wall_s=wall, peak_rss_mb=rss, data=data, cpu_s=cpu)


@dataclass(slots=True)
class ClipResults:
    """Every series measured on one clip, and the accuracy figures."""

    label: str
    clip: BenchClip
    series: dict[str, Series] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, sample: Sample) -> Sample:
        self.series.setdefault(name, Series(name)).samples.append(sample)
        return sample

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClipResults:
        """Rebuild from the results JSON (to re-draw the report without measuring again)."""
        clip = BenchClip.load(Path(d["clip"]["path"]).with_suffix(".truth.json"))
        res = cls(d["label"], clip, facts=dict(d["facts"]))
        for name, sj in d["series"].items():
            n = len(sj["wall_s"])
            cpu = sj.get("cpu_s") or [0.0] * n
            peaks = sj.get("peak_rss_mb_runs") or [sj["peak_rss_mb"] or 0.0] * n
            for wall, data, c, peak in zip(sj["wall_s"], sj["data"], cpu, peaks, strict=True):
                res.add(name, Sample(wall_s=wall, peak_rss_mb=peak, data=data, cpu_s=c))
        return res

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "clip": {
                "path": str(self.clip.path),
                "duration_s": self.clip.duration_s,
                "size": [self.clip.width, self.clip.height],
                "fps": self.clip.fps,
                "cuts": len(self.clip.cuts_s),
                "words": len(self.clip.script.split()),
            },
            "series": {k: v.to_json() for k, v in self.series.items()},
            "facts": self.facts,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run on one clip."""

    runs: int = 3
    baselines: bool = True
    renders: bool = True
    stages: bool = True
    inproc: bool = False  # run the Python tasks in this process (the quick smoke run)


def run_clip(
    recipe: Recipe,
    label: str,
    plan: Plan,
    work_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> ClipResults:
    """Measure everything ``plan`` asks for on the clip of ``recipe``."""
    clip = ensure_clip(recipe)
    res = ClipResults(label, clip)
    env = bench_env()
    work_dir.mkdir(parents=True, exist_ok=True)
    runs = plan.runs

    probe = run_task("device", inproc=plan.inproc, env=env).data
    res.facts["device"] = probe
    smart = run_task("smart_available", inproc=plan.inproc, env=env).data
    res.facts["smart_render"] = smart

    ffmpeg = ffmpeg_exe()
    decode: list[Arg] = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", clip.path]
    decode += ["-map", "0:v", "-f", "null", "-"]
    for r in range(runs):
        say(f"{label}: decode only ({r + 1}/{runs})")
        res.add("decode_only", run_measured(decode, env=env))

    if plan.stages:
        for r in range(runs):
            say(f"{label}: scenes stage ({r + 1}/{runs})")
            out = work_dir / f"scenes-{r}"
            s = run_task("scenes", inproc=plan.inproc, env=env, clip=clip.path, out_dir=out)
            res.add("stage_scenes", s)
            shutil.rmtree(out, ignore_errors=True)
        for r in range(runs):
            say(f"{label}: transcribe stage ({r + 1}/{runs})")
            s = run_task("transcribe", inproc=plan.inproc, env=env, clip=clip.path)
            res.add("stage_transcribe", s)

    genesis = _bin("genesis")
    home = work_dir / "home"
    project_id = 0
    for r in range(runs):
        say(f"{label}: pipeline cold ({r + 1}/{runs})")
        shutil.rmtree(home, ignore_errors=True)
        setup = run_task(
            "setup_project", inproc=plan.inproc, env=bench_env(home), home=home, clip=clip.path
        ).data
        project_id = int(setup["project_id"])
        res.facts.setdefault("add_media_s", []).append(setup["add_media_s"])
        cmd: list[Arg] = [*genesis, "--data-dir", home, "--json", "-q"]
        cmd += ["process-project", "--project-id", str(project_id)]
        res.add("pipeline_cold", run_measured(cmd, env=bench_env(home)))
    cli: list[Arg] = [*genesis, "--data-dir", home, "--json", "-q"]
    cli += ["process-project", "--project-id", str(project_id)]
    for r in range(runs):
        say(f"{label}: re-run, nothing changed ({r + 1}/{runs})")
        res.add("pipeline_rerun_cli", run_measured(cli, env=bench_env(home)))
    for r in range(runs):
        say(f"{label}: chapter rules changed ({r + 1}/{runs})")
        args = {"home": home, "project_id": project_id, "bump": r + 1}
        s = run_task("chapters_change", inproc=plan.inproc, env=bench_env(home), **args)
        res.add("chapters_change", s)
    stored = run_task(
        "pipeline_results", inproc=plan.inproc, env=env, home=home, project_id=project_id
    ).data

    # Accuracy of what Genesis produced (the stage runs and the pipeline agree; both kept).
    res.facts["truth_cuts"] = len(clip.cuts_s)
    res.facts["cuts_genesis_pipeline"] = cut_scores(clip.cuts_s, stored["cuts_s"])
    res.facts["wer_genesis_pipeline"] = round(wer(clip.script, stored["text"]), 4)

    if plan.baselines:
        sd = _bin("scenedetect")
        for r in range(runs):
            say(f"{label}: by hand, scenedetect CLI ({r + 1}/{runs})")
            out = work_dir / f"scenedetect-{r}"
            out.mkdir(parents=True, exist_ok=True)
            cmd = [*sd, "-i", clip.path, "-o", out, "detect-content", "list-scenes"]
            res.add("baseline_scenedetect", run_measured(cmd, env=env, cwd=out))
            csvs = sorted(out.glob("*.csv"))
            if csvs:
                res.facts["cuts_scenedetect"] = cut_scores(clip.cuts_s, scenedetect_cuts(csvs[0]))
            shutil.rmtree(out, ignore_errors=True)
        for r in range(runs):
            say(f"{label}: by hand, faster-whisper defaults ({r + 1}/{runs})")
            s = run_task("whisper_defaults", inproc=plan.inproc, env=env, clip=clip.path)
            res.add("baseline_whisper", s)
        reenc = work_dir / "reencode.mp4"
        for r in range(runs):
            say(f"{label}: by hand, full re-encode ({r + 1}/{runs})")
            cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", clip.path]
            cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
            cmd += ["-c:a", "aac", "-b:a", "160k", reenc]
            res.add("baseline_reencode", run_measured(cmd, env=env))
        reenc.unlink(missing_ok=True)

    if plan.renders:
        args = {"home": home, "project_id": project_id, "fraction": REJECT_FRACTION}
        rejected = run_task("reject_scenes", inproc=plan.inproc, env=env, **args).data
        res.facts["render_cut"] = rejected
        modes = ["reencode"] + (["smart"] if smart.get("available") else [])
        for mode in modes:
            for r in range(runs):
                say(f"{label}: render, 30% dropped, {mode} ({r + 1}/{runs})")
                out = work_dir / f"render-{mode}.mp4"
                args = {"home": home, "project_id": project_id, "mode": mode, "out": out}
                res.add(f"render_{mode}", run_task("render", inproc=plan.inproc, env=env, **args))
                out.unlink(missing_ok=True)
    res.facts["home"] = str(home)
    res.facts["project_id"] = project_id
    stage_accuracy(res)
    return res


def stage_accuracy(res: ClipResults) -> None:
    """Cut scores and WER of every stage and baseline run kept in ``res`` (medians in facts).

    Decoding is not bit-for-bit repeatable across runs (thread timing changes float sums, and
    faster-whisper's temperature fallback samples), so every run's WER is kept.
    """
    clip = res.clip
    scenes = res.series.get("stage_scenes")
    if scenes and scenes.samples:
        res.facts["cuts_genesis"] = cut_scores(clip.cuts_s, scenes.samples[-1].data["cuts_s"])
    for series, key in (
        ("stage_transcribe", "wer_genesis"),
        ("baseline_whisper", "wer_whisper_defaults"),
    ):
        s = res.series.get(series)
        texts = [x.data["text"] for x in s.samples if "text" in x.data] if s else []
        if texts:
            values = [round(wer(clip.script, t), 4) for t in texts]
            res.facts[f"{key}_runs"] = values
            res.facts[key] = statistics.median(values)


def scratch_dir(keep: Path | None) -> Path:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep
    return Path(tempfile.mkdtemp(prefix="genesis-bench-"))

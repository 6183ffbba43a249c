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
#: Where measured processes keep their compiled bytecode (an installed package has it; a
#: process that recompiles its sources on every start, as ``PYTHONDONTWRITEBYTECODE=1`` makes
#: it, pays 0.2-0.5 s that no user pays).
BYTECODE = REPO / "benchmarks" / "media" / "bytecode"


def bench_env(home: Path | None = None) -> dict[str, str]:
    """The environment every measured process gets: offline, quiet, no stray settings, and
    bytecode cached as an installed package has it (peers and Genesis alike)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GENESIS_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        PYTHONPYCACHEPREFIX=str(BYTECODE),
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


#: The transcription peer's settings: faster-whisper's batched pipeline at batch 8 and 16, at its
#: default beam (5) and at Genesis's (3); the report takes the fastest.
WHISPER_PEERS = tuple((batch, beam) for batch in (8, 16) for beam in (5, 3))


def scenedetect_variants(clip: BenchClip) -> dict[str, list[str]]:
    """The scene peer: PySceneDetect's CLI with the detector Genesis runs by default
    (``detect-adaptive``), at its defaults and at its documented fast settings (each backend,
    downscaled to the width Genesis analyses, frame skip 0)."""
    from genesis_pipeline.stages.scenes import SceneParams

    factor = str(max(1, round(clip.width / SceneParams().downscale_width)))
    return {
        "defaults": [],
        "opencv_d": ["-b", "opencv", "-d", factor, "-fs", "0"],
        "pyav_d": ["-b", "pyav", "-d", factor, "-fs", "0"],
    }


def run_clip(
    recipe: Recipe,
    label: str,
    plan: Plan,
    work_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> ClipResults:
    """Measure everything ``plan`` asks for on the clip of ``recipe``.

    Measurements alternate: each round runs every measurement once, in the same order, so a load
    drift during the run hits Genesis and its peers alike; the report gives medians over rounds.
    """
    clip = ensure_clip(recipe)
    res = ClipResults(label, clip)
    env = bench_env()
    work_dir.mkdir(parents=True, exist_ok=True)
    runs = plan.runs

    def task(name: str, **args: Any) -> Sample:
        return run_task(name, inproc=plan.inproc, env=args.pop("env", env), **args)

    res.facts["device"] = task("device").data
    res.facts["cores"] = len(os.sched_getaffinity(0))
    smart = task("smart_available").data
    res.facts["smart_render"] = smart

    ffmpeg = ffmpeg_exe()
    quiet: list[Arg] = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
    decode: list[Arg] = [*quiet, "-i", clip.path, "-map", "0:v", "-f", "null", "-"]
    genesis = _bin("genesis")
    home = work_dir / "home"
    project_id = 0
    for r in range(runs):
        say(f"{label}: round {r + 1}/{runs}: decode only")
        res.add("decode_only", run_measured(decode, env=env))
        if plan.stages:
            say(f"{label}: round {r + 1}/{runs}: scenes and transcribe stages")
            out = work_dir / f"scenes-{r}"
            res.add("stage_scenes", task("scenes", clip=clip.path, out_dir=out))
            shutil.rmtree(out, ignore_errors=True)
            res.add("stage_transcribe", task("transcribe", clip=clip.path))
        if plan.baselines:
            _measure_peers(res, work_dir, r, task, say)
        say(f"{label}: round {r + 1}/{runs}: pipeline cold")
        shutil.rmtree(home, ignore_errors=True)
        setup = task("setup_project", env=bench_env(home), home=home, clip=clip.path).data
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
        res.add("chapters_change", task("chapters_change", env=bench_env(home), **args))
        args["warm"] = True  # in a process that has run before: imports done
        res.add("chapters_change_warm", task("chapters_change", env=bench_env(home), **args))
    stored = task("pipeline_results", home=home, project_id=project_id).data

    # Accuracy of what Genesis produced (the stage runs and the pipeline agree; both kept).
    res.facts["truth_cuts"] = len(clip.cuts_s)
    res.facts["cuts_genesis_pipeline"] = cut_scores(clip.cuts_s, stored["cuts_s"])
    res.facts["wer_genesis_pipeline"] = round(wer(clip.script, stored["text"]), 4)

    if plan.renders:
        args = {"home": home, "project_id": project_id, "fraction": REJECT_FRACTION}
        res.facts["render_cut"] = task("reject_scenes", **args).data
        modes = ["reencode"] + (["smart"] if smart.get("available") else [])
        for r in range(runs):
            for mode in modes:
                say(f"{label}: render, 30% dropped, {mode} ({r + 1}/{runs})")
                out = work_dir / f"render-{mode}.mp4"
                args = {"home": home, "project_id": project_id, "mode": mode, "out": out}
                res.add(f"render_{mode}", task("render", **args))
                out.unlink(missing_ok=True)
            say(f"{label}: render peer, keyframe stream copy ({r + 1}/{runs})")
            out = work_dir / "render-copy.mp4"
            args = {"home": home, "project_id": project_id, "out": out}
            res.add("peer_stream_copy", task("stream_copy", **args))
            out.unlink(missing_ok=True)
    res.facts["home"] = str(home)
    res.facts["project_id"] = project_id
    stage_accuracy(res)
    return res


def _measure_peers(
    res: ClipResults,
    work_dir: Path,
    r: int,
    task: Callable[..., Sample],
    say: Callable[[str], None],
) -> None:
    """One round of the peers: the scenedetect CLI (defaults and fast settings),
    faster-whisper's batched pipeline at each setting (and its unbatched defaults, as before),
    and a full re-encode."""
    clip, env = res.clip, bench_env()
    sd = _bin("scenedetect")
    for name, opts in scenedetect_variants(clip).items():
        say(f"{res.label}: peer, scenedetect CLI {name} ({r + 1})")
        out = work_dir / f"scenedetect-{name}-{r}"
        out.mkdir(parents=True, exist_ok=True)
        cmd: list[Arg] = [*sd, "-i", clip.path, "-o", out, *opts, "detect-adaptive", "list-scenes"]
        res.add(f"peer_scenedetect_{name}", run_measured(cmd, env=env, cwd=out))
        csvs = sorted(out.glob("*.csv"))
        if csvs:
            res.facts[f"cuts_scenedetect_{name}"] = cut_scores(
                clip.cuts_s, scenedetect_cuts(csvs[0])
            )
        shutil.rmtree(out, ignore_errors=True)
    for batch, beam in WHISPER_PEERS:
        say(f"{res.label}: peer, faster-whisper batched b{batch} beam {beam} ({r + 1})")
        s = task("whisper_batched", clip=clip.path, batch_size=batch, beam_size=beam)
        res.add(f"peer_whisper_b{batch}_beam{beam}", s)
    say(f"{res.label}: peer, faster-whisper unbatched defaults ({r + 1})")
    res.add("baseline_whisper", task("whisper_defaults", clip=clip.path))
    say(f"{res.label}: peer, full re-encode ({r + 1})")
    reenc = work_dir / "reencode.mp4"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-i", clip.path, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
    cmd += ["-c:a", "aac", "-b:a", "160k", reenc]
    res.add("baseline_reencode", run_measured(cmd, env=env))
    reenc.unlink(missing_ok=True)


def stage_accuracy(res: ClipResults) -> None:
    """Cut scores and WER of every stage and baseline run kept in ``res`` (medians in facts).

    Decoding is not bit-for-bit repeatable across runs (thread timing changes float sums, and
    faster-whisper's temperature fallback samples), so every run's WER is kept.
    """
    clip = res.clip
    scenes = res.series.get("stage_scenes")
    if scenes and scenes.samples:
        res.facts["cuts_genesis"] = cut_scores(clip.cuts_s, scenes.samples[-1].data["cuts_s"])
    pairs = [("stage_transcribe", "wer_genesis"), ("baseline_whisper", "wer_whisper_defaults")]
    pairs += [(f"peer_whisper_b{b}_beam{k}", f"wer_peer_whisper_b{b}_beam{k}")
              for b, k in WHISPER_PEERS]  # fmt: skip
    for series, key in pairs:
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

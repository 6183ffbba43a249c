"""The measured work, each run in a fresh process: ``python -m benchmarks.tasks NAME JSON``.

Every task prints one JSON document on stdout: ``work_s`` is the time of the measured call
alone (imports and model loading are outside it and reported apart where they matter).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from genesis_pipeline import command_process, serde
from genesis_pipeline.services import access


def scenes(clip: str, out_dir: str, **params: Any) -> dict[str, Any]:
    """The scenes stage on ``clip`` (detection and preview extraction, one decode)."""
    from genesis_pipeline.stages.scenes import SceneParams, detect_scenes

    p = SceneParams(**params)
    t0 = time.perf_counter()
    result = detect_scenes(Path(clip), Path(out_dir), p)
    work = time.perf_counter() - t0
    return {
        "work_s": work,
        "cuts_s": list(result.cuts_s),
        "frames": result.frame_count,
        "scenes": len(result.scenes),
        "params": serde.to_json(p),
    }


def transcribe(clip: str, **params: Any) -> dict[str, Any]:
    """The transcribe stage on ``clip`` with the device plan's batch size."""
    from genesis_pipeline.ml.device import plan_devices
    from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model
    from genesis_pipeline.stages.transcribe import TranscribeParams
    from genesis_pipeline.stages.transcribe import transcribe as run

    plan = plan_devices("auto")
    spec = resolve_whisper_model("", "1")
    t0 = time.perf_counter()
    model = load_whisper(spec, plan)
    load = time.perf_counter() - t0
    p = TranscribeParams(
        **{"batch_size": plan.whisper_batch_size, "workers": plan.whisper_workers, **params}
    )
    t0 = time.perf_counter()
    result = run(Path(clip), model, p, model_identity=spec.identity)
    work = time.perf_counter() - t0
    return {
        "work_s": work,
        "load_s": load,
        "audio_s": result.duration_s,
        "text": result.text,
        "words": len(result.words),
        "device": serde.to_json(plan),
        "model": spec.identity,
        "params": {k: getattr(p, k) for k in p.__dataclass_fields__},
    }


def whisper_defaults(clip: str) -> dict[str, Any]:
    """What a user would run by hand: faster-whisper's defaults, beam 5, word timestamps."""
    from faster_whisper import WhisperModel

    from genesis_pipeline.ml.whisper import bundled_spec

    t0 = time.perf_counter()
    model = WhisperModel(bundled_spec().source)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    segments, info = model.transcribe(clip, beam_size=5, word_timestamps=True)
    text = " ".join(s.text.strip() for s in segments)
    work = time.perf_counter() - t0
    return {"work_s": work, "load_s": load, "audio_s": info.duration, "text": text}


def whisper_batched(clip: str, batch_size: int, beam_size: int) -> dict[str, Any]:
    """The transcription peer: faster-whisper's ``BatchedInferencePipeline`` (what anyone tuning
    faster-whisper runs) with Genesis's model, compute type and every CPU thread, its own VAD,
    word timestamps on."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from genesis_pipeline.ml.device import plan_devices
    from genesis_pipeline.ml.whisper import bundled_spec

    plan = plan_devices("auto")
    t0 = time.perf_counter()
    model = WhisperModel(
        bundled_spec().source,
        device=plan.device,
        compute_type=plan.whisper_compute_type,
        cpu_threads=plan.cpu_threads,
        local_files_only=True,
    )
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    segments, info = BatchedInferencePipeline(model).transcribe(
        clip, batch_size=batch_size, beam_size=beam_size, word_timestamps=True
    )
    text = " ".join(s.text.strip() for s in segments)
    work = time.perf_counter() - t0
    return {
        "work_s": work,
        "load_s": load,
        "audio_s": info.duration,
        "text": text,
        "batch_size": batch_size,
        "beam_size": beam_size,
        "compute_type": plan.whisper_compute_type,
        "cpu_threads": plan.cpu_threads,
    }


def setup_project(home: str, clip: str) -> dict[str, Any]:
    """A fresh data dir with one project holding ``clip`` (not measured)."""
    from genesis_pipeline.config import Settings
    from genesis_pipeline.services.projects import create_project
    from genesis_pipeline.services.upload import add_media
    from genesis_pipeline.store import Store

    store = Store(Settings.from_env(home=home))
    project = create_project(store, "benchmark", actor=access.cli_actor())
    t0 = time.perf_counter()
    add_media(store, project.id, [clip], actor=access.cli_actor())
    return {"project_id": project.id, "add_media_s": time.perf_counter() - t0}


def pipeline_results(home: str, project_id: int) -> dict[str, Any]:
    """Cuts and transcript text the pipeline stored (for accuracy)."""
    from genesis_pipeline.config import Settings
    from genesis_pipeline.store import Store
    from genesis_pipeline.store import scenes as scenes_sql
    from genesis_pipeline.store import transcripts as transcripts_sql

    store = Store(Settings.from_env(home=home))
    with store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, project_id)
        words = transcripts_sql.words_for_project(con, project_id)
    starts = sorted(s.start_s for s in scenes)
    return {
        "cuts_s": [s for s in starts if s > 0],
        "scene_ids": [s.id for s in sorted(scenes, key=lambda s: s.start_s)],
        "text": " ".join(str(w) for w in words.sort_values("start_s").word),
    }


def chapters_change(home: str, project_id: int, bump: int, warm: bool = False) -> dict[str, Any]:
    """Save new chapter rules, then re-run the pipeline in-process: the time of the save and
    that re-run; with ``warm``, in a process that has run the pipeline before (imports done)."""
    from dataclasses import replace

    from genesis_pipeline.config import Settings
    from genesis_pipeline.runs.pipeline import ProjectPipelineService
    from genesis_pipeline.services.chapters import current_rules, save_rules
    from genesis_pipeline.store import Store

    store = Store(Settings.from_env(home=home))
    service = ProjectPipelineService(store)
    if warm:  # as in the app or a notebook: a re-run with nothing changed first, untimed
        service.run(project_id)
    _, rules = current_rules(store, project_id)
    new = replace(rules, min_chapter_s=8.0 + (bump % 7) * 0.5 + 0.25)
    t0 = time.perf_counter()
    save_rules(store, project_id, new, note="benchmark", actor=access.cli_actor())
    report = service.run(project_id)
    work = time.perf_counter() - t0
    if report.status != "succeeded":
        raise RuntimeError(f"re-run failed: {report.error}")
    return {"work_s": work, "step_details": report.step_details}


def reject_scenes(home: str, project_id: int, fraction: float) -> dict[str, Any]:
    """Reject ``fraction`` of the scenes, spread evenly (the approved cut keeps the rest)."""
    from genesis_pipeline.config import Settings
    from genesis_pipeline.services.review import reset_reviews, set_scene_status
    from genesis_pipeline.store import Store

    store = Store(Settings.from_env(home=home))
    ids = pipeline_results(home, project_id)["scene_ids"]
    n = round(len(ids) * fraction)
    step = len(ids) / max(n, 1)
    chosen = sorted({ids[min(len(ids) - 1, int(step * k + step / 2))] for k in range(n)})
    reset_reviews(store, project_id, actor=access.cli_actor())
    set_scene_status(
        store, project_id, chosen, "rejected", reviewer="benchmark", actor=access.cli_actor()
    )
    return {"rejected": len(chosen), "scenes": len(ids)}


def render(home: str, project_id: int, mode: str, out: str) -> dict[str, Any]:
    """Render the approved cut with ``AssemblyParams(mode=mode)``."""
    from genesis_pipeline.config import Settings
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.stages.render import AssemblyParams, render_cut
    from genesis_pipeline.store import Store

    store = Store(Settings.from_env(home=home))
    cut = load_cut(store, project_id)
    t0 = time.perf_counter()
    result = render_cut(list(cut.segments), Path(out), AssemblyParams(mode=mode))
    work = time.perf_counter() - t0
    expected = sum(s.end_frame - s.start_frame for s in cut.segments)
    return {
        "work_s": work,
        "frames": result.frames,
        "expected_frames": expected,
        "duration_s": result.duration_s,
        "cut_duration_s": cut.duration_s,
        "frames_copied": getattr(result, "frames_copied", 0),
        "frames_encoded": getattr(result, "frames_encoded", 0),
        "segments": len(cut.segments),
    }


def stream_copy(home: str, project_id: int, out: str) -> dict[str, Any]:
    """The render peer's lower bound: the approved cut by keyframe-snapped stream copy (what
    LosslessCut's non-smart cut does): each segment copied from the keyframe at or before its
    start, then joined by the concat demuxer. Fast, and not frame-accurate: each segment starts
    up to a GOP early."""
    import subprocess
    import tempfile

    from genesis_pipeline.config import Settings
    from genesis_pipeline.media.ffmpeg import ffmpeg_exe
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.store import Store

    store = Store(Settings.from_env(home=home))
    cut = load_cut(store, project_id)
    ffmpeg = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stream-copy-") as tmp:
        parts = []
        for i, seg in enumerate(cut.segments):
            part = Path(tmp) / f"{i:05d}.mp4"
            cmd = [*ffmpeg, "-ss", f"{seg.start_s:.6f}", "-to", f"{seg.end_s:.6f}"]
            cmd += ["-i", str(seg.media_path), "-map", "0", "-c", "copy"]
            cmd += ["-avoid_negative_ts", "make_zero", str(part)]
            subprocess.run(cmd, check=True)
            parts.append(part)
        listing = Path(tmp) / "parts.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in parts))
        join = [*ffmpeg, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", out]
        subprocess.run(join, check=True)
    work = time.perf_counter() - t0
    return {"work_s": work, "segments": len(cut.segments), "cut_duration_s": cut.duration_s}


def smart_available() -> dict[str, Any]:
    """Whether ``AssemblyParams(mode="smart")`` can run here, and why not."""
    try:
        from genesis_pipeline.stages.render import MODES

        if "smart" not in MODES:
            return {"available": False, "why": "render MODES has no 'smart'"}
        import genesis_pipeline.stages.render.smart  # noqa: F401
    except ImportError as exc:
        return {"available": False, "why": f"smart rendering is not importable ({exc})"}
    return {"available": True, "why": None}


def device() -> dict[str, Any]:
    """The device plan this host gets (CUDA when present)."""
    from genesis_pipeline.ml.device import plan_devices

    return serde.to_json(plan_devices("auto"))


TASKS = {
    f.__name__: f
    for f in (
        scenes,
        transcribe,
        whisper_defaults,
        whisper_batched,
        setup_project,
        pipeline_results,
        chapters_change,
        reject_scenes,
        render,
        stream_copy,
        smart_available,
        device,
    )
}


#: The peers' work: run as their own tools run, without the ``genesis`` command's tuning.
PEERS = frozenset({"whisper_defaults", "whisper_batched", "stream_copy"})


def main(argv: list[str]) -> int:
    """Run one task; Genesis's own in a process tuned as the ``genesis`` command's is."""
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    ours = name not in PEERS
    if ours:
        command_process.begin()
    result = TASKS[name](**args)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    if ours:
        command_process.end()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

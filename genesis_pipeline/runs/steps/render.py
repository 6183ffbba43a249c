"""Step: render the approved cut (with narration) to ``renders/<project>/``, unless a render of
exactly the same inputs already exists."""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import MediaToolError, StageError, StorageError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.runs.executor import Call, StepProgress, tasks
from genesis_pipeline.runs.exports import render_extras, subtitle_file
from genesis_pipeline.services import access, render_settings
from genesis_pipeline.services.cut import CutPlan, load_cut
from genesis_pipeline.services.narration import MixSettings
from genesis_pipeline.services.overrun import overrun_text
from genesis_pipeline.stages.render import AssemblyParams
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql

if TYPE_CHECKING:
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.render import RenderResult


# -- what a render records about how it was made (renders.settings_json) --------------------------
@dataclass(frozen=True, slots=True)
class NarrationMixed:
    """A voiceover the render mixed in, where and how loud."""

    path: str  # relative to the data dir
    offset_s: float
    gain: float
    chapter_idx: int | None
    auto: bool


@dataclass(frozen=True, slots=True)
class SoundCopied:
    """How much sound a smart render stream-copied, and its largest offset from the pictures."""

    copied_s: float
    offset_ms: float


@dataclass(frozen=True, slots=True)
class OverrunVoiceover:
    file: str
    overrun_s: float


@dataclass(frozen=True, slots=True)
class OverrunDone:
    """What the render did with voiceovers past the cut's end (the project's choice)."""

    choice: str
    extend_s: float
    voiceovers: tuple[OverrunVoiceover, ...]


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """A render's ``settings_json``: the scenes it kept, the narration and mix, the assembly
    params and how the sound was made (the Render page's history reads it)."""

    scenes: tuple[int, ...]
    scene_count: int
    voiceover: tuple[NarrationMixed, ...] | None
    mix: MixSettings
    params: AssemblyParams
    sound: SoundCopied
    narration_overrun: OverrunDone | None
    subtitles: str = "off"  # off | soft (a track) | burned (into the pictures)


def run(ctx: RunContext) -> StepOutcome:
    """Raises: StageError: the disk cannot hold the render, or filled up during it.
    MediaToolError: ffmpeg failed."""
    if ctx.options.render_mode is not None:
        render_settings.set_render_mode(
            ctx.store,
            ctx.project_id,
            ctx.options.render_mode,
            actor=access.system_actor("pipeline"),
        )
    if ctx.options.subtitles is not None:
        render_settings.set_render_subtitles(
            ctx.store,
            ctx.project_id,
            ctx.options.subtitles,
            "--subtitles",
            actor=access.system_actor("pipeline"),
        )
    if not ctx.options.render:
        return StepOutcome(status="skipped", note="render not requested")
    cut = ctx.results.cut or load_cut(ctx.store, ctx.project_id)
    clips = ctx.results.narration
    if not cut.segments:
        note = "no video scenes" if cut.total_scenes == 0 else "no scene is approved"
        return StepOutcome(status="skipped", note=f"nothing to render: {note}")
    params = render_settings.render_params(ctx.store, ctx.project_id, clips)
    subtitles = render_settings.get_render_subtitles(ctx.store, ctx.project_id)
    models = (
        render_settings.transcription_models(ctx.store, ctx.project_id, cut, clips)
        if subtitles != "off"
        else ()
    )
    sizes = render_settings.clip_sizes(ctx.store, clips)
    key = render_settings.render_cache_key(params, cut, clips, subtitles, models, sizes)
    with ctx.store.db.read() as con:
        existing = renders_sql.find_by_key(con, ctx.project_id, key, ctx.store.exists)
    if existing is not None and not ctx.force:
        ctx.results.render = existing
        return StepOutcome(
            cache_hit=True,
            counts={"scenes": len(cut.segments), "duration_s": existing.duration_s},
            details={"render_id": existing.id, "path": ctx.store.location(existing.path)},
        )
    out_key = ctx.store.project_key("renders", ctx.project_id, f"cut-r{ctx.run_id}-{key[:10]}.mp4")
    out_name = out_key.rsplit("/", 1)[-1]
    # The worker reads its inputs from the storage and publishes the render there itself.
    inputs = tasks.RenderInputs(
        media={s.media_key: ctx.store.locator_of(s.media_path) for s in cut.segments},
        narration=tuple(ctx.store.locator_of(c.path) for c in clips),
    )
    extras = render_extras(
        ctx.store, ctx.project_id, cut, ctx.store.output_path(out_key), subtitles
    )
    srt = subtitle_file(extras)
    try:
        if srt is not None:
            inputs = replace(inputs, subtitles_srt=srt.read_text(encoding="utf-8"))
    finally:
        if srt is not None:
            srt.unlink(missing_ok=True)
    args = (ctx.store.access, list(cut.segments), inputs, out_key, estimate_render_bytes(cut))
    call = Call(tasks.render_segments, (*args, params, clips, extras), out_name)
    try:
        [(_, rendered)] = list(ctx.executor.run([call], StepProgress(ctx.progress, 1)))
    except (MediaToolError, OSError) as exc:
        # ffmpeg reports a full disk in its message; the smart render's own writes (PyAV)
        # as an OSError.
        full = isinstance(exc, OSError) and exc.errno in _DISK_FULL
        if full or "No space left" in str(exc) or "File too large" in str(exc):
            raise StageError(
                "render",
                f"the disk the render of {ctx.store.location(out_key)} is written to filled up "
                "while rendering; nothing was written to renders/ (free some space and run again)",
            ) from exc
        raise
    result = rendered.result
    # A row points only at an object that is there, complete.
    there = ctx.store.object_size(rendered.key)
    if there != rendered.size_bytes:
        raise StorageError(
            f"{ctx.store.location(rendered.key)}: the render the worker published is "
            f"{'missing' if there is None else f'{there} bytes, not {rendered.size_bytes}'}"
        )
    overrun = _overrun(ctx, clips, params)
    settings = RenderSettings(
        scenes=cut.scene_ids,
        scene_count=len(cut.segments),
        voiceover=tuple(
            NarrationMixed(
                path=ctx.store.relative(c.path),
                offset_s=c.offset_s,
                gain=c.gain,
                chapter_idx=c.chapter_index,
                auto=c.auto,
            )
            for c in clips
        )
        or None,
        mix=MixSettings(params.narration_gain, params.bed_gain),
        params=result.params,
        sound=SoundCopied(result.sound_copied_s, result.sound_offset_ms),
        narration_overrun=overrun,
        subtitles=subtitles,
    )
    size_bytes = rendered.size_bytes
    recorded = rendered.key
    with ctx.store.db.write() as con:
        rec = renders_sql.insert(
            con,
            ctx.project_id,
            run_id=ctx.run_id,
            path=recorded,
            cache_key=key,
            duration_s=result.duration_s,
            size_bytes=size_bytes,
            settings=serde.to_json(settings),
        )
        # A forced re-render of unchanged inputs replaces its predecessor instead of adding
        # an identical render to the history.
        replaced = renders_sql.delete_same_key(con, ctx.project_id, key, rec.id)
        projects_sql.bump_revision(con, ctx.project_id)
    for old in replaced:
        if old != recorded:
            ctx.store.delete_file(old)
    ctx.results.render = rec
    return StepOutcome(
        counts={
            "scenes": len(cut.segments),
            "duration_s": round(result.duration_s, 3),
            "frames": result.frames,
            "frames_copied": result.frames_copied,
            "sound_copied_s": result.sound_copied_s,
        },
        note=_note(
            params.mode,
            result,
            _overrun_lines(overrun),
            subtitles,
            asked=render_settings.get_render_mode(ctx.store, ctx.project_id),
        ),
        details={"render_id": rec.id, "path": ctx.store.location(recorded), **_worker(ctx)},
    )


_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _worker(ctx: RunContext) -> dict[str, Any]:
    where = ctx.executor.where(0)
    return {"worker": where} if where else {}


def _note(
    mode: str,
    result: RenderResult,
    overruns: list[str] | None = None,
    subtitles: str = "off",
    asked: str | None = None,
) -> str:
    """The step's note: how the render was made (``mode``), and (``asked``) the project's
    render mode when burned-in subtitles overrode it."""
    first = _mode_note(mode, result)
    if subtitles == "burned":
        first = f"subtitles burned in: {first}"
        if asked is not None and asked != mode:
            first += f" instead of {asked} (text drawn into every picture: none can be copied)"
    elif subtitles == "soft":
        first += ", a soft subtitle track"
    return "; ".join([first, *_rate_note(result), *(overruns or [])])


def _overrun(
    ctx: RunContext, clips: list[NarrationClip], params: AssemblyParams
) -> OverrunDone | None:
    """What the render did with voiceovers past the cut's end (for the render's settings)."""
    over = [c for c in clips if c.overrun_s > 0]
    if not over:
        return None
    return OverrunDone(
        choice=render_settings.get_narration_overrun(ctx.store, ctx.project_id),
        extend_s=params.extend_s,
        voiceovers=tuple(OverrunVoiceover(c.name, c.overrun_s) for c in over),
    )


def _overrun_lines(done: OverrunDone | None) -> list[str]:
    if done is None:
        return []
    return [
        overrun_text(v.file, v.overrun_s, done.choice, done.extend_s, done=True)
        for v in done.voiceovers
    ]


def _mode_note(mode: str, result: RenderResult) -> str:
    if mode != "smart":
        return "full re-encode"
    note = f"smart: {result.frames_copied} of {result.frames} frames stream-copied"
    if result.sound_copied_s:
        return (
            f"{note}, {result.sound_copied_s:.0f} of {result.duration_s:.0f} s of sound "
            f"(at most {result.sound_offset_ms:.1f} ms off the pictures)"
        )
    return f"{note}, sound encoded"


def _rate_note(result: RenderResult) -> list[str]:
    if not result.frames_conformed:
        return []
    return [
        f"{result.fps:.6g} fps: {result.frames_conformed} frames conformed from variable- or "
        "other-rate footage by their timestamps"
    ]


def estimate_render_bytes(cut: CutPlan) -> int:
    """A generous guess of the render's size: the sources' bit rates over the kept time."""
    total = 0.0
    for seg in cut.segments:
        bits_per_s = max(cut.media_bytes_per_s.get(int(seg.media_key), 0.0) * 8, 1_000_000.0)
        total += seg.duration_s * (bits_per_s + 192_000) / 8
    return int(total * 1.25) + 8 * 1024 * 1024

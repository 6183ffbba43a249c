"""A small mixed preview of one chapter of the cut: its approved scenes with the narration that
plays in them and the project's gains, rendered once per inputs into the stage cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError, NotFoundError
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import get_mix, list_voiceovers, narration_clips
from genesis_pipeline.stages.timeline import cut_starts
from genesis_pipeline.store import Store
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import VoiceoverRecord

if TYPE_CHECKING:
    from genesis_pipeline.stages.render import AssemblyParams
    from genesis_pipeline.stages.timeline import CutSegment

PREVIEW_STAGE = "chapter_preview"
PREVIEW_WIDTH = 480


@dataclass(frozen=True, slots=True)
class ChapterPreviewPlan:
    """What the mixed preview of one chapter is made of, and ``key``: the stage-cache key of all
    of it (the chapter's scenes, the narration that plays in it, the gains, the size)."""

    project_id: int
    chapter_idx: int
    key: str
    segments: tuple[CutSegment, ...]
    narration: tuple[tuple[VoiceoverRecord, float, float, float], ...]  # vo, at, skip, gain
    params: AssemblyParams


def plan_chapter_preview(
    store: Store, project_id: int, chapter_idx: int, *, width: int = PREVIEW_WIDTH
) -> ChapterPreviewPlan:
    """Plan the mixed preview of one chapter of the cut, without rendering anything.

    The chapter's approved segments, with every narration clip that plays during the chapter
    shifted so the chapter starts at 0 (a clip that began earlier is trimmed), the project's
    narration and bed gains, at most ``width`` pixels wide with a fast preset.

    Raises:
        NotFoundError: the chapter is not in the cut (no approved scene) or not in the project.
        InvalidSettingError: a voiceover offset falls outside the cut.
        InvalidMediaError: a voiceover file is missing.
    """
    from genesis_pipeline.stages.render import VERSION, AssemblyParams

    cut = load_cut(store, project_id)
    span = next((c for c in cut.chapters if c.index == chapter_idx), None)
    if span is None:
        raise NotFoundError(
            f"chapter {chapter_idx + 1}: not in the cut of project {project_id} "
            f"(no approved scene in it, or no such chapter)"
        )
    segments = tuple(
        seg
        for start, seg in zip(cut_starts(cut.segments), cut.segments, strict=True)
        if span.start_s - 1e-6 <= start < span.end_s - 1e-6
    )
    length = span.end_s - span.start_s
    voiceovers = list_voiceovers(store, project_id)
    clips, _rows = narration_clips(store, cut, voiceovers)
    by_target = {v.chapter_idx: v for v in voiceovers}
    local: list[tuple[VoiceoverRecord, float, float, float]] = []
    for clip in clips:
        vo = by_target[clip.chapter_index]
        at = clip.offset_s - span.start_s
        if at >= length - 1e-6 or at + vo.duration_s <= 1e-6:
            continue
        local.append((vo, max(at, 0.0), max(-at, 0.0), clip.gain))
    mix = get_mix(store, project_id)
    ref = next((s for s in segments if s.width and s.height), None)
    out_w: int | None = None
    out_h: int | None = None
    if ref is not None and ref.width and ref.height:
        w = min(int(width), int(ref.width))
        out_w, out_h = _even(w), _even(round(w * ref.height / ref.width))
    params = AssemblyParams(
        width=out_w,
        height=out_h,
        crf=30,
        preset="ultrafast",
        audio_bitrate="96k",
        bed_gain=mix.bed_gain,
        narration_gain=mix.voiceover_gain,
    )
    key = stage_key(
        PREVIEW_STAGE,
        VERSION,
        params,
        {
            "segments": [
                (cut.media_sha[int(s.media_key)], s.start_frame, s.end_frame) for s in segments
            ],
            "narration": [
                (vo.sha256, round(at, 4), round(skip, 4), gain) for vo, at, skip, gain in local
            ],
        },
    )
    return ChapterPreviewPlan(project_id, chapter_idx, key, segments, tuple(local), params)


def _preview_file(entry: Path) -> Path:
    out = entry / "preview.mp4"
    if not out.is_file():
        raise FileNotFoundError(out)
    return out


def find_chapter_preview(store: Store, plan: ChapterPreviewPlan) -> Path | None:
    """The preview already rendered for exactly ``plan``'s inputs, or None."""
    return store.cache.lookup(PREVIEW_STAGE, plan.key, _preview_file)


def preview_chapter_mix(
    store: Store, project_id: int, chapter_idx: int, *, width: int = PREVIEW_WIDTH
) -> Path:
    """Render a small mixed preview of one chapter of the cut and return the MP4's path.

    See :func:`plan_chapter_preview` for what it contains. The file lives in the stage cache
    under a key of all those inputs, so an unchanged chapter is not rendered twice.

    Raises:
        NotFoundError: the chapter is not in the cut (no approved scene) or not in the project.
        InvalidSettingError: a voiceover offset falls outside the cut, or a bad gain.
        InvalidMediaError: a voiceover or media file is missing or unusable.
        MediaToolError: ffmpeg failed.
    """
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.render import render_cut

    plan = plan_chapter_preview(store, project_id, chapter_idx, width=width)
    hit = find_chapter_preview(store, plan)
    if hit is not None:
        return hit

    def write(tmp: Path) -> dict[str, Any]:
        narration = []
        for source in {s.media_path for s in plan.segments}:
            store.local_copy(source)  # S3: fetched into the read-through cache
        for i, (vo, at, skip, gain) in enumerate(plan.narration):
            path = store.local_path(vo.path)
            if skip > 0:
                path = _trim_wav(path, tmp / f"narration-{i}.wav", skip, vo.original_name)
            narration.append(NarrationClip(path, at, gain, vo.chapter_idx))
        result = render_cut(list(plan.segments), tmp / "preview.mp4", plan.params, narration)
        for f in tmp.glob("narration-*.wav"):
            f.unlink()
        return {
            "project_id": project_id,
            "chapter_idx": chapter_idx,
            "duration_s": result.duration_s,
        }

    return _preview_file(store.cache.store(PREVIEW_STAGE, plan.key, write))


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _trim_wav(src: Path, dst: Path, skip_s: float, name: str) -> Path:
    """Copy a PCM WAV without its first ``skip_s`` seconds.

    Raises:
        InvalidMediaError: ``src`` is missing or not a PCM WAV.
    """
    import wave

    try:
        with wave.open(str(src), "rb") as r:
            rate = r.getframerate()
            r.setpos(min(r.getnframes(), round(skip_s * rate)))
            with wave.open(str(dst), "wb") as w:
                w.setnchannels(r.getnchannels())
                w.setsampwidth(r.getsampwidth())
                w.setframerate(rate)
                while chunk := r.readframes(1 << 16):
                    w.writeframes(chunk)
    except (OSError, EOFError, wave.Error) as exc:
        raise InvalidMediaError(name, f"voiceover {src} cannot be read ({exc})") from None
    return dst

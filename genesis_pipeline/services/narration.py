"""Voiceovers and the narration mix: add, offset, gains, and the narration plan for the cut."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.services.cut import CutPlan
from genesis_pipeline.services.naming import sanitize_filename
from genesis_pipeline.services.upload import sha256_file
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store.records import VoiceoverRecord

if TYPE_CHECKING:
    from genesis_pipeline.stages.render import AssemblyParams
    from genesis_pipeline.stages.timeline import CutSegment

MIX_DEFAULTS = {"voiceover_gain": 1.0, "bed_gain": 1.0}


@dataclass(frozen=True, slots=True)
class MixSettings:
    voiceover_gain: float = 1.0
    bed_gain: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {"voiceover_gain": self.voiceover_gain, "bed_gain": self.bed_gain}


def _check_gain(name: str, value: float) -> float:
    if not isinstance(value, int | float) or math.isnan(value) or value < 0 or value > 16:
        raise InvalidSettingError(name, f"{value} is not a gain between 0 and 16 (1.0 = unchanged)")
    return float(value)


def _check_offset(value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidSettingError("voiceover offset", f"{value} s must be 0 or more seconds")
    return float(value)


def get_mix(store: Store, project_id: int) -> MixSettings:
    with store.db.read() as con:
        return mix_of(projects_sql.get(con, project_id).settings_json)


def mix_of(settings: dict[str, Any]) -> MixSettings:
    """The narration mix saved in a project's settings (defaults where unset)."""
    mix = {**MIX_DEFAULTS, **settings.get("mix", {})}
    return MixSettings(float(mix["voiceover_gain"]), float(mix["bed_gain"]))


def set_mix(
    store: Store,
    project_id: int,
    *,
    voiceover_gain: float | None = None,
    bed_gain: float | None = None,
) -> MixSettings:
    """Raises: InvalidSettingError: a gain is negative or absurd."""
    current = get_mix(store, project_id)
    new = MixSettings(
        _check_gain("voiceover gain", voiceover_gain)
        if voiceover_gain is not None
        else current.voiceover_gain,
        _check_gain("bed gain", bed_gain) if bed_gain is not None else current.bed_gain,
    )
    with store.db.write() as con:
        projects_sql.update_settings(con, project_id, {"mix": new.to_dict()})
    return new


def add_voiceover(
    store: Store,
    project_id: int,
    source: str | Path,
    *,
    chapter_idx: int | None = None,
    offset_s: float | None = None,
    gain: float = 1.0,
    original_name: str | None = None,
) -> VoiceoverRecord:
    """Copy a voiceover into ``voiceovers/<project>/`` as WAV and make it the active one for the
    whole cut (``chapter_idx=None``) or for one chapter.

    Raises:
        InvalidMediaError: the file is missing or has no usable audio (names the file).
        InvalidSettingError: negative offset or gain.
    """
    from genesis_pipeline.stages.narration import import_voiceover

    src = Path(source)
    name = original_name or src.name
    if not src.is_file():
        raise InvalidMediaError(name, "voiceover file does not exist")
    gain = _check_gain("voiceover gain", gain)
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    with store.db.read() as con:
        projects_sql.get(con, project_id)
    sha = sha256_file(src)
    dest = store.project_dir("voiceovers", project_id) / (
        f"{sha[:12]}-{Path(sanitize_filename(name, 'voiceover')).stem}.wav"
    )
    try:
        info = import_voiceover(src, dest)
    except InvalidMediaError as exc:
        raise InvalidMediaError(name, exc.reason) from None
    with store.db.write() as con:
        vo = review_sql.add_voiceover(
            con,
            project_id,
            chapter_idx=chapter_idx,
            original_name=name,
            path=store.relative(dest),
            sha256=sha,
            duration_s=info.duration_s,
            offset_s=offset_s,
            gain=gain,
        )
        projects_sql.bump_revision(con, project_id)
    return vo


def list_voiceovers(store: Store, project_id: int) -> list[VoiceoverRecord]:
    with store.db.read() as con:
        return review_sql.active_voiceovers(con, project_id)


def set_voiceover_offset(
    store: Store, project_id: int, voiceover_id: int, offset_s: float | None
) -> None:
    """Override a voiceover's offset (seconds on the cut); ``None`` returns it to automatic."""
    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    with store.db.write() as con:
        review_sql.update_voiceover(con, project_id, voiceover_id, offset_s=offset_s)
        projects_sql.bump_revision(con, project_id)


def set_voiceover_gain(store: Store, project_id: int, voiceover_id: int, gain: float) -> None:
    with store.db.write() as con:
        review_sql.update_voiceover(
            con, project_id, voiceover_id, gain=_check_gain("voiceover gain", gain)
        )
        projects_sql.bump_revision(con, project_id)


def remove_voiceover(store: Store, project_id: int, voiceover_id: int) -> None:
    with store.db.write() as con:
        review_sql.update_voiceover(con, project_id, voiceover_id, active=False)
        projects_sql.bump_revision(con, project_id)


def narration_clips(
    store: Store, cut: CutPlan, voiceovers: list[VoiceoverRecord]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Plan the narration on the cut: returns the clips and a table row per voiceover (with
    its automatic offset, the override, and on-camera speech it would overlap).

    Raises:
        InvalidSettingError: an offset lies beyond the cut, or a chapter voiceover targets a
            chapter that is not in the cut.
    """
    from genesis_pipeline.stages.narration import (
        CutChapter,
        VoiceoverInfo,
        fit_start,
        plan_narration,
    )

    if not voiceovers:
        return [], []
    chapters = [CutChapter(c.index, c.start_s, c.end_s) for c in cut.chapters]
    known = {c.index for c in chapters}
    infos, offsets, gains = {}, {}, {}
    for vo in voiceovers:
        path = store.absolute(vo.path)
        if not path.is_file():
            raise InvalidMediaError(vo.original_name, f"voiceover file {path} is missing")
        if vo.chapter_idx is not None and vo.chapter_idx not in known:
            raise InvalidSettingError(
                "voiceover chapter",
                f"chapter {vo.chapter_idx + 1} of {vo.original_name} is not in the cut "
                f"({len(chapters)} chapters with approved scenes)",
            )
        infos[vo.chapter_idx] = VoiceoverInfo(path, vo.duration_s, 48000, 1)
        offsets[vo.chapter_idx] = vo.offset_s
        gains[vo.chapter_idx] = vo.gain
    clips = plan_narration(chapters, cut.speech, infos, offsets, gains, cut.duration_s)
    names = {vo.chapter_idx: vo.original_name for vo in voiceovers}
    clips = [replace(c, name=names[c.chapter_index]) for c in clips]
    rows = []
    by_target = {c.chapter_index: c for c in clips}
    by_index = {c.index: c for c in chapters}
    for vo in voiceovers:
        clip = by_target.get(vo.chapter_idx)
        start = clip.offset_s if clip else None
        end = start + vo.duration_s if start is not None else None
        overlap = 0.0
        if start is not None and end is not None:
            overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in cut.speech)
        # Where it would start to end with the cut, and that as the offset the reviewer sets
        # (a chapter voiceover's counts from its chapter's start, which it cannot precede).
        chapter_start = by_index[vo.chapter_idx].start_s if vo.chapter_idx is not None else 0.0
        fit = fit_start(cut.duration_s, vo.duration_s, chapter_start)
        rows.append(
            {
                "voiceover_id": vo.id,
                "target": "whole cut"
                if vo.chapter_idx is None
                else f"chapter {vo.chapter_idx + 1}",
                "chapter_idx": vo.chapter_idx,
                "file": vo.original_name,
                "duration_s": vo.duration_s,
                "offset_s": start,
                "override_s": vo.offset_s,
                "automatic": bool(clip.auto) if clip else False,
                "gain": vo.gain,
                "speech_overlap_s": round(overlap, 2),
                "overrun_s": clip.overrun_s if clip else 0.0,
                "fit_start_s": fit,
                "fit_offset_s": None if fit is None else round(fit - chapter_start, 3),
            }
        )
    return clips, rows


# -- a voiceover that runs past the cut's end ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overrun:
    """A voiceover that runs past the end of the cut.

    Attributes:
        fit_start_s: where it would start (cut time) to end with the cut, None when it cannot
            (longer than the cut, or than its chapter to the cut's end).
        fit_offset_s: that start as the offset the reviewer sets (from the chapter's start for
            a chapter voiceover).
    """

    voiceover_id: int
    file: str
    target: str
    start_s: float
    duration_s: float
    overrun_s: float
    fit_start_s: float | None
    fit_offset_s: float | None


@dataclass(frozen=True, slots=True)
class OverrunReport:
    """The voiceovers that run past the cut's end and what a render will do about them.

    Attributes:
        choice: ``trim``, ``extend`` or ``freeze`` (the project's setting).
        cut_s: the cut's length.
        extend_s: how long ``extend``/``freeze`` run the cut on (0 when trimming).
    """

    choice: str
    cut_s: float
    overruns: tuple[Overrun, ...]
    extend_s: float

    @property
    def action(self) -> str:
        """What a render does about them, as :func:`overrun_action` says it."""
        return overrun_action(self.choice, self.extend_s)


def overrun_action(choice: str, extend_s: float, *, done: bool = False) -> str:
    """``trimmed, faded out over its last 0.5 s in the cut`` and the like (``done``: past)."""
    from genesis_pipeline.stages.render import NARRATION_FADE_S

    if choice == "extend":
        runs = "ran" if done else "runs"
        return f"the last scene {runs} on {extend_s:.1f} s in its source to let it finish"
    if choice == "freeze":
        return f"the last picture held {extend_s:.1f} s under its own sound to let it finish"
    return f"trimmed, faded out over its last {NARRATION_FADE_S:g} s in the cut"


def overrun_text(file: str, overrun_s: float, choice: str, extend_s: float, *, done: bool) -> str:
    """``voiceover X runs 1.1 s past the cut's end: trimmed, ...`` (``done``: ran)."""
    runs = "ran" if done else "runs"
    action = overrun_action(choice, extend_s, done=done)
    return f"voiceover {file} {runs} {overrun_s:.1f} s past the cut's end: {action}"


def overrun_report(store: Store, project_id: int) -> OverrunReport:
    """The voiceovers of the project that run past the cut's end, and the project's choice.

    Raises:
        InvalidSettingError: the narration plan cannot be made (an offset outside the cut).
        InvalidMediaError: a voiceover file is missing.
        NotFoundError: no such project.
    """
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.services.render_settings import get_narration_overrun
    from genesis_pipeline.stages.narration import extension_s

    choice = get_narration_overrun(store, project_id)
    cut = load_cut(store, project_id)
    voiceovers = list_voiceovers(store, project_id)
    clips, rows = narration_clips(store, cut, voiceovers) if cut.segments else ([], [])
    overruns = tuple(
        Overrun(
            voiceover_id=int(r["voiceover_id"]),
            file=str(r["file"]),
            target=str(r["target"]),
            start_s=float(r["offset_s"]),
            duration_s=float(r["duration_s"]),
            overrun_s=float(r["overrun_s"]),
            fit_start_s=r["fit_start_s"],
            fit_offset_s=r["fit_offset_s"],
        )
        for r in rows
        if r["offset_s"] is not None and r["overrun_s"] > 0
    )
    return OverrunReport(choice, cut.duration_s, overruns, extension_s(clips, choice))


def move_to_fit(store: Store, project_id: int, voiceover_id: int) -> float:
    """Start a voiceover early enough to end with the cut (an offset override); returns its
    new start on the cut.

    Raises:
        InvalidSettingError: it cannot end with the cut (longer than the cut, or than its
            chapter to the cut's end): trim it or extend the cut instead.
        NotFoundError: no such active voiceover in the project.
    """
    from genesis_pipeline.errors import NotFoundError

    report = overrun_report(store, project_id)
    item = next((o for o in report.overruns if o.voiceover_id == voiceover_id), None)
    if item is None:
        vo = next((v for v in list_voiceovers(store, project_id) if v.id == voiceover_id), None)
        if vo is None:
            raise NotFoundError(f"voiceover {voiceover_id}: not an active voiceover of the project")
        return float(check_voiceover_offset(store, project_id, voiceover_id, vo.offset_s) or 0.0)
    if item.fit_offset_s is None or item.fit_start_s is None:
        where = "the cut" if item.target == "whole cut" else f"{item.target} to the cut's end"
        raise InvalidSettingError(
            "voiceover offset",
            f"{item.file} lasts {item.duration_s:.2f} s, longer than {where}: it cannot end "
            "with the cut; trim it or extend the cut instead",
        )
    set_voiceover_offset(store, project_id, voiceover_id, item.fit_offset_s)
    return item.fit_start_s


# -- review app: offsets checked against the cut, a mixed preview of one chapter -----------------
PREVIEW_STAGE = "chapter_preview"
PREVIEW_WIDTH = 480


def check_voiceover_offset(
    store: Store, project_id: int, voiceover_id: int, offset_s: float | None
) -> float | None:
    """Plan the narration as if ``voiceover_id`` had the override ``offset_s`` (None =
    automatic) and return where it would start on the cut, without saving anything.

    For a chapter voiceover the override counts from the chapter's start (see
    :func:`genesis_pipeline.stages.narration.plan_narration`).

    Raises:
        InvalidSettingError: the offset is negative, or the start falls outside the cut.
        InvalidMediaError: a voiceover file is missing.
        NotFoundError: no such active voiceover in the project.
    """
    from dataclasses import replace

    from genesis_pipeline.errors import NotFoundError
    from genesis_pipeline.services.cut import load_cut

    if offset_s is not None:
        offset_s = _check_offset(offset_s)
    voiceovers = list_voiceovers(store, project_id)
    if not any(v.id == voiceover_id for v in voiceovers):
        raise NotFoundError(f"voiceover {voiceover_id}: not an active voiceover of the project")
    trial = [replace(v, offset_s=offset_s) if v.id == voiceover_id else v for v in voiceovers]
    _clips, rows = narration_clips(store, load_cut(store, project_id), trial)
    row = next(r for r in rows if r["voiceover_id"] == voiceover_id)
    start = row["offset_s"]
    return None if start is None else float(start)


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
    from genesis_pipeline.errors import NotFoundError
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.stages.render import VERSION, AssemblyParams
    from genesis_pipeline.stages.timeline import cut_starts
    from genesis_pipeline.store.cache import stage_key

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
        for i, (vo, at, skip, gain) in enumerate(plan.narration):
            path = store.absolute(vo.path)
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

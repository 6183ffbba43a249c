"""Exports of the approved cut: NLE timelines, subtitles of the cut, chapters for platforms;
and an edited timeline imported back as approvals.

Each export is gathered from the store (the cut, its scenes, chapters, narration and words),
built by the pure builders in :mod:`genesis_pipeline.stages.exports`, cached on its inputs
(``cache/exports/<key>/``, keyed like a stage: ``stage_key("exports", VERSION, params,
inputs)``) and written atomically. Narration words (the voiceovers transcribed) come from the
caller: transcribing needs the Whisper model, which is run control's (``runs/exports.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.files import write_bytes
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.comments import cut_marks
from genesis_pipeline.services.cut import CutPlan, load_cut, scene_segment
from genesis_pipeline.services.cut_order import read_order
from genesis_pipeline.services.wording import download_name
from genesis_pipeline.stages.exports import VERSION
from genesis_pipeline.stages.exports.chapters import (
    ChapterMark,
    YouTubeCheck,
    chapters_vtt,
    check_youtube,
    youtube_block,
)
from genesis_pipeline.stages.exports.cues import (
    Block,
    Cue,
    CueParams,
    CutWord,
    SourceWord,
    layout_cues,
    retime_words,
    to_srt,
    to_vtt,
)
from genesis_pipeline.stages.exports.reimport import Unmapped, map_timeline
from genesis_pipeline.stages.exports.timeline import (
    CommentMark,
    CutTimeline,
    NarrationItem,
    SceneClip,
    source_range_frames,
)
from genesis_pipeline.stages.timeline import CutSegment, cut_starts
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import fingerprint, stage_key
from genesis_pipeline.store.records import MediaFile, SceneRecord

if TYPE_CHECKING:
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.render.plan import RenderPlan

log = logging.getLogger(__name__)

STAGE = "exports"


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export: its file name ending, MIME type, what it is for, and a short name."""

    name: str
    ending: str
    mime: str
    label: str
    short: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "otio", ".otio", "application/json", "OpenTimelineIO (DaVinci Resolve)",
            "OTIO · Resolve",
        ),
        ExportFormat(
            "fcpxml", ".fcpxml", "application/xml", "Final Cut Pro X XML", "FCPXML · Final Cut"
        ),
        ExportFormat(
            "fcp7", ".xml", "application/xml", "Premiere Pro / FCP 7 XML", "XML · Premiere"
        ),
        ExportFormat("edl", ".edl", "text/plain", "CMX 3600 EDL (pictures)", "EDL · CMX 3600"),
        ExportFormat(
            "srt", ".srt", "application/x-subrip", "Subtitles (SubRip)", "Subtitles · SRT"
        ),
        ExportFormat("vtt", ".vtt", "text/vtt", "Subtitles (WebVTT)", "Subtitles · WebVTT"),
        ExportFormat(
            "chapters-youtube", "-youtube-chapters.txt", "text/plain", "YouTube chapters",
            "Chapters · YouTube",
        ),
        ExportFormat(
            "chapters-vtt", "-chapters.vtt", "text/vtt", "Chapters (WebVTT)", "Chapters · WebVTT"
        ),
    )
}  # fmt: skip
"""Every export by the name ``genesis export --format`` takes."""

TIMELINE_EXPORTS = ("otio", "fcpxml", "fcp7", "edl")
SUBTITLE_EXPORTS = ("srt", "vtt")


@dataclass(frozen=True, slots=True)
class VoiceoverWords:
    """A voiceover's words ``(text, start, end, timing uncertain)`` on its own clock (seconds
    from its start), keyed by its file."""

    path: Path
    words: tuple[SourceWord, ...]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A built export: its text, the file it was written to, and notes for people (rules a
    project's chapters break and what was done instead)."""

    format: str
    file_name: str
    text: str
    path: Path
    cache_hit: bool
    notes: tuple[str, ...] = ()


def check_format(fmt: str) -> ExportFormat:
    """Raises: InvalidSettingError: ``fmt`` is not an export format."""
    try:
        return EXPORT_FORMATS[fmt]
    except KeyError:
        raise InvalidSettingError(
            "--format", f"{fmt!r} is not one of {', '.join(EXPORT_FORMATS)}"
        ) from None


# -- gathering ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProjectCut:
    """The approved cut with what exports need besides it."""

    project_id: int
    name: str
    cut: CutPlan
    scenes: tuple[SceneRecord, ...]
    media: dict[int, MediaFile]
    clips: list[NarrationClip] = field(default_factory=list)
    narration_gain: float = 1.0
    voiceover_s: dict[str, float] = field(default_factory=dict)
    comments: tuple[CommentMark, ...] = ()


def load_project_cut(store: Store, project_id: int) -> ProjectCut:
    """Raises: NotFoundError: no such project. InvalidSettingError: nothing is approved, or
    a voiceover offset lies outside the cut. InvalidMediaError: a voiceover file is missing."""
    from genesis_pipeline.services.narration import get_mix, list_voiceovers, narration_clips

    with store.db.read() as con:
        project = projects_sql.get(con, project_id)
        scenes = scenes_sql.scenes_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
    cut = load_cut(store, project_id)
    if not cut.segments:
        why = "it has no scenes yet" if not scenes else "no scene is approved"
        raise InvalidSettingError(f"project {project_id}", f"nothing to export: {why}")
    voiceovers = list_voiceovers(store, project_id)
    clips, _rows = narration_clips(store, cut, voiceovers)
    return ProjectCut(
        project_id=project_id,
        name=project.name,
        cut=cut,
        scenes=tuple(scenes),
        media=media,
        clips=clips,
        narration_gain=get_mix(store, project_id).voiceover_gain,
        voiceover_s={str(store.absolute(v.path)): v.duration_s for v in voiceovers},
        comments=tuple(
            CommentMark(
                m.thread_id, m.start_s, m.end_s, m.author_name, m.body, m.resolved, m.replies
            )
            for m in cut_marks(store, project_id, plan=cut)
        ),
    )


def media_url(store: Store, media: MediaFile) -> str:
    """Where a timeline finds the original media: its storage URI, else a ``file://`` URL."""
    return media.path if "://" in media.path else store.absolute(media.path).resolve().as_uri()


def scene_clips(
    store: Store,
    scenes: Sequence[SceneRecord],
    media: Mapping[int, MediaFile],
    segments: Sequence[CutSegment] | None = None,
) -> tuple[list[SceneClip], RenderPlan]:
    """``scenes`` as timeline clips (in order), placed by the render's plan of them: over
    ``segments`` (the cut's, one per scene: their kept ranges) when given, else whole.

    Raises:
        InvalidMediaError: a media file is missing or unreadable.
    """
    from genesis_pipeline.media.filtergraph import fps_fraction
    from genesis_pipeline.stages.render.plan import plan_cut

    if segments is None:
        segments = [scene_segment(store, s, media[s.media_id]) for s in scenes]
    plan = plan_cut(segments)
    placed = {id(p.seg): p for p in plan.pieces}
    out = []
    for scene, seg in zip(scenes, segments, strict=True):
        piece = placed.get(id(seg))
        m = media[scene.media_id]
        clock = piece.source.clock if piece is not None else None
        if clock is not None:
            rate = clock.nominal_rate
            variable = not clock.is_constant
        else:
            rate, variable = fps_fraction(seg.fps), bool(m.is_vfr)
        if variable and clock is not None:
            start, frames = source_range_frames(
                clock.time(seg.start_frame), clock.time(seg.end_frame), rate
            )
            media_frames = round(clock.end_s * rate)
        else:
            start, frames = seg.start_frame, seg.frames
            media_frames = clock.frames if clock is not None else round(m.duration_s * rate)
        meta = scene.metadata
        out.append(
            SceneClip(
                scene_id=scene.id,
                media_id=scene.media_id,
                url=media_url(store, m),
                name=f"Scene {scene.idx + 1} · {m.original_name}",
                media_name=m.original_name,
                rate=rate,
                variable_rate=variable,
                source_start=start,
                source_frames=frames,
                media_frames=max(media_frames, start + frames),
                start_frame=seg.start_frame,
                end_frame=seg.end_frame,
                start_s=seg.start_s,
                end_s=seg.end_s,
                record_frames=piece.frames_out if piece is not None else 0,
                has_audio=m.has_audio,
                caption=meta.caption,
                caption_confidence=meta.caption_confidence,
                cut_confidence=meta.detection.confidence,
                transcript_confidence=meta.transcript_confidence,
            )
        )
    return out, plan


def cut_timeline(store: Store, pc: ProjectCut) -> CutTimeline:
    """The approved cut as a timeline (see :mod:`genesis_pipeline.stages.exports.timeline`).

    Raises:
        InvalidMediaError: a media file is missing or unreadable.
    """
    by_id = {s.id: s for s in pc.scenes}
    kept = [by_id[i] for i in pc.cut.scene_ids]  # the cut's order, each over its kept range
    clips, plan = scene_clips(store, kept, pc.media, pc.cut.segments)
    narration = tuple(
        NarrationItem(
            url=c.path.resolve().as_uri(),
            name=c.name or c.path.name,
            offset_s=c.offset_s,
            duration_s=max(
                0.0,
                min(pc.voiceover_s.get(str(c.path), 0.0), pc.cut.duration_s - c.offset_s),
            ),
            gain=c.gain * pc.narration_gain,
        )
        for c in pc.clips
    )
    return CutTimeline(
        name=pc.name,
        project_id=pc.project_id,
        rate=plan.rate,
        clips=tuple(c for c in clips if c.record_frames > 0),
        chapters=chapter_marks(pc.cut),
        narration=narration,
        comments=pc.comments,
        width=plan.width,
        height=plan.height,
    )


def chapter_marks(cut: CutPlan) -> tuple[ChapterMark, ...]:
    """The cut's chapters (those with approved scenes), on the cut's clock."""
    return tuple(ChapterMark(c.title, c.start_s, c.end_s) for c in cut.chapters)


def cut_words(
    store: Store, pc: ProjectCut, voiceover_words: Sequence[VoiceoverWords] = ()
) -> tuple[list[CutWord], list[Block]]:
    """Every word heard in the cut, on its clock, and the blocks no cue may cross: block ``k``
    is kept scene ``k``'s own speech, block ``n + k`` the narration over it (``n`` scenes)."""
    with store.db.read() as con:
        words = transcripts_sql.words_for_project(con, pc.project_id)
    segments = pc.cut.segments
    starts = cut_starts(segments)
    n = len(segments)
    blocks = [Block(t, t + s.duration_s) for t, s in zip(starts, segments, strict=True)]
    by_media = {int(k): g for k, g in words.groupby("media_id")}
    out: list[CutWord] = []
    for k, (t, seg) in enumerate(zip(starts, segments, strict=True)):
        group = by_media.get(int(seg.media_key))
        if group is None:
            continue
        source = zip(group.word.astype(str), group.start_s.astype(float),
                     group.end_s.astype(float), group.timing_uncertain.astype(bool),
                     strict=True)  # fmt: skip
        out += retime_words(source, [(seg.start_s, seg.end_s, t)], first_block=k)
    by_path = {str(v.path): v for v in voiceover_words}
    end = pc.cut.duration_s
    for clip in pc.clips:
        vw = by_path.get(str(clip.path))
        if vw is None:
            continue
        # Narration words on the cut: in the scene under their middle, never past the end.
        placed = [(w, clip.offset_s + a, clip.offset_s + b, u) for w, a, b, u in vw.words]
        pieces = [(b.start_s, min(b.end_s, end), b.start_s) for b in blocks]
        out += retime_words(placed, pieces, first_block=n)
    out.sort(key=lambda w: (w.start_s, w.block))
    return out, blocks + blocks


def cut_cues(
    store: Store,
    pc: ProjectCut,
    voiceover_words: Sequence[VoiceoverWords] = (),
    params: CueParams = CueParams(),  # noqa: B008 (frozen)
) -> list[Cue]:
    """The subtitle cues of the cut (see :mod:`genesis_pipeline.stages.exports.cues`)."""
    words, blocks = cut_words(store, pc, voiceover_words)
    return layout_cues(words, blocks, params)


def youtube_check(pc: ProjectCut) -> YouTubeCheck:
    """The project's chapters on the cut against YouTube's rules, with the nearest valid merge."""
    return check_youtube(chapter_marks(pc.cut), pc.cut.duration_s)


@dataclass(frozen=True, slots=True)
class ExportPreview:
    """What the exports of the cut hold, at a glance (the Render page's Export section).

    Attributes:
        project_name: the project's name (export file names follow it).
        chapters: the cut's chapters on its clock.
        youtube: the chapters against YouTube's rules (problems, the nearest valid merge).
        youtube_block: what ``chapters-youtube`` writes (the merge when the rules are broken),
            None when no merge can meet them.
        cues: the first subtitle cues.
        cues_srt: those cues as the SubRip file shows them.
        cue_count: how many cues the subtitles have in all.
        narration_words: how many of the words are the narration's (voiceovers transcribed).
    """

    project_name: str
    duration_s: float
    chapters: tuple[ChapterMark, ...]
    youtube: YouTubeCheck
    youtube_block: str | None
    cues: tuple[Cue, ...]
    cues_srt: str
    cue_count: int
    narration_words: int


def export_preview(
    store: Store,
    pc: ProjectCut,
    voiceover_words: Sequence[VoiceoverWords] = (),
    params: CueParams = CueParams(),  # noqa: B008 (frozen)
    first: int = 6,
) -> ExportPreview:
    """The chapters, YouTube's verdict on them and the ``first`` cues of the cut's subtitles."""
    cues = cut_cues(store, pc, voiceover_words, params)
    check = youtube_check(pc)
    usable = check.usable
    return ExportPreview(
        project_name=pc.name,
        duration_s=pc.cut.duration_s,
        chapters=chapter_marks(pc.cut),
        youtube=check,
        youtube_block=youtube_block(usable) if usable is not None else None,
        cues=tuple(cues[:first]),
        cues_srt=to_srt(cues[:first], mark_uncertain=params.mark_uncertain),
        cue_count=len(cues),
        narration_words=sum(len(v.words) for v in voiceover_words),
    )


# -- building, caching, writing ------------------------------------------------------------------
def export_key(
    store: Store,
    pc: ProjectCut,
    fmt: str,
    voiceover_words: Sequence[VoiceoverWords],
    params: CueParams,
) -> str:
    """The export's cache key: its format and cue settings, the cut (media content, frames,
    times), scene captions and confidences, chapters, narration and (subtitles) the words."""
    kept = set(pc.cut.scene_ids)
    inputs: dict[str, Any] = {
        "name": pc.name,
        "segments": [
            (pc.cut.media_sha[int(s.media_key)], s.start_frame, s.end_frame, s.start_s, s.end_s)
            for s in pc.cut.segments
        ],
        "media": sorted((m.id, media_url(store, m)) for m in pc.media.values()),
        "scenes": [(s.id, serde.to_json(s.metadata)) for s in pc.scenes if s.id in kept],
        "chapters": [(c.title, c.start_s, c.end_s) for c in pc.cut.chapters],
        "narration": [
            (fingerprint(str(c.path)), c.path.stat().st_size, c.offset_s, c.gain, c.name)
            for c in pc.clips
        ],
        "narration_gain": pc.narration_gain,
        "comments": [serde.to_json(c) for c in pc.comments],
    }
    if fmt in SUBTITLE_EXPORTS:
        with store.db.read() as con:
            words = transcripts_sql.words_for_project(con, pc.project_id)
        inputs["words"] = fingerprint(
            words[["media_id", "word", "start_s", "end_s", "timing_uncertain"]].values.tolist()
        )
        inputs["voiceover_words"] = fingerprint([(str(v.path), v.words) for v in voiceover_words])
    return stage_key(STAGE, VERSION, {"format": fmt, "cues": params}, inputs)


def build_export(
    store: Store,
    project_id: int,
    fmt: str,
    *,
    voiceover_words: Sequence[VoiceoverWords] = (),
    cue_params: CueParams = CueParams(),  # noqa: B008 (frozen)
    out: Path | None = None,
) -> ExportResult:
    """Build (or take from the cache) export ``fmt`` of the project's approved cut, and write
    it to ``out`` (atomically) when given.

    Raises:
        InvalidSettingError: an unknown format, nothing approved, or (``chapters-youtube``)
            chapters no merge can make meet YouTube's rules.
        InvalidMediaError: a media or voiceover file is missing or unreadable.
        NotFoundError: no such project.
    """
    check_format(fmt)
    pc = load_project_cut(store, project_id)
    key = export_key(store, pc, fmt, voiceover_words, cue_params)
    file_name = export_file_name(pc.name, fmt)

    def load(d: Path) -> tuple[str, tuple[str, ...]]:
        notes = json.loads((d / "notes.json").read_text())
        return (d / "export").read_text(encoding="utf-8"), tuple(str(n) for n in notes)

    def compute(d: Path) -> dict[str, Any]:
        text, notes = _build(store, pc, fmt, voiceover_words, cue_params)
        (d / "export").write_text(text, encoding="utf-8")
        (d / "notes.json").write_text(json.dumps(list(notes)))
        return {"format": fmt, "project_id": project_id}

    cache = store.cache
    hit = cache.lookup(STAGE, key, load)
    if hit is None:
        (text, notes), cached = load(cache.store(STAGE, key, compute)), False
    else:
        (text, notes), cached = hit, True
    path = cache.entry(STAGE, key) / "export"
    if out is not None:
        path = write_bytes(Path(out), text.encode("utf-8"))
    return ExportResult(fmt, file_name, text, path, cached, notes)


def _build(
    store: Store,
    pc: ProjectCut,
    fmt: str,
    voiceover_words: Sequence[VoiceoverWords],
    params: CueParams,
) -> tuple[str, tuple[str, ...]]:
    if fmt in TIMELINE_EXPORTS:
        from genesis_pipeline.stages.exports.formats import write_timeline

        timeline = cut_timeline(store, pc)
        notes = []
        if any(c.variable_rate for c in timeline.clips):
            notes.append(
                "variable-rate footage is referenced at the standard rate it counts as, its "
                "source ranges on its presentation times"
            )
        return write_timeline(timeline, fmt), tuple(notes)
    if fmt in SUBTITLE_EXPORTS:
        cues = cut_cues(store, pc, voiceover_words, params)
        write = to_srt if fmt == "srt" else to_vtt
        return write(cues, mark_uncertain=params.mark_uncertain), ()
    if fmt == "chapters-vtt":
        return chapters_vtt(chapter_marks(pc.cut)), ()
    check = youtube_check(pc)
    if check.valid:
        return youtube_block(check.chapters), ()
    problems = "; ".join(check.problems)
    if check.merged is None:
        raise InvalidSettingError(
            "chapters",
            f"the project's chapters break YouTube's rules ({problems}) and no merge of them "
            f"meets them (the cut lasts {pc.cut.duration_s:.0f} s; YouTube needs at least "
            "three chapters of 10 s, the first at 0:00)",
        )
    titles = ", ".join(repr(c.title) for c in check.merged)
    return youtube_block(check.merged), (
        f"the project's chapters break YouTube's rules: {problems}",
        f"written instead: the nearest valid merge, {len(check.merged)} chapters ({titles})",
    )


def export_file_name(project_name: str, fmt: str, day: date | None = None) -> str:
    """The file name an export of ``fmt`` is offered under: the project and the date
    (``harbour-day-cut-2026-12-01.otio``).

    Raises:
        InvalidSettingError: ``fmt`` is not an export format.
    """
    return download_name(project_name, "cut", check_format(fmt).ending, day)


# -- timeline import ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SceneChange:
    scene_id: int
    label: str


@dataclass(frozen=True, slots=True)
class TimelineImport:
    """What importing an edited timeline does (``applied``: it has been done).

    Attributes:
        approve / reject: scenes whose status changes.
        kept: scenes the timeline keeps (approved after the import).
        unmapped: clips that could not be mapped one to one (trims inside a scene, clips
            spanning scenes, new media), with why; they change nothing of their own.
        reordered: the timeline's clip order differs from the cut's (an import does not
            change the order; the Cut order page does).
    """

    file: str
    clips: int
    kept: tuple[int, ...]
    approve: tuple[SceneChange, ...]
    reject: tuple[SceneChange, ...]
    unmapped: tuple[Unmapped, ...]
    reordered: bool
    applied: bool


def import_timeline_file(
    store: Store,
    project_id: int,
    name: str,
    data: bytes,
    *,
    apply: bool = False,
    actor: Actor,
) -> TimelineImport:
    """:func:`import_timeline` of an uploaded file: ``data`` named ``name`` (its ending says
    its format), kept in a temporary folder of the data dir for the import only.

    Raises:
        InvalidSettingError: not a timeline file, or its clips map to no scene of the project.
        InvalidMediaError: the file cannot be parsed, or a media file is unreadable.
        NotFoundError: no such project.
    """
    import tempfile

    from genesis_pipeline.files import tmp_prefix

    shown = Path(name).name or "timeline"
    folder = store.project_dir("artifacts", project_id)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{tmp_prefix()}timeline-", dir=folder) as d:
        path = Path(d) / shown
        path.write_bytes(data)
        report = import_timeline(store, project_id, path, apply=apply, actor=actor)
    return replace(report, file=shown)


def import_timeline(
    store: Store, project_id: int, path: Path, *, apply: bool = False, actor: Actor
) -> TimelineImport:
    """Map an edited timeline (``.otio``, ``.fcpxml``, ``.xml``, ``.edl``) onto the project's
    scenes: clips kept → approved, scenes without a clip → rejected. Nothing changes unless
    ``apply``.

    Raises:
        InvalidSettingError: not a timeline file, or its clips map to no scene of the project.
        InvalidMediaError: the file cannot be read or parsed, or a media file is unreadable.
        NotFoundError: no such project.
    """
    from genesis_pipeline.services.review import set_scene_status
    from genesis_pipeline.stages.exports.formats import read_timeline

    if apply:
        access.require(actor, "review", "scenes.import")
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        scenes = scenes_sql.scenes_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
        trims = review_sql.trims(con, project_id)
        order = read_order(con, project_id)
    if not scenes:
        raise InvalidSettingError(f"project {project_id}", "has no scenes to import onto")
    # Every scene in the cut's order over its kept range, as an export of the cut gives it: an
    # exported timeline imported unchanged maps clip for clip, in order.
    by_id = {s.id: s for s in scenes}
    ordered = [by_id[i] for i in order.scene_ids]
    segments = [
        scene_segment(store, s, media[s.media_id], trims.get((s.media_id, s.start_frame)))
        for s in ordered
    ]
    clips, plan = scene_clips(store, ordered, media, segments)
    timeline = read_timeline(Path(path), rate=Fraction(plan.rate))
    mapping = map_timeline(timeline, clips)
    if not mapping.kept:
        raise InvalidSettingError(
            str(path), "none of its clips maps to a scene of this project (nothing imported)"
        )
    status = {s.id: s.review_status for s in scenes}
    label = {c.scene_id: c.name for c in clips}
    approve = tuple(SceneChange(s, label[s]) for s in mapping.kept if status[s] != "approved")
    reject = tuple(SceneChange(s, label[s]) for s in mapping.dropped if status[s] != "rejected")
    note = f"timeline import {Path(path).name}"
    if apply:
        rejected = [c.scene_id for c in reject]
        approved = [c.scene_id for c in approve]
        set_scene_status(store, project_id, rejected, "rejected", actor=actor, note=note)
        set_scene_status(store, project_id, approved, "approved", actor=actor, note=note)
    log.info(
        "%s: %d clips, %d scenes kept, %d to approve, %d to reject, %d unmapped%s",
        note, mapping.clips, len(mapping.kept), len(approve), len(reject),
        len(mapping.unmapped), " (applied)" if apply else "",
    )  # fmt: skip
    return TimelineImport(
        file=str(path),
        clips=mapping.clips,
        kept=mapping.kept,
        approve=approve,
        reject=reject,
        unmapped=mapping.unmapped,
        reordered=mapping.reordered,
        applied=apply,
    )

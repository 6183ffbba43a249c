"""The approved cut: approved scenes in the cut's order (:mod:`.cut_order`), each over its kept
range (:func:`kept_range`: its frames, or a reviewer's trim), as segments; chapters and speech
on it."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from genesis_pipeline.services import cut_order
from genesis_pipeline.stages.timeline import CutSegment, cut_starts, map_intervals
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import cut_order as order_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.records import MediaFile, ReadModel, SceneRecord


@dataclass(frozen=True, slots=True)
class KeptRange:
    """The part of a scene the cut plays: source frames ``[start_frame, end_frame)`` and their
    times in the source."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def kept_range(scene: SceneRecord, fps: float, trim: tuple[int, int] | None) -> KeptRange:
    """A scene's kept range: its own frames, or a reviewer's in/out points (whole frames
    within the scene, ``trim`` as ``(in frame, out frame)``). The one place the cut, the
    chapters of the cut, the exports and the pages take a scene's length from."""
    if trim is None:
        return KeptRange(scene.start_frame, scene.end_frame, scene.start_s, scene.end_s)
    first, last = trim
    start_s = scene.start_s + (first - scene.start_frame) / fps
    end_s = min(scene.end_s, scene.start_s + (last - scene.start_frame) / fps)
    return KeptRange(first, last, start_s, end_s)


def scene_fps(scene: SceneRecord, media: MediaFile) -> float:
    """The frame rate a scene's frames count in: its file's, else its own frames over time."""
    if media.fps:
        return float(media.fps)
    frames = scene.end_frame - scene.start_frame
    return frames / max(scene.end_s - scene.start_s, 1e-9) if frames > 0 else 25.0


def scene_segment(
    store: Store, scene: SceneRecord, media: MediaFile, trim: tuple[int, int] | None = None
) -> CutSegment:
    """A scene's kept range (:func:`kept_range`) as a segment of the cut."""
    fps = scene_fps(scene, media)
    kept = kept_range(scene, fps, trim)
    return CutSegment(
        media_key=scene.media_id,
        media_path=store.absolute(media.path),
        start_frame=kept.start_frame,
        end_frame=kept.end_frame,
        fps=fps,
        start_s=kept.start_s,
        end_s=kept.end_s,
        has_audio=media.has_audio,
        width=media.width,
        height=media.height,
    )


@dataclass(frozen=True, slots=True)
class CutChapterSpan(ReadModel):
    """A chapter on the cut's timeline (where its approved scenes fall)."""

    index: int
    chapter_id: int
    title: str
    start_s: float  # on the cut timeline
    end_s: float


@dataclass(frozen=True, slots=True)
class CutPlan:
    """What a render would contain."""

    segments: tuple[CutSegment, ...]  # one per approved scene (not merged)
    scene_ids: tuple[int, ...]
    chapters: tuple[CutChapterSpan, ...]
    speech: tuple[tuple[float, float], ...]  # on-camera speech, cut timeline
    media_sha: dict[int, str]
    total_scenes: int
    media_bytes_per_s: dict[int, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)


def load_cut(store: Store, project_id: int) -> CutPlan:
    """Build the cut from approved scenes (every scene is approved until a reviewer rejects it)
    in the cut's order, each over its kept range."""
    with store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
        chapters = chapters_sql.chapters_for_project(con, project_id)
        words = transcripts_sql.word_timings_for_project(con, project_id)
        trims = review_sql.trims(con, project_id)
        order = cut_order.order_from(
            scenes,
            chapters,
            order_sql.positions(con, project_id, "scene"),
            order_sql.positions(con, project_id, "chapter"),
        )
    by_id = {s.id: s for s in scenes}
    segments: list[CutSegment] = []
    ids: list[int] = []
    for sid in order.scene_ids:
        scene = by_id[sid]
        if scene.review_status != "approved":
            continue
        trim = trims.get((scene.media_id, scene.start_frame))
        segments.append(scene_segment(store, scene, media[scene.media_id], trim))
        ids.append(scene.id)
    starts = cut_starts(segments)
    pos = {sid: (start, seg) for sid, start, seg in zip(ids, starts, segments, strict=True)}
    spans = []
    for ch in chapters:
        kept = [pos[s] for s in ch.scene_ids if s in pos]
        if not kept:
            continue
        spans.append(
            CutChapterSpan(
                index=ch.idx,
                chapter_id=ch.id,
                title=ch.title,
                start_s=min(s for s, _ in kept),
                end_s=max(s + seg.duration_s for s, seg in kept),
            )
        )
    spans.sort(key=lambda c: c.start_s)
    speech: list[tuple[float, float]] = []
    for media_id, group in itertools.groupby(words, key=lambda w: w.media_id):
        speech += map_intervals(segments, media_id, ((w.start_s, w.end_s) for w in group))
    speech.sort()
    return CutPlan(
        segments=tuple(segments),
        scene_ids=tuple(ids),
        chapters=tuple(spans),
        speech=tuple(speech),
        media_sha={k: m.sha256 for k, m in media.items()},
        media_bytes_per_s={k: m.bytes_per_s for k, m in media.items()},
        total_scenes=len(scenes),
    )


def scene_status_counts(store: Store, project_id: int) -> dict[str, int]:
    """How many scenes are approved and rejected (empty without scenes)."""
    with store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, project_id)
    return dict(Counter(s.review_status for s in scenes))

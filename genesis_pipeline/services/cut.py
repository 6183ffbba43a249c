"""The approved cut: approved scenes in project order as segments, chapters and speech on it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from genesis_pipeline.stages.timeline import CutSegment, cut_starts, map_intervals
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.records import ReadModel


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
    """Build the cut from approved scenes (every scene is approved until a reviewer rejects it)."""
    with store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
        chapters = chapters_sql.chapters_for_project(con, project_id)
        words = transcripts_sql.words_for_project(con, project_id)
        trims = review_sql.trims(con, project_id)
    segments: list[CutSegment] = []
    ids: list[int] = []
    for scene in scenes:
        if scene.review_status != "approved":
            continue
        m = media[scene.media_id]
        fps = float(m.fps)  # type: ignore[arg-type]  # scenes exist for video only
        start_frame, end_frame = scene.start_frame, scene.end_frame
        start_s, end_s = scene.start_s, scene.end_s
        trim = trims.get((scene.media_id, scene.start_frame))
        if trim is not None:  # a reviewer's in/out points, whole frames within the scene
            start_frame, end_frame = trim
            start_s = scene.start_s + (start_frame - scene.start_frame) / fps
            end_s = min(scene.end_s, scene.start_s + (end_frame - scene.start_frame) / fps)
        segments.append(
            CutSegment(
                media_key=scene.media_id,
                media_path=store.absolute(m.path),
                start_frame=start_frame,
                end_frame=end_frame,
                fps=fps,
                start_s=start_s,
                end_s=end_s,
                has_audio=m.has_audio,
                width=m.width,
                height=m.height,
            )
        )
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
    speech: list[tuple[float, float]] = []
    for media_id, group in words.groupby("media_id"):
        speech += map_intervals(
            segments,
            int(media_id),
            zip(group.start_s.astype(float), group.end_s.astype(float), strict=True),
        )
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

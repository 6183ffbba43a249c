"""The approved cut: approved scenes in project order as segments, chapters and speech on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genesis_pipeline.stages.timeline import CutSegment, cut_starts, map_intervals
from genesis_pipeline.store import Store
from genesis_pipeline.store import results as results_sql


@dataclass(frozen=True, slots=True)
class CutChapterSpan:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "scenes": len(self.segments),
            "total_scenes": self.total_scenes,
            "chapters": [_span(c) for c in self.chapters],
        }


def _span(c: CutChapterSpan) -> dict[str, Any]:
    return {
        "index": c.index,
        "chapter_id": c.chapter_id,
        "title": c.title,
        "start_s": c.start_s,
        "end_s": c.end_s,
    }


def load_cut(store: Store, project_id: int) -> CutPlan:
    """Build the cut from approved scenes (every scene is approved until a reviewer rejects it)."""
    with store.db.read() as con:
        scenes = results_sql.scenes_for_project(con, project_id)
        media = {
            int(r[0]): r[1:]
            for r in con.execute(
                "SELECT id, path, fps, has_audio, width, height, sha256,"
                " size_bytes / greatest(duration_s, 0.001) FROM media_files"
                " WHERE project_id = ?",
                [project_id],
            ).fetchall()
        }
        chapters = results_sql.chapters_for_project(con, project_id)
        words = results_sql.words_for_project(con, project_id)
    segments: list[CutSegment] = []
    ids: list[int] = []
    for row in scenes.itertuples():
        if row.review_status != "approved":
            continue
        path, fps, has_audio, w, h, _sha, _rate = media[int(row.media_id)]
        segments.append(
            CutSegment(
                media_key=int(row.media_id),
                media_path=store.absolute(path),
                start_frame=int(row.start_frame),
                end_frame=int(row.end_frame),
                fps=float(fps),
                start_s=float(row.start_s),
                end_s=float(row.end_s),
                has_audio=bool(has_audio),
                width=w,
                height=h,
            )
        )
        ids.append(int(row.id))
    starts = cut_starts(segments)
    pos = {sid: (start, seg) for sid, start, seg in zip(ids, starts, segments, strict=True)}
    spans = []
    for ch in chapters:
        kept = [pos[s] for s in ch["scene_ids"] if s in pos]
        if not kept:
            continue
        spans.append(
            CutChapterSpan(
                index=int(ch["idx"]),
                chapter_id=int(ch["id"]),
                title=str(ch["title"]),
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
        media_sha={k: v[5] for k, v in media.items()},
        media_bytes_per_s={k: float(v[6]) for k, v in media.items()},
        total_scenes=len(scenes),
    )


def scene_status_counts(store: Store, project_id: int) -> dict[str, int]:
    with store.db.read() as con:
        df = results_sql.scenes_for_project(con, project_id)
    counts = df.review_status.value_counts().to_dict() if not df.empty else {}
    return {str(k): int(v) for k, v in counts.items()}

"""Tables for the review app and notebooks: one read transaction, a DataFrame out.

The frames are built from the store's typed records. Pages cache them with ``st.cache_data``
keyed on :func:`~genesis_pipeline.services.projects.project_revision`; the filtering, sorting
and paging on top are pure pandas in :mod:`genesis_pipeline.services.scene_browser`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pandas as pd

from genesis_pipeline.services import cut_order
from genesis_pipeline.services.cut import kept_range, scene_fps
from genesis_pipeline.services.documents import media_doc
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.records import TranscriptSummaryRow

SCENE_COLUMNS = [
    "id",
    "media_id",
    "media_name",
    "media_position",
    "idx",
    "start_frame",
    "end_frame",
    "start_s",
    "end_s",
    "duration_s",
    "timeline_start_s",
    "timeline_end_s",
    "preview_path",
    "preview_paths",
    "caption",
    "cut_score",
    "detection_confidence",
    "caption_confidence",
    "transcript_confidence",
    "word_count",
    "review_status",
    "reviewed",
    "chapter_idx",
    "chapter_title",
    "transition",
    "transition_start_s",
    "transition_end_s",
    "kept_start_s",
    "kept_end_s",
    "kept_s",
    "trimmed",
    "cut_position",
]
SEGMENT_COLUMNS = [
    "media_id",
    "media_name",
    "language",
    "model",
    "index",
    "start",
    "end",
    "text",
    "avg_logprob",
    "no_speech_prob",
]
TRANSCRIPT_SUMMARY_COLUMNS = [f.name for f in dataclasses.fields(TranscriptSummaryRow)]


def media_table(store: Store, project_id: int) -> pd.DataFrame:
    """Media files in project order with what was probed (absolute paths)."""
    with store.db.read() as con:
        media = media_sql.list_for_project(con, project_id)
    rows = []
    for m in media:
        row = dataclasses.asdict(media_doc(m))
        row["created_at"] = m.created_at.isoformat()
        row["path"] = store.location(m.path)
        rows.append(row)
    return pd.DataFrame(rows)


def _shown(store: Store) -> Callable[[str], str]:
    """What a page shows for a recorded file: ``str(store.absolute(recorded))`` without building
    Path objects (thousands per table), or with S3 storage a presigned URL."""
    if store.remote:
        return store.display_url
    home = str(store.home)
    return lambda recorded: os.path.join(home, recorded)


def scenes_table(store: Store, project_id: int) -> pd.DataFrame:
    """Every scene with its confidences, review status and chapter, in project order.

    ``timeline_start_s`` places scenes on the project timeline (media laid end to end);
    ``kept_*`` is the part the cut plays (:func:`~genesis_pipeline.services.cut.kept_range`:
    the scene, or a reviewer's trim) and ``cut_position`` the scene's place in the cut's order
    (0-based, rejected scenes included).
    """
    with store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
        offsets = media_sql.timeline_offsets(con, project_id)
        chapters = chapters_sql.chapter_of_scenes(con, project_id)
        trims = review_sql.trims(con, project_id)
        order = cut_order.read_order(con, project_id)
    names = {k: m.original_name for k, m in media.items()}
    if not scenes:
        return pd.DataFrame(columns=SCENE_COLUMNS)
    shown = _shown(store)
    out = pd.DataFrame(
        {
            "id": [s.id for s in scenes],
            "media_id": [s.media_id for s in scenes],
            "media_name": [names.get(s.media_id, "") for s in scenes],
            "media_position": [s.media_position for s in scenes],
            "idx": [s.idx for s in scenes],
            "start_frame": [s.start_frame for s in scenes],
            "end_frame": [s.end_frame for s in scenes],
            "start_s": [s.start_s for s in scenes],
            "end_s": [s.end_s for s in scenes],
        }
    )
    for col in ("id", "media_id", "media_position", "idx", "start_frame", "end_frame"):
        out[col] = out[col].astype(int)
    for col in ("start_s", "end_s"):
        out[col] = out[col].astype(float)
    out["duration_s"] = out.end_s - out.start_s
    off = out.media_id.map(offsets).fillna(0.0)
    out["timeline_start_s"] = out.start_s + off
    out["timeline_end_s"] = out.end_s + off
    out["preview_path"] = [shown(s.preview_path) if s.preview_path else None for s in scenes]
    out["preview_paths"] = [[shown(p) for p in s.metadata.previews] for s in scenes]
    out["caption"] = [s.metadata.caption for s in scenes]
    out["cut_score"] = [s.metadata.detection.cut_score for s in scenes]
    out["detection_confidence"] = [s.metadata.detection.confidence for s in scenes]
    out["caption_confidence"] = [s.metadata.caption_confidence for s in scenes]
    out["transcript_confidence"] = [s.metadata.transcript_confidence for s in scenes]
    out["word_count"] = [int(s.metadata.word_count or 0) for s in scenes]
    out["review_status"] = [s.review_status for s in scenes]
    out["reviewed"] = [s.reviewed for s in scenes]
    out["review_status"] = out.review_status.astype(str)
    out["reviewed"] = out.reviewed.astype(bool)
    out["chapter_idx"] = [chapters.get(s.id, (None, None))[0] for s in scenes]
    out["chapter_title"] = [chapters.get(s.id, (None, None))[1] for s in scenes]
    # The boundary the scene starts with, as people name it: cut, dissolve, fade, wipe, or
    # gradual (a detector that does not tell); None for a file's first scene.
    out["transition"] = [
        s.metadata.detection.transition_style or s.metadata.detection.transition for s in scenes
    ]
    out["transition_start_s"] = [s.metadata.detection.transition_start_s for s in scenes]
    out["transition_end_s"] = [s.metadata.detection.transition_end_s for s in scenes]
    for col in (
        "cut_score",
        "detection_confidence",
        "caption_confidence",
        "transcript_confidence",
        "transition_start_s",
        "transition_end_s",
    ):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    kept = [
        kept_range(s, scene_fps(s, media[s.media_id]), trims.get((s.media_id, s.start_frame)))
        for s in scenes
    ]
    out["kept_start_s"] = [float(k.start_s) for k in kept]
    out["kept_end_s"] = [float(k.end_s) for k in kept]
    out["kept_s"] = out.kept_end_s - out.kept_start_s
    out["trimmed"] = [(s.media_id, s.start_frame) in trims for s in scenes]
    place = {sid: i for i, sid in enumerate(order.scene_ids)}
    out["cut_position"] = [place[s.id] for s in scenes]
    return out[SCENE_COLUMNS].reset_index(drop=True)


def transcript_tables(store: Store, project_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(segments, words) of every transcript in the project.

    segments: media_id, media_name, index, start, end, text, avg_logprob, no_speech_prob,
    mean_probability; words: media_id, idx, word, start_s, end_s, probability, segment_idx,
    timing_uncertain.
    """
    with store.db.read() as con:
        transcripts = transcripts_sql.transcripts_for_project(con, project_id)
        words = transcripts_sql.words_for_project(con, project_id)
    rows: list[dict[str, object]] = []
    for t in transcripts:
        for seg in t.segments:
            rows.append(
                {
                    "media_id": t.media_id,
                    "media_name": t.media_name,
                    "language": t.language,
                    "model": t.model,
                    # Segments without an index (none from the transcribe stage) count on.
                    "index": seg.index if seg.index is not None else len(rows),
                    "start": float(seg.start),
                    "end": float(seg.end),
                    "text": seg.text.strip(),
                    "avg_logprob": seg.avg_logprob,
                    "no_speech_prob": seg.no_speech_prob,
                }
            )
    segments = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    if not segments.empty and not words.empty:
        means = words.groupby(["media_id", "segment_idx"]).probability.mean()
        segments["mean_probability"] = [
            means.get((m, i)) for m, i in zip(segments.media_id, segments["index"], strict=True)
        ]
    else:
        segments["mean_probability"] = pd.Series(dtype=float)
    return segments, words


def transcript_summary(store: Store, project_id: int) -> pd.DataFrame:
    """One row per media file, in project order: whether it was transcribed and what came out.

    ``transcribed`` is False until a run has transcribed the file; ``segments``/``words`` are 0 for
    a file without speech (or without an audio track: see ``has_audio``); ``mean_probability`` is
    the mean word probability (NaN without words).
    """
    with store.db.read() as con:
        rows = transcripts_sql.transcript_summary(con, project_id)
    out = pd.DataFrame([dataclasses.astuple(r) for r in rows], columns=TRANSCRIPT_SUMMARY_COLUMNS)
    out["path"] = [store.location(p) for p in out.path]
    for col in ("has_audio", "has_video", "transcribed"):
        out[col] = out[col].astype(bool)
    for col in ("segments", "words"):
        out[col] = out[col].astype(int)
    out["mean_probability"] = pd.to_numeric(out.mean_probability, errors="coerce")
    return out

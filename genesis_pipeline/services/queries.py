"""Read models for the review app and notebooks: one read transaction, a DataFrame out.

Pages cache these with ``st.cache_data`` keyed on :func:`project_revision`; the filtering, sorting
and paging on top are pure pandas in :mod:`genesis_pipeline.services.scene_browser`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import results as results_sql

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
]


def media_table(store: Store, project_id: int) -> pd.DataFrame:
    """Media files in project order with what was probed."""
    with store.db.read() as con:
        media = media_sql.list_for_project(con, project_id)
    rows = []
    for m in media:
        d = m.to_dict()
        d["path"] = str(store.absolute(m.path))
        rows.append(d)
    return pd.DataFrame(rows)


def _absolute(home: str, recorded: str) -> str:
    """``str(store.absolute(recorded))`` without building Path objects (thousands per table)."""
    return os.path.join(home, recorded)


def scenes_table(store: Store, project_id: int) -> pd.DataFrame:
    """Every scene with its confidences, review status and chapter, in project order.

    ``timeline_start_s`` places scenes on the project timeline (media laid end to end).
    """
    with store.db.read() as con:
        df = results_sql.scenes_for_project(con, project_id)
        names = dict(
            con.execute(
                "SELECT id, original_name FROM media_files WHERE project_id = ?", [project_id]
            ).fetchall()
        )
        durations = con.execute(
            "SELECT id, duration_s FROM media_files WHERE project_id = ? AND has_video"
            " ORDER BY position, id",
            [project_id],
        ).fetchall()
        chapters = con.execute(
            "SELECT sc.scene_id, c.idx, c.title FROM scene_chapters sc"
            " JOIN chapters c ON c.id = sc.chapter_id WHERE sc.project_id = ?",
            [project_id],
        ).fetchall()
    if df.empty:
        return pd.DataFrame(columns=SCENE_COLUMNS)
    offsets, t = {}, 0.0
    for mid, dur in durations:
        offsets[int(mid)] = t
        t += float(dur)
    meta = [json.loads(m or "{}") for m in df.metadata_json]
    out = pd.DataFrame(
        {
            "id": df.id.astype(int),
            "media_id": df.media_id.astype(int),
            "media_name": [names.get(int(m), "") for m in df.media_id],
            "media_position": df.media_position.astype(int),
            "idx": df.idx.astype(int),
            "start_frame": df.start_frame.astype(int),
            "end_frame": df.end_frame.astype(int),
            "start_s": df.start_s.astype(float),
            "end_s": df.end_s.astype(float),
        }
    )
    out["duration_s"] = out.end_s - out.start_s
    off = out.media_id.map(offsets).fillna(0.0)
    out["timeline_start_s"] = out.start_s + off
    out["timeline_end_s"] = out.end_s + off
    home = str(store.home)
    out["preview_path"] = [_absolute(home, p) if p else None for p in df.preview_path]
    out["preview_paths"] = [[_absolute(home, p) for p in m.get("previews", [])] for m in meta]
    out["caption"] = [m.get("caption") for m in meta]
    out["cut_score"] = [m.get("detection", {}).get("cut_score") for m in meta]
    out["detection_confidence"] = [m.get("detection", {}).get("confidence") for m in meta]
    out["caption_confidence"] = [m.get("caption_confidence") for m in meta]
    out["transcript_confidence"] = [m.get("transcript_confidence") for m in meta]
    out["word_count"] = [int(m.get("word_count") or 0) for m in meta]
    out["review_status"] = df.review_status.astype(str)
    out["reviewed"] = df.reviewed.astype(bool)
    ch = {int(s): (int(i), str(t)) for s, i, t in chapters}
    out["chapter_idx"] = [ch.get(int(s), (None, None))[0] for s in out.id]
    out["chapter_title"] = [ch.get(int(s), (None, None))[1] for s in out.id]
    for col in ("cut_score", "detection_confidence", "caption_confidence", "transcript_confidence"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out[SCENE_COLUMNS].reset_index(drop=True)


def transcript_tables(store: Store, project_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(segments, words) of every transcript in the project.

    segments: media_id, media_name, index, start, end, text, avg_logprob, no_speech_prob,
    mean_probability; words: media_id, idx, word, start_s, end_s, probability, segment_idx.
    """
    with store.db.read() as con:
        rows = con.execute(
            "SELECT t.media_id, m.original_name, t.segments_json, t.language, t.model"
            " FROM transcripts t JOIN media_files m ON m.id = t.media_id"
            " WHERE t.project_id = ? ORDER BY m.position, m.id",
            [project_id],
        ).fetchall()
        words = results_sql.words_for_project(con, project_id)
    seg_rows: list[dict[str, Any]] = []
    for media_id, name, segments_json, language, model in rows:
        for seg in json.loads(segments_json or "[]"):
            seg_rows.append(
                {
                    "media_id": int(media_id),
                    "media_name": name,
                    "language": language,
                    "model": model,
                    "index": int(seg.get("index", len(seg_rows))),
                    "start": float(seg["start"]),
                    "end": float(seg["end"]),
                    "text": str(seg["text"]).strip(),
                    "avg_logprob": seg.get("avg_logprob"),
                    "no_speech_prob": seg.get("no_speech_prob"),
                }
            )
    segments = pd.DataFrame(
        seg_rows,
        columns=[
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
        ],
    )
    if not segments.empty and not words.empty:
        means = words.groupby(["media_id", "segment_idx"]).probability.mean()
        segments["mean_probability"] = [
            means.get((m, i)) for m, i in zip(segments.media_id, segments["index"], strict=True)
        ]
    else:
        segments["mean_probability"] = pd.Series(dtype=float)
    return segments, words


TRANSCRIPT_SUMMARY_COLUMNS = [
    "media_id",
    "media_name",
    "path",
    "has_audio",
    "has_video",
    "duration_s",
    "transcribed",
    "language",
    "language_probability",
    "model",
    "segments",
    "words",
    "mean_probability",
]


def transcript_summary(store: Store, project_id: int) -> pd.DataFrame:
    """One row per media file, in project order: whether it was transcribed and what came out.

    ``transcribed`` is False until a run has transcribed the file; ``segments``/``words`` are 0 for
    a file without speech (or without an audio track: see ``has_audio``); ``mean_probability`` is
    the mean word probability (NaN without words).
    """
    with store.db.read() as con:
        rows = con.execute(
            """
            SELECT m.id, m.original_name, m.path, m.has_audio, m.has_video, m.duration_s,
                   t.id IS NOT NULL, t.language, t.language_probability, t.model,
                   coalesce(json_array_length(t.segments_json), 0),
                   (SELECT count(*) FROM transcript_words w WHERE w.transcript_id = t.id),
                   (SELECT avg(w.probability) FROM transcript_words w
                     WHERE w.transcript_id = t.id)
            FROM media_files m LEFT JOIN transcripts t ON t.media_id = m.id
            WHERE m.project_id = ? ORDER BY m.position, m.id
            """,
            [project_id],
        ).fetchall()
    out = pd.DataFrame(rows, columns=TRANSCRIPT_SUMMARY_COLUMNS)
    out["path"] = [str(store.absolute(p)) for p in out.path]
    for col in ("has_audio", "has_video", "transcribed"):
        out[col] = out[col].astype(bool)
    for col in ("segments", "words"):
        out[col] = out[col].astype(int)
    out["mean_probability"] = pd.to_numeric(out.mean_probability, errors="coerce")
    return out

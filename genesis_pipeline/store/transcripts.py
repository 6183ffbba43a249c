"""transcripts and transcript_words tables.

A writer replaces one media file's transcript in the caller's transaction, and is skipped by
the transcribe step when the stored ``cache_key`` already matches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.store.frames import insert_frame
from genesis_pipeline.store.records import (
    SegmentRecord,
    TranscriptRecord,
    TranscriptSummaryRow,
    WordTiming,
)

if TYPE_CHECKING:
    import pandas as pd
    from duckdb import DuckDBPyConnection as Connection


def transcript_key(con: Connection, media_id: int) -> str | None:
    row = con.execute("SELECT cache_key FROM transcripts WHERE media_id = ?", [media_id]).fetchone()
    return str(row[0]) if row else None


def replace_transcript(
    con: Connection,
    *,
    project_id: int,
    media_id: int,
    run_id: int | None,
    cache_key: str,
    transcript: Mapping[str, Any],
    artifact_path: str,
) -> int:
    """Store a transcript (the transcribe stage's JSON form) and its words for one media file;
    returns the transcript's id."""
    import pandas as pd

    old = con.execute("SELECT id FROM transcripts WHERE media_id = ?", [media_id]).fetchall()
    for (tid,) in old:
        con.execute("DELETE FROM transcript_words WHERE transcript_id = ?", [tid])
    con.execute("DELETE FROM transcripts WHERE media_id = ?", [media_id])
    row = con.execute(
        """
        INSERT INTO transcripts (project_id, media_id, run_id, cache_key, language,
            language_probability, model, text, duration_s, segments_json, params_json,
            artifact_path)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
        """,
        [
            project_id,
            media_id,
            run_id,
            cache_key,
            transcript.get("language", ""),
            transcript.get("language_probability"),
            transcript.get("model", ""),
            transcript.get("text", ""),
            transcript.get("duration_s"),
            json.dumps(transcript.get("segments", [])),
            json.dumps(transcript.get("params", {})),
            artifact_path,
        ],
    ).fetchone()
    assert row is not None
    tid = int(row[0])
    words = transcript.get("words", [])
    df = pd.DataFrame(
        {
            "transcript_id": [tid] * len(words),
            "project_id": [project_id] * len(words),
            "media_id": [media_id] * len(words),
            "idx": list(range(len(words))),
            "word": [str(w["word"]) for w in words],
            "start_s": [float(w["start"]) for w in words],
            "end_s": [float(w["end"]) for w in words],
            "probability": [float(w["probability"]) for w in words],
            "segment_idx": [int(w.get("segment", 0)) for w in words],
            "timing_uncertain": [bool(w.get("timing_uncertain", False)) for w in words],
        }
    )
    insert_frame(con, "transcript_words", df)
    return tid


def words_for_project(con: Connection, project_id: int) -> pd.DataFrame:
    """Every word of the project (media_id, idx, word, start_s, end_s, probability,
    segment_idx, timing_uncertain), by media file and order."""
    return con.execute(
        "SELECT media_id, idx, word, start_s, end_s, probability, segment_idx,"
        " timing_uncertain"
        " FROM transcript_words WHERE project_id = ? ORDER BY media_id, idx",
        [project_id],
    ).df()


def word_timings_for_project(con: Connection, project_id: int) -> list[WordTiming]:
    """Every word of the project with its times, by media file and order (no data frame:
    callers that only walk the words need not import pandas)."""
    rows = con.execute(
        "SELECT media_id, word, start_s, end_s FROM transcript_words WHERE project_id = ?"
        " ORDER BY media_id, idx",
        [project_id],
    ).fetchall()
    return [WordTiming(int(m), str(w), float(s), float(e)) for m, w, s, e in rows]


def word_confidence_in_scenes(
    con: Connection, scene_ids: Sequence[int]
) -> dict[int, tuple[int, float | None]]:
    """For each scene: how many words of its file's transcript have their midpoint inside it
    (start inclusive, end exclusive) and their mean probability (``None`` without words)."""
    rows = con.execute(
        """
        SELECT s.id, count(w.idx), avg(w.probability)
        FROM scenes s
        LEFT JOIN transcript_words w ON w.media_id = s.media_id
            AND (w.start_s + w.end_s) / 2 >= s.start_s AND (w.start_s + w.end_s) / 2 < s.end_s
        WHERE s.id IN (SELECT unnest(?::BIGINT[]))
        GROUP BY s.id
        """,
        [list(scene_ids)],
    ).fetchall()
    return {int(sid): (int(n), float(mean) if n else None) for sid, n, mean in rows}


def models_for_project(con: Connection, project_id: int) -> dict[int, str]:
    """The model identity each media file's transcript was made with, by media id."""
    rows = con.execute(
        "SELECT media_id, model FROM transcripts WHERE project_id = ?", [project_id]
    ).fetchall()
    return {int(media_id): str(model) for media_id, model in rows}


def transcripts_for_project(con: Connection, project_id: int) -> list[TranscriptRecord]:
    """Every transcript of the project in project order (media position), with its segments."""
    rows = con.execute(
        "SELECT t.media_id, m.original_name, t.language, t.language_probability, t.model,"
        " t.text, t.duration_s, t.segments_json"
        " FROM transcripts t JOIN media_files m ON m.id = t.media_id"
        " WHERE t.project_id = ? ORDER BY m.position, m.id",
        [project_id],
    ).fetchall()
    return [
        TranscriptRecord(
            media_id=int(media_id),
            media_name=str(name),
            language=str(language),
            language_probability=probability,
            model=str(model),
            text=str(text),
            duration_s=duration,
            segments=serde.from_json(tuple[SegmentRecord, ...], json.loads(segments or "[]")),
        )
        for media_id, name, language, probability, model, text, duration, segments in rows
    ]


def transcript_summary(con: Connection, project_id: int) -> list[TranscriptSummaryRow]:
    """One row per media file in project order: whether it was transcribed and what came out
    (``mean_probability`` None without words)."""
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
    return [TranscriptSummaryRow(*row) for row in rows]

"""Stage results in the store: transcripts + words, scenes, chapters.

Each writer replaces one media file's (or one project's) rows in the caller's transaction, and is
skipped by the orchestrator when the stored ``cache_key`` already matches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _insert_df(con: Any, table: str, df: pd.DataFrame) -> None:
    if df.empty:
        return
    con.register("_genesis_rows", df)
    try:
        cols = ", ".join(df.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _genesis_rows")
    finally:
        con.unregister("_genesis_rows")


# -- transcripts --------------------------------------------------------------------------------
def transcript_key(con: Any, media_id: int) -> str | None:
    row = con.execute("SELECT cache_key FROM transcripts WHERE media_id = ?", [media_id]).fetchone()
    return row[0] if row else None


def replace_transcript(
    con: Any,
    *,
    project_id: int,
    media_id: int,
    run_id: int | None,
    cache_key: str,
    transcript: dict[str, Any],
    artifact_path: str,
) -> int:
    """Store a transcript (``Transcript.to_json()`` shape) and its words for one media file."""
    import pandas as pd

    old = con.execute("SELECT id FROM transcripts WHERE media_id = ?", [media_id]).fetchall()
    for (tid,) in old:
        con.execute("DELETE FROM transcript_words WHERE transcript_id = ?", [tid])
    con.execute("DELETE FROM transcripts WHERE media_id = ?", [media_id])
    tid = con.execute(
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
    ).fetchone()[0]
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
        }
    )
    _insert_df(con, "transcript_words", df)
    return int(tid)


def words_for_project(con: Any, project_id: int) -> pd.DataFrame:
    return con.execute(
        "SELECT media_id, idx, word, start_s, end_s, probability, segment_idx"
        " FROM transcript_words WHERE project_id = ? ORDER BY media_id, idx",
        [project_id],
    ).df()


# -- scenes -------------------------------------------------------------------------------------
def scene_key(con: Any, media_id: int) -> str | None:
    row = con.execute(
        "SELECT any_value(cache_key) FROM scenes WHERE media_id = ?", [media_id]
    ).fetchone()
    return row[0] if row else None


def replace_scenes(
    con: Any, *, project_id: int, media_id: int, cache_key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Replace one media file's scenes; rows carry idx, frames, times, preview_path, metadata."""
    import pandas as pd

    ids = [
        r[0] for r in con.execute("SELECT id FROM scenes WHERE media_id = ?", [media_id]).fetchall()
    ]
    if ids:
        con.execute(
            "DELETE FROM scene_chapters WHERE scene_id IN (SELECT unnest(?::BIGINT[]))", [ids]
        )
    con.execute("DELETE FROM scenes WHERE media_id = ?", [media_id])
    df = pd.DataFrame(
        {
            "project_id": [project_id] * len(rows),
            "media_id": [media_id] * len(rows),
            "idx": [int(r["idx"]) for r in rows],
            "start_frame": [int(r["start_frame"]) for r in rows],
            "end_frame": [int(r["end_frame"]) for r in rows],
            "start_s": [float(r["start_s"]) for r in rows],
            "end_s": [float(r["end_s"]) for r in rows],
            "preview_path": [r.get("preview_path") for r in rows],
            "cache_key": [cache_key] * len(rows),
            "metadata_json": [json.dumps(r.get("metadata", {})) for r in rows],
        }
    )
    _insert_df(con, "scenes", df)


def scenes_for_project(con: Any, project_id: int) -> pd.DataFrame:
    """All scenes in project order with media position and review status (default approved)."""
    return con.execute(
        """
        SELECT s.id, s.media_id, m.position AS media_position, s.idx, s.start_frame, s.end_frame,
               s.start_s, s.end_s, s.preview_path, s.metadata_json,
               coalesce(r.status, 'approved') AS review_status, r.status IS NOT NULL AS reviewed
        FROM scenes s
        JOIN media_files m ON m.id = s.media_id
        LEFT JOIN scene_reviews r ON r.media_id = s.media_id AND r.start_frame = s.start_frame
        WHERE s.project_id = ?
        ORDER BY m.position, s.media_id, s.idx
        """,
        [project_id],
    ).df()


def merge_scene_metadata(con: Any, updates: dict[int, dict[str, Any]]) -> None:
    """Merge each dict into its scene's ``metadata_json`` (keys with None are removed)."""
    import pandas as pd

    if not updates:
        return
    ids = list(updates)
    current = dict(
        con.execute(
            "SELECT id, metadata_json FROM scenes WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids]
        ).fetchall()
    )
    merged = []
    for sid, change in updates.items():
        meta = json.loads(current.get(sid) or "{}")
        for k, v in change.items():
            if v is None:
                meta.pop(k, None)
            else:
                meta[k] = v
        merged.append(json.dumps(meta))
    df = pd.DataFrame({"id": ids, "meta": merged})
    con.register("_genesis_meta", df)
    try:
        con.execute(
            "UPDATE scenes SET metadata_json = _genesis_meta.meta FROM _genesis_meta"
            " WHERE scenes.id = _genesis_meta.id"
        )
    finally:
        con.unregister("_genesis_meta")


# -- chapters -----------------------------------------------------------------------------------
def chapters_key(con: Any, project_id: int) -> str | None:
    row = con.execute(
        "SELECT any_value(cache_key) FROM chapters WHERE project_id = ?", [project_id]
    ).fetchone()
    return row[0] if row else None


def replace_chapters(
    con: Any,
    *,
    project_id: int,
    rules_version: int,
    cache_key: str,
    chapters: Sequence[dict[str, Any]],
) -> None:
    """Replace the project's chapters; each dict has idx, title, start_s, end_s, reasons,
    scene_ids and title_edited."""
    import pandas as pd

    con.execute("DELETE FROM scene_chapters WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM chapters WHERE project_id = ?", [project_id])
    for ch in chapters:
        cid = con.execute(
            """
            INSERT INTO chapters (project_id, rules_version, idx, title, title_edited, start_s,
                end_s, reasons_json, cache_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                project_id,
                rules_version,
                int(ch["idx"]),
                ch["title"],
                bool(ch.get("title_edited", False)),
                float(ch["start_s"]),
                float(ch["end_s"]),
                json.dumps(list(ch.get("reasons", []))),
                cache_key,
            ],
        ).fetchone()[0]
        scene_ids = [int(s) for s in ch["scene_ids"]]
        _insert_df(
            con,
            "scene_chapters",
            pd.DataFrame(
                {
                    "scene_id": scene_ids,
                    "chapter_id": [cid] * len(scene_ids),
                    "project_id": [project_id] * len(scene_ids),
                }
            ),
        )


def chapters_for_project(con: Any, project_id: int) -> list[dict[str, Any]]:
    cur = con.execute(
        """
        SELECT c.id, c.idx, c.title, c.title_edited, c.start_s, c.end_s, c.rules_version,
               c.reasons_json,
               list(sc.scene_id ORDER BY m.position, s.idx) FILTER (WHERE sc.scene_id IS NOT NULL)
                   AS scene_ids
        FROM chapters c
        LEFT JOIN scene_chapters sc ON sc.chapter_id = c.id
        LEFT JOIN scenes s ON s.id = sc.scene_id
        LEFT JOIN media_files m ON m.id = s.media_id
        WHERE c.project_id = ?
        GROUP BY ALL
        ORDER BY c.idx
        """,
        [project_id],
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        d = dict(zip(names, row, strict=True))
        d["reasons"] = json.loads(d.pop("reasons_json") or "[]")
        d["scene_ids"] = [int(x) for x in (d["scene_ids"] or [])]
        out.append(d)
    return out

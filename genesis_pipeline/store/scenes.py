"""scenes table: one media file's scenes replaced per detection, metadata merged by later steps.

A scene's ``metadata_json`` is written as its steps give it (previews and detection, then the
transcript confidence, then the caption: merges keep that key order) and read back as a typed
:class:`~genesis_pipeline.store.records.SceneMetadata`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genesis_pipeline import serde
from genesis_pipeline.store.frames import insert_frame
from genesis_pipeline.store.records import (
    CaptionUpdate,
    SceneRecord,
    TranscriptConfidenceUpdate,
    scene_metadata,
)

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

MetadataUpdate = CaptionUpdate | TranscriptConfidenceUpdate


def scene_key(con: Connection, media_id: int) -> str | None:
    """The cache key the media file's stored scenes were made with (None: no scenes)."""
    row = con.execute(
        "SELECT any_value(cache_key) FROM scenes WHERE media_id = ?", [media_id]
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def replace_scenes(
    con: Connection,
    *,
    project_id: int,
    media_id: int,
    cache_key: str,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Replace one media file's scenes; rows carry idx, frames, times, preview_path, metadata
    (dropping the old scenes' chapter links)."""
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
    insert_frame(con, "scenes", df)


def scenes_for_project(con: Connection, project_id: int) -> list[SceneRecord]:
    """Every scene in project order with its file's position and its review status (approved
    unless a reviewer rejected it)."""
    rows = con.execute(
        """
        SELECT s.id, s.media_id, m.position, s.idx, s.start_frame, s.end_frame, s.start_s,
               s.end_s, s.preview_path, s.metadata_json,
               coalesce(r.status, 'approved'), r.status IS NOT NULL
        FROM scenes s
        JOIN media_files m ON m.id = s.media_id
        LEFT JOIN scene_reviews r ON r.media_id = s.media_id AND r.start_frame = s.start_frame
        WHERE s.project_id = ?
        ORDER BY m.position, s.media_id, s.idx
        """,
        [project_id],
    ).fetchall()
    return [
        SceneRecord(
            id=int(sid),
            media_id=int(media_id),
            media_position=int(position),
            idx=int(idx),
            start_frame=int(start_frame),
            end_frame=int(end_frame),
            start_s=float(start_s),
            end_s=float(end_s),
            preview_path=preview,
            metadata=scene_metadata(meta),
            review_status=str(status),
            reviewed=bool(reviewed),
        )
        for (
            sid,
            media_id,
            position,
            idx,
            start_frame,
            end_frame,
            start_s,
            end_s,
            preview,
            meta,
            status,
            reviewed,
        ) in rows
    ]


def merge_scene_metadata(con: Connection, updates: Mapping[int, MetadataUpdate]) -> None:
    """Merge each update into its scene's ``metadata_json`` (a ``None`` field removes the
    key; new keys go last, existing ones keep their place)."""
    if not updates:
        return
    ids = list(updates)
    current = dict(
        con.execute(
            "SELECT id, metadata_json FROM scenes WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids]
        ).fetchall()
    )
    merged = []
    for sid, update in updates.items():
        meta = json.loads(current.get(sid) or "{}")
        for k, v in serde.to_json(update).items():
            if v is None:
                meta.pop(k, None)
            else:
                meta[k] = v
        merged.append(json.dumps(meta))
    con.execute(
        "UPDATE scenes SET metadata_json = u.meta"
        " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::VARCHAR[]) AS meta) u"
        " WHERE scenes.id = u.id",
        [ids, merged],
    )

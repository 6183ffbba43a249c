"""media_files and uploads tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.media.probe import MediaInfo
from genesis_pipeline.store.records import MediaFile, all_rows, from_row


def list_for_project(con: Any, project_id: int) -> list[MediaFile]:
    cur = con.execute(
        "SELECT * FROM media_files WHERE project_id = ? ORDER BY position, id", [int(project_id)]
    )
    return all_rows(MediaFile, cur)


def get(con: Any, media_id: int) -> MediaFile:
    cur = con.execute("SELECT * FROM media_files WHERE id = ?", [int(media_id)])
    media = from_row(MediaFile, cur, cur.fetchone())
    if media is None:
        raise NotFoundError(f"media {media_id}: no such media file")
    return media


def find_by_sha(con: Any, project_id: int, sha256: str) -> MediaFile | None:
    cur = con.execute(
        "SELECT * FROM media_files WHERE project_id = ? AND sha256 = ?", [int(project_id), sha256]
    )
    return from_row(MediaFile, cur, cur.fetchone())


def insert(
    con: Any,
    project_id: int,
    info: MediaInfo,
    *,
    original_name: str,
    stored_name: str,
    path: str,
    sha256: str,
    imported: bool,
) -> MediaFile:
    pos = con.execute(
        "SELECT coalesce(max(position) + 1, 0) FROM media_files WHERE project_id = ?",
        [int(project_id)],
    ).fetchone()[0]
    cur = con.execute(
        """
        INSERT INTO media_files (project_id, position, original_name, stored_name, path, imported,
            sha256, size_bytes, kind, duration_s, width, height, fps, is_vfr, rotation, frame_count,
            video_codec, audio_codec, has_audio, has_video, probe_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        RETURNING *
        """,
        [
            int(project_id),
            pos,
            original_name,
            stored_name,
            path,
            imported,
            sha256,
            info.size_bytes,
            info.kind,
            info.duration_s,
            info.width,
            info.height,
            info.fps,
            info.is_vfr,
            info.rotation,
            info.frame_count,
            info.video_codec,
            info.audio_codec,
            info.has_audio,
            info.has_video,
            json.dumps(serde.to_json(info)),
        ],
    )
    media = from_row(MediaFile, cur, cur.fetchone())
    assert media is not None
    return media


# -- uploads -----------------------------------------------------------------------------------
def insert_upload(
    con: Any,
    *,
    upload_id: str,
    project_id: int,
    token_sha256: str,
    original_name: str,
    target_path: str,
    expires_at: datetime,
) -> None:
    con.execute(
        "INSERT INTO uploads (id, project_id, token_sha256, original_name, target_path, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [upload_id, int(project_id), token_sha256, original_name, target_path, expires_at],
    )


def get_upload(con: Any, upload_id: str) -> dict[str, Any] | None:
    cur = con.execute("SELECT * FROM uploads WHERE id = ?", [upload_id])
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def close_upload(
    con: Any, upload_id: str, status: str, media_id: int | None = None, error: str | None = None
) -> None:
    con.execute(
        "UPDATE uploads SET status = ?, used_at = current_timestamp, media_id = ?, error = ?"
        " WHERE id = ?",
        [status, media_id, error, upload_id],
    )

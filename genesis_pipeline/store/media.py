"""media_files table: one row per distinct content per project, with its probe facts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from genesis_pipeline import serde
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.media.probe import MediaInfo
from genesis_pipeline.store.records import MediaFile, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def list_for_project(con: Connection, project_id: int) -> list[MediaFile]:
    """The project's media files in project order."""
    cur = con.execute(
        "SELECT * FROM media_files WHERE project_id = ? ORDER BY position, id", [int(project_id)]
    )
    return all_rows(MediaFile, cur)


def get(con: Connection, media_id: int) -> MediaFile:
    """Raises: NotFoundError: no such media file."""
    cur = con.execute("SELECT * FROM media_files WHERE id = ?", [int(media_id)])
    media = from_row(MediaFile, cur, cur.fetchone())
    if media is None:
        raise NotFoundError(f"media {media_id}: no such media file")
    return media


def find_by_sha(con: Connection, project_id: int, sha256: str) -> MediaFile | None:
    cur = con.execute(
        "SELECT * FROM media_files WHERE project_id = ? AND sha256 = ?", [int(project_id), sha256]
    )
    return from_row(MediaFile, cur, cur.fetchone())


def timeline_offsets(con: Connection, project_id: int) -> dict[int, float]:
    """Where each video file starts on the project timeline (video files laid end to end in
    project order; audio-only files are not on it)."""
    rows = con.execute(
        "SELECT id, duration_s FROM media_files WHERE project_id = ? AND has_video"
        " ORDER BY position, id",
        [int(project_id)],
    ).fetchall()
    offsets: dict[int, float] = {}
    t = 0.0
    for media_id, duration in rows:
        offsets[int(media_id)] = t
        t += float(duration)
    return offsets


def insert(
    con: Connection,
    project_id: int,
    info: MediaInfo,
    *,
    original_name: str,
    stored_name: str,
    path: str,
    sha256: str,
    imported: bool,
) -> MediaFile:
    """Add a media file at the end of the project's order."""
    row = con.execute(
        "SELECT coalesce(max(position) + 1, 0) FROM media_files WHERE project_id = ?",
        [int(project_id)],
    ).fetchone()
    position = int(row[0]) if row else 0
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
            position,
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

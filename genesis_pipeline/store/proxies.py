"""media_proxies table: where each media file's playable copy is, or why there is none."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genesis_pipeline.store.records import ProxyRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def get(con: Connection, media_id: int) -> ProxyRecord | None:
    cur = con.execute("SELECT * FROM media_proxies WHERE media_id = ?", [int(media_id)])
    return from_row(ProxyRecord, cur, cur.fetchone())


def list_for_project(con: Connection, project_id: int) -> list[ProxyRecord]:
    cur = con.execute(
        "SELECT * FROM media_proxies WHERE project_id = ? ORDER BY media_id", [int(project_id)]
    )
    return all_rows(ProxyRecord, cur)


def put_ready(
    con: Connection,
    *,
    media_id: int,
    project_id: int,
    cache_key: str,
    path: str,
    reason: str,
    size_bytes: int,
    duration_s: float,
    encode_s: float,
    metadata: dict[str, Any],
) -> None:
    """Record a finished proxy (replacing what the media file had)."""
    con.execute(
        """
        INSERT OR REPLACE INTO media_proxies (media_id, project_id, cache_key, status, path,
            reason, error, size_bytes, duration_s, encode_s, metadata_json, updated_at)
        VALUES (?, ?, ?, 'ready', ?, ?, NULL, ?, ?, ?, ?, current_timestamp)
        """,
        [
            int(media_id),
            int(project_id),
            cache_key,
            path,
            reason,
            int(size_bytes),
            float(duration_s),
            float(encode_s),
            json.dumps(metadata),
        ],
    )


def put_failed(
    con: Connection, *, media_id: int, project_id: int, cache_key: str, reason: str, error: str
) -> None:
    """Record that no proxy could be made, and why (replacing what the media file had)."""
    con.execute(
        """
        INSERT OR REPLACE INTO media_proxies (media_id, project_id, cache_key, status, path,
            reason, error, metadata_json, updated_at)
        VALUES (?, ?, ?, 'failed', NULL, ?, ?, '{}', current_timestamp)
        """,
        [int(media_id), int(project_id), cache_key, reason, error[:2000]],
    )

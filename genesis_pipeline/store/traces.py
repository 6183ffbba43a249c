"""scene_traces table: the scene detector's per-frame scores of each media file, as the scene
stage wrote them (bytes this module does not read), replaced with the file's scenes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_pipeline.store.records import SceneTraceRecord

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def replace_trace(
    con: Connection,
    *,
    project_id: int,
    media_id: int,
    cache_key: str,
    detector: str,
    frames: int,
    trace: bytes | None,
) -> None:
    """Replace one media file's trace (``None``: it has none any more)."""
    con.execute("DELETE FROM scene_traces WHERE media_id = ?", [media_id])
    if trace is not None:
        con.execute(
            "INSERT INTO scene_traces (project_id, media_id, cache_key, detector, frames, trace)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [project_id, media_id, cache_key, detector, frames, trace],
        )


def trace_for_media(con: Connection, project_id: int, media_id: int) -> SceneTraceRecord | None:
    """The media file's trace, if its scenes have one."""
    row = con.execute(
        "SELECT media_id, cache_key, detector, frames, trace FROM scene_traces"
        " WHERE project_id = ? AND media_id = ?",
        [project_id, media_id],
    ).fetchone()
    if row is None:
        return None
    return SceneTraceRecord(int(row[0]), str(row[1]), str(row[2]), int(row[3]), bytes(row[4]))


def traced_media_ids(con: Connection, project_id: int) -> set[int]:
    """The project's media files that have a trace (without reading the traces)."""
    rows = con.execute(
        "SELECT DISTINCT media_id FROM scene_traces WHERE project_id = ?", [project_id]
    ).fetchall()
    return {int(r[0]) for r in rows}

"""renders table."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from genesis_pipeline.store.records import RenderRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def insert(
    con: Connection,
    project_id: int,
    *,
    run_id: int | None,
    path: str,
    cache_key: str,
    duration_s: float,
    size_bytes: int,
    settings: dict[str, Any],
) -> RenderRecord:
    cur = con.execute(
        """
        INSERT INTO renders (project_id, run_id, path, cache_key, duration_s, size_bytes,
            settings_json)
        VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *
        """,
        [project_id, run_id, path, cache_key, duration_s, size_bytes, json.dumps(settings)],
    )
    rec = from_row(RenderRecord, cur, cur.fetchone())
    assert rec is not None
    return rec


def list_for_project(con: Connection, project_id: int) -> list[RenderRecord]:
    cur = con.execute("SELECT * FROM renders WHERE project_id = ? ORDER BY id DESC", [project_id])
    return all_rows(RenderRecord, cur)


def find_by_key(
    con: Connection, project_id: int, cache_key: str, exists: Callable[[str], bool]
) -> RenderRecord | None:
    """The newest render made with exactly these inputs whose file still exists
    (``exists(recorded path)``, e.g. ``Store.exists``)."""
    cur = con.execute(
        "SELECT * FROM renders WHERE project_id = ? AND cache_key = ? ORDER BY id DESC",
        [project_id, cache_key],
    )
    for rec in all_rows(RenderRecord, cur):
        if exists(rec.path):
            return rec
    return None


def delete_same_key(con: Connection, project_id: int, cache_key: str, keep_id: int) -> list[str]:
    """Remove the rows of renders made with ``cache_key`` other than ``keep_id`` (a forced
    re-render replaces its identical predecessors); returns their recorded paths."""
    rows = con.execute(
        "DELETE FROM renders WHERE project_id = ? AND cache_key = ? AND id <> ? RETURNING path",
        [project_id, cache_key, int(keep_id)],
    ).fetchall()
    return [str(r[0]) for r in rows]

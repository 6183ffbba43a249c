"""cut_order table: the reviewers' order of scenes within chapters and of chapters in the cut,
keyed on a scene's ``(media id, start frame)`` like approvals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

KINDS = ("scene", "chapter")


def positions(con: Connection, project_id: int, kind: str) -> dict[tuple[int, int], int]:
    """Stored positions of ``kind`` (scene or chapter) by ``(media id, start frame)``."""
    rows = con.execute(
        "SELECT media_id, start_frame, position FROM cut_order WHERE project_id = ? AND kind = ?",
        [project_id, kind],
    ).fetchall()
    return {(int(m), int(f)): int(p) for m, f, p in rows}


def set_positions(
    con: Connection, project_id: int, kind: str, order: Mapping[tuple[int, int], int]
) -> None:
    """Store positions of ``kind`` by ``(media id, start frame)`` (others are left alone)."""
    if not order:
        return
    keys = list(order)
    con.execute(
        """
        INSERT INTO cut_order (project_id, kind, media_id, start_frame, position)
        SELECT ?, ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[])
        ON CONFLICT (project_id, kind, media_id, start_frame) DO UPDATE
            SET position = excluded.position, updated_at = now()
        """,
        [
            project_id,
            kind,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [int(order[k]) for k in keys],
        ],
    )


def clear(con: Connection, project_id: int) -> int:
    """Forget the project's order (back to source order); returns how many rows went."""
    row = con.execute(
        "SELECT count(*) FROM cut_order WHERE project_id = ?", [project_id]
    ).fetchone()
    con.execute("DELETE FROM cut_order WHERE project_id = ?", [project_id])
    return int(row[0]) if row else 0

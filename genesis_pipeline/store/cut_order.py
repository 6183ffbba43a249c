"""cut_order and cut_order_actions tables: the reviewers' order of scenes within chapters and of
chapters in the cut, keyed on a scene's ``(media id, start frame)`` like approvals, and its undo
log (each action with every stored place as it was before it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import CutOrderActionRecord

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


Place = tuple[str, int, int, int]  # (kind, media id, start frame, position)


def places(con: Connection, project_id: int) -> list[Place]:
    """Every stored place of the project (both kinds), in a stable order."""
    rows = con.execute(
        "SELECT kind, media_id, start_frame, position FROM cut_order WHERE project_id = ?"
        " ORDER BY kind, media_id, start_frame",
        [project_id],
    ).fetchall()
    return [(str(k), int(m), int(f), int(p)) for k, m, f, p in rows]


def record_action(con: Connection, project_id: int, action: str, label: str, actor: str) -> int:
    """Log an action about to change the project's order (call it before the change: it keeps
    every place the project has now). Returns the action's id."""
    row = con.execute(
        "INSERT INTO cut_order_actions (project_id, action, label, actor, before_json)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        [project_id, action, label, actor, json.dumps(places(con, project_id))],
    ).fetchone()
    assert row is not None
    return int(row[0])


_ACTIONS = (
    "SELECT id, action, label, actor, created_at, undone_at IS NOT NULL FROM cut_order_actions"
)


def _actions(rows: list[tuple[Any, ...]]) -> list[CutOrderActionRecord]:
    return [
        CutOrderActionRecord(
            id=int(i), action=str(a), label=str(lb), actor=str(who), created_at=at, undone=bool(u)
        )
        for i, a, lb, who, at, u in rows
    ]


def list_actions(con: Connection, project_id: int, limit: int = 20) -> list[CutOrderActionRecord]:
    """The project's latest order actions, newest first."""
    rows = con.execute(
        _ACTIONS + " WHERE project_id = ? ORDER BY id DESC LIMIT ?", [project_id, int(limit)]
    ).fetchall()
    return _actions(rows)


def undo_last(con: Connection, project_id: int) -> CutOrderActionRecord:
    """Put back the places the newest standing action found, and mark it undone.

    Undo goes back one action at a time, newest first: each action kept the whole order as it
    was just before it, which is the order after the action before it once later ones are
    undone.

    Raises:
        NotFoundError: no action left to undo in the project.
    """
    row = con.execute(
        "SELECT id, before_json FROM cut_order_actions"
        " WHERE project_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
        [project_id],
    ).fetchone()
    if row is None:
        raise NotFoundError("nothing to undo: no move of the cut's order is left to take back")
    action_id, before = int(row[0]), json.loads(row[1])
    con.execute("DELETE FROM cut_order WHERE project_id = ?", [project_id])
    for kind in KINDS:
        set_positions(
            con, project_id, kind, {(int(m), int(f)): int(p) for k, m, f, p in before if k == kind}
        )
    con.execute("UPDATE cut_order_actions SET undone_at = now() WHERE id = ?", [action_id])
    return _actions(con.execute(_ACTIONS + " WHERE id = ?", [action_id]).fetchall())[0]

"""audit_log table: one row per write through a front end (API, CLI, later the app's users)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genesis_pipeline.store.records import AuditEntry, all_rows

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def append(
    con: Connection, actor: str, action: str, project_id: int | None, details: dict[str, Any]
) -> None:
    con.execute(
        "INSERT INTO audit_log (actor, action, project_id, details_json) VALUES (?, ?, ?, ?)",
        [actor, action, project_id, json.dumps(details, default=str)],
    )


def entries(
    con: Connection,
    project_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
) -> list[AuditEntry]:
    """Newest first; only ``project_id``'s, or only ``actor``'s, when given."""
    where: list[str] = []
    args: list[object] = []
    if project_id is not None:
        where.append("project_id = ?")
        args.append(int(project_id))
    if actor is not None:
        where.append("actor = ?")
        args.append(actor)
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    cur = con.execute(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", [*args, int(limit), int(offset)])
    return all_rows(AuditEntry, cur)


def actors(con: Connection, project_id: int) -> list[str]:
    """Everyone who changed the project, by name."""
    rows = con.execute(
        "SELECT DISTINCT actor FROM audit_log WHERE project_id = ? ORDER BY actor", [project_id]
    ).fetchall()
    return [str(r[0]) for r in rows]

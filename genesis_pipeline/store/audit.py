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
    con: Connection, project_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[AuditEntry]:
    """Newest first; only ``project_id``'s when given."""
    if project_id is None:
        cur = con.execute(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", [int(limit), int(offset)]
        )
    else:
        cur = con.execute(
            "SELECT * FROM audit_log WHERE project_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            [int(project_id), int(limit), int(offset)],
        )
    return all_rows(AuditEntry, cur)

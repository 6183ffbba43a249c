"""chapter_rules table: numbered versions of a project's chapter rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genesis_pipeline.store.records import RulesVersion

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def latest_rules(con: Connection, project_id: int) -> tuple[int, dict[str, Any]] | None:
    """(version, rules) of the newest saved version, None when none was saved."""
    row = con.execute(
        "SELECT version, rules_json FROM chapter_rules WHERE project_id = ?"
        " ORDER BY version DESC LIMIT 1",
        [project_id],
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), json.loads(row[1])


def rules_history(con: Connection, project_id: int) -> list[RulesVersion]:
    """Every saved version, oldest first."""
    rows = con.execute(
        "SELECT version, rules_json, note, created_at FROM chapter_rules WHERE project_id = ?"
        " ORDER BY version",
        [project_id],
    ).fetchall()
    return [RulesVersion(int(v), json.loads(r), n, c) for v, r, n, c in rows]


def save_rules(con: Connection, project_id: int, rules: dict[str, Any], note: str | None) -> int:
    """Store ``rules`` as the next version (no new version when identical to the latest)."""
    latest = latest_rules(con, project_id)
    if latest and latest[1] == rules:
        return latest[0]
    version = (latest[0] if latest else 0) + 1
    con.execute(
        "INSERT INTO chapter_rules (project_id, version, rules_json, note) VALUES (?, ?, ?, ?)",
        [project_id, version, json.dumps(rules), note],
    )
    return version


def rules_version(con: Connection, project_id: int, version: int) -> dict[str, Any] | None:
    """The rules saved as ``version``, None when there is no such version."""
    row = con.execute(
        "SELECT rules_json FROM chapter_rules WHERE project_id = ? AND version = ?",
        [project_id, int(version)],
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))

"""Projects table: create, read, revision bumps, per-project settings."""

from __future__ import annotations

import json
from typing import Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import Project, all_rows, from_row


def create(con: Any, name: str) -> Project:
    cur = con.execute("INSERT INTO projects (name) VALUES (?) RETURNING *", [name])
    project = from_row(Project, cur, cur.fetchone())
    assert project is not None
    return project


def get(con: Any, project_id: int) -> Project:
    """Raises: NotFoundError: no such project."""
    cur = con.execute("SELECT * FROM projects WHERE id = ?", [int(project_id)])
    project = from_row(Project, cur, cur.fetchone())
    if project is None:
        raise NotFoundError(f"project {project_id}: no such project")
    return project


def list_all(con: Any) -> list[Project]:
    return all_rows(Project, con.execute("SELECT * FROM projects ORDER BY id"))


def bump_revision(con: Any, project_id: int) -> None:
    con.execute("UPDATE projects SET revision = revision + 1 WHERE id = ?", [int(project_id)])


def update_settings(con: Any, project_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the project's settings (a ``None`` value removes a key)."""
    settings = dict(get(con, project_id).settings_json)
    for k, v in changes.items():
        if v is None:
            settings.pop(k, None)
        else:
            settings[k] = v
    con.execute(
        "UPDATE projects SET settings_json = ?, revision = revision + 1 WHERE id = ?",
        [json.dumps(settings), int(project_id)],
    )
    return settings

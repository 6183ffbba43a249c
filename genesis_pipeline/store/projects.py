"""projects table: create, read, revision bumps, per-project settings, change stamps."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import Project, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def create(con: Connection, name: str) -> Project:
    cur = con.execute("INSERT INTO projects (name) VALUES (?) RETURNING *", [name])
    project = from_row(Project, cur, cur.fetchone())
    assert project is not None
    return project


def rename(con: Connection, project_id: int, name: str) -> None:
    """Raises: NotFoundError: no such project."""
    get(con, project_id)
    con.execute(
        "UPDATE projects SET name = ?, revision = revision + 1 WHERE id = ?",
        [name, int(project_id)],
    )


def get(con: Connection, project_id: int) -> Project:
    """Raises: NotFoundError: no such project."""
    cur = con.execute("SELECT * FROM projects WHERE id = ?", [int(project_id)])
    project = from_row(Project, cur, cur.fetchone())
    if project is None:
        raise NotFoundError(f"project {project_id}: no such project")
    return project


def list_all(con: Connection) -> list[Project]:
    return all_rows(Project, con.execute("SELECT * FROM projects ORDER BY id"))


def count(con: Connection) -> int:
    row = con.execute("SELECT count(*) FROM projects").fetchone()
    return int(row[0]) if row else 0


def bump_revision(con: Connection, project_id: int) -> None:
    con.execute("UPDATE projects SET revision = revision + 1 WHERE id = ?", [int(project_id)])


def update_settings(con: Connection, project_id: int, changes: dict[str, Any]) -> dict[str, Any]:
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


def change_stamp(con: Connection, project_id: int) -> int:
    """A number that changes whenever anything a page shows about the project changes: its
    revision, a run starting or a run ending (-1 for no such project)."""
    row = con.execute(
        "SELECT p.revision, (SELECT coalesce(max(id), 0) FROM runs WHERE project_id = p.id),"
        " (SELECT count(*) FROM runs WHERE project_id = p.id AND status <> 'running')"
        " FROM projects p WHERE p.id = ?",
        [int(project_id)],
    ).fetchone()
    if row is None:
        return -1
    # Finished runs change results; combine so any of them moves the number.
    return int(row[0]) * 1_000_003 + int(row[1]) * 1009 + int(row[2])


def list_stamp(con: Connection) -> tuple[int, ...]:
    """Changes whenever the project list or anything it shows changes (projects added,
    revisions, runs started or finished)."""
    row = con.execute(
        "SELECT count(*), coalesce(sum(revision), 0), coalesce(sum(id), 0),"
        " (SELECT coalesce(max(id), 0) FROM runs),"
        " (SELECT count(*) FROM runs WHERE status <> 'running') FROM projects"
    ).fetchone()
    return tuple(int(x) for x in row or ())

"""Projects: create, list with an at-a-glance summary, read one."""

from __future__ import annotations

from typing import Any

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.records import Project


def create_project(store: Store, name: str) -> Project:
    """Raises: InvalidSettingError: the name is empty or longer than 200 characters."""
    name = (name or "").strip()
    if not name:
        raise InvalidSettingError("project name", "must not be empty")
    if len(name) > 200:
        raise InvalidSettingError("project name", "must be at most 200 characters")
    with store.db.write() as con:
        return projects_sql.create(con, name)


def get_project(store: Store, project_id: int) -> Project:
    """Raises: NotFoundError: no such project."""
    with store.db.read() as con:
        return projects_sql.get(con, project_id)


def project_revision(store: Store, project_id: int) -> int:
    """A number that changes whenever anything a page shows changes (for UI caches)."""
    with store.db.read() as con:
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


def list_projects(store: Store) -> list[dict[str, Any]]:
    """Every project with its media, last run and renders, for the Projects page."""
    out = []
    with store.db.read() as con:
        for p in projects_sql.list_all(con):
            media = media_sql.list_for_project(con, p.id)
            last = runs_sql.latest(con, p.id)
            renders = renders_sql.list_for_project(con, p.id)
            out.append(
                {
                    "project": p.to_dict(),
                    "media": [m.to_dict() for m in media],
                    "last_run": last.to_dict() if last else None,
                    "renders": [r.to_dict() for r in renders],
                }
            )
    return out

"""Projects: create, list with an at-a-glance summary, read one, and the stamps UI caches key on."""

from __future__ import annotations

from dataclasses import dataclass

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.services.documents import (
    MediaDoc,
    ProjectDoc,
    RenderDoc,
    RunDoc,
    media_doc,
    project_doc,
    render_doc,
    run_doc,
)
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.records import Project, ReadModel


@dataclass(frozen=True, slots=True)
class ProjectSummary(ReadModel):
    """A project at a glance (the Projects page, ``genesis list-projects``): its media in
    order, its last run and its renders, newest first (paths as recorded)."""

    project: ProjectDoc
    media: tuple[MediaDoc, ...]
    last_run: RunDoc | None
    renders: tuple[RenderDoc, ...]


@dataclass(frozen=True, slots=True)
class ProjectList:
    """``genesis list-projects --json``."""

    projects: list[ProjectSummary]


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
    """A number that changes whenever anything a page shows changes (for UI caches); -1 for
    no such project."""
    with store.db.read() as con:
        return projects_sql.change_stamp(con, project_id)


def projects_revision(store: Store) -> tuple[int, ...]:
    """Changes whenever the list of projects or anything :func:`list_projects` shows changes."""
    with store.db.read() as con:
        return projects_sql.list_stamp(con)


def has_projects(store: Store) -> bool:
    with store.db.read() as con:
        return projects_sql.count(con) > 0


def list_projects(store: Store) -> list[ProjectSummary]:
    """Every project with its media, last run and renders, for the Projects page."""
    out = []
    with store.db.read() as con:
        for p in projects_sql.list_all(con):
            media = media_sql.list_for_project(con, p.id)
            last = runs_sql.latest(con, p.id)
            renders = renders_sql.list_for_project(con, p.id)
            out.append(
                ProjectSummary(
                    project=project_doc(p),
                    media=tuple(media_doc(m) for m in media),
                    last_run=run_doc(last) if last else None,
                    renders=tuple(render_doc(r) for r in renders),
                )
            )
    return out

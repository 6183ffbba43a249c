"""Projects: create, rename, delete, list with an at-a-glance summary, read one, remove a media
file, disk used, and the stamps UI caches key on. Front ends (the app, an HTTP API) call these;
deleting goes through the storage, so S3 works as the data dir does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.errors import InvalidSettingError, NotFoundError, RunInProgressError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
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
from genesis_pipeline.store import ProjectFolder, Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import removal as removal_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store.locks import exclusive_or_none
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


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidSettingError("project name", "must not be empty")
    if len(name) > 200:
        raise InvalidSettingError("project name", "must be at most 200 characters")
    return name


def create_project(store: Store, name: str, *, actor: Actor) -> Project:
    """Raises: InvalidSettingError: the name is empty or longer than 200 characters.
    PermissionDeniedError: the actor may not manage projects."""
    name = _checked_name(name)
    access.require(actor, "manage", "projects.create")
    with store.db.write() as con:
        project = projects_sql.create(con, name)
        access.permit(con, actor, "manage", "projects.create", project.id, {"name": name})
        return project


def rename_project(store: Store, project_id: int, name: str, *, actor: Actor) -> Project:
    """Give a project a new name; returns it renamed.

    Raises:
        InvalidSettingError: the name is empty or longer than 200 characters.
        NotFoundError: no such project.
        PermissionDeniedError: the actor may not manage projects.
    """
    name = _checked_name(name)
    with store.db.write() as con:
        was = projects_sql.get(con, project_id).name
        access.permit(
            con, actor, "manage", "projects.rename", project_id, {"name": name, "was": was}
        )
        projects_sql.rename(con, project_id, name)
        return projects_sql.get(con, project_id)


@contextlib.contextmanager
def _no_run(store: Store, project_id: int, what: str) -> Iterator[None]:
    """Hold the project's run lock while ``what`` happens, so no run starts meanwhile.

    Raises:
        RunInProgressError: a run of the project is going.
    """
    with exclusive_or_none(store.run_lock_path(project_id)) as fd:
        if fd is None:
            raise RunInProgressError(
                f"project {project_id}: a run is using it; {what} when the run has finished"
            )
        yield


# Where a project's files live, by folder (keys ``<folder>/<project id>/…``).
PROJECT_FOLDERS: tuple[ProjectFolder, ...] = (
    "media",
    "proxies",
    "scene_previews",
    "artifacts",
    "voiceovers",
    "renders",
)


@dataclass(frozen=True, slots=True)
class ProjectRemoved(ReadModel):
    """What deleting a project removed."""

    name: str
    files: int


def delete_project(store: Store, project_id: int, *, actor: Actor) -> ProjectRemoved:
    """Delete a project: its rows, then its files in the storage (footage, playable copies,
    previews, transcripts, voiceovers, renders, unfinished uploads). Footage registered in
    place (a host folder or an S3 import) belongs to its owner and stays; the stage cache is
    shared by content and keeps its entries.

    Raises:
        NotFoundError: no such project.
        RunInProgressError: a run of the project is going.
        PermissionDeniedError: the actor may not manage projects.
    """
    access.require(actor, "manage", "projects.delete")
    with _no_run(store, project_id, "delete it"):
        with store.db.write() as con:
            project = projects_sql.get(con, project_id)
            access.permit(
                con, actor, "manage", "projects.delete", project_id, {"name": project.name}
            )
            uploads = removal_sql.upload_ids(con, project_id)
            removal_sql.delete_project_rows(con, project_id)
        files = 0
        for folder in PROJECT_FOLDERS:
            files += store.storage.delete_prefix(store.project_key(folder, project_id))
        for upload_id in uploads:
            files += store.storage.delete_prefix(f"uploads/{upload_id}")
    return ProjectRemoved(project.name, files)


@dataclass(frozen=True, slots=True)
class MediaRemoved(ReadModel):
    """What removing a media file removed."""

    name: str
    files: int
    kept_in_place: bool  # footage registered in place stays where its owner keeps it


def remove_media(store: Store, project_id: int, media_id: int, *, actor: Actor) -> MediaRemoved:
    """Remove one media file from a project, with what was made from it (transcript, scenes
    and their reviews, previews, playable copy); the project's chapters are made again by the
    next run. Renders already made stay.

    Raises:
        NotFoundError: no such media file in the project.
        RunInProgressError: a run of the project is going (it may be reading the file).
        PermissionDeniedError: the actor may not manage media.
    """
    access.require(actor, "manage", "media.remove")
    with _no_run(store, project_id, "remove the file"):
        with store.db.write() as con:
            media = media_sql.get(con, media_id)
            if media.project_id != project_id:
                raise NotFoundError(f"media {media_id}: not a file of project {project_id}")
            access.permit(
                con, actor, "manage", "media.remove", project_id,
                {"media_id": media_id, "name": media.original_name},
            )  # fmt: skip
            keys = removal_sql.media_file_keys(con, media_id)
            removal_sql.delete_media_rows(con, project_id, media_id)
            projects_sql.bump_revision(con, project_id)
        files = 0
        for key in [media.path, *keys]:
            files += int(store.delete_file(key))
        files += store.storage.delete_prefix(
            store.project_key("scene_previews", project_id, media_id)
        )
    return MediaRemoved(media.original_name, files, kept_in_place=not _ours(media.path))


def _ours(recorded: str) -> bool:
    """Whether Genesis keeps the file under a key (not registered in place)."""
    return not (recorded.startswith("s3://") or Path(recorded).is_absolute())


@dataclass(frozen=True, slots=True)
class DiskUsage(ReadModel):
    """How much storage a project takes, by folder, and the footage it uses where its owner
    keeps it (registered in place, not counted in ``total_bytes``)."""

    by_folder: dict[str, int]
    in_place_bytes: int

    @property
    def total_bytes(self) -> int:
        return sum(self.by_folder.values())


def disk_usage(store: Store, project_id: int) -> DiskUsage:
    """The bytes of a project's files in the storage (a listing per folder).

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        media = media_sql.list_for_project(con, project_id)
    by_folder: dict[str, int] = {
        str(folder): sum(
            o.size for o in store.storage.list_prefix(store.project_key(folder, project_id))
        )
        for folder in PROJECT_FOLDERS
    }
    in_place = sum(m.size_bytes for m in media if not _ours(m.path))
    return DiskUsage(by_folder, in_place)


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

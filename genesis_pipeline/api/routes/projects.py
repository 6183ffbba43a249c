"""Projects: list, create, rename, delete, the status document, disk used, per-project
settings, the audit log; removing a media file is in ``uploads``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import Admin, PathId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.api.responses import NOT_MODIFIED, IfNoneMatch, answer, cached
from genesis_pipeline.services import access, render_settings
from genesis_pipeline.services.documents import ProjectDoc, project_doc
from genesis_pipeline.services.narration import MixSettings, get_mix
from genesis_pipeline.services.projects import (
    ProjectRemoved,
    ProjectSummary,
    create_project,
    delete_project,
    disk_usage,
    get_project,
    list_projects,
    rename_project,
)
from genesis_pipeline.services.status import ProjectStatus, status_report
from genesis_pipeline.store.records import AuditEntry

router = APIRouter(tags=["projects"], responses=responses(401, 403, 404, 422))


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Harbour interviews"])


class ProjectRename(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Harbour interviews, cut 2"])


class DiskUsed(BaseModel):
    """The bytes of a project's files in the storage, by folder; footage registered in place
    (a host folder, an S3 import) is its owner's and counts only in ``in_place_bytes``."""

    total_bytes: int
    by_folder: dict[str, int] = Field(examples=[{"media": 52_000_000, "renders": 9_100_000}])
    in_place_bytes: int


class ProjectSettings(BaseModel):
    """What renders of the project do (saved for the project; the CLI's flags set the same)."""

    render_mode: str = Field(examples=["smart"], description="smart | reencode")
    subtitles: str = Field(examples=["off"], description="off | soft | burned")
    narration_overrun: str = Field(examples=["trim"], description="trim | extend | freeze")
    voiceover_gain: float
    bed_gain: float


class ProjectSettingsChange(BaseModel):
    render_mode: Literal["smart", "reencode"] | None = None
    subtitles: Literal["off", "soft", "burned"] | None = None
    narration_overrun: Literal["trim", "extend", "freeze"] | None = None


@router.get("/projects", response_model=list[ProjectSummary], summary="List projects")
def projects(store: StoreDep, _: Reader) -> list[ProjectSummary]:
    return list_projects(store)


@router.post(
    "/projects",
    response_model=ProjectDoc,
    status_code=status.HTTP_201_CREATED,
    summary="Create a project",
)
def create(body: ProjectCreate, store: StoreDep, actor: Admin) -> ProjectDoc:
    project = create_project(store, body.name, actor=actor)
    forget(store, project.id)
    return project_doc(project)


@router.get(
    "/projects/{project_id}",
    response_model=ProjectStatus,
    summary="Everything about a project (the `genesis status --json` document)",
    responses=NOT_MODIFIED,
)
async def project_status(
    request: Request,
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    words: bool = Query(False, description="include every word's timing"),
    if_none_match: IfNoneMatch = None,
) -> Response:
    polled = await cached(
        request,
        store,
        ("project", project_id, words),
        lambda: status_report(store, project_id, include_words=words),
    )
    return answer(polled, if_none_match)


@router.patch(
    "/projects/{project_id}",
    response_model=ProjectDoc,
    summary="Rename a project",
)
def rename(project_id: PathId, body: ProjectRename, store: StoreDep, actor: Admin) -> ProjectDoc:
    project = rename_project(store, project_id, body.name, actor=actor)
    forget(store, project_id)
    return project_doc(project)


@router.delete(
    "/projects/{project_id}",
    response_model=ProjectRemoved,
    summary="Delete a project with its files (refused while a run uses it)",
    responses=responses(409),
)
def delete(project_id: PathId, store: StoreDep, actor: Admin) -> ProjectRemoved:
    removed = delete_project(store, project_id, actor=actor)
    forget(store, project_id)
    return removed


@router.get(
    "/projects/{project_id}/disk",
    response_model=DiskUsed,
    summary="Storage the project takes, by folder",
)
def disk(project_id: PathId, store: StoreDep, _: Reader) -> DiskUsed:
    used = disk_usage(store, project_id)
    return DiskUsed(
        total_bytes=used.total_bytes, by_folder=used.by_folder, in_place_bytes=used.in_place_bytes
    )


def _settings(store: StoreDep, project_id: int) -> ProjectSettings:
    mix: MixSettings = get_mix(store, project_id)
    return ProjectSettings(
        render_mode=render_settings.get_render_mode(store, project_id),
        subtitles=render_settings.get_render_subtitles(store, project_id),
        narration_overrun=render_settings.get_narration_overrun(store, project_id),
        voiceover_gain=mix.voiceover_gain,
        bed_gain=mix.bed_gain,
    )


@router.get(
    "/projects/{project_id}/settings", response_model=ProjectSettings, summary="Render settings"
)
def settings(project_id: PathId, store: StoreDep, _: Reader) -> ProjectSettings:
    return _settings(store, project_id)


@router.patch(
    "/projects/{project_id}/settings", response_model=ProjectSettings, summary="Change settings"
)
def change_settings(
    project_id: PathId, body: ProjectSettingsChange, store: StoreDep, actor: Reviewer
) -> ProjectSettings:
    get_project(store, project_id)
    if body.render_mode is not None:
        render_settings.set_render_mode(store, project_id, body.render_mode, actor=actor)
    if body.subtitles is not None:
        render_settings.set_render_subtitles(
            store, project_id, body.subtitles, "subtitles", actor=actor
        )
    if body.narration_overrun is not None:
        render_settings.set_narration_overrun(
            store, project_id, body.narration_overrun, actor=actor
        )
    forget(store, project_id)
    return _settings(store, project_id)


@router.get(
    "/projects/{project_id}/audit",
    response_model=list[AuditEntry],
    summary="Who changed what in the project, newest first",
)
def project_audit(
    project_id: PathId,
    store: StoreDep,
    _: Admin,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[AuditEntry]:
    get_project(store, project_id)
    return access.audit_log(store, project_id, limit, offset)

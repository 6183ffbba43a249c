"""Renders and artifacts: list, download with HTTP Range (players seek), exports; narration:
voiceovers, their offsets and gains, the mix."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import PathId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.api.streaming import BINARY_BODY, receive_body
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.runs.exports import export_project
from genesis_pipeline.services.exports import EXPORT_FORMATS, check_format
from genesis_pipeline.services.narration import (
    MixSettings,
    add_voiceover,
    get_mix,
    list_voiceovers,
    remove_voiceover,
    set_mix,
    set_voiceover_gain,
    set_voiceover_offset,
)
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.services.render_view import RenderEntry, render_history
from genesis_pipeline.services.upload_receive import receive_file
from genesis_pipeline.store.records import VoiceoverRecord

router = APIRouter(tags=["renders, exports and narration"], responses=responses(401, 403, 404, 422))


class Narration(BaseModel):
    mix: MixSettings
    voiceovers: list[VoiceoverRecord]


class MixChange(BaseModel):
    voiceover_gain: float | None = Field(None, ge=0, le=16, examples=[1.0])
    bed_gain: float | None = Field(None, ge=0, le=16, examples=[0.6])


class VoiceoverChange(BaseModel):
    """``offset_s`` null returns the voiceover to automatic placement."""

    offset_s: float | None = Field(None, ge=0, le=86400)
    automatic: bool = Field(False, description="true: forget the offset override")
    gain: float | None = Field(None, ge=0, le=16)


@router.get(
    "/projects/{project_id}/renders",
    response_model=list[RenderEntry],
    summary="Every render, newest first",
)
def renders(project_id: PathId, store: StoreDep, _: Reader) -> list[RenderEntry]:
    return render_history(store, project_id)


@router.get(
    "/projects/{project_id}/renders/{render_id}/file",
    response_class=FileResponse,
    response_model=None,
    summary="Download a render (HTTP Range supported)",
    responses={200: {"content": {"video/mp4": {}}}, 206: {"description": "the range asked for"}},
)
def render_file(
    project_id: PathId, render_id: PathId, store: StoreDep, _: Reader
) -> FileResponse | RedirectResponse:
    entry = next((r for r in render_history(store, project_id) if r.id == render_id), None)
    if entry is None:
        raise NotFoundError(f"render {render_id}: not a render of project {project_id}")
    if not entry.exists:
        raise NotFoundError(f"render {render_id}: {entry.path} is gone from the storage")
    if entry.path.startswith(("http://", "https://")):  # S3: a presigned GET (Range works there)
        return RedirectResponse(entry.path)
    path = store.inside(entry.path, "render")
    return FileResponse(path, media_type="video/mp4", filename=entry.file_name)


@router.get(
    "/projects/{project_id}/exports/{format}",
    summary="An export of the approved cut: otio, fcpxml, fcp7, edl, srt, vtt, chapters-…",
    responses={200: {"content": {f.mime: {} for f in EXPORT_FORMATS.values()}}},
)
def export(project_id: PathId, format: str, store: StoreDep, _: Reader) -> Response:
    fmt = check_format(format)
    get_project(store, project_id)
    result = export_project(store, project_id, fmt.name)
    return Response(
        result.text,
        media_type=fmt.mime,
        headers={"Content-Disposition": f'attachment; filename="{result.file_name}"'},
    )


@router.get("/projects/{project_id}/narration", response_model=Narration, summary="Narration")
def narration(project_id: PathId, store: StoreDep, _: Reader) -> Narration:
    get_project(store, project_id)
    return Narration(mix=get_mix(store, project_id), voiceovers=list_voiceovers(store, project_id))


@router.put(
    "/projects/{project_id}/narration/mix", response_model=MixSettings, summary="Set the gains"
)
def mix(project_id: PathId, body: MixChange, store: StoreDep, actor: Reviewer) -> MixSettings:
    get_project(store, project_id)
    new = set_mix(
        store, project_id, voiceover_gain=body.voiceover_gain, bed_gain=body.bed_gain, actor=actor
    )
    forget(store, project_id)
    return new


@router.post(
    "/projects/{project_id}/narration/voiceovers",
    name="add_voiceover",
    response_model=Narration,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a voiceover (streamed; the limit checked before reading) for the whole cut "
    "or a chapter; it replaces the current one for that target",
    responses=responses(409, 413),
    openapi_extra=BINARY_BODY,
)
async def upload_voiceover(
    project_id: PathId,
    request: Request,
    store: StoreDep,
    actor: Reviewer,
    filename: Annotated[
        str,
        Query(min_length=1, max_length=255, description="the file's name (its extension)"),
    ],
    chapter_idx: Annotated[
        int | None, Query(ge=0, le=100_000, description="a chapter's; absent: the whole cut")
    ] = None,
    offset_s: Annotated[
        float | None, Query(ge=0, le=86400, description="start on the cut (absent: automatic)")
    ] = None,
    gain: Annotated[float, Query(ge=0, le=16)] = 1.0,
    content_length: Annotated[int | None, Header()] = None,
) -> Narration:
    # The project and the length are checked before the first byte of the body is read.
    await anyio.to_thread.run_sync(get_project, store, project_id)
    await receive_body(
        request,
        receive_file(store, filename, content_length),
        lambda sink: add_voiceover(
            store,
            project_id,
            sink.complete(),
            chapter_idx=chapter_idx,
            offset_s=offset_s,
            gain=gain,
            original_name=filename,
            actor=actor,
        ),
    )

    def record() -> Narration:
        forget(store, project_id)
        return narration(project_id, store, actor)

    return await anyio.to_thread.run_sync(record)


@router.patch(
    "/projects/{project_id}/narration/voiceovers/{voiceover_id}",
    response_model=Narration,
    summary="Override a voiceover's offset (or back to automatic) and gain",
)
def voiceover(
    project_id: PathId,
    voiceover_id: PathId,
    body: VoiceoverChange,
    store: StoreDep,
    actor: Reviewer,
) -> Narration:
    get_project(store, project_id)
    if body.automatic or body.offset_s is not None:
        set_voiceover_offset(
            store, project_id, voiceover_id, None if body.automatic else body.offset_s, actor=actor
        )
    if body.gain is not None:
        set_voiceover_gain(store, project_id, voiceover_id, body.gain, actor=actor)
    forget(store, project_id)
    return narration(project_id, store, actor)


@router.delete(
    "/projects/{project_id}/narration/voiceovers/{voiceover_id}",
    response_model=Narration,
    summary="Remove a voiceover from the narration",
)
def drop_voiceover(
    project_id: PathId, voiceover_id: PathId, store: StoreDep, actor: Reviewer
) -> Narration:
    get_project(store, project_id)
    remove_voiceover(store, project_id, voiceover_id, actor=actor)
    forget(store, project_id)
    return narration(project_id, store, actor)

"""Uploads: a ticket (the API's own URL, or presigned S3 targets), the streamed body, finalize,
and the uploads a project refused; media files, their probe facts, removing one."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request, status
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import Admin, PathId, Reader, StoreDep, audit, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.api.streaming import BINARY_BODY, receive_body
from genesis_pipeline.services.documents import AddedMediaDoc, MediaDoc, added_media_doc
from genesis_pipeline.services.media_facts import MediaFacts, list_media, media_facts
from genesis_pipeline.services.projects import MediaRemoved, remove_media
from genesis_pipeline.services.upload import create_upload, finalize_upload
from genesis_pipeline.services.upload_receive import (
    RejectedUpload,
    receive_upload,
    rejected_uploads,
)

router = APIRouter(tags=["uploads and media"], responses=responses(401, 403, 404, 422))


class UploadCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=255, examples=["interview-a.mp4"])
    size_bytes: int | None = Field(
        default=None,
        ge=0,
        description="the file's size (over the limit: 413 now); with S3 storage each PUT is "
        "signed with its length and a file over the multipart size gets part URLs",
    )
    sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-fA-F]{64}$",
        description="the file's sha256 (hex): finalize refuses other bytes, and a presigned "
        "single PUT is signed with it (send `headers`)",
    )
    part_sha256s: list[Annotated[str, Field(pattern="^[0-9a-fA-F]{64}$")]] = Field(
        default_factory=list,
        max_length=10_000,
        description="S3 multipart: each part's sha256 (hex), in order, parts of "
        "`GENESIS_S3_MULTIPART_MB` each; each part URL is signed with its own (send the part's "
        "`headers`) and finalize refuses a part that differs",
    )


class UploadPartTarget(BaseModel):
    number: int
    offset: int
    size: int
    url: str
    headers: dict[str, str] = Field(
        default_factory=dict, description="headers this part's PUT must send (its checksum)"
    )


class UploadCreated(BaseModel):
    """Where to send the bytes: ``PUT`` them to ``put_url`` (with the ``X-Upload-Token``
    header for the API's own URL) or to each part's URL, then ``POST`` ``finalize_url``."""

    upload_id: str
    token: str = Field(description="the ticket's secret: X-Upload-Token and finalize's token")
    expires_at: str
    filename: str
    put_url: str | None = Field(description="one PUT of the whole file (None: multipart)")
    presigned: bool = Field(description="put_url and the part URLs are presigned S3 URLs")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="headers the presigned PUT must send (the checksum it was signed with)",
    )
    parts: list[UploadPartTarget]
    finalize_url: str


class UploadReceived(BaseModel):
    upload_id: str
    received_bytes: int


class FinalizeBody(BaseModel):
    token: str = Field(min_length=1, description="the ticket's token from the create call")


@router.post(
    "/projects/{project_id}/uploads",
    response_model=UploadCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Start an upload",
    responses=responses(413),
)
def start_upload(
    project_id: PathId, body: UploadCreate, request: Request, store: StoreDep, actor: Admin
) -> UploadCreated:
    ticket = create_upload(
        store,
        project_id,
        body.filename,
        size_bytes=body.size_bytes,
        sha256=body.sha256,
        part_sha256s=body.part_sha256s,
        actor=actor,
    )
    own = str(request.url_for("upload_content", upload_id=ticket.upload_id))
    forget(store, project_id)
    return UploadCreated(
        upload_id=ticket.upload_id,
        token=ticket.token,
        expires_at=ticket.expires_at.isoformat(timespec="seconds"),
        filename=ticket.original_name,
        put_url=ticket.url if store.remote else own,
        presigned=store.remote,
        headers=dict(ticket.headers),
        parts=[
            UploadPartTarget(
                number=p.number, offset=p.offset, size=p.size, url=p.url, headers=dict(p.headers)
            )
            for p in ticket.parts
        ],
        finalize_url=str(request.url_for("finish_upload", upload_id=ticket.upload_id)),
    )


@router.put(
    "/uploads/{upload_id}/content",
    name="upload_content",
    response_model=UploadReceived,
    summary="Send an upload's bytes (streamed to disk; the limit checked before reading)",
    responses=responses(409, 413),
    openapi_extra=BINARY_BODY,
)
async def upload_content(
    upload_id: str,
    request: Request,
    store: StoreDep,
    actor: Admin,
    x_upload_token: Annotated[str, Header(description="the ticket's token")],
    content_length: Annotated[int | None, Header()] = None,
) -> UploadReceived:
    # Everything below runs before the first byte of the body is read.
    sink = await receive_body(
        request, receive_upload(store, upload_id, x_upload_token, content_length), lambda s: s
    )
    await anyio.to_thread.run_sync(
        lambda: audit(
            store,
            actor,
            "uploads.content",
            sink.up.project_id,
            upload_id=upload_id,
            bytes=sink.received,
        )
    )
    return UploadReceived(upload_id=upload_id, received_bytes=sink.received)


@router.post(
    "/uploads/{upload_id}/finalize",
    name="finish_upload",
    response_model=AddedMediaDoc,
    summary="Verify an upload (size, sha256, probe) and add it to its project",
    responses=responses(409),
)
def finish(upload_id: str, body: FinalizeBody, store: StoreDep, actor: Admin) -> AddedMediaDoc:
    added = finalize_upload(store, upload_id, body.token, actor=actor)
    forget(store, added.media.project_id)
    return added_media_doc(added.media, added.duplicate)


@router.get(
    "/projects/{project_id}/uploads/rejected",
    response_model=list[RejectedUpload],
    summary="Uploads the project refused, with the reasons",
)
def rejected(project_id: PathId, store: StoreDep, _: Reader) -> list[RejectedUpload]:
    return rejected_uploads(store, project_id)


@router.get("/projects/{project_id}/media", response_model=list[MediaDoc], summary="Media files")
def media(project_id: PathId, store: StoreDep, _: Reader) -> list[MediaDoc]:
    return list_media(store, project_id)


@router.get(
    "/projects/{project_id}/media/{media_id}",
    response_model=MediaFacts,
    summary="A media file with its probe facts",
)
def one_media(project_id: PathId, media_id: PathId, store: StoreDep, _: Reader) -> MediaFacts:
    return media_facts(store, project_id, media_id)


@router.delete(
    "/projects/{project_id}/media/{media_id}",
    response_model=MediaRemoved,
    summary="Remove a media file with what was made from it (refused while a run uses it)",
    responses=responses(409),
)
def drop_media(project_id: PathId, media_id: PathId, store: StoreDep, actor: Admin) -> MediaRemoved:
    removed = remove_media(store, project_id, media_id, actor=actor)
    forget(store, project_id)
    return removed

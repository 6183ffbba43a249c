"""Scenes: filter, sort and page them with their confidences; approve or reject one or many;
their preview images."""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from genesis_pipeline.api.cache import reads_for
from genesis_pipeline.api.deps import BodyId, PathId, QueryId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.api.responses import NOT_MODIFIED, IfNoneMatch, answer, cached
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.scene_browser import browse
from genesis_pipeline.store import Store

router = APIRouter(tags=["scenes"], responses=responses(401, 403, 404, 422))

#: The API's sort names for the Scenes page's sorts.
SORTS = {
    "timeline": "timeline",
    "confidence": "lowest confidence first",
    "-confidence": "highest confidence first",
    "duration": "shortest first",
    "-duration": "longest first",
}
Sort = Literal["timeline", "confidence", "-confidence", "duration", "-duration"]


class Scene(BaseModel):
    id: int
    media_id: int
    media_name: str
    index: int
    start_s: float
    end_s: float
    duration_s: float
    timeline_start_s: float
    timeline_end_s: float
    caption: str | None
    detection_confidence: float | None
    caption_confidence: float | None
    transcript_confidence: float | None
    min_confidence: float | None = Field(description="the weakest of the three")
    cut_score: float | None
    word_count: int
    review_status: str = Field(examples=["approved"])
    reviewed: bool
    chapter_index: int | None
    chapter_title: str | None
    previews: int = Field(description="how many preview images /preview?n= serves")


class ScenePage(BaseModel):
    scenes: list[Scene]
    page: int
    pages: int
    matching: int


class Review(BaseModel):
    scene_ids: list[BodyId] = Field(min_length=1, max_length=10000, examples=[[3, 4, 5]])
    status: Literal["approved", "rejected"]
    note: str | None = Field(None, max_length=2000)


class Reviewed(BaseModel):
    updated: int


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _int_or_none(v: Any) -> int | None:
    f = _num(v)
    return None if f is None else int(f)


def _scene(row: dict[str, Any]) -> Scene:
    return Scene(
        id=int(row["id"]),
        media_id=int(row["media_id"]),
        media_name=str(row["media_name"]),
        index=int(row["idx"]),
        start_s=float(row["start_s"]),
        end_s=float(row["end_s"]),
        duration_s=float(row["duration_s"]),
        timeline_start_s=float(row["timeline_start_s"]),
        timeline_end_s=float(row["timeline_end_s"]),
        caption=row["caption"] if isinstance(row["caption"], str) else None,
        detection_confidence=_num(row["detection_confidence"]),
        caption_confidence=_num(row["caption_confidence"]),
        transcript_confidence=_num(row["transcript_confidence"]),
        min_confidence=_num(row.get("min_confidence")),
        cut_score=_num(row["cut_score"]),
        word_count=int(row["word_count"]),
        review_status=str(row["review_status"]),
        reviewed=bool(row["reviewed"]),
        chapter_index=_int_or_none(row["chapter_idx"]),
        chapter_title=row["chapter_title"] if isinstance(row["chapter_title"], str) else None,
        previews=len(row["preview_paths"] or ()),
    )


def _table(store: Store, project_id: int) -> pd.DataFrame:
    """The project's scenes table (cached briefly: clients poll it)."""

    def load() -> pd.DataFrame:
        get_project(store, project_id)
        return scenes_table(store, project_id)

    return reads_for(store.home).get(("scenes", project_id), load)


def scene_page(
    store: Store,
    project_id: int,
    *,
    status: str = "all",
    confidence_below: float | None = None,
    caption_contains: str = "",
    media_id: int | None = None,
    sort: Sort = "timeline",
    page: int = 0,
    page_size: int = 24,
) -> ScenePage:
    """A page of the project's scenes (the scenes table comes from the read cache)."""
    found = browse(
        _table(store, project_id),
        status=status,
        text=caption_contains,
        media_id=media_id,
        max_confidence=confidence_below,
        sort=SORTS[sort],
        page=page,
        page_size=page_size,
    )
    return ScenePage(
        scenes=[_scene(r) for r in found.rows.to_dict("records")],
        page=found.page,
        pages=found.pages,
        matching=found.matching,
    )


@router.get(
    "/projects/{project_id}/scenes",
    response_model=ScenePage,
    summary="Scenes, filtered and paged",
    responses=NOT_MODIFIED,
)
async def scenes(
    request: Request,
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    status: Literal["all", "approved", "rejected", "unreviewed"] = "all",
    confidence_below: float | None = Query(
        None, ge=0, le=1, description="only scenes whose weakest confidence is at most this"
    ),
    caption_contains: str = Query("", max_length=200),
    media_id: QueryId = None,
    sort: Sort = "timeline",
    page: int = Query(0, ge=0, le=1_000_000),
    page_size: int = Query(24, ge=1, le=500),
    if_none_match: IfNoneMatch = None,
) -> Response:
    # The same page asked by many clients at once is built and encoded once.
    asked = (status, confidence_below, caption_contains, media_id, sort, page, page_size)
    polled = await cached(
        request,
        store,
        ("scene-page", project_id, asked),
        lambda: scene_page(
            store,
            project_id,
            status=status,
            confidence_below=confidence_below,
            caption_contains=caption_contains,
            media_id=media_id,
            sort=sort,
            page=page,
            page_size=page_size,
        ),
    )
    return answer(polled, if_none_match)


@router.post(
    "/projects/{project_id}/scenes/review",
    response_model=Reviewed,
    summary="Approve or reject many scenes",
)
def review(project_id: PathId, body: Review, store: StoreDep, actor: Reviewer) -> Reviewed:
    n = set_scene_status(
        store,
        project_id,
        body.scene_ids,
        body.status,
        reviewer=actor.label,
        note=body.note,
        actor=actor,
    )
    forget(store, project_id)
    return Reviewed(updated=n)


@router.post(
    "/projects/{project_id}/scenes/{scene_id}/{verdict}",
    response_model=Reviewed,
    summary="Approve or reject one scene",
)
def review_one(
    project_id: PathId,
    scene_id: PathId,
    verdict: Literal["approve", "reject"],
    store: StoreDep,
    actor: Reviewer,
) -> Reviewed:
    status = "approved" if verdict == "approve" else "rejected"
    n = set_scene_status(store, project_id, [scene_id], status, reviewer=actor.label, actor=actor)
    forget(store, project_id)
    return Reviewed(updated=n)


@router.get(
    "/projects/{project_id}/scenes/{scene_id}/preview",
    response_class=FileResponse,
    response_model=None,
    summary="A scene's preview image (JPEG)",
    responses={200: {"content": {"image/jpeg": {}}}},
)
def preview(
    project_id: PathId,
    scene_id: PathId,
    store: StoreDep,
    _: Reader,
    n: int = Query(0, ge=0, le=100, description="which preview of the scene"),
) -> FileResponse | RedirectResponse:
    table = _table(store, project_id)
    rows = table[table.id == scene_id]
    if rows.empty:
        raise NotFoundError(f"scene {scene_id}: not in project {project_id}")
    shown = list(rows.iloc[0].preview_paths or ())
    if n >= len(shown) or not shown[n]:
        raise NotFoundError(f"scene {scene_id}: no preview {n}")
    where = str(shown[n])
    if where.startswith(("http://", "https://")):  # S3 storage: a presigned GET
        return RedirectResponse(where)
    path = store.inside(where, "preview")
    if not path.is_file():
        raise NotFoundError(f"scene {scene_id}: preview {n} is missing from the data dir")
    return FileResponse(path, media_type="image/jpeg")

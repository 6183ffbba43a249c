"""The cut's order: read it, move a scene within its chapter or a chapter in the cut, reset to
the footage's order, undo the last move or reset, and the list of moves."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import PathId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.services.cut_order import (
    CutOrder,
    cut_order,
    move_chapter,
    move_scene,
    order_history,
    reset_order,
    undo_order_change,
)
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.store.records import CutOrderActionRecord

router = APIRouter(tags=["cut order"], responses=responses(401, 403, 404, 422))


class Move(BaseModel):
    delta: int = Field(
        ge=-10_000,
        le=10_000,
        description="places to move: negative earlier, positive later (stops at the ends)",
        examples=[-1],
    )


class Moved(BaseModel):
    place: int = Field(description="the new place, 0-based (within the chapter for a scene)")


class Reset(BaseModel):
    forgotten: int = Field(description="how many stored places went")


@router.get(
    "/projects/{project_id}/cut-order",
    response_model=CutOrder,
    summary="Chapters and their scenes in the order the cut plays them",
)
def order(project_id: PathId, store: StoreDep, _: Reader) -> CutOrder:
    return cut_order(store, project_id)


@router.get(
    "/projects/{project_id}/cut-order/history",
    response_model=list[CutOrderActionRecord],
    summary="The latest moves and resets, newest first",
)
def history(project_id: PathId, store: StoreDep, _: Reader) -> list[CutOrderActionRecord]:
    get_project(store, project_id)
    return order_history(store, project_id, limit=50)


@router.post(
    "/projects/{project_id}/cut-order/scenes/{scene_id}/move",
    response_model=Moved,
    summary="Move a scene earlier or later within its chapter",
)
def scene_move(
    project_id: PathId, scene_id: PathId, body: Move, store: StoreDep, actor: Reviewer
) -> Moved:
    place = move_scene(store, project_id, scene_id, body.delta, actor=actor)
    forget(store, project_id)
    return Moved(place=place)


@router.post(
    "/projects/{project_id}/cut-order/chapters/{chapter_id}/move",
    response_model=Moved,
    summary="Move a chapter, with its scenes, earlier or later in the cut",
)
def chapter_move(
    project_id: PathId, chapter_id: PathId, body: Move, store: StoreDep, actor: Reviewer
) -> Moved:
    place = move_chapter(store, project_id, chapter_id, body.delta, actor=actor)
    forget(store, project_id)
    return Moved(place=place)


@router.post(
    "/projects/{project_id}/cut-order/reset",
    response_model=Reset,
    summary="Back to the footage's order (undo brings the moves back)",
)
def reset(project_id: PathId, store: StoreDep, actor: Reviewer) -> Reset:
    forgotten = reset_order(store, project_id, actor=actor)
    forget(store, project_id)
    return Reset(forgotten=forgotten)


@router.post(
    "/projects/{project_id}/cut-order/undo",
    response_model=CutOrderActionRecord,
    summary="Take back the newest move or reset still standing",
)
def undo(project_id: PathId, store: StoreDep, actor: Reviewer) -> CutOrderActionRecord:
    undone = undo_order_change(store, project_id, actor=actor)
    forget(store, project_id)
    return undone

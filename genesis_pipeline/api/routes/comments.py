"""Comments: threads on scenes, chapters and ranges of the cut; reply, edit, resolve, re-open.

Anyone with a token may read and comment (viewers too); only a comment's author edits it; a
reviewer or the thread's author resolves and re-opens. The rules are the service's
(``services/comments.py``), which also records each write in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from genesis_pipeline.api.cache import reads_for
from genesis_pipeline.api.deps import BodyId, PathId, QueryId, Reader, StoreDep
from genesis_pipeline.api.problems import responses
from genesis_pipeline.services import comments as comments_service
from genesis_pipeline.services.comments import MAX_BODY, Thread
from genesis_pipeline.store import Store

router = APIRouter(tags=["comments"], responses=responses(401, 403, 404, 422))

#: The latest time a comment may name (ten days of footage, in seconds).
MAX_S = 10 * 24 * 3600.0


class CommentOut(BaseModel):
    id: int
    thread_id: int
    author: str = Field(examples=["user:ana"])
    author_name: str
    body: str
    mentions: list[str]
    created_at: datetime
    edited_at: datetime | None


class ThreadOut(BaseModel):
    id: int
    target: Literal["scene", "chapter", "cut"]
    scene_id: int | None
    chapter_id: int | None
    start_s: float | None = Field(
        description="a scene comment: seconds into its source; a cut comment: on the cut"
    )
    end_s: float | None
    render_id: int | None
    orphaned: bool = Field(description="its scene or chapter is gone; kept, not lost")
    resolved: bool
    resolved_by: str | None
    resolved_at: datetime | None
    comments: list[CommentOut]


class ThreadList(BaseModel):
    threads: list[ThreadOut]
    open: int
    resolved: int
    orphaned: int


class NewComment(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_BODY, examples=["too dark, @bea"])
    scene_id: BodyId | None = None
    chapter_id: BodyId | None = None
    start_s: float | None = Field(None, ge=0, le=MAX_S)
    end_s: float | None = Field(None, ge=0, le=MAX_S)
    render_id: BodyId | None = None

    @model_validator(mode="after")
    def one_target(self) -> NewComment:
        if (self.scene_id is not None) + (self.chapter_id is not None) > 1:
            raise ValueError("give scene_id or chapter_id, not both")
        return self


class Reply(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_BODY)


def _thread(t: Thread) -> ThreadOut:
    root = t.root
    return ThreadOut(
        id=t.id,
        target=root.target,
        scene_id=root.scene_id,
        chapter_id=root.chapter_id,
        start_s=root.start_s,
        end_s=root.end_s,
        render_id=root.render_id,
        orphaned=t.orphaned,
        resolved=t.resolved,
        resolved_by=t.resolved_by,
        resolved_at=t.resolved_at,
        comments=[
            CommentOut(
                id=c.id,
                thread_id=c.thread_id,
                author=c.author,
                author_name=c.author_name,
                body=c.body,
                mentions=list(c.mentions),
                created_at=c.created_at,
                edited_at=c.edited_at,
            )
            for c in t.comments
        ],
    )


def _in_state(t: Thread, state: str) -> bool:
    if state == "open":
        return not t.resolved
    if state == "resolved":
        return t.resolved
    if state == "orphaned":
        return t.orphaned
    return True


def _one(store: Store, project_id: int, comment_id: int) -> ThreadOut:
    """The thread ``comment_id`` is in, after a write (the project's cached reads go)."""
    reads_for(store.home).forget(lambda key: isinstance(key, tuple) and key[1] == project_id)
    for t in comments_service.threads(store, project_id):
        if any(c.id == comment_id for c in t.comments):
            return _thread(t)
    raise AssertionError(f"comment {comment_id} was just written")  # pragma: no cover


@router.get("/projects/{project_id}/comments", response_model=ThreadList, summary="Comment threads")
def list_comments(
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    state: Literal["all", "open", "resolved", "orphaned"] = "all",
    scene_id: QueryId = None,
    target: Literal["scene", "chapter", "cut"] | None = Query(None),
) -> ThreadList:
    threads = comments_service.threads(store, project_id)
    counts = comments_service.counts(threads)
    shown = [
        t
        for t in threads
        if _in_state(t, state)
        and (scene_id is None or t.root.scene_id == scene_id)
        and (target is None or t.target == target)
    ]
    return ThreadList(
        threads=[_thread(t) for t in shown],
        open=counts.open,
        resolved=counts.resolved,
        orphaned=counts.orphaned,
    )


@router.post(
    "/projects/{project_id}/comments",
    response_model=ThreadOut,
    status_code=201,
    summary="Start a thread on a scene, a chapter or a range of the cut",
)
def create(project_id: PathId, body: NewComment, store: StoreDep, actor: Reader) -> ThreadOut:
    made = comments_service.add_comment(
        store,
        project_id,
        body.body,
        actor=actor,
        scene_id=body.scene_id,
        chapter_id=body.chapter_id,
        start_s=body.start_s,
        end_s=body.end_s,
        render_id=body.render_id,
    )
    return _one(store, project_id, made.id)


@router.post(
    "/projects/{project_id}/comments/{comment_id}/replies",
    response_model=ThreadOut,
    status_code=201,
    summary="Reply in a comment's thread",
)
def reply(
    project_id: PathId, comment_id: PathId, body: Reply, store: StoreDep, actor: Reader
) -> ThreadOut:
    made = comments_service.reply(store, project_id, comment_id, body.body, actor=actor)
    return _one(store, project_id, made.id)


@router.patch(
    "/projects/{project_id}/comments/{comment_id}",
    response_model=ThreadOut,
    summary="Edit a comment (its author only)",
)
def edit(
    project_id: PathId, comment_id: PathId, body: Reply, store: StoreDep, actor: Reader
) -> ThreadOut:
    comments_service.edit_comment(store, project_id, comment_id, body.body, actor=actor)
    return _one(store, project_id, comment_id)


@router.post(
    "/projects/{project_id}/comments/{comment_id}/{verb}",
    response_model=ThreadOut,
    summary="Resolve or re-open a thread (a reviewer or the thread's author)",
)
def resolve(
    project_id: PathId,
    comment_id: PathId,
    verb: Literal["resolve", "reopen"],
    store: StoreDep,
    actor: Reader,
) -> ThreadOut:
    if verb == "resolve":
        comments_service.resolve_thread(store, project_id, comment_id, actor=actor)
    else:
        comments_service.reopen_thread(store, project_id, comment_id, actor=actor)
    return _one(store, project_id, comment_id)

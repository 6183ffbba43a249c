"""Timecoded comments: on a scene, on a chapter, or on a time range of the cut, in threads.

The rules, which every front end gets from here:

* anyone who may read the project may comment and reply (viewers too);
* only a comment's author edits it (its ``edited_at`` says when);
* a thread is resolved and re-opened as a whole, by a reviewer or by the thread's author;
* ``@name`` mentions a project member (:func:`members`); other ``@words`` stay plain text;
* a scene comment is keyed on its scene as approvals are, so it stays with the scene through a
  re-detection that keeps it; a comment whose scene or chapter is gone is kept and marked
  ``orphaned``.

Every write is recorded in the audit log by :func:`access.permit` in the write's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from genesis_pipeline.errors import InvalidSettingError, NotFoundError, PermissionDeniedError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.cut import CutPlan, load_cut
from genesis_pipeline.stages.timeline import cut_starts
from genesis_pipeline.store import Store
from genesis_pipeline.store import comments as comments_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store.records import CommentRecord, ReadModel

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

Target = Literal["scene", "chapter", "cut"]
TARGETS: tuple[Target, ...] = ("scene", "chapter", "cut")

#: Longest comment body, in characters (a note on a shot, not a document).
MAX_BODY = 5000

# "@name" not preceded by a word character (so "mail@example.com" mentions nobody); names as
# access tokens and local users allow them. Trailing punctuation ("@ana.") is not the name's.
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._@-]*)")


@dataclass(frozen=True, slots=True)
class Comment(ReadModel):
    """One comment. ``author`` is the actor's label (``user:ana``), ``author_name`` its name.
    ``scene_id``/``chapter_id``: today's scene or chapter (None when ``orphaned``).
    ``start_s``: a scene comment's time in its source, a cut comment's start on the cut."""

    id: int
    thread_id: int
    parent_id: int | None
    target: Target
    scene_id: int | None
    chapter_id: int | None
    media_id: int | None
    start_frame: int | None
    start_s: float | None
    end_s: float | None
    render_id: int | None
    author: str
    author_name: str
    body: str
    mentions: tuple[str, ...]
    created_at: datetime
    edited_at: datetime | None
    orphaned: bool


@dataclass(frozen=True, slots=True)
class Thread(ReadModel):
    """A thread: its first comment and the replies in the order they were written."""

    comments: tuple[Comment, ...]
    resolved_at: datetime | None
    resolved_by: str | None

    @property
    def root(self) -> Comment:
        return self.comments[0]

    @property
    def id(self) -> int:
        return self.root.id

    @property
    def target(self) -> Target:
        return self.root.target

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def orphaned(self) -> bool:
        return self.root.orphaned

    @property
    def replies(self) -> tuple[Comment, ...]:
        return self.comments[1:]


@dataclass(frozen=True, slots=True)
class CommentCounts(ReadModel):
    """How many threads and comments a project (or a scene) has."""

    threads: int
    open: int
    resolved: int
    orphaned: int
    comments: int


@dataclass(frozen=True, slots=True)
class CutMark(ReadModel):
    """A thread placed on the cut's timeline (seconds on the cut), for the Render page's strip
    and the timeline exports' markers."""

    thread_id: int
    target: Target
    start_s: float
    end_s: float
    author_name: str
    body: str
    resolved: bool
    replies: int

    @property
    def label(self) -> str:
        return f"{self.author_name}: {self.body}"


# -- reading ------------------------------------------------------------------------------------
def author_name(label: str) -> str:
    """``user:ana`` → ``ana`` (a label without a kind is its own name)."""
    return label.split(":", 1)[1] if ":" in label else label


def _target(value: str) -> Target:
    for t in TARGETS:
        if value == t:
            return t
    raise ValueError(f"comment target {value!r}")  # the table holds only these


def _comment(rec: CommentRecord) -> Comment:
    target = _target(rec.target)
    orphaned = (target == "scene" and rec.scene_id is None) or (
        target == "chapter" and rec.chapter_id is None
    )
    return Comment(
        id=rec.id,
        thread_id=rec.parent_id if rec.parent_id is not None else rec.id,
        parent_id=rec.parent_id,
        target=target,
        scene_id=rec.scene_id,
        chapter_id=rec.chapter_id,
        media_id=rec.media_id,
        start_frame=rec.start_frame,
        start_s=rec.start_s,
        end_s=rec.end_s,
        render_id=rec.render_id,
        author=rec.author,
        author_name=author_name(rec.author),
        body=rec.body,
        mentions=tuple(rec.mentions_json),
        created_at=rec.created_at,
        edited_at=rec.edited_at,
        orphaned=orphaned,
    )


def to_threads(records: Iterable[CommentRecord]) -> list[Thread]:
    """Threads from stored comments in the store's order (``comments.for_project``)."""
    roots: dict[int, CommentRecord] = {}
    members: dict[int, list[Comment]] = {}
    for rec in records:  # thread by thread, first comment first (the store's order)
        thread_id = rec.parent_id if rec.parent_id is not None else rec.id
        if rec.parent_id is None:
            roots[rec.id] = rec
        members.setdefault(thread_id, []).append(_comment(rec))
    return [
        Thread(tuple(members[tid]), roots[tid].resolved_at, roots[tid].resolved_by)
        for tid in members
        if tid in roots
    ]


def threads(store: Store, project_id: int) -> list[Thread]:
    """The project's threads, oldest first, orphaned ones included.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        return to_threads(comments_sql.for_project(con, project_id))


def scene_threads(all_threads: Sequence[Thread], scene_id: int) -> list[Thread]:
    """The threads on one scene."""
    return [t for t in all_threads if t.target == "scene" and t.root.scene_id == scene_id]


def counts(all_threads: Sequence[Thread]) -> CommentCounts:
    return CommentCounts(
        threads=len(all_threads),
        open=sum(not t.resolved for t in all_threads),
        resolved=sum(t.resolved for t in all_threads),
        orphaned=sum(t.orphaned for t in all_threads),
        comments=sum(len(t.comments) for t in all_threads),
    )


def scene_counts(all_threads: Sequence[Thread]) -> dict[int, CommentCounts]:
    """Per scene id with comments: its thread counts (what the Scenes page's cards show)."""
    by_scene: dict[int, list[Thread]] = {}
    for t in all_threads:
        if t.target == "scene" and t.root.scene_id is not None:
            by_scene.setdefault(t.root.scene_id, []).append(t)
    return {sid: counts(ts) for sid, ts in by_scene.items()}


def scenes_with_open_comments(all_threads: Sequence[Thread]) -> set[int]:
    return {sid for sid, c in scene_counts(all_threads).items() if c.open}


def members(store: Store, project_id: int) -> list[str]:
    """Who can be @mentioned: everyone who acted on the project (the audit log) and the app's
    local users, by name, in the order first seen."""
    with store.db.read() as con:
        return _members(comments_sql.actors(con, project_id), comments_sql.local_user_names(con))


def _members(actors: Iterable[str], users: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in [author_name(a) for a in actors] + list(users):
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def mentions(body: str, known: Iterable[str]) -> list[str]:
    """The members ``body`` @mentions, as the members list spells them, each once, in order."""
    by_lower = {m.lower(): m for m in known}
    found: dict[str, None] = {}
    for raw in _MENTION.findall(body):
        name = by_lower.get(raw.lower()) or by_lower.get(raw.rstrip(".-").lower())
        if name is not None:
            found.setdefault(name)
    return list(found)


# -- on the cut ---------------------------------------------------------------------------------
def cut_marks(
    store: Store, project_id: int, *, plan: CutPlan | None = None, open_only: bool = False
) -> list[CutMark]:
    """Threads placed on the cut, in time order: cut comments at their range, scene comments
    at their time in the scene (its start without one), chapter comments at the chapter's start.
    Threads on a scene left out of the cut, and orphaned ones, have no place on it.
    """
    plan = plan or load_cut(store, project_id)
    starts = cut_starts(list(plan.segments))
    placed = {
        sid: (start, seg)
        for sid, start, seg in zip(plan.scene_ids, starts, plan.segments, strict=True)
    }
    chapters = {c.chapter_id: c for c in plan.chapters}
    marks: list[CutMark] = []
    for t in threads(store, project_id):
        if open_only and t.resolved:
            continue
        root = t.root
        span: tuple[float, float] | None = None
        if root.target == "cut" and root.start_s is not None:
            span = (root.start_s, root.end_s if root.end_s is not None else root.start_s)
        elif root.target == "scene" and root.scene_id in placed:
            start, seg = placed[root.scene_id]
            at = root.start_s if root.start_s is not None else seg.start_s
            offset = min(max(at - seg.start_s, 0.0), seg.duration_s)
            span = (start + offset, start + offset)
        elif root.target == "chapter" and root.chapter_id in chapters:
            ch = chapters[root.chapter_id]
            span = (ch.start_s, ch.start_s)
        if span is None:
            continue
        marks.append(
            CutMark(
                thread_id=t.id,
                target=root.target,
                start_s=span[0],
                end_s=span[1],
                author_name=root.author_name,
                body=root.body,
                resolved=t.resolved,
                replies=len(t.replies),
            )
        )
    marks.sort(key=lambda m: (m.start_s, m.thread_id))
    return marks


# -- writing ------------------------------------------------------------------------------------
def _body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidSettingError("comment", "it is empty")
    if len(text) > MAX_BODY:
        raise InvalidSettingError("comment", f"{len(text)} characters; at most {MAX_BODY}")
    return text


def _seconds(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not v >= 0 or v == float("inf"):  # NaN fails the first test
        raise InvalidSettingError(name, f"{value!r} is not a time in seconds (0 or more)")
    return v


def add_comment(
    store: Store,
    project_id: int,
    body: str,
    *,
    actor: Actor,
    scene_id: int | None = None,
    chapter_id: int | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    render_id: int | None = None,
) -> Comment:
    """Start a thread on a scene (``scene_id``, optionally at ``start_s`` seconds of its
    source), on a chapter (``chapter_id``), or on the cut (``start_s``, optionally ``end_s``,
    seconds on the cut; ``render_id`` the render it was watched on).

    Raises:
        InvalidSettingError: an empty or over-long body, no target or two, a bad time.
        NotFoundError: no such project, scene, chapter or render.
        PermissionDeniedError: the actor may not read the project.
    """
    text = _body(body)
    start, end = _seconds("start_s", start_s), _seconds("end_s", end_s)
    if (scene_id is not None) + (chapter_id is not None) > 1:
        raise InvalidSettingError("comment target", "give a scene or a chapter, not both")
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        key: tuple[int, int] | None = None
        target: Target
        if scene_id is not None:
            target = "scene"
            found = comments_sql.scene_span(con, project_id, scene_id)
            if found is None:
                raise NotFoundError(f"scene {scene_id}: not a scene of project {project_id}")
            key, scene_start, scene_end = found
            if start is not None and not scene_start - 1e-6 <= start <= scene_end + 1e-6:
                raise InvalidSettingError(
                    "start_s",
                    f"{start:.3f} s is outside scene {scene_id} "
                    f"({scene_start:.3f}-{scene_end:.3f} s of its source)",
                )
            end = None
        elif chapter_id is not None:
            target = "chapter"
            key = comments_sql.chapter_key(con, project_id, chapter_id)
            if key is None:
                raise NotFoundError(f"chapter {chapter_id}: not a chapter of project {project_id}")
            start = end = None
        else:
            target = "cut"
            if start is None:
                raise InvalidSettingError(
                    "comment target", "give a scene, a chapter, or a time on the cut (start_s)"
                )
            if end is not None and end < start:
                raise InvalidSettingError("end_s", f"{end:.3f} s is before start_s {start:.3f} s")
        if render_id is not None and not comments_sql.render_exists(con, project_id, render_id):
            raise NotFoundError(f"render {render_id}: not a render of project {project_id}")
        known = _members(comments_sql.actors(con, project_id), comments_sql.local_user_names(con))
        named = mentions(text, known)
        new_id = comments_sql.insert(
            con,
            project_id,
            target=target,
            author=actor.label,
            body=text,
            mentions=named,
            key=key,
            start_s=start,
            end_s=end,
            render_id=render_id if target == "cut" else None,
        )
        access.permit(
            con,
            actor,
            "read",
            "comments.create",
            project_id,
            {
                "comment": new_id,
                "target": target,
                "scene": scene_id,
                "chapter": chapter_id,
                "mentions": named,
            },
        )
        rec = comments_sql.get(con, project_id, new_id)
    assert rec is not None
    return _comment(rec)


def _existing(con: Connection, project_id: int, comment_id: int) -> CommentRecord:
    rec = comments_sql.get(con, project_id, comment_id)
    if rec is None:
        raise NotFoundError(f"comment {comment_id}: not a comment of project {project_id}")
    return rec


def reply(store: Store, project_id: int, comment_id: int, body: str, *, actor: Actor) -> Comment:
    """Reply in the thread of ``comment_id`` (a reply to a reply joins the same thread).

    Raises:
        InvalidSettingError: an empty or over-long body.
        NotFoundError: no such comment in the project.
        PermissionDeniedError: the actor may not read the project.
    """
    text = _body(body)
    with store.db.write() as con:
        parent = _existing(con, project_id, comment_id)
        root_id = parent.parent_id if parent.parent_id is not None else parent.id
        root = _existing(con, project_id, root_id)
        known = _members(comments_sql.actors(con, project_id), comments_sql.local_user_names(con))
        named = mentions(text, known)
        new_id = comments_sql.insert(
            con,
            project_id,
            target=root.target,
            author=actor.label,
            body=text,
            mentions=named,
            parent_id=root_id,
            key=(root.media_id, root.start_frame)
            if root.media_id is not None and root.start_frame is not None
            else None,
        )
        access.permit(
            con,
            actor,
            "read",
            "comments.reply",
            project_id,
            {"comment": new_id, "thread": root_id, "mentions": named},
        )
        rec = comments_sql.get(con, project_id, new_id)
    assert rec is not None
    return _comment(rec)


def edit_comment(
    store: Store, project_id: int, comment_id: int, body: str, *, actor: Actor
) -> Comment:
    """Change a comment's text; only its author may.

    Raises:
        InvalidSettingError: an empty or over-long body.
        NotFoundError: no such comment in the project.
        PermissionDeniedError: the actor is not the comment's author.
    """
    text = _body(body)
    with store.db.write() as con:
        rec = _existing(con, project_id, comment_id)
        if rec.author != actor.label:
            raise PermissionDeniedError(
                actor.label, actor.role, f"its author, {rec.author}", f"edit comment {comment_id}"
            )
        known = _members(comments_sql.actors(con, project_id), comments_sql.local_user_names(con))
        named = mentions(text, known)
        comments_sql.update_body(con, comment_id, text, named)
        access.permit(con, actor, "read", "comments.edit", project_id, {"comment": comment_id})
        rec = _existing(con, project_id, comment_id)
    return _comment(rec)


def _set_resolved(
    store: Store, project_id: int, comment_id: int, actor: Actor, resolve: bool
) -> Thread:
    verb = "resolve" if resolve else "reopen"
    with store.db.write() as con:
        rec = _existing(con, project_id, comment_id)
        root_id = rec.parent_id if rec.parent_id is not None else rec.id
        root = _existing(con, project_id, root_id)
        if root.author != actor.label and not access.allows(actor.role, "review"):
            raise PermissionDeniedError(
                actor.label,
                actor.role,
                f"reviewer, or the thread's author {root.author}",
                f"{verb} comment thread {root_id}",
            )
        comments_sql.set_resolved(con, root_id, actor.label if resolve else None)
        access.permit(con, actor, "read", f"comments.{verb}", project_id, {"thread": root_id})
        records = [
            r for r in comments_sql.for_project(con, project_id) if root_id in (r.id, r.parent_id)
        ]
    return to_threads(records)[0]


def resolve_thread(store: Store, project_id: int, comment_id: int, *, actor: Actor) -> Thread:
    """Resolve the thread ``comment_id`` is in: a reviewer or the thread's author may.

    Raises:
        NotFoundError: no such comment in the project.
        PermissionDeniedError: a viewer who did not start the thread.
    """
    return _set_resolved(store, project_id, comment_id, actor, True)


def reopen_thread(store: Store, project_id: int, comment_id: int, *, actor: Actor) -> Thread:
    """Re-open the thread ``comment_id`` is in: a reviewer or the thread's author may.

    Raises:
        NotFoundError: no such comment in the project.
        PermissionDeniedError: a viewer who did not start the thread.
    """
    return _set_resolved(store, project_id, comment_id, actor, False)

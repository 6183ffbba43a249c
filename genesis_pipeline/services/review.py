"""Scene approvals. Every scene counts as approved until a reviewer rejects it.

Every decision goes to an undo log (``store.review_log``): a reviewer can undo any action or
the last one, and a scene can go back to unreviewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.wording import plural
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import review_log as log_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.records import ReadModel, ReviewActionRecord

UNREVIEWED = log_sql.UNREVIEWED
STATUSES = ("approved", "rejected", UNREVIEWED)
VERBS = {"approved": "Approved", "rejected": "Rejected", UNREVIEWED: "Marked unreviewed"}


@dataclass(frozen=True, slots=True)
class ReviewAction(ReadModel):
    """A reviewer's action as the undo list shows it."""

    id: int
    status: str
    scene_count: int
    created_at: datetime
    undone: bool
    label: str  # "Rejected scene 3 of clip.mp4", "Approved 24 scenes"


@dataclass(frozen=True, slots=True)
class UndoResult(ReadModel):
    """What an undo did: the action, how many scenes got their earlier decision back and how
    many kept a later one."""

    action: ReviewAction
    restored: int
    skipped: int

    @property
    def message(self) -> str:
        text = f"Undid “{self.action.label}”"
        if self.skipped:
            changed = "scene was" if self.skipped == 1 else "scenes were"
            text += f" ({self.skipped} {changed} changed again since and kept that)"
        return text + "."


def set_scene_status(
    store: Store,
    project_id: int,
    scene_ids: Sequence[int],
    status: str,
    *,
    actor: Actor,
    reviewer: str | None = None,
    note: str | None = None,
) -> int:
    """Approve or reject scenes, or make them unreviewed again; returns how many were set.
    The action can be undone (:func:`undo_review`). ``reviewer`` (the actor's label unless
    given) is who the scene shows as having decided.

    Raises:
        InvalidSettingError: status is not approved, rejected or unreviewed.
        NotFoundError: a scene is not in the project.
        PermissionDeniedError: the actor may not review.
    """
    access.require(actor, "review", "scenes.review")
    if status not in STATUSES:
        raise InvalidSettingError(
            "review status", f"{status!r} is not approved, rejected or unreviewed"
        )
    if not scene_ids:
        return 0
    ids = [int(s) for s in scene_ids]
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "scenes.review", project_id, {"scene_ids": ids, "status": status}
        )
        keys = review_sql.scene_keys(con, project_id, ids)
        log_sql.record_action(con, project_id, status, keys)
        if status == UNREVIEWED:
            n = review_sql.clear_scene_status(con, project_id, ids)
        else:
            n = review_sql.set_scene_status(
                con, project_id, ids, status, reviewer or actor.label, note
            )
        projects_sql.bump_revision(con, project_id)
    return n


def reset_reviews(store: Store, project_id: int, *, actor: Actor) -> None:
    """Back to every scene approved and unreviewed, with an empty undo log.

    Raises:
        PermissionDeniedError: the actor may not review.
    """
    with store.db.write() as con:
        access.permit(con, actor, "review", "scenes.reset", project_id)
        review_sql.clear_reviews(con, project_id)
        log_sql.clear_log(con, project_id)
        projects_sql.bump_revision(con, project_id)


def _action(rec: ReviewActionRecord) -> ReviewAction:
    verb = VERBS.get(rec.status, rec.status)
    if rec.scene_count == 1 and rec.first_scene_idx is not None:
        label = f"{verb} scene {rec.first_scene_idx + 1} of {rec.first_media_name}"
    else:
        label = f"{verb} {plural(rec.scene_count, 'scene')}"
    return ReviewAction(
        id=rec.id,
        status=rec.status,
        scene_count=rec.scene_count,
        created_at=rec.created_at,
        undone=rec.undone,
        label=label,
    )


def review_history(store: Store, project_id: int, limit: int = 20) -> list[ReviewAction]:
    """The project's latest review actions, newest first (undone ones say so)."""
    with store.db.read() as con:
        return [_action(r) for r in log_sql.list_actions(con, project_id, limit)]


def undo_review(
    store: Store, project_id: int, action_id: int | None = None, *, actor: Actor
) -> UndoResult:
    """Undo one review action (``None``: the newest one still standing). Scenes that a later
    action changed again keep the later decision.

    Raises:
        NotFoundError: nothing to undo, or no such action standing in the project.
        PermissionDeniedError: the actor may not review.
    """
    with store.db.write() as con:
        access.require(actor, "review", "scenes.undo")
        if action_id is None:
            action_id = log_sql.last_standing(con, project_id)
            if action_id is None:
                raise NotFoundError("nothing to undo: no review decision is left to take back")
        records = {r.id: r for r in log_sql.list_actions(con, project_id, limit=1_000_000)}
        restored, skipped = log_sql.undo_action(con, project_id, action_id)
        access.permit(
            con, actor, "review", "scenes.undo", project_id,
            {"action_id": action_id, "restored": restored, "skipped": skipped},
        )  # fmt: skip
        projects_sql.bump_revision(con, project_id)
    return UndoResult(_action(records[action_id]), restored, skipped)


@dataclass(frozen=True, slots=True)
class Decision(ReadModel):
    """Who approved or rejected a scene last, and when (``reviewer`` is an actor's label:
    ``user:rita``, ``token:ci-bot``, ``cli:ana``)."""

    scene_id: int
    status: str
    reviewer: str | None
    decided_at: datetime

    @property
    def who(self) -> str:
        """The reviewer without the kind (``rita``), or "someone" when nobody was recorded."""
        return (self.reviewer or "someone").split(":", 1)[-1]


def last_decisions(store: Store, project_id: int) -> dict[int, Decision]:
    """The reviewed scenes of the project by scene id: who decided last (a scene card shows
    it); a decision survives re-detection that keeps the scene, as the decision itself does."""
    with store.db.read() as con:
        found = review_sql.deciders(con, project_id)
        scenes = scenes_sql.scenes_for_project(con, project_id)
    out = {}
    for s in scenes:
        d = found.get((s.media_id, s.start_frame))
        if d is not None:
            out[s.id] = Decision(s.id, d[0], d[1], d[2])
    return out


# -- trims --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Trim(ReadModel):
    """A scene's in and out points in its source, frames ``[in_frame, out_frame)``."""

    scene_id: int
    in_frame: int
    out_frame: int


def set_trim(
    store: Store, project_id: int, scene_id: int, in_frame: int, out_frame: int, *, actor: Actor
) -> Trim:
    """Trim a scene to frames ``[in_frame, out_frame)`` of its source (whole frames, within
    the scene's own range); the whole range clears the trim. The render, the chapters on the
    cut and the exports play the trimmed range; a re-run that keeps the scene keeps the trim.

    Raises:
        InvalidSettingError: the points are outside the scene or out is not after in.
        NotFoundError: the scene is not in the project.
        PermissionDeniedError: the actor may not review.
    """
    in_frame, out_frame = int(in_frame), int(out_frame)
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "scenes.trim", project_id,
            {"scene_id": int(scene_id), "in_frame": in_frame, "out_frame": out_frame},
        )  # fmt: skip
        scene = next(
            (s for s in scenes_sql.scenes_for_project(con, project_id) if s.id == int(scene_id)),
            None,
        )
        if scene is None:
            raise NotFoundError(f"scene {scene_id}: not a scene of project {project_id}")
        if not scene.start_frame <= in_frame < out_frame <= scene.end_frame:
            raise InvalidSettingError(
                "trim",
                f"in {in_frame} and out {out_frame} must keep at least one frame within the "
                f"scene's frames {scene.start_frame}–{scene.end_frame}",
            )
        key = (scene.media_id, scene.start_frame)
        if (in_frame, out_frame) == (scene.start_frame, scene.end_frame):
            review_sql.clear_trim(con, project_id, key)
        else:
            review_sql.set_trim(con, project_id, key, in_frame, out_frame)
        projects_sql.bump_revision(con, project_id)
    return Trim(int(scene_id), in_frame, out_frame)


def scene_trims(store: Store, project_id: int) -> dict[int, Trim]:
    """The trimmed scenes of the project by scene id."""
    with store.db.read() as con:
        stored = review_sql.trims(con, project_id)
        scenes = scenes_sql.scenes_for_project(con, project_id)
    out = {}
    for s in scenes:
        t = stored.get((s.media_id, s.start_frame))
        if t is not None:
            out[s.id] = Trim(s.id, t[0], t[1])
    return out

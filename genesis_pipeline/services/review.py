"""Scene approvals. Every scene counts as approved until a reviewer rejects it."""

from __future__ import annotations

from collections.abc import Sequence

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql

STATUSES = ("approved", "rejected")


def set_scene_status(
    store: Store,
    project_id: int,
    scene_ids: Sequence[int],
    status: str,
    *,
    reviewer: str | None = None,
    note: str | None = None,
) -> int:
    """Approve or reject scenes; returns how many were set.

    Raises:
        InvalidSettingError: status is not approved/rejected.
        NotFoundError: a scene is not in the project.
    """
    if status not in STATUSES:
        raise InvalidSettingError("review status", f"{status!r} is not approved or rejected")
    if not scene_ids:
        return 0
    with store.db.write() as con:
        n = review_sql.set_scene_status(
            con, project_id, [int(s) for s in scene_ids], status, reviewer, note
        )
        projects_sql.bump_revision(con, project_id)
    return n


def reset_reviews(store: Store, project_id: int) -> None:
    """Back to every scene approved."""
    with store.db.write() as con:
        review_sql.clear_reviews(con, project_id)
        projects_sql.bump_revision(con, project_id)

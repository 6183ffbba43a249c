"""review_actions and review_action_scenes tables: the review undo log.

Each reviewer action records, per scene it touched, the decision the scene had before, keyed on
``(media id, start frame)`` like ``scene_reviews``. Undoing an action puts those decisions back
for the scenes that still show what the action set (a later action on a scene wins over undoing
an earlier one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import ReviewActionRecord

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

UNREVIEWED = "unreviewed"


def record_action(
    con: Connection, project_id: int, status: str, keys: list[tuple[int, int]]
) -> int:
    """Log an action about to set ``status`` on the scenes ``keys`` (call it before the change:
    it reads what the scenes have now). Returns the action's id."""
    row = con.execute(
        "INSERT INTO review_actions (project_id, status, scene_count) VALUES (?, ?, ?)"
        " RETURNING id",
        [project_id, status, len(keys)],
    ).fetchone()
    assert row is not None
    action_id = int(row[0])
    con.execute(
        """
        INSERT INTO review_action_scenes (action_id, media_id, start_frame, before_status,
            before_reviewer, before_note)
        SELECT ?, k.m, k.f, r.status, r.reviewer, r.note
        FROM (SELECT unnest(?::BIGINT[]) AS m, unnest(?::BIGINT[]) AS f) k
        LEFT JOIN scene_reviews r ON r.media_id = k.m AND r.start_frame = k.f
        """,
        [action_id, [k[0] for k in keys], [k[1] for k in keys]],
    )
    return action_id


def list_actions(con: Connection, project_id: int, limit: int = 20) -> list[ReviewActionRecord]:
    """The project's latest actions, newest first, each with its first scene (media name and
    the scene's number in its file, when the scene still exists)."""
    rows = con.execute(
        """
        WITH firsts AS (
            SELECT action_id, arg_min(media_id, start_frame) AS media_id,
                   min(start_frame) AS start_frame
            FROM review_action_scenes GROUP BY action_id
        )
        SELECT a.id, a.status, a.scene_count, a.created_at, a.undone_at IS NOT NULL,
               m.original_name, s.idx
        FROM review_actions a
        LEFT JOIN firsts f ON f.action_id = a.id
        LEFT JOIN media_files m ON m.id = f.media_id
        LEFT JOIN scenes s ON s.media_id = f.media_id AND s.start_frame = f.start_frame
        WHERE a.project_id = ?
        ORDER BY a.id DESC LIMIT ?
        """,
        [project_id, int(limit)],
    ).fetchall()
    return [
        ReviewActionRecord(
            id=int(aid),
            status=str(status),
            scene_count=int(count),
            created_at=created,
            undone=bool(undone),
            first_media_name=None if name is None else str(name),
            first_scene_idx=None if idx is None else int(idx),
        )
        for aid, status, count, created, undone, name, idx in rows
    ]


def last_standing(con: Connection, project_id: int) -> int | None:
    """The newest action not undone yet, or None."""
    row = con.execute(
        "SELECT max(id) FROM review_actions WHERE project_id = ? AND undone_at IS NULL",
        [project_id],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def undo_action(con: Connection, project_id: int, action_id: int) -> tuple[int, int]:
    """Put back what the scenes of an action had before it; returns ``(restored, skipped)``:
    scenes a later action changed again keep their later decision.

    Raises:
        NotFoundError: no such action in the project, or it was undone already.
    """
    row = con.execute(
        "SELECT status FROM review_actions WHERE id = ? AND project_id = ? AND undone_at IS NULL",
        [int(action_id), project_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"review action {action_id}: nothing to undo in project {project_id}")
    status = str(row[0])
    items = con.execute(
        """
        SELECT i.media_id, i.start_frame, i.before_status, i.before_reviewer, i.before_note,
               coalesce(r.status, ?) AS now_status
        FROM review_action_scenes i
        LEFT JOIN scene_reviews r ON r.media_id = i.media_id AND r.start_frame = i.start_frame
        WHERE i.action_id = ?
        """,
        [UNREVIEWED, int(action_id)],
    ).fetchall()
    restore = [it for it in items if it[5] == status]
    clear = [it for it in restore if it[2] is None]
    put = [it for it in restore if it[2] is not None]
    if clear:
        con.execute(
            "DELETE FROM scene_reviews USING (SELECT unnest(?::BIGINT[]) AS m,"
            " unnest(?::BIGINT[]) AS f) k"
            " WHERE project_id = ? AND media_id = k.m AND start_frame = k.f",
            [[int(it[0]) for it in clear], [int(it[1]) for it in clear], project_id],
        )
    if put:
        con.execute(
            """
            INSERT INTO scene_reviews (project_id, media_id, start_frame, status, reviewer, note)
            SELECT ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]),
                   unnest(?::VARCHAR[]), unnest(?::VARCHAR[])
            ON CONFLICT (media_id, start_frame) DO UPDATE SET status = excluded.status,
                reviewer = excluded.reviewer, note = excluded.note, updated_at = now()
            """,
            [
                project_id,
                [int(it[0]) for it in put],
                [int(it[1]) for it in put],
                [str(it[2]) for it in put],
                [it[3] for it in put],
                [it[4] for it in put],
            ],
        )
    con.execute("UPDATE review_actions SET undone_at = now() WHERE id = ?", [int(action_id)])
    return len(restore), len(items) - len(restore)


def clear_log(con: Connection, project_id: int) -> None:
    """Forget the project's undo log (with its reviews, when they are reset)."""
    con.execute(
        "DELETE FROM review_action_scenes WHERE action_id IN"
        " (SELECT id FROM review_actions WHERE project_id = ?)",
        [project_id],
    )
    con.execute("DELETE FROM review_actions WHERE project_id = ?", [project_id])

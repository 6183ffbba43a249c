"""comments table: timecoded comments in threads, keyed on scenes the way reviews are.

A scene comment keeps the scene's ``(media id, first frame)``; a chapter comment its first
scene's. Reading joins those keys with today's scenes and chapters, so a comment finds its scene
again after a re-detection that keeps it, and one whose scene is gone comes back orphaned
(``scene_id``/``chapter_id`` None) rather than lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from genesis_pipeline.store.records import CommentRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

# Today's target of each comment: the scene with its key, the chapter whose first scene has it.
_SELECT = """
    WITH firsts AS (
        SELECT c.id AS chapter_id, s.media_id, s.start_frame,
               row_number() OVER (PARTITION BY c.id ORDER BY m.position, s.idx) AS n
        FROM chapters c
        JOIN scene_chapters sc ON sc.chapter_id = c.id
        JOIN scenes s ON s.id = sc.scene_id
        JOIN media_files m ON m.id = s.media_id
        WHERE c.project_id = $project
    )
    SELECT k.*,
           CASE WHEN k.target = 'scene' THEN s.id END AS scene_id,
           CASE WHEN k.target = 'chapter' THEN f.chapter_id END AS chapter_id
    FROM comments k
    LEFT JOIN scenes s ON s.project_id = k.project_id AND s.media_id = k.media_id
        AND s.start_frame = k.start_frame
    LEFT JOIN firsts f ON f.n = 1 AND f.media_id = k.media_id AND f.start_frame = k.start_frame
    WHERE k.project_id = $project
"""


def insert(
    con: Connection,
    project_id: int,
    *,
    target: str,
    author: str,
    body: str,
    mentions: Sequence[str],
    parent_id: int | None = None,
    key: tuple[int, int] | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    render_id: int | None = None,
) -> int:
    """Store one comment; returns its id. ``key``: the scene's (media id, first frame)."""
    row = con.execute(
        """
        INSERT INTO comments (project_id, parent_id, target, media_id, start_frame, start_s,
            end_s, render_id, author, body, mentions_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
        """,
        [
            int(project_id),
            parent_id,
            target,
            key[0] if key else None,
            key[1] if key else None,
            start_s,
            end_s,
            render_id,
            author,
            body,
            json.dumps(list(mentions)),
        ],
    ).fetchone()
    assert row is not None
    return int(row[0])


def get(con: Connection, project_id: int, comment_id: int) -> CommentRecord | None:
    cur = con.execute(
        _SELECT + " AND k.id = $id", {"project": int(project_id), "id": int(comment_id)}
    )
    return from_row(CommentRecord, cur, cur.fetchone())


def for_project(con: Connection, project_id: int) -> list[CommentRecord]:
    """The project's comments, thread by thread (oldest thread first), each thread's first
    comment then its replies in the order they were written."""
    cur = con.execute(
        _SELECT + " ORDER BY coalesce(k.parent_id, k.id), k.parent_id NULLS FIRST, k.id",
        {"project": int(project_id)},
    )
    return all_rows(CommentRecord, cur)


def update_body(con: Connection, comment_id: int, body: str, mentions: Sequence[str]) -> None:
    con.execute(
        "UPDATE comments SET body = ?, mentions_json = ?, edited_at = now() WHERE id = ?",
        [body, json.dumps(list(mentions)), int(comment_id)],
    )


def set_resolved(con: Connection, comment_id: int, resolved_by: str | None) -> None:
    """Resolve a thread (by its first comment), or re-open it with ``resolved_by`` None."""
    if resolved_by is None:
        con.execute(
            "UPDATE comments SET resolved_at = NULL, resolved_by = NULL WHERE id = ?",
            [int(comment_id)],
        )
    else:
        con.execute(
            "UPDATE comments SET resolved_at = now(), resolved_by = ? WHERE id = ?",
            [resolved_by, int(comment_id)],
        )


def scene_span(
    con: Connection, project_id: int, scene_id: int
) -> tuple[tuple[int, int], float, float] | None:
    """A scene's key (media id, first frame) and its source seconds; None when not in the
    project."""
    row = con.execute(
        "SELECT media_id, start_frame, start_s, end_s FROM scenes WHERE id = ? AND project_id = ?",
        [int(scene_id), int(project_id)],
    ).fetchone()
    if row is None:
        return None
    return (int(row[0]), int(row[1])), float(row[2]), float(row[3])


def chapter_key(con: Connection, project_id: int, chapter_id: int) -> tuple[int, int] | None:
    """A chapter's first scene's (media id, first frame); None when no such chapter."""
    row = con.execute(
        """
        SELECT s.media_id, s.start_frame FROM chapters c
        JOIN scene_chapters sc ON sc.chapter_id = c.id
        JOIN scenes s ON s.id = sc.scene_id
        JOIN media_files m ON m.id = s.media_id
        WHERE c.id = ? AND c.project_id = ?
        ORDER BY m.position, s.idx LIMIT 1
        """,
        [int(chapter_id), int(project_id)],
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def render_exists(con: Connection, project_id: int, render_id: int) -> bool:
    row = con.execute(
        "SELECT count(*) FROM renders WHERE id = ? AND project_id = ?",
        [int(render_id), int(project_id)],
    ).fetchone()
    return bool(row and row[0])


def actors(con: Connection, project_id: int) -> list[str]:
    """Everyone the audit log says acted on the project (actor labels, first seen first)."""
    rows = con.execute(
        "SELECT actor FROM audit_log WHERE project_id = ? GROUP BY actor ORDER BY min(id)",
        [int(project_id)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def local_user_names(con: Connection) -> list[str]:
    """The app's local accounts' names, when the store has a ``users`` table (sign-in)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'"
        " AND column_name = 'name' AND table_schema = current_schema()"
    ).fetchone()
    if not found or not found[0]:
        return []
    return [str(r[0]) for r in con.execute("SELECT name FROM users ORDER BY name").fetchall()]

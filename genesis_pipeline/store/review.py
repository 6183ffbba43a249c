"""Reviewers' decisions that survive re-detection: scene approvals and chapter titles, both
keyed on a scene's (media, first frame) rather than its id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_pipeline.errors import NotFoundError

if TYPE_CHECKING:
    from datetime import datetime

    from duckdb import DuckDBPyConnection as Connection


# -- scene reviews ------------------------------------------------------------------------------
def scene_keys(con: Connection, project_id: int, scene_ids: list[int]) -> list[tuple[int, int]]:
    """The ``(media id, start frame)`` reviews key on, for scenes given by id.

    Raises:
        NotFoundError: a scene is not in the project.
    """
    rows = con.execute(
        "SELECT id, media_id, start_frame FROM scenes"
        " WHERE project_id = ? AND id IN (SELECT unnest(?::BIGINT[]))",
        [project_id, [int(s) for s in scene_ids]],
    ).fetchall()
    found = {r[0] for r in rows}
    missing = [s for s in scene_ids if int(s) not in found]
    if missing:
        raise NotFoundError(f"scene {missing[0]}: not a scene of project {project_id}")
    return [(int(r[1]), int(r[2])) for r in rows]


def set_scene_status(
    con: Connection,
    project_id: int,
    scene_ids: list[int],
    status: str,
    reviewer: str | None = None,
    note: str | None = None,
) -> int:
    """Set approved/rejected on scenes (by id); returns how many scenes were found.

    Raises:
        NotFoundError: a scene is not in the project.
    """
    keys = scene_keys(con, project_id, scene_ids)
    if keys:
        # One statement for the whole batch ("approve all 48 shown" was 48 round trips).
        con.execute(
            """
            INSERT INTO scene_reviews (project_id, media_id, start_frame, status, reviewer, note)
            SELECT ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, ?, ?
            ON CONFLICT (media_id, start_frame) DO UPDATE SET status = excluded.status,
                reviewer = excluded.reviewer, note = excluded.note, updated_at = now()
            """,
            [project_id, [k[0] for k in keys], [k[1] for k in keys], status, reviewer, note],
        )
    return len(keys)


def clear_scene_status(con: Connection, project_id: int, scene_ids: list[int]) -> int:
    """Make scenes (by id) unreviewed again; returns how many scenes were found.

    Raises:
        NotFoundError: a scene is not in the project.
    """
    keys = scene_keys(con, project_id, scene_ids)
    if keys:
        con.execute(
            "DELETE FROM scene_reviews USING (SELECT unnest(?::BIGINT[]) AS m,"
            " unnest(?::BIGINT[]) AS f) k"
            " WHERE project_id = ? AND media_id = k.m AND start_frame = k.f",
            [[k[0] for k in keys], [k[1] for k in keys], project_id],
        )
    return len(keys)


def clear_reviews(con: Connection, project_id: int) -> None:
    con.execute("DELETE FROM scene_reviews WHERE project_id = ?", [project_id])


# -- chapter titles -----------------------------------------------------------------------------
def set_chapter_title(con: Connection, project_id: int, chapter_id: int, title: str) -> None:
    """Rename a chapter now and remember the title for its first scene.

    Raises:
        NotFoundError: no such chapter in the project.
    """
    row = con.execute(
        """
        SELECT s.media_id, s.start_frame FROM chapters c
        JOIN scene_chapters sc ON sc.chapter_id = c.id
        JOIN scenes s ON s.id = sc.scene_id
        JOIN media_files m ON m.id = s.media_id
        WHERE c.id = ? AND c.project_id = ?
        ORDER BY m.position, s.idx LIMIT 1
        """,
        [chapter_id, project_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"chapter {chapter_id}: not a chapter of project {project_id}")
    con.execute(
        """
        INSERT INTO chapter_titles (project_id, media_id, start_frame, title) VALUES (?, ?, ?, ?)
        ON CONFLICT (media_id, start_frame) DO UPDATE SET title = excluded.title,
            updated_at = now()
        """,
        [project_id, row[0], row[1], title],
    )
    con.execute(
        "UPDATE chapters SET title = ?, title_edited = true WHERE id = ?", [title, chapter_id]
    )


def edited_titles(con: Connection, project_id: int) -> dict[tuple[int, int], str]:
    """Reviewers' titles by the chapter's first scene ``(media id, start frame)``."""
    rows = con.execute(
        "SELECT media_id, start_frame, title FROM chapter_titles WHERE project_id = ?",
        [project_id],
    ).fetchall()
    return {(int(m), int(f)): str(t) for m, f, t in rows}


# -- trims --------------------------------------------------------------------------------------
def set_trim(
    con: Connection, project_id: int, key: tuple[int, int], in_frame: int, out_frame: int
) -> None:
    """Store a scene's in/out frames (``key``: its media id and first frame)."""
    con.execute(
        """
        INSERT INTO scene_trims (project_id, media_id, start_frame, in_frame, out_frame)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (media_id, start_frame) DO UPDATE SET in_frame = excluded.in_frame,
            out_frame = excluded.out_frame, updated_at = now()
        """,
        [project_id, key[0], key[1], int(in_frame), int(out_frame)],
    )


def clear_trim(con: Connection, project_id: int, key: tuple[int, int]) -> None:
    con.execute(
        "DELETE FROM scene_trims WHERE project_id = ? AND media_id = ? AND start_frame = ?",
        [project_id, key[0], key[1]],
    )


def deciders(
    con: Connection, project_id: int
) -> dict[tuple[int, int], tuple[str, str | None, datetime]]:
    """Who decided each reviewed scene last, by ``(media id, start frame)``:
    ``(status, reviewer, when)``."""
    rows = con.execute(
        "SELECT media_id, start_frame, status, reviewer, updated_at FROM scene_reviews"
        " WHERE project_id = ?",
        [project_id],
    ).fetchall()
    return {(int(m), int(f)): (str(s), r, when) for m, f, s, r, when in rows}


def trims(con: Connection, project_id: int) -> dict[tuple[int, int], tuple[int, int]]:
    """Reviewers' trims by scene ``(media id, start frame)``: ``(in frame, out frame)``."""
    rows = con.execute(
        "SELECT media_id, start_frame, in_frame, out_frame FROM scene_trims WHERE project_id = ?",
        [project_id],
    ).fetchall()
    return {(int(m), int(f)): (int(a), int(b)) for m, f, a, b in rows}

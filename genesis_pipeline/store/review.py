"""Reviewer work: scene approvals, chapter titles, chapter rules versions, voiceovers."""

from __future__ import annotations

import json
from types import EllipsisType
from typing import Any

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import VoiceoverRecord, all_rows, from_row


# -- scene reviews ------------------------------------------------------------------------------
def set_scene_status(
    con: Any,
    project_id: int,
    scene_ids: list[int],
    status: str,
    reviewer: str | None = None,
    note: str | None = None,
) -> int:
    """Set approved/rejected on scenes (by id); returns how many scenes were found."""
    rows = con.execute(
        "SELECT id, media_id, start_frame FROM scenes"
        " WHERE project_id = ? AND id IN (SELECT unnest(?::BIGINT[]))",
        [project_id, [int(s) for s in scene_ids]],
    ).fetchall()
    found = {r[0] for r in rows}
    missing = [s for s in scene_ids if int(s) not in found]
    if missing:
        raise NotFoundError(f"scene {missing[0]}: not a scene of project {project_id}")
    if rows:
        # One statement for the whole batch ("approve all 48 shown" was 48 round trips).
        con.execute(
            """
            INSERT INTO scene_reviews (project_id, media_id, start_frame, status, reviewer, note)
            SELECT ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?, ?, ?
            ON CONFLICT (media_id, start_frame) DO UPDATE SET status = excluded.status,
                reviewer = excluded.reviewer, note = excluded.note, updated_at = now()
            """,
            [
                project_id,
                [int(r[1]) for r in rows],
                [int(r[2]) for r in rows],
                status,
                reviewer,
                note,
            ],
        )
    return len(rows)


def clear_reviews(con: Any, project_id: int) -> None:
    con.execute("DELETE FROM scene_reviews WHERE project_id = ?", [project_id])


# -- chapter titles -----------------------------------------------------------------------------
def set_chapter_title(con: Any, project_id: int, chapter_id: int, title: str) -> None:
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


def edited_titles(con: Any, project_id: int) -> dict[tuple[int, int], str]:
    rows = con.execute(
        "SELECT media_id, start_frame, title FROM chapter_titles WHERE project_id = ?",
        [project_id],
    ).fetchall()
    return {(int(m), int(f)): t for m, f, t in rows}


# -- chapter rules ------------------------------------------------------------------------------
def latest_rules(con: Any, project_id: int) -> tuple[int, dict[str, Any]] | None:
    row = con.execute(
        "SELECT version, rules_json FROM chapter_rules WHERE project_id = ?"
        " ORDER BY version DESC LIMIT 1",
        [project_id],
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), json.loads(row[1])


def rules_history(con: Any, project_id: int) -> list[dict[str, Any]]:
    cur = con.execute(
        "SELECT version, rules_json, note, created_at FROM chapter_rules WHERE project_id = ?"
        " ORDER BY version",
        [project_id],
    )
    return [
        {"version": v, "rules": json.loads(r), "note": n, "created_at": c.isoformat()}
        for v, r, n, c in cur.fetchall()
    ]


def save_rules(con: Any, project_id: int, rules: dict[str, Any], note: str | None) -> int:
    """Store ``rules`` as the next version (no new version when identical to the latest)."""
    latest = latest_rules(con, project_id)
    if latest and latest[1] == rules:
        return latest[0]
    version = (latest[0] if latest else 0) + 1
    con.execute(
        "INSERT INTO chapter_rules (project_id, version, rules_json, note) VALUES (?, ?, ?, ?)",
        [project_id, version, json.dumps(rules), note],
    )
    return version


# -- voiceovers ---------------------------------------------------------------------------------
def add_voiceover(
    con: Any,
    project_id: int,
    *,
    chapter_idx: int | None,
    original_name: str,
    path: str,
    sha256: str,
    duration_s: float,
    offset_s: float | None,
    gain: float,
) -> VoiceoverRecord:
    """Add a voiceover; it replaces the active one for the same target (whole cut or chapter)."""
    con.execute(
        "UPDATE voiceovers SET active = false WHERE project_id = ? AND chapter_idx IS NOT DISTINCT"
        " FROM ?",
        [project_id, chapter_idx],
    )
    cur = con.execute(
        """
        INSERT INTO voiceovers (project_id, chapter_idx, original_name, path, sha256, duration_s,
            offset_s, gain)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *
        """,
        [project_id, chapter_idx, original_name, path, sha256, duration_s, offset_s, gain],
    )
    vo = from_row(VoiceoverRecord, cur, cur.fetchone())
    assert vo is not None
    return vo


def active_voiceovers(con: Any, project_id: int) -> list[VoiceoverRecord]:
    cur = con.execute(
        "SELECT * FROM voiceovers WHERE project_id = ? AND active ORDER BY chapter_idx NULLS FIRST",
        [project_id],
    )
    return all_rows(VoiceoverRecord, cur)


def update_voiceover(
    con: Any,
    project_id: int,
    voiceover_id: int,
    *,
    offset_s: float | EllipsisType | None = ...,
    gain: float | None = None,
    active: bool | None = None,
) -> None:
    found = con.execute(
        "SELECT count(*) FROM voiceovers WHERE id = ? AND project_id = ?",
        [voiceover_id, project_id],
    ).fetchone()[0]
    if not found:
        raise NotFoundError(f"voiceover {voiceover_id}: not a voiceover of project {project_id}")
    if offset_s is not ...:
        con.execute("UPDATE voiceovers SET offset_s = ? WHERE id = ?", [offset_s, voiceover_id])
    if gain is not None:
        con.execute("UPDATE voiceovers SET gain = ? WHERE id = ?", [gain, voiceover_id])
    if active is not None:
        con.execute("UPDATE voiceovers SET active = ? WHERE id = ?", [active, voiceover_id])

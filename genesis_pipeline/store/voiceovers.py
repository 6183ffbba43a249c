"""voiceovers table: narration files for the whole cut or one chapter, with their mix."""

from __future__ import annotations

from types import EllipsisType
from typing import TYPE_CHECKING

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.store.records import VoiceoverRecord, all_rows, from_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def add_voiceover(
    con: Connection,
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


def active_voiceovers(con: Connection, project_id: int) -> list[VoiceoverRecord]:
    """The voiceovers in use: the whole cut's first, then by chapter."""
    cur = con.execute(
        "SELECT * FROM voiceovers WHERE project_id = ? AND active ORDER BY chapter_idx NULLS FIRST",
        [project_id],
    )
    return all_rows(VoiceoverRecord, cur)


def update_voiceover(
    con: Connection,
    project_id: int,
    voiceover_id: int,
    *,
    offset_s: float | EllipsisType | None = ...,
    gain: float | None = None,
    active: bool | None = None,
) -> None:
    """Change a voiceover's offset (``None``: automatic; ``...``: unchanged), gain or activity.

    Raises:
        NotFoundError: no such voiceover in the project.
    """
    row = con.execute(
        "SELECT count(*) FROM voiceovers WHERE id = ? AND project_id = ?",
        [voiceover_id, project_id],
    ).fetchone()
    if not row or not row[0]:
        raise NotFoundError(f"voiceover {voiceover_id}: not a voiceover of project {project_id}")
    if offset_s is not ...:
        con.execute("UPDATE voiceovers SET offset_s = ? WHERE id = ?", [offset_s, voiceover_id])
    if gain is not None:
        con.execute("UPDATE voiceovers SET gain = ? WHERE id = ?", [gain, voiceover_id])
    if active is not None:
        con.execute("UPDATE voiceovers SET active = ? WHERE id = ?", [active, voiceover_id])

"""Removing a project or one of its media files: every row that belongs to it, and the keys of
the files those rows recorded (the caller deletes the files through the storage once the rows
are gone, so no row ever points at a missing file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Tables that outlive their project: the audit log keeps who changed and who deleted it.
KEPT_TABLES = ("audit_log",)


def project_tables(con: Connection) -> list[str]:
    """Every table with a ``project_id`` column, whichever migration made it (tables added
    later by other features go with their project too), but :data:`KEPT_TABLES`."""
    rows = con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns"
        " WHERE column_name = 'project_id' AND table_schema = current_schema()"
        " ORDER BY table_name"
    ).fetchall()
    return [str(r[0]) for r in rows if str(r[0]) not in KEPT_TABLES]


def upload_ids(con: Connection, project_id: int) -> list[str]:
    """The project's upload tickets (their files wait under ``uploads/<id>/``)."""
    rows = con.execute("SELECT id FROM uploads WHERE project_id = ?", [project_id]).fetchall()
    return [str(r[0]) for r in rows]


def delete_project_rows(con: Connection, project_id: int) -> None:
    """Delete the project and every row of every table that keys on it."""
    con.execute(
        "DELETE FROM review_action_scenes WHERE action_id IN"
        " (SELECT id FROM review_actions WHERE project_id = ?)",
        [project_id],
    )
    for table in project_tables(con):
        con.execute(f"DELETE FROM {_quoted(table)} WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM projects WHERE id = ?", [project_id])


def media_file_keys(con: Connection, media_id: int) -> list[str]:
    """What rows recorded for one media file besides its footage: its playable copy and its
    transcript's JSON."""
    rows = con.execute(
        "SELECT path FROM media_proxies WHERE media_id = ? AND path IS NOT NULL"
        " UNION ALL SELECT artifact_path FROM transcripts WHERE media_id = ?",
        [media_id, media_id],
    ).fetchall()
    return [str(r[0]) for r in rows]


def delete_media_rows(con: Connection, project_id: int, media_id: int) -> None:
    """Delete one media file and what was made from it: transcript, words, scenes and their
    reviews, titles, trims, places in the cut's order and undo entries, playable copy. The
    project's chapters go too (they span the file's scenes); the next run makes them again
    from what is left; so does the order's undo log (the orders it kept place the file's
    scenes)."""
    con.execute("DELETE FROM transcript_words WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM transcripts WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM scene_chapters WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM chapters WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM scenes WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM scene_traces WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM scene_reviews WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM chapter_titles WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM scene_trims WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM cut_order WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM cut_order_actions WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM review_action_scenes WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM media_proxies WHERE media_id = ?", [media_id])
    con.execute("DELETE FROM media_files WHERE id = ? AND project_id = ?", [media_id, project_id])

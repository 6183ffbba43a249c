"""chapters and scene_chapters tables: the chapters of the latest run and their scenes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from genesis_pipeline.store.records import ChapterRecord, NewChapter

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection


def chapters_key(con: Connection, project_id: int) -> str | None:
    """The cache key the stored chapters were made with (None: no chapters)."""
    row = con.execute(
        "SELECT any_value(cache_key) FROM chapters WHERE project_id = ?", [project_id]
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def replace_chapters(
    con: Connection,
    *,
    project_id: int,
    rules_version: int,
    cache_key: str,
    chapters: Sequence[NewChapter],
) -> None:
    """Replace the project's chapters and their scene links."""
    con.execute("DELETE FROM scene_chapters WHERE project_id = ?", [project_id])
    con.execute("DELETE FROM chapters WHERE project_id = ?", [project_id])
    links: list[tuple[int, int]] = []  # (scene, chapter)
    for ch in chapters:
        row = con.execute(
            """
            INSERT INTO chapters (project_id, rules_version, idx, title, title_edited, start_s,
                end_s, reasons_json, cache_key)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                project_id,
                rules_version,
                int(ch.idx),
                ch.title,
                bool(ch.title_edited),
                float(ch.start_s),
                float(ch.end_s),
                json.dumps(list(ch.reasons)),
                cache_key,
            ],
        ).fetchone()
        assert row is not None
        links += [(int(s), int(row[0])) for s in ch.scene_ids]
    if links:
        # A few hundred pairs at most: one statement over two lists (no data frame needed).
        con.execute(
            "INSERT INTO scene_chapters (scene_id, chapter_id, project_id)"
            " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), ?",
            [[s for s, _ in links], [c for _, c in links], project_id],
        )


def chapters_for_project(con: Connection, project_id: int) -> list[ChapterRecord]:
    """The stored chapters in order, each with its scenes in project order."""
    rows = con.execute(
        """
        SELECT c.id, c.idx, c.title, c.title_edited, c.start_s, c.end_s, c.rules_version,
               c.reasons_json,
               list(sc.scene_id ORDER BY m.position, s.idx) FILTER (WHERE sc.scene_id IS NOT NULL)
        FROM chapters c
        LEFT JOIN scene_chapters sc ON sc.chapter_id = c.id
        LEFT JOIN scenes s ON s.id = sc.scene_id
        LEFT JOIN media_files m ON m.id = s.media_id
        WHERE c.project_id = ?
        GROUP BY ALL
        ORDER BY c.idx
        """,
        [project_id],
    ).fetchall()
    return [
        ChapterRecord(
            id=int(cid),
            idx=int(idx),
            title=str(title),
            title_edited=bool(edited),
            start_s=float(start_s),
            end_s=float(end_s),
            rules_version=int(version),
            reasons=tuple(json.loads(reasons or "[]")),
            scene_ids=tuple(int(x) for x in (scene_ids or [])),
        )
        for cid, idx, title, edited, start_s, end_s, version, reasons, scene_ids in rows
    ]


def chapter_of_scenes(con: Connection, project_id: int) -> dict[int, tuple[int, str]]:
    """scene id → (chapter index, chapter title) for the scenes in a chapter."""
    rows = con.execute(
        "SELECT sc.scene_id, c.idx, c.title FROM scene_chapters sc"
        " JOIN chapters c ON c.id = sc.chapter_id WHERE sc.project_id = ?",
        [project_id],
    ).fetchall()
    return {int(s): (int(i), str(t)) for s, i, t in rows}

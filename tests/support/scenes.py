"""Scenes stored as the scenes step would store them, without running detection: for tests of
what keys on scenes (reviews, comments) through a re-detection."""

from __future__ import annotations

import itertools

from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.records import NewChapter


def store_scenes(
    store: Store, project_id: int, media_id: int, cuts: list[int], frames: int, fps: float
) -> list[int]:
    """Replace the file's scenes with scenes cut at frames ``cuts`` (and the project's chapters
    with one chapter of them all); returns the scene ids in order."""
    edges = [0, *cuts, frames]
    rows = [
        {"idx": i, "start_frame": a, "end_frame": b, "start_s": a / fps, "end_s": b / fps}
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]
    with store.db.write() as con:
        scenes_sql.replace_scenes(
            con, project_id=project_id, media_id=media_id, cache_key=f"test{cuts}", rows=rows
        )
        ids = [s.id for s in scenes_sql.scenes_for_project(con, project_id)]
        chapters_sql.replace_chapters(
            con,
            project_id=project_id,
            rules_version=1,
            cache_key="test",
            chapters=[NewChapter(0, "All", False, 0.0, frames / fps, (), tuple(ids))],
        )
    return ids

"""Chapter rules and their inputs, shared by the pipeline's chapters step and the live preview.

``load_chapter_inputs`` reads scenes, captions and words once and lays media files end to end on the
project timeline; ``group_chapters`` (pure, fast) can then be called on every slider move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from genesis_pipeline.stages.chapters import Chapter, ChapterScene, Rules, TimedWord, group_chapters
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import results as results_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store.cache import fingerprint


@dataclass(frozen=True, slots=True)
class ChapterInputs:
    scenes: tuple[ChapterScene, ...]
    words: tuple[TimedWord, ...]
    media_offsets: dict[int, float]  # media id -> where it starts on the project timeline
    scene_frames: dict[int, tuple[int, int]]  # scene id -> (media id, start frame)

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "scenes": [
                    (s.key, s.media_key, s.start_s, s.end_s, s.caption) for s in self.scenes
                ],
                "words": [(w.word, w.start_s, w.end_s) for w in self.words],
            }
        )


def load_chapter_inputs(store: Store, project_id: int) -> ChapterInputs:
    with store.db.read() as con:
        media = con.execute(
            "SELECT id, duration_s FROM media_files WHERE project_id = ? AND has_video"
            " ORDER BY position, id",
            [project_id],
        ).fetchall()
        scenes = results_sql.scenes_for_project(con, project_id)
        words = results_sql.words_for_project(con, project_id)
    offsets: dict[int, float] = {}
    t = 0.0
    for mid, dur in media:
        offsets[int(mid)] = t
        t += float(dur)
    ch_scenes = []
    frames = {}
    for row in scenes.itertuples():
        off = offsets.get(int(row.media_id))
        if off is None:
            continue
        meta = json.loads(row.metadata_json or "{}")
        ch_scenes.append(
            ChapterScene(
                key=int(row.id),
                media_key=int(row.media_id),
                start_s=off + float(row.start_s),
                end_s=off + float(row.end_s),
                caption=meta.get("caption"),
            )
        )
        frames[int(row.id)] = (int(row.media_id), int(row.start_frame))
    ch_words = [
        TimedWord(
            word=str(w.word),
            start_s=offsets[int(w.media_id)] + float(w.start_s),
            end_s=offsets[int(w.media_id)] + float(w.end_s),
        )
        for w in words.itertuples()
        if int(w.media_id) in offsets
    ]
    ch_words.sort(key=lambda w: w.start_s)
    return ChapterInputs(tuple(ch_scenes), tuple(ch_words), offsets, frames)


def preview_chapters(inputs: ChapterInputs, rules: Rules) -> list[Chapter]:
    """Chapters under ``rules`` without touching the store (the live preview)."""
    rules.validate()
    return group_chapters(inputs.scenes, inputs.words, rules)


def current_rules(store: Store, project_id: int) -> tuple[int, Rules]:
    """The latest saved rules version (0 and the defaults when none was saved)."""
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        latest = review_sql.latest_rules(con, project_id)
    if latest is None:
        return 0, Rules()
    return latest[0], Rules.from_json(latest[1])


def rules_history(store: Store, project_id: int) -> list[dict[str, Any]]:
    with store.db.read() as con:
        return review_sql.rules_history(con, project_id)


def save_rules(store: Store, project_id: int, rules: Rules, note: str | None = None) -> int:
    """Save ``rules`` as a new version (the same rules as the latest keep its number).

    Raises:
        InvalidSettingError: the rules are inconsistent (names the rule).
        NotFoundError: no such project.
    """
    rules.validate()
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        version = review_sql.save_rules(con, project_id, rules.to_json(), note)
        projects_sql.bump_revision(con, project_id)
    return version


def set_chapter_title(store: Store, project_id: int, chapter_id: int, title: str) -> None:
    """Rename a chapter; the title survives re-chaptering while its first scene stays first.

    Raises:
        InvalidSettingError: empty title.
        NotFoundError: no such chapter in the project.
    """
    from genesis_pipeline.errors import InvalidSettingError

    title = (title or "").strip()
    if not title:
        raise InvalidSettingError("chapter title", "must not be empty")
    with store.db.write() as con:
        review_sql.set_chapter_title(con, project_id, chapter_id, title[:200])
        projects_sql.bump_revision(con, project_id)

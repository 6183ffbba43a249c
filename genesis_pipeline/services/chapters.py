"""Chapter rules and their inputs, shared by the pipeline's chapters step and the live preview.

``load_chapter_inputs`` reads scenes, captions and words once and lays media files end to end on the
project timeline; ``group_chapters`` (pure, fast) can then be called on every slider move.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genesis_pipeline import serde
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
        version = review_sql.save_rules(con, project_id, serde.to_json(rules), note)
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


# -- review app: saved chapters, the live preview against them ---------------------------------
def saved_chapters(store: Store, project_id: int) -> list[dict[str, Any]]:
    """The chapters of the last run, in order: ``id``, ``index``, ``title``, ``title_edited``,
    ``start_s``, ``end_s``, ``duration_s`` (project timeline), ``scene_ids``, ``reasons``,
    ``rules_version``.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        rows = results_sql.chapters_for_project(con, project_id)
    return [
        {
            "id": int(r["id"]),
            "index": int(r["idx"]),
            "title": str(r["title"]),
            "title_edited": bool(r["title_edited"]),
            "start_s": float(r["start_s"]),
            "end_s": float(r["end_s"]),
            "duration_s": float(r["end_s"]) - float(r["start_s"]),
            "scene_ids": list(r["scene_ids"]),
            "reasons": list(r["reasons"]),
            "rules_version": int(r["rules_version"]),
        }
        for r in rows
    ]


def speech_intervals(
    words: Sequence[TimedWord], join_gap_s: float = 0.3
) -> list[tuple[float, float]]:
    """Words joined into speech intervals: a gap shorter than ``join_gap_s`` does not split."""
    out: list[tuple[float, float]] = []
    for w in sorted(words, key=lambda w: w.start_s):
        if out and w.start_s - out[-1][1] < join_gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], w.end_s))
        else:
            out.append((w.start_s, w.end_s))
    return out


def chapter_boundaries(chapters: Sequence[Any]) -> list[float]:
    """Where chapters start, without the first: stage ``Chapter`` objects or chapter dicts."""
    starts = sorted(float(c["start_s"] if isinstance(c, dict) else c.start_s) for c in chapters)
    return starts[1:]


@dataclass(frozen=True, slots=True)
class ChapterComparison:
    """Preview chapters against the saved ones: counts and boundaries that moved."""

    saved_count: int
    preview_count: int
    added: tuple[float, ...]  # boundaries in the preview only (project time, s)
    removed: tuple[float, ...]  # boundaries in the saved chapters only
    kept: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed) or self.saved_count != self.preview_count


def compare_chapters(
    saved: Sequence[Any], preview: Sequence[Any], tolerance_s: float = 0.05
) -> ChapterComparison:
    """Which chapter boundaries the preview adds or removes (within ``tolerance_s``)."""
    old, new = chapter_boundaries(saved), chapter_boundaries(preview)
    added = tuple(b for b in new if all(abs(b - o) > tolerance_s for o in old))
    removed = tuple(o for o in old if all(abs(o - b) > tolerance_s for b in new))
    return ChapterComparison(
        saved_count=len(saved),
        preview_count=len(preview),
        added=added,
        removed=removed,
        kept=len(new) - len(added),
    )


def rules_diff(saved: Rules, preview: Rules) -> list[dict[str, Any]]:
    """The rules that differ: ``[{"rule", "saved", "preview"}]`` in field order."""
    a, b = serde.to_json(saved), serde.to_json(preview)
    return [{"rule": k, "saved": a[k], "preview": b[k]} for k in a if a[k] != b.get(k)]


def edited_titles(store: Store, project_id: int) -> dict[tuple[int, int], str]:
    """Titles reviewers gave, keyed by the chapter's first scene ``(media id, start frame)``."""
    with store.db.read() as con:
        return review_sql.edited_titles(con, project_id)


def with_edited_titles(
    chapters: Sequence[Chapter], inputs: ChapterInputs, titles: dict[tuple[int, int], str]
) -> list[Chapter]:
    """``chapters`` with the reviewers' titles where a chapter starts at a renamed first scene
    (as the chapters step does on a run)."""
    from dataclasses import replace

    out = []
    for ch in chapters:
        first = inputs.scene_frames.get(int(ch.scene_keys[0])) if ch.scene_keys else None
        title = titles.get(first) if first is not None else None
        out.append(replace(ch, title=title) if title else ch)
    return out

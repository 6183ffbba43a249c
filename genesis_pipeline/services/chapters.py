"""Chapter rules and their inputs, shared by the pipeline's chapters step and the live preview.

``load_chapter_inputs`` reads scenes, captions and words once and lays media files end to end on the
project timeline; ``group_chapters`` (pure, fast) can then be called on every slider move.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.cut import kept_range, scene_fps
from genesis_pipeline.stages.chapters import Chapter, ChapterScene, Rules, TimedWord, group_chapters
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import rules as rules_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import fingerprint
from genesis_pipeline.store.records import ReadModel, RulesVersion


class HasStart(Protocol):
    """A chapter of any kind: a stage ``Chapter``, a :class:`SavedChapter`, a cut span."""

    @property
    def start_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SavedChapter(ReadModel):
    """A chapter of the last run (project timeline)."""

    id: int
    index: int
    title: str
    title_edited: bool
    start_s: float
    end_s: float
    duration_s: float
    scene_ids: tuple[int, ...]
    reasons: tuple[str, ...]
    rules_version: int


@dataclass(frozen=True, slots=True)
class ChapterInputs:
    scenes: tuple[ChapterScene, ...]
    words: tuple[TimedWord, ...]
    media_offsets: dict[int, float]  # media id -> where it starts on the project timeline
    scene_frames: dict[int, tuple[int, int]]  # scene id -> (media id, start frame)
    kept_s: dict[int, float] = field(default_factory=dict)  # scene id -> kept (trimmed) length

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
    """Scenes (with captions) and words of the project on its timeline, read once."""
    with store.db.read() as con:
        offsets = media_sql.timeline_offsets(con, project_id)
        scenes = scenes_sql.scenes_for_project(con, project_id)
        words = transcripts_sql.word_timings_for_project(con, project_id)
        media = {m.id: m for m in media_sql.list_for_project(con, project_id)}
        trims = review_sql.trims(con, project_id)
    ch_scenes = []
    frames = {}
    kept_s = {}
    for scene in scenes:
        off = offsets.get(scene.media_id)
        if off is None:
            continue
        ch_scenes.append(
            ChapterScene(
                key=scene.id,
                media_key=scene.media_id,
                start_s=off + scene.start_s,
                end_s=off + scene.end_s,
                caption=scene.metadata.caption,
            )
        )
        frames[scene.id] = (scene.media_id, scene.start_frame)
        fps = scene_fps(scene, media[scene.media_id])
        trim = trims.get((scene.media_id, scene.start_frame))
        kept_s[scene.id] = kept_range(scene, fps, trim).duration_s
    ch_words = [
        TimedWord(
            word=w.word,
            start_s=offsets[w.media_id] + w.start_s,
            end_s=offsets[w.media_id] + w.end_s,
        )
        for w in words
        if w.media_id in offsets
    ]
    ch_words.sort(key=lambda w: w.start_s)
    return ChapterInputs(tuple(ch_scenes), tuple(ch_words), offsets, frames, kept_s)


def preview_chapters(inputs: ChapterInputs, rules: Rules) -> list[Chapter]:
    """Chapters under ``rules`` without touching the store (the live preview)."""
    rules.validate()
    return group_chapters(inputs.scenes, inputs.words, rules)


def current_rules(store: Store, project_id: int) -> tuple[int, Rules]:
    """The latest saved rules version (0 and the defaults when none was saved)."""
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        latest = rules_sql.latest_rules(con, project_id)
    if latest is None:
        return 0, Rules()
    return latest[0], Rules.from_json(latest[1])


def rules_history(store: Store, project_id: int) -> list[RulesVersion]:
    """Every saved rules version of the project, oldest first."""
    with store.db.read() as con:
        return rules_sql.rules_history(con, project_id)


def save_rules(
    store: Store, project_id: int, rules: Rules, note: str | None = None, *, actor: Actor
) -> int:
    """Save ``rules`` as a new version (the same rules as the latest keep its number).

    Raises:
        InvalidSettingError: the rules are inconsistent (names the rule).
        NotFoundError: no such project.
        PermissionDeniedError: the actor may not tune chapters.
    """
    rules.validate()
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        version = rules_sql.save_rules(con, project_id, serde.to_json(rules), note)
        access.permit(
            con, actor, "review", "chapters.rules", project_id,
            {"version": version, "note": note, "rules": serde.to_json(rules)},
        )  # fmt: skip
        projects_sql.bump_revision(con, project_id)
    return version


def restore_rules(store: Store, project_id: int, version: int, *, actor: Actor) -> int:
    """Save the rules of an earlier ``version`` as a new version (the history is kept); returns
    the version now in effect (the latest's number when it already holds those rules).

    Raises:
        NotFoundError: no such project or no such version.
        PermissionDeniedError: the actor may not tune chapters.
    """
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        rules = rules_sql.rules_version(con, project_id, version)
        if rules is None:
            raise NotFoundError(f"chapter rules v{version}: no such version in this project")
        new = rules_sql.save_rules(con, project_id, rules, f"restored from v{version}")
        access.permit(
            con, actor, "review", "chapters.restore", project_id, {"from": version, "version": new}
        )
        projects_sql.bump_revision(con, project_id)
    return new


def set_chapter_title(
    store: Store, project_id: int, chapter_id: int, title: str, *, actor: Actor
) -> None:
    """Rename a chapter; the title survives re-chaptering while its first scene stays first.

    Raises:
        InvalidSettingError: empty title.
        NotFoundError: no such chapter in the project.
        PermissionDeniedError: the actor may not tune chapters.
    """
    title = (title or "").strip()
    if not title:
        raise InvalidSettingError("chapter title", "must not be empty")
    with store.db.write() as con:
        access.permit(
            con, actor, "review", "chapters.title", project_id,
            {"chapter_id": chapter_id, "title": title[:200]},
        )  # fmt: skip
        review_sql.set_chapter_title(con, project_id, chapter_id, title[:200])
        projects_sql.bump_revision(con, project_id)


# -- review app: saved chapters, the live preview against them ---------------------------------
def saved_chapters(store: Store, project_id: int) -> list[SavedChapter]:
    """The chapters of the last run, in order (project timeline).

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        rows = chapters_sql.chapters_for_project(con, project_id)
    return [
        SavedChapter(
            id=r.id,
            index=r.idx,
            title=r.title,
            title_edited=r.title_edited,
            start_s=r.start_s,
            end_s=r.end_s,
            duration_s=r.end_s - r.start_s,
            scene_ids=r.scene_ids,
            reasons=r.reasons,
            rules_version=r.rules_version,
        )
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


def chapter_boundaries(chapters: Sequence[HasStart | Mapping[str, Any]]) -> list[float]:
    """Where chapters start, without the first: chapter objects or dicts with ``start_s``."""
    starts = sorted(float(c["start_s"] if isinstance(c, Mapping) else c.start_s) for c in chapters)
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
    saved: Sequence[HasStart | Mapping[str, Any]],
    preview: Sequence[HasStart | Mapping[str, Any]],
    tolerance_s: float = 0.05,
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
    """The rules that differ, as table rows ``{"rule", "saved", "preview"}`` in field order."""
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
    out = []
    for ch in chapters:
        first = inputs.scene_frames.get(int(ch.scene_keys[0])) if ch.scene_keys else None
        title = titles.get(first) if first is not None else None
        out.append(replace(ch, title=title) if title else ch)
    return out


# -- chapters of the cut ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChapterOnCut(ReadModel):
    """A chapter as the cut has it: rejected scenes leave the cut, so they no longer count in
    the chapter's length (``cut_s``) or its scenes (``kept`` of ``scenes``)."""

    index: int
    scenes: int
    kept: int
    footage_s: float  # from its first scene's start to its last's end, rejected ones included
    cut_s: float  # its kept scenes back to back (trimmed ones trimmed), as the render plays them

    @property
    def dropped(self) -> bool:
        """Every scene of the chapter was rejected: it is not in the cut at all."""
        return self.kept == 0


@dataclass(frozen=True, slots=True)
class CutChapters(ReadModel):
    """Chapters over what is kept: each chapter on the cut, and the figures the page shows."""

    chapters: tuple[ChapterOnCut, ...]

    @property
    def in_cut(self) -> tuple[ChapterOnCut, ...]:
        return tuple(c for c in self.chapters if not c.dropped)

    @property
    def longest_s(self) -> float:
        return max((c.cut_s for c in self.in_cut), default=0.0)

    @property
    def shortest_s(self) -> float:
        return min((c.cut_s for c in self.in_cut), default=0.0)

    @property
    def cut_s(self) -> float:
        return sum(c.cut_s for c in self.chapters)


def chapters_on_cut(
    chapters: Sequence[Chapter | SavedChapter],
    inputs: ChapterInputs,
    rejected: Collection[int],
) -> CutChapters:
    """Each chapter's kept scenes and length in the cut (rejected scenes left out, trimmed
    ones at their kept length), for the live preview's chapters as for the saved ones."""
    length = {int(s.key): s.end_s - s.start_s for s in inputs.scenes} | inputs.kept_s
    out = []
    for ch in chapters:
        ids = [int(k) for k in (ch.scene_ids if isinstance(ch, SavedChapter) else ch.scene_keys)]
        kept = [i for i in ids if i not in rejected]
        out.append(
            ChapterOnCut(
                index=ch.index,
                scenes=len(ids),
                kept=len(kept),
                footage_s=ch.end_s - ch.start_s,
                cut_s=sum(length.get(i, 0.0) for i in kept),
            )
        )
    return CutChapters(tuple(out))

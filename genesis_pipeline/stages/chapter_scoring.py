"""Scores for chapter experiments: how a chapter set compares with hand labels and with speech.

Pure functions over ``group_chapters`` output, for notebooks and for choosing default rules:

* **sentence splits**: chapter boundaries that fall inside a spoken sentence (a word spans the
  boundary, or the word before it does not end a sentence while the next word is within 2 s);
* **length spread**: coefficient of variation of chapter durations (0 = all equal);
* **agreement**: precision / recall / F1 of chapter starts against hand-labelled starts, one-to-one
  within a tolerance (the first chapter's start at 0 is not counted: every set has it).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from genesis_pipeline.metrics import match_times
from genesis_pipeline.stages.chapters import Chapter, TimedWord

_SENTENCE_END = (".", "!", "?")


@dataclass(frozen=True, slots=True)
class ChapterScore:
    chapters: int
    sentence_splits: int
    length_spread: float
    mean_length_s: float
    precision: float
    recall: float
    f1: float


def boundaries(chapters: Sequence[Chapter]) -> list[float]:
    """Chapter starts after the first (the joins that were chosen)."""
    return [c.start_s for c in chapters[1:]]


def sentence_splits(chapters: Sequence[Chapter], words: Sequence[TimedWord]) -> int:
    """How many boundaries cut a spoken sentence."""
    n = 0
    ordered = sorted(words, key=lambda w: w.start_s)
    for b in boundaries(chapters):
        before = [w for w in ordered if w.end_s <= b]
        after = [w for w in ordered if w.start_s >= b]
        spanning = any(w.start_s < b < w.end_s for w in ordered)
        if spanning:
            n += 1
            continue
        if before and after:
            last, nxt = before[-1], after[0]
            if not last.word.strip().endswith(_SENTENCE_END) and nxt.start_s - last.end_s < 2.0:
                n += 1
    return n


def length_spread(chapters: Sequence[Chapter]) -> float:
    lengths = [c.end_s - c.start_s for c in chapters]
    if len(lengths) < 2:
        return 0.0
    mean = statistics.fmean(lengths)
    return statistics.pstdev(lengths) / mean if mean > 0 else 0.0


def agreement(
    found: Sequence[float], labels: Sequence[float], tolerance_s: float = 1.0
) -> tuple[float, float, float]:
    """(precision, recall, F1) of boundary times, matched one-to-one within ``tolerance_s``."""
    m = match_times([t for t in labels if t > 0], [t for t in found if t > 0], tolerance_s)
    return m.precision, m.recall, m.f1


def score(
    chapters: Sequence[Chapter],
    words: Sequence[TimedWord],
    labelled_starts: Sequence[float],
    tolerance_s: float = 1.0,
) -> ChapterScore:
    p, r, f1 = agreement(boundaries(chapters), labelled_starts, tolerance_s)
    lengths = [c.end_s - c.start_s for c in chapters]
    return ChapterScore(
        chapters=len(chapters),
        sentence_splits=sentence_splits(chapters, words),
        length_spread=round(length_spread(chapters), 4),
        mean_length_s=round(statistics.fmean(lengths), 3) if lengths else 0.0,
        precision=round(p, 4),
        recall=round(r, 4),
        f1=round(f1, 4),
    )


def best(scores: dict[str, ChapterScore]) -> str:
    """The rule set to keep: highest F1, then fewest sentence splits, then least spread."""
    return min(
        scores,
        key=lambda k: (-scores[k].f1, scores[k].sentence_splits, scores[k].length_spread, k),
    )

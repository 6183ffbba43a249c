"""Scores used by the chapter-heuristics notebook."""

from __future__ import annotations

import itertools

from genesis_pipeline.stages.chapter_scoring import (
    agreement,
    best,
    length_spread,
    score,
    sentence_splits,
)
from genesis_pipeline.stages.chapters import Chapter, TimedWord


def ch(*bounds: float) -> list[Chapter]:
    return [
        Chapter(i, a, b, (i,), f"c{i}", ("start",))
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


WORDS = [
    TimedWord("Hello", 0.5, 0.9),
    TimedWord("there.", 1.0, 1.4),
    TimedWord("This", 5.0, 5.3),
    TimedWord("goes", 5.4, 5.8),
    TimedWord("on.", 6.2, 6.6),
]


def test_agreement_matches_one_to_one_within_tolerance() -> None:
    assert agreement([10.0, 20.5], [10.4, 20.0], 1.0) == (1.0, 1.0, 1.0)
    p, r, f1 = agreement([10.0, 10.2], [10.1], 1.0)  # two found near one label: one hit
    assert (p, r) == (0.5, 1.0) and abs(f1 - 2 / 3) < 1e-9
    assert agreement([], [], 1.0) == (1.0, 1.0, 1.0)
    assert agreement([5.0], [], 1.0)[0] == 0.0


def test_sentence_splits() -> None:
    assert sentence_splits(ch(0, 3.0, 10), WORDS) == 0  # between "there." and "This"
    assert sentence_splits(ch(0, 5.9, 10), WORDS) == 1  # between "goes" and "on."
    assert sentence_splits(ch(0, 5.5, 10), WORDS) == 1  # inside "goes"


def test_spread_and_best() -> None:
    assert length_spread(ch(0, 5, 10)) == 0.0
    assert length_spread(ch(0, 2, 10)) > 0.5
    a = score(ch(0, 3.0, 10), WORDS, [3.0])
    b = score(ch(0, 5.9, 10), WORDS, [3.0])
    assert a.f1 == 1.0 and b.f1 == 0.0
    assert best({"a": a, "b": b}) == "a"

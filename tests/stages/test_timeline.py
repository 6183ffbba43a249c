"""Source intervals (speech) mapped onto the cut: clipped at removed parts, any cut order."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from genesis_pipeline.stages.timeline import CutSegment, cut_starts, map_intervals


def _seg(key: str, start_s: float, end_s: float) -> CutSegment:
    fps = 25.0
    return CutSegment(key, Path(f"{key}.mp4"), round(start_s * fps), round(end_s * fps), fps,
                      start_s, end_s)  # fmt: skip


def _by_definition(
    segments: list[CutSegment], key: str, intervals: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Every (interval, segment) overlap, placed on the cut: the meaning, checked pairwise."""
    out = []
    for a, b in intervals:
        for start, seg in zip(cut_starts(segments), segments, strict=True):
            lo, hi = max(a, seg.start_s), min(b, seg.end_s)
            if seg.media_key == key and hi > lo:
                out.append((start + lo - seg.start_s, start + hi - seg.start_s))
    return sorted(out)


def test_a_word_across_a_removed_part_is_clipped_and_order_follows_the_cut() -> None:
    # Scenes [0, 4) and [6, 10) of a.mp4 kept, in reverse order; b.mp4's scene between them.
    segments = [_seg("a", 6.0, 10.0), _seg("b", 0.0, 2.0), _seg("a", 0.0, 4.0)]
    words = [(1.0, 1.5), (3.5, 6.5), (9.5, 10.5), (4.5, 5.5)]
    assert map_intervals(segments, "a", words) == [
        (0.0, 0.5),  # the part of 3.5-6.5 after the cut at 6 s, at the start of the cut
        (3.5, 4.0),  # 9.5-10.5 clipped at the scene's end
        (7.0, 7.5),  # 1.0-1.5 in the last piece (which starts at 6 s on the cut)
        (9.5, 10.0),  # the part of 3.5-6.5 before 4 s
    ]
    assert map_intervals(segments, "b", words) == [(5.0, 5.5)]  # b.mp4 1.0-1.5, cut at 4 s
    assert map_intervals(segments, "c", words) == []
    assert map_intervals([], "a", words) == [] and map_intervals(segments, "a", []) == []


@pytest.mark.parametrize("seed", range(20))
def test_same_as_every_pair_checked(seed: int) -> None:
    """Overlapping and long intervals, zero-length ones, scenes in any order and trimmed."""
    rng = random.Random(seed)
    edges = sorted(rng.uniform(0, 120) for _ in range(2 * rng.randint(1, 30)))
    segments = [_seg(rng.choice("ab"), edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    rng.shuffle(segments)
    intervals = []
    for _ in range(rng.randint(0, 300)):
        a = rng.uniform(-5, 125)
        intervals.append((a, a + rng.choice([0.0, rng.uniform(0, 1), rng.uniform(0, 40)])))
    for key in "ab":
        assert map_intervals(segments, key, intervals) == _by_definition(segments, key, intervals)

"""Accuracy measures shared by the chapter scores, the benchmark and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimeMatch:
    """Found event times (cuts, chapter starts) against true ones, matched one-to-one."""

    truth: int
    found: int
    matched: int
    missed: tuple[float, ...]  # true times with no found time within the tolerance
    extra: tuple[float, ...]  # found times matching no true time

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else (1.0 if not self.truth else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def match_times(truth: Sequence[float], found: Sequence[float], tolerance: float) -> TimeMatch:
    """Match each true time to the nearest unused found time within ``tolerance``."""
    remaining = sorted(found)
    matched, missed = 0, []
    for t in sorted(truth):
        best = min(remaining, key=lambda f: abs(f - t), default=None)
        if best is not None and abs(best - t) <= tolerance:
            remaining.remove(best)
            matched += 1
        else:
            missed.append(t)
    return TimeMatch(len(truth), len(found), matched, tuple(missed), tuple(remaining))


@dataclass(frozen=True, slots=True)
class Span:
    """A boundary as frames ``[start, end)``: a cut has ``start == end``, a gradual transition
    covers the frames that mix both shots."""

    start: int
    end: int


def span_gap(a: Span, b: Span) -> int:
    """Frames between two boundaries: 0 when their spans overlap, else the distance from the
    end of the earlier one to the start of the later one (a cut is a span of no frames)."""
    first, second = (a, b) if a.start <= b.start else (b, a)
    return max(0, second.start - max(first.end, first.start))


def match_spans(truth: Sequence[Span], found: Sequence[Span], tolerance: int) -> TimeMatch:
    """Match boundaries one-to-one the way PySceneDetect's and TransNet V2's benchmarks do.

    A found boundary matches a true one when their spans overlap once both are widened by
    ``tolerance`` frames (a cut within ``tolerance`` frames of a cut; any found boundary inside
    a dissolve, or within ``tolerance`` of it). Each true boundary takes the nearest unused
    found one; the times in ``missed`` and ``extra`` are frame indices (starts).
    """
    remaining = sorted(found, key=lambda s: (s.start, s.end))
    matched, missed = 0, []
    for t in sorted(truth, key=lambda s: (s.start, s.end)):
        best = min(remaining, key=lambda f: (span_gap(t, f), abs(f.start - t.start)), default=None)
        if best is not None and span_gap(t, best) <= tolerance:
            remaining.remove(best)
            matched += 1
        else:
            missed.append(float(t.start))
    return TimeMatch(
        len(truth), len(found), matched, tuple(missed), tuple(float(f.start) for f in remaining)
    )

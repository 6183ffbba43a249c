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

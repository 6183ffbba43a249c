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


def normalise_word(text: str) -> str:
    """A word as compared with its truth: lower case, letters, digits and apostrophes only."""
    return "".join(c for c in text.lower() if c.isalnum() or c == "'").strip("'")


@dataclass(frozen=True, slots=True)
class WordTiming:
    """Recognised word timings against true ones (seconds), the words paired by their text.

    ``start_errors`` and ``end_errors`` are found minus true, one per paired word;
    ``outside`` counts paired words not inside their true phrase (widened by ``slack``).
    """

    truth: int
    found: int
    start_errors: tuple[float, ...]
    end_errors: tuple[float, ...]
    outside: int
    wer: float

    @property
    def paired(self) -> int:
        return len(self.start_errors)

    def abs_errors(self) -> list[float]:
        """Every |start error| and |end error|, the numbers the goals are stated over."""
        return [abs(e) for e in (*self.start_errors, *self.end_errors)]

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of :meth:`abs_errors`."""
        return quantile(self.abs_errors(), q)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (linear interpolation; NaN when there are none)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def score_word_timings(
    truth: Sequence[tuple[str, float, float, int]],
    phrases: Sequence[tuple[float, float]],
    found: Sequence[tuple[str, float, float]],
    slack: float = 0.0,
) -> WordTiming:
    """Score ``found`` ``(word, start, end)`` against ``truth`` ``(word, start, end, phrase)``.

    Words are paired where the normalised texts agree in a ``difflib`` alignment of the two
    sequences (a misrecognised word has no pair and counts only in the WER). A paired word is
    outside its phrase when it starts before ``phrases[p][0] - slack`` or ends after
    ``phrases[p][1] + slack``. The WER is Levenshtein over the normalised words.
    """
    import difflib

    ref = [normalise_word(w[0]) for w in truth]
    hyp = [normalise_word(w[0]) for w in found]
    hyp_idx = [i for i, w in enumerate(hyp) if w]
    hyp = [hyp[i] for i in hyp_idx]
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    starts: list[float] = []
    ends: list[float] = []
    outside = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            _, t_start, t_end, phrase = truth[block.a + k]
            _, f_start, f_end = found[hyp_idx[block.b + k]]
            starts.append(round(f_start - t_start, 4))
            ends.append(round(f_end - t_end, 4))
            lo, hi = phrases[phrase]
            outside += f_start < lo - slack or f_end > hi + slack
    return WordTiming(len(ref), len(hyp), tuple(starts), tuple(ends), outside, _wer(ref, hyp))


def _wer(ref: Sequence[str], hyp: Sequence[str]) -> float:
    """Word error rate: edit distance over the reference length (0 for two empty texts)."""
    if not ref:
        return float(bool(hyp))
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)

"""Chapters: group contiguous scenes by rules reviewers tune live.

``group_chapters`` is pure and fast (about 20 ms for 2,000 scenes and 30,000 words): the app
calls it on every slider move. Everything is on the *project timeline* (media files laid end to end
in project order).

How boundaries are chosen
-------------------------
Only the ``n - 1`` joins between consecutive scenes can start a chapter. Each join gets signals:

* **pause**: the speech gap across the join. A word spanning the join gives 0; otherwise it
  is ``next word start - previous word end``, a missing side reaching to the timeline's edge; a
  project with no words at all has an infinite pause everywhere.
* **topic**: Jaccard similarity of the two scenes' caption content words (stop-words removed,
  plural ``s`` folded); undefined when either caption has no content words.
* **media**: the two scenes come from different media files.
* **inside a sentence**: a word spans the join, or the words either side belong to one sentence
  (the word before does not end in ``. ! ?``). When the transcript has no sentence punctuation
  at all only spanning words count. Never set at a media change.

A join is *wanted* when its pause ≥ ``pause_split_s``, its similarity < ``caption_similarity``
(0 switches topic splits off), or the media file changes.

Cost model (dynamic programming over the joins). The cost of a chapter set is::

    sum over chosen joins of  delta(join)  +  sum over chapters of  violation(chapter)

where skipping a wanted join costs what choosing it would have saved, so ``delta`` is the
difference "choose - skip":

* ``SPLIT_COST`` (1.0) for every split;
* minus ``MEDIA_REWARD`` (4.0) at a media change;
* minus ``PAUSE_REWARD`` (2.0) + up to 1.0 more for pauses up to 3 times the threshold;
* minus ``TOPIC_REWARD`` (2.0) + up to 1.0 more the further similarity is below the threshold;
* minus small hints on unwanted joins (up to 0.5 for a pause approaching the threshold, up to
  0.3 for dissimilar captions), so splits forced by ``max_chapter_s`` land at the best place;
  an unwanted split still costs at least 0.2;
* plus ``SENTENCE_COST`` (2.5) for a join inside a sentence when ``keep_sentences``: a pause or
  a topic change alone does not split a sentence, both together or a media change do.

``violation`` is ``H * (1 + excess / max(limit, 1 s))`` for a chapter shorter than
``min_chapter_s`` (unless it is the whole timeline) or longer than ``max_chapter_s`` (unless it
is one scene), with ``H`` larger than the sum of every ``|delta|``: whenever a partition
without violations exists the optimum has none, and among violating ones it has the fewest.

The dynamic programme ``f[i] = min_j f[j] + violation(j, i) + delta(i)`` only looks back over
chapters that fit ``max_chapter_s`` plus one scene (any feasible partition lives there). Within
that band violations sit only in the rightmost columns (too short) and the one slack column
(too long); they are filled in vectorised blocks, leaving one numpy ``add`` and ``argmin`` per
scene.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError, StageError

log = logging.getLogger(__name__)

VERSION = 1

SPLIT_COST = 1.0
MEDIA_REWARD = 4.0
PAUSE_REWARD = 2.0
TOPIC_REWARD = 2.0
SENTENCE_COST = 2.5
PAUSE_HINT = 0.5
CAPTION_HINT = 0.3

TITLE_WORDS = 6
_EPS = 1e-9
# Rows of the banded violation matrix computed at once (bounds memory to ~8 MB).
_BLOCK_CELLS = 1 << 20

# Sentence punctuation, possibly followed by closing quotes or brackets.
_SENTENCE_END = re.compile("[.!?\u2026]['\")\\]\u00bb\u201d\u2019]*$")
_TOKEN = re.compile(r"[a-z][a-z'-]*")
_STOP_TEXT = """
a about above after again against all am an and any are as at be been before being below
between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not now of off on once only or other our ours out over own same she should
so some such than that the their theirs them then there these they this those through to
too under until up very was we were what when where which while who whom why will with
would you your yours
image picture photo photograph view close front background shot screen top side next
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class Rules:
    """Chapter rules; reviewers tune them with sliders.

    Attributes:
        min_chapter_s: chapters shorter than this are merged when possible.
        max_chapter_s: chapters longer than this are split when possible.
        pause_split_s: split at a speech pause at least this long.
        caption_similarity: split where consecutive scene captions share less than this
            (Jaccard over content words); 0 switches topic splits off.
        keep_sentences: avoid splitting inside a spoken sentence when possible.
    """

    min_chapter_s: float = 10.0
    max_chapter_s: float = 180.0
    pause_split_s: float = 1.0
    caption_similarity: float = 0.2
    keep_sentences: bool = True

    def validate(self) -> None:
        """Check every rule.

        Raises:
            InvalidSettingError: naming the rule ("chapter rules: min_chapter_s") and the reason.
        """
        for name in ("min_chapter_s", "max_chapter_s", "pause_split_s", "caption_similarity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidSettingError(f"chapter rules: {name}", f"{value!r} is not a number")
            if not math.isfinite(value):
                raise InvalidSettingError(f"chapter rules: {name}", f"{value} is not finite")
            if value < 0:
                raise InvalidSettingError(f"chapter rules: {name}", f"{value} is negative")
        if self.max_chapter_s <= 0:
            raise InvalidSettingError("chapter rules: max_chapter_s", "must be above 0 s")
        if self.min_chapter_s > self.max_chapter_s:
            raise InvalidSettingError(
                "chapter rules: min_chapter_s",
                f"{self.min_chapter_s} s is above max_chapter_s ({self.max_chapter_s} s)",
            )
        if self.caption_similarity > 1:
            raise InvalidSettingError(
                "chapter rules: caption_similarity", f"{self.caption_similarity} is not in [0, 1]"
            )
        if not isinstance(self.keep_sentences, bool):
            raise InvalidSettingError(
                "chapter rules: keep_sentences", f"{self.keep_sentences!r} is not true/false"
            )

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Rules:
        """Rules from stored JSON; missing rules take their defaults, unknown ones are ignored.

        Written as :func:`genesis_pipeline.serde.to_json` writes them, but not read back through
        :func:`~genesis_pipeline.serde.from_json`: saved rules are reviewer input from any past
        version, so unknown names are warned about and dropped, and values are checked by
        :meth:`validate` (naming the rule) rather than coerced (``"yes"`` is not ``True``), and
        kept as saved (a rule saved as ``10`` keeps fingerprinting as ``10`` in cache keys).

        Raises:
            InvalidSettingError: a rule has an unusable value.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            log.warning("chapter rules: ignoring unknown rules %s", ", ".join(unknown))
        rules = cls(**{k: v for k, v in d.items() if k in names})
        rules.validate()
        return rules


@dataclass(frozen=True, slots=True)
class ChapterScene:
    """A scene on the project timeline."""

    key: int | str
    media_key: int | str
    start_s: float
    end_s: float
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A transcribed word on the project timeline."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Chapter:
    """A run of contiguous scenes.

    ``index`` counts from 0; ``reasons`` say why the chapter starts where it does: "start",
    "new media file", "pause 2.3 s", "pause (no speech)", "topic change (similarity 0.05)" or
    "max length".
    """

    index: int
    start_s: float
    end_s: float
    scene_keys: tuple[int | str, ...]
    title: str
    reasons: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def chapters_to_json(chapters: Sequence[Chapter]) -> dict[str, Any]:
    """A chapter list for the stage cache, with the stage's version."""
    return {"version": VERSION, "chapters": [serde.to_json(c) for c in chapters]}


def chapters_from_json(d: Mapping[str, Any]) -> list[Chapter]:
    """Inverse of :func:`chapters_to_json` (exact round trip)."""
    return serde.from_json(list[Chapter], d["chapters"])


@functools.lru_cache(maxsize=1 << 16)
def _ends_sentence(word: str) -> bool:
    return _SENTENCE_END.search(word) is not None


@functools.lru_cache(maxsize=1 << 14)
def _caption_set(caption: str | None) -> frozenset[str]:
    # Cached: the live preview re-groups the same captions on every slider move.
    return frozenset(content_words(caption))


def content_words(caption: str | None) -> list[str]:
    """Lower-cased caption words without stop-words, plural ``s`` folded."""
    if not caption:
        return []
    out = []
    for tok in _TOKEN.findall(caption.lower()):
        tok = tok.strip("'-")
        if len(tok) < 2 or tok in STOP_WORDS:
            continue
        if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        out.append(tok)
    return out


def group_chapters(
    scenes: Sequence[ChapterScene], words: Sequence[TimedWord], rules: Rules
) -> list[Chapter]:
    """Group scenes into chapters (see the module docstring for the rules and costs).

    Args:
        scenes: scenes in timeline order (media order, then time).
        words: transcribed words, any order.
        rules: the chapter rules.

    Returns:
        Chapters covering every scene exactly once, in order.

    Raises:
        InvalidSettingError: a rule is invalid.
        StageError: scenes are out of timeline order or have a negative duration.
    """
    rules.validate()
    n = len(scenes)
    if n == 0:
        return []
    start = np.fromiter((s.start_s for s in scenes), float, n)
    end = np.fromiter((s.end_s for s in scenes), float, n)
    _check_scenes(scenes, start, end)

    w = _Words.build(words)
    mid = (end[:-1] + start[1:]) / 2.0
    media_change = np.fromiter(
        (a.media_key != b.media_key for a, b in itertools.pairwise(scenes)), bool, n - 1
    )
    pause, inside = w.joins(mid, float(start[0]), float(end[-1]))
    inside &= ~media_change
    captions = [_caption_set(s.caption) for s in scenes]
    sim = _similarities(captions)

    delta, wanted_pause, wanted_topic = _deltas(pause, sim, media_change, inside, rules)
    cuts = _best_cuts(start, end, delta, rules)

    chapters: list[Chapter] = []
    bounds = [0, *cuts, n]
    for idx, (a, b) in enumerate(itertools.pairwise(bounds)):
        if a == 0:
            reasons: tuple[str, ...] = ("start",)
        else:
            reasons = _reasons(a - 1, pause, sim, media_change, wanted_pause, wanted_topic)
        t0, t1 = float(start[a]), float(end[b - 1])
        title = w.title(t0, t1) or _caption_title(captions[a:b]) or f"Chapter {idx + 1}"
        keys = tuple(s.key for s in scenes[a:b])
        chapters.append(Chapter(idx, t0, t1, keys, title, reasons))
    return chapters


def _check_scenes(scenes: Sequence[ChapterScene], start: np.ndarray, end: np.ndarray) -> None:
    bad = np.flatnonzero(~(end >= start))
    if bad.size:
        s = scenes[int(bad[0])]
        raise StageError(
            "chapters", f"scene {s.key!r} ends ({s.end_s}) before it starts ({s.start_s})"
        )
    back = np.flatnonzero(start[1:] < start[:-1] - _EPS)
    if back.size:
        a, b = scenes[int(back[0])], scenes[int(back[0]) + 1]
        raise StageError(
            "chapters",
            f"scenes out of timeline order: {b.key!r} starts at {b.start_s} s, "
            f"before {a.key!r} ({a.start_s} s)",
        )


@dataclass(frozen=True, slots=True)
class _Words:
    text: list[str]
    start: np.ndarray
    end_cummax: np.ndarray  # latest end among words[: i + 1]
    ends_sentence: np.ndarray
    next_sentence_start: np.ndarray  # first index >= i that starts a sentence (len if none)
    punctuated: bool

    @classmethod
    def build(cls, words: Sequence[TimedWord]) -> _Words:
        m = len(words)
        times = np.array([(x.start_s, x.end_s) for x in words], float).reshape(m, 2)
        st, en = times[:, 0], times[:, 1]
        text = [x.word.strip() for x in words]
        if m > 1 and not bool((st[1:] >= st[:-1]).all()):
            order = np.argsort(st, kind="stable")
            st, en = st[order], en[order]
            text = [text[i] for i in order.tolist()]
        en = np.maximum(en, st)
        ends = np.fromiter((_ends_sentence(t) for t in text), bool, m)
        starts_sentence = np.ones(m, bool)
        starts_sentence[1:] = ends[:-1]
        idx = np.where(starts_sentence, np.arange(m), m)
        nxt = np.minimum.accumulate(idx[::-1])[::-1] if m else idx
        cummax = np.maximum.accumulate(en) if m else en
        return cls(text, st, cummax, ends, nxt, bool(ends.any()))

    def joins(self, t: np.ndarray, t_first: float, t_last: float) -> tuple[np.ndarray, np.ndarray]:
        """Speech pause across each join time and whether it falls inside a sentence."""
        m = len(self.text)
        if t.size == 0:
            return np.zeros(0), np.zeros(0, bool)
        if m == 0:
            return np.full(t.shape, np.inf), np.zeros(t.shape, bool)
        k = np.searchsorted(self.start, t, side="left")  # words[:k] start before t
        has_prev = k > 0
        has_next = k < m
        prev_end = np.where(has_prev, self.end_cummax[np.maximum(k - 1, 0)], min(t_first, t.min()))
        spanning = has_prev & (prev_end > t)
        next_start = np.where(has_next, self.start[np.minimum(k, m - 1)], max(t_last, t.max()))
        pause = np.where(spanning, 0.0, next_start - prev_end)
        inside = spanning.copy()
        if self.punctuated:
            open_sentence = ~self.ends_sentence[np.maximum(k - 1, 0)]
            inside |= has_prev & has_next & open_sentence
        return pause, inside

    def title(self, t0: float, t1: float) -> str | None:
        """The first ~6 words of the first sentence spoken in ``[t0, t1)``."""
        lo = int(np.searchsorted(self.start, t0, side="left"))
        hi = int(np.searchsorted(self.start, t1, side="left"))
        if lo >= hi:
            return None
        first = int(self.next_sentence_start[lo])
        if first >= hi:
            first = lo
        picked: list[str] = []
        truncated = False
        for i in range(first, hi):
            if self.text[i]:
                picked.append(self.text[i])
            if self.ends_sentence[i]:
                break
            if len(picked) >= TITLE_WORDS:
                truncated = True
                break
        title = " ".join(picked).strip().rstrip(".!?…,;:")
        if not title:
            return None
        title = title[0].upper() + title[1:]
        return f"{title}…" if truncated else title


def _similarities(captions: list[frozenset[str]]) -> np.ndarray:
    """Jaccard similarity of consecutive captions; NaN where either has no content words."""
    out = np.full(max(len(captions) - 1, 0), np.nan)
    for i, (a, b) in enumerate(itertools.pairwise(captions)):
        if a and b:
            out[i] = len(a & b) / len(a | b)
    return out


def _deltas(
    pause: np.ndarray,
    sim: np.ndarray,
    media_change: np.ndarray,
    inside: np.ndarray,
    rules: Rules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost of choosing each join minus the cost of skipping it."""
    thr = rules.pause_split_s
    wanted_pause = pause >= thr
    # pause is inf where there is no speech at all; tiny thresholds overflow harmlessly.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = pause / thr if thr > 0 else np.full(pause.shape, np.inf)
        pause_gain = np.where(
            wanted_pause,
            PAUSE_REWARD + 0.5 * np.clip(np.nan_to_num(ratio - 1.0, posinf=2.0), 0.0, 2.0),
            PAUSE_HINT * np.clip(np.nan_to_num(ratio, posinf=1.0), 0.0, 1.0),
        )
    has_sim = ~np.isnan(sim)
    cthr = rules.caption_similarity
    wanted_topic = has_sim & (sim < cthr) if cthr > 0 else np.zeros(sim.shape, bool)
    safe_sim = np.where(has_sim, sim, 1.0)
    topic_gain = np.where(
        wanted_topic,
        TOPIC_REWARD + (cthr - safe_sim) / (cthr if cthr > 0 else 1.0),
        CAPTION_HINT * (1.0 - safe_sim),
    )
    delta = SPLIT_COST - pause_gain - topic_gain - MEDIA_REWARD * media_change
    if rules.keep_sentences:
        delta = delta + SENTENCE_COST * inside
    return delta, wanted_pause, wanted_topic


def _best_cuts(start: np.ndarray, end: np.ndarray, delta: np.ndarray, rules: Rules) -> list[int]:
    """Indices of the scenes that start a chapter (besides scene 0), by dynamic programming.

    ``f[i]`` is the cheapest cost of chapters covering scenes ``[0, i)`` with a split before
    scene ``i`` (``i = n``: the end). Chapter ``[j, i)`` is looked at for ``j`` from ``lo[i]``
    (the longest chapter within ``max_chapter_s``, plus one scene) to ``i - 1``. Violation costs
    are zero except in two places per row, filled in vectorised blocks: the rightmost columns
    (chapters shorter than ``min_chapter_s``) and the one slack column (longer than max).
    """
    n = len(start)
    if n == 1:
        return []
    mn, mx = rules.min_chapter_s, rules.max_chapter_s
    heavy = 10.0 * (1.0 + float(np.abs(delta).sum()))
    rows_all = np.arange(1, n + 1)  # row i: chapters [j, i) ending at end[i - 1]
    fits = np.minimum(np.searchsorted(start, end - mx - _EPS, side="left"), rows_all - 1)
    lo = np.maximum(fits - 1, 0)
    width = rows_all - lo
    band = int(width.max())
    # Columns at or after this j may be short (one extra for rounding; checked exactly below).
    long_enough = np.searchsorted(start, end - mn + _EPS, side="right")
    short_from = np.clip(long_enough - 1, lo, rows_all)
    short_w = rows_all - short_from
    choose = np.concatenate([[0.0], delta, [0.0]])  # split before scene i (none at the end)

    f = np.full(n + 1, np.inf)
    f[0] = 0.0
    back = np.zeros(n + 1, np.int64)
    rows_per_block = max(1, _BLOCK_CELLS // band)
    for b0 in range(1, n + 1, rows_per_block):
        rows = rows_all[b0 - 1 : b0 - 1 + rows_per_block]
        pen = np.zeros((rows.size, band))
        t_end = end[rows - 1]
        # Too short: the rightmost columns; the whole timeline as one chapter is exempt.
        s_w = int(short_w[rows - 1].max())
        if s_w and mn > 0:
            j = rows[:, None] - s_w + np.arange(s_w)[None, :]
            dur = t_end[:, None] - start[np.clip(j, 0, n - 1)]
            short = (dur < mn - _EPS) & (j >= lo[rows - 1][:, None])
            short &= ~((j == 0) & (rows[:, None] == n))
            pen[:, band - s_w :] = np.where(short, heavy * (1.0 + (mn - dur) / max(mn, 1.0)), 0.0)
        # Too long: only the slack column j = lo (when it is not the single-scene chapter).
        slack = np.flatnonzero(lo[rows - 1] < fits[rows - 1])
        if slack.size:
            i_s = rows[slack]
            dur = t_end[slack] - start[lo[i_s - 1]]
            over = dur > mx + _EPS
            excess = (dur[over] - mx) / max(mx, 1.0)
            pen[slack[over], band - width[i_s[over] - 1]] += heavy * (1.0 + excess)
        for r, i in enumerate(rows.tolist()):
            w = int(width[i - 1])
            vals = f[i - w : i] + pen[r, band - w :]
            c = int(vals.argmin())
            f[i] = vals[c] + choose[i]
            back[i] = i - w + c
    cuts = []
    i = n
    while i > 0:
        i = int(back[i])
        if i > 0:
            cuts.append(i)
    return cuts[::-1]


def _reasons(
    join: int,
    pause: np.ndarray,
    sim: np.ndarray,
    media_change: np.ndarray,
    wanted_pause: np.ndarray,
    wanted_topic: np.ndarray,
) -> tuple[str, ...]:
    out = []
    if media_change[join]:
        out.append("new media file")
    if wanted_pause[join]:
        p = float(pause[join])
        out.append("pause (no speech)" if math.isinf(p) else f"pause {p:.1f} s")
    if wanted_topic[join]:
        out.append(f"topic change (similarity {float(sim[join]):.2f})")
    return tuple(out) or ("max length",)


def _caption_title(captions: list[frozenset[str]]) -> str | None:
    counts: Counter[str] = Counter()
    for words in captions:
        counts.update(sorted(words))
    if not counts:
        return None
    # Most common first; ties in alphabetical order (deterministic).
    top = [w for w, _ in counts.most_common(3)]
    title = ", ".join(top)
    return title[0].upper() + title[1:]

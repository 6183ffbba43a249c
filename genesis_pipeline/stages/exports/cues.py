"""Subtitle cues of the cut: words on the cut's clock laid out as a subtitler would, written as
SubRip or WebVTT.

The layout (:func:`layout_cues`), in the order the rules apply:

* **No cue across a cut.** Words come in *blocks* (one kept scene's speech, or a narration
  clip's words between two cuts); a cue holds words of one block only and never outlasts it.
* **Breaks at punctuation and pauses.** A cue ends after a word that ends a sentence, and
  before a word that follows a pause of :attr:`CueParams.pause_s`. When the next word would
  overfill the cue (more than :attr:`CueParams.max_lines` lines of
  :attr:`CueParams.max_chars`, or longer than :attr:`CueParams.max_s`), the cue ends after its
  last comma, colon or semicolon in its second half, else before that word.
* **No orphans.** A cue of one word that could join its neighbour in the same block (and still
  fit) joins it; lines are balanced, and a last line of one short word is avoided.
* **Duration.** A cue lasts from its first word's start to its last word's end, held on to
  :attr:`CueParams.min_s` where the next cue and the block's end allow, never more than
  :attr:`CueParams.max_s`.

A word whose timing the transcribe stage marked uncertain stays marked in its cue
(:attr:`Cue.uncertain`), and the writers show it when asked (:attr:`CueParams.mark_uncertain`):
WebVTT as a ``<c.uncertain>`` span (a class players show as plain text unless styled) with a
``NOTE`` saying so, SubRip underlined (``<u>``, the one mark SubRip players and ffmpeg share),
as the Transcript page underlines it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from genesis_pipeline.errors import InvalidSettingError

SENTENCE_END = (".", "?", "!", "…")
CLAUSE_END = (",", ";", ":", "—", "–")


@dataclass(frozen=True, slots=True)
class CueParams:
    """How cues are laid out.

    Attributes:
        max_chars: characters per line (42: the common broadcast and platform limit).
        max_lines: lines per cue.
        min_s: shortest cue, seconds (held on after its last word when nothing follows soon).
        max_s: longest cue, seconds.
        pause_s: a silence this long between two words ends a cue.
        mark_uncertain: the written file marks words whose timing is uncertain (see the
            module docstring); off for subtitles people watch (a render's track).
    """

    max_chars: int = 42
    max_lines: int = 2
    min_s: float = 1.0
    max_s: float = 7.0
    pause_s: float = 0.7
    mark_uncertain: bool = True

    def __post_init__(self) -> None:
        if not 10 <= self.max_chars <= 200:
            raise InvalidSettingError("max_chars", f"{self.max_chars} must be in 10..200")
        if not 1 <= self.max_lines <= 4:
            raise InvalidSettingError("max_lines", f"{self.max_lines} must be in 1..4")
        if not (math.isfinite(self.max_s) and 1.0 <= self.max_s <= 30.0):
            raise InvalidSettingError("max_s", f"{self.max_s} must be in [1, 30] seconds")
        if not (math.isfinite(self.min_s) and 0.0 <= self.min_s <= self.max_s):
            raise InvalidSettingError("min_s", f"{self.min_s} must be in [0, max_s] seconds")
        if not (math.isfinite(self.pause_s) and self.pause_s > 0):
            raise InvalidSettingError("pause_s", f"{self.pause_s} must be > 0 seconds")


@dataclass(frozen=True, slots=True)
class CutWord:
    """A word on the cut's clock, in the block it belongs to (see the module docstring);
    ``uncertain`` when its timing may be well off."""

    text: str
    start_s: float
    end_s: float
    block: int
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """A stretch of the cut no cue may cross: ``[start_s, end_s)`` on the cut's clock."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: its lines, shown from ``start_s`` to ``end_s`` on the cut's clock;
    ``uncertain`` holds the positions (from 0, over the words of all its lines) of the words
    whose timing is uncertain."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]
    block: int
    uncertain: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def marked_lines(self, before: str, after: str) -> tuple[str, ...]:
        """The lines with each run of uncertain words (on one line) between ``before`` and
        ``after``."""
        if not self.uncertain:
            return self.lines
        marked = set(self.uncertain)
        out, pos = [], 0
        for line in self.lines:
            tokens = line.split(" ")
            flags = [pos + i in marked for i in range(len(tokens))]
            text = []
            for i, t in enumerate(tokens):
                opens = flags[i] and (i == 0 or not flags[i - 1])
                closes = flags[i] and (i + 1 == len(tokens) or not flags[i + 1])
                text.append(f"{before if opens else ''}{t}{after if closes else ''}")
            out.append(" ".join(text))
            pos += len(tokens)
        return tuple(out)


SourceWord = tuple[str, float, float, bool]
"""A transcribed word: ``(text, start, end, timing uncertain)``, seconds on its file's clock."""


def retime_words(
    words: Iterable[SourceWord],
    pieces: Sequence[tuple[float, float, float]],
    first_block: int = 0,
) -> list[CutWord]:
    """Source words of one file onto the cut.

    ``pieces`` are the file's kept stretches as ``(source start, source end, cut start)``; a
    word belongs to the piece holding its middle and is clipped to it (a word cut in half by a
    scene cut shows in the piece that keeps most of it). Words of removed parts are dropped.
    Piece ``i`` is block ``first_block + i``.
    """
    out: list[CutWord] = []
    for text, start, end, uncertain in words:
        token = text.strip()
        if not token:
            continue
        middle = (start + end) / 2
        for i, (a, b, at) in enumerate(pieces):
            if a <= middle < b:
                lo, hi = max(start, a), min(end, b)
                out.append(
                    CutWord(token, at + lo - a, at + hi - a, first_block + i, bool(uncertain))
                )
                break
    out.sort(key=lambda w: (w.start_s, w.block))
    return out


def layout_cues(
    words: Sequence[CutWord], blocks: Sequence[Block], params: CueParams = CueParams()
) -> list[Cue]:
    """Lay ``words`` out as cues by the rules of the module docstring; cues in time order.

    Raises:
        InvalidSettingError: a word names a block that does not exist.
    """
    by_block: dict[int, list[CutWord]] = {}
    for w in words:
        if not 0 <= w.block < len(blocks):
            raise InvalidSettingError("words", f"word {w.text!r} is in unknown block {w.block}")
        by_block.setdefault(w.block, []).append(w)
    cues: list[Cue] = []
    for block, group in by_block.items():
        group.sort(key=lambda w: w.start_s)
        groups = _merge_orphans(_group(group, params), params)
        cues += _timed(groups, blocks[block], block, params)
    cues.sort(key=lambda c: (c.start_s, c.block))
    return cues


def _fits(words: Sequence[CutWord], params: CueParams) -> bool:
    return wrap([w.text for w in words], params.max_chars, params.max_lines) is not None


def _group(words: Sequence[CutWord], params: CueParams) -> list[list[CutWord]]:
    groups: list[list[CutWord]] = []
    cur: list[CutWord] = []
    for w in words:
        if cur and w.start_s - cur[-1].end_s >= params.pause_s:
            groups.append(cur)
            cur = []
        if cur and (not _fits([*cur, w], params) or w.end_s - cur[0].start_s > params.max_s):
            # Break at the last clause end in the cue's second half, else here.
            at = next(
                (
                    i + 1
                    for i in range(len(cur) - 1, len(cur) // 2 - 1, -1)
                    if cur[i].text.endswith(CLAUSE_END)
                ),
                len(cur),
            )
            groups.append(cur[:at])
            cur = cur[at:]
        cur.append(w)
        if w.text.endswith(SENTENCE_END):
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    return groups


def _merge_orphans(groups: list[list[CutWord]], params: CueParams) -> list[list[CutWord]]:
    """A one-word cue joins its neighbour (the closer one in time) when the result still fits
    and lasts no more than ``max_s``."""
    out = [list(g) for g in groups]
    i = 0
    while i < len(out):
        g = out[i]
        if len(g) == 1 and len(out) > 1:
            candidates = []
            if i > 0:
                candidates.append((g[0].start_s - out[i - 1][-1].end_s, i - 1))
            if i + 1 < len(out):
                candidates.append((out[i + 1][0].start_s - g[0].end_s, i + 1))
            for gap, j in sorted(candidates):
                if gap >= params.pause_s * 2:
                    continue
                joined = [*out[j], *g] if j < i else [*g, *out[j]]
                if _fits(joined, params) and joined[-1].end_s - joined[0].start_s <= params.max_s:
                    out[min(i, j)] = joined
                    del out[max(i, j)]
                    i = max(0, min(i, j) - 1)
                    break
            else:
                i += 1
            continue
        i += 1
    return out


def _timed(
    groups: Sequence[Sequence[CutWord]], block: Block, index: int, params: CueParams
) -> list[Cue]:
    cues = []
    for k, g in enumerate(groups):
        start = max(g[0].start_s, block.start_s)
        end = min(g[-1].end_s, block.end_s)
        limit = groups[k + 1][0].start_s if k + 1 < len(groups) else block.end_s
        # Held on to min_s where the next cue and the cut allow; never past max_s.
        end = min(max(end, start + params.min_s), max(end, limit), start + params.max_s)
        lines = wrap([w.text for w in g], params.max_chars, params.max_lines)
        if lines is None:  # a single word longer than a line: it stands alone
            lines = (" ".join(w.text for w in g),)
        unsure: list[int] = []
        pos = 0
        for w in g:  # positions over the lines' space-separated words
            n = len(w.text.split(" "))
            if w.uncertain:
                unsure += range(pos, pos + n)
            pos += n
        end = max(end, start + 0.001)
        cues.append(Cue(round(start, 3), round(end, 3), lines, index, tuple(unsure)))
    return cues


def one_at_a_time(cues: Sequence[Cue]) -> list[Cue]:
    """``cues`` as cues that never overlap, for tracks that show one sample at a time (MP4
    ``mov_text`` cuts a cue short where the next begins): the clock is split at every cue's
    start and end, and each stretch shows the lines of every cue on screen then, the earlier
    cue's first (the narration over a scene's own speech shows both, as SubRip players do)."""
    ordered = sorted(cues, key=lambda c: (c.start_s, c.block))
    times = sorted({t for c in ordered for t in (c.start_s, c.end_s)})
    out: list[Cue] = []
    active: list[Cue] = []
    k = 0
    for a, b in itertools.pairwise(times):
        while k < len(ordered) and ordered[k].start_s <= a:
            active.append(ordered[k])
            k += 1
        # Ends are boundaries too: a cue still on at ``a`` is on until ``b`` at least.
        active = [c for c in active if c.end_s > a]
        if not active:
            continue
        lines = tuple(line for c in active for line in c.lines)
        unsure: list[int] = []
        pos = 0
        for c in active:
            unsure += [pos + i for i in c.uncertain]
            pos += sum(len(line.split(" ")) for line in c.lines)
        if out and out[-1].end_s == a and out[-1].lines == lines:
            out[-1] = Cue(out[-1].start_s, b, lines, out[-1].block, out[-1].uncertain)
        else:
            out.append(Cue(a, b, lines, active[0].block, tuple(unsure)))
    return out


def wrap(tokens: Sequence[str], max_chars: int, max_lines: int) -> tuple[str, ...] | None:
    """``tokens`` in at most ``max_lines`` lines of at most ``max_chars``, or None when they do
    not fit. One line when it fits; two lines are balanced (the break that makes the longer
    line shortest, after punctuation when that costs little) and a one-word last line is
    avoided when another break fits."""
    text = " ".join(tokens)
    if len(text) <= max_chars:
        return (text,)  # one line when it fits
    if max_lines == 1:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(1, len(tokens)):
        head, tail = " ".join(tokens[:k]), " ".join(tokens[k:])
        if len(head) > max_chars:
            break
        rest = (tail,) if len(tail) <= max_chars else wrap(tokens[k:], max_chars, max_lines - 1)
        if rest is None:
            continue
        lines = (head, *rest)
        cost = float(max(len(x) for x in lines))
        if not tokens[k - 1].endswith(CLAUSE_END + SENTENCE_END):
            cost += 4  # prefer breaking after punctuation
        if len(rest) == 1 and k == len(tokens) - 1:
            cost += max_chars  # an orphan on the last line
        if best is None or cost < best[0]:
            best = (cost, lines)
    return best[1] if best else None


def timestamp(seconds: float, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``sep`` before the milliseconds: ``,`` for SubRip)."""
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


SRT_UNCERTAIN = ("<u>", "</u>")
"""How SubRip marks a word whose timing is uncertain: underlined."""
VTT_UNCERTAIN = ("<c.uncertain>", "</c>")
"""How WebVTT marks a word whose timing is uncertain: a ``uncertain`` class span."""
VTT_NOTE = (
    "NOTE Words in <c.uncertain> spans have uncertain timing (Genesis): check them by ear "
    "before cutting on them."
)


def to_srt(cues: Sequence[Cue], *, mark_uncertain: bool = False) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, one blank line between cues; words of
    uncertain timing underlined when ``mark_uncertain``."""
    return "\n".join(
        f"{n}\n{timestamp(c.start_s, ',')} --> {timestamp(c.end_s, ',')}\n"
        + "\n".join(c.marked_lines(*SRT_UNCERTAIN) if mark_uncertain else c.lines)
        + "\n"
        for n, c in enumerate(cues, 1)
    )


def to_vtt(cues: Sequence[Cue], *, mark_uncertain: bool = False) -> str:
    """WebVTT: the ``WEBVTT`` header, ``HH:MM:SS.mmm`` times; words of uncertain timing in
    ``<c.uncertain>`` spans (and a ``NOTE`` saying so) when ``mark_uncertain``."""
    body = [
        f"{timestamp(c.start_s, '.')} --> {timestamp(c.end_s, '.')}\n"
        + "\n".join(vtt_escape(c, mark_uncertain))
        + "\n"
        for c in cues
    ]
    note = f"{VTT_NOTE}\n\n" if mark_uncertain and any(c.uncertain for c in cues) else ""
    return "WEBVTT\n\n" + note + "\n".join(body)


def vtt_escape(cue: Cue, mark_uncertain: bool) -> tuple[str, ...]:
    """The cue's lines as WebVTT cue text: ``&``, ``<`` and ``>`` escaped (WebVTT reads them
    as markup), uncertain words in their span when ``mark_uncertain``."""
    plain = Cue(cue.start_s, cue.end_s, tuple(map(_escape, cue.lines)), cue.block, cue.uncertain)
    return plain.marked_lines(*VTT_UNCERTAIN) if mark_uncertain else plain.lines


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

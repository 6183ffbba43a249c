"""Chapters of the cut for platforms and players: YouTube's description block (and its rules)
and WebVTT chapters. (MP4 chapter markers are the render's: ``stages/render/finish.py``.)"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

YOUTUBE_MIN_CHAPTERS = 3
YOUTUBE_MIN_S = 10.0
"""YouTube shows chapters from a description only when the first timestamp is 0:00, there are
at least three, and each lasts at least ten seconds."""


@dataclass(frozen=True, slots=True)
class ChapterMark:
    """A chapter on the cut's clock."""

    title: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class YouTubeCheck:
    """The project's chapters against YouTube's rules.

    Attributes:
        problems: one line per broken rule, naming it and the chapters that break it.
        chapters: the chapters as written (start times whole seconds, as the block shows them).
        merged: the nearest valid merge when ``problems`` (neighbours joined, the shortest
            first, each keeping the longer part's title), None when valid or when no merge can
            satisfy the rules.
    """

    problems: tuple[str, ...]
    chapters: tuple[ChapterMark, ...]
    merged: tuple[ChapterMark, ...] | None

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def usable(self) -> tuple[ChapterMark, ...] | None:
        """What to publish: the chapters when valid, else the merge (None when neither)."""
        return self.chapters if self.valid else self.merged


def check_youtube(chapters: Sequence[ChapterMark], duration_s: float) -> YouTubeCheck:
    """Check ``chapters`` (in order, on a cut of ``duration_s``) against YouTube's rules on the
    times the block shows (whole seconds, rounded down), and find the nearest valid merge."""
    shown = _whole_seconds(chapters, duration_s)
    problems = _problems(shown)
    merged = None
    if problems:
        candidate = _merge_short(_from_zero(shown))
        if not _problems(candidate):
            merged = tuple(candidate)
    return YouTubeCheck(tuple(problems), tuple(shown), merged)


def youtube_block(chapters: Sequence[ChapterMark]) -> str:
    """``0:00 Title`` lines (``H:MM:SS`` past an hour), one per chapter."""
    long = any(c.start_s >= 3600 for c in chapters)
    return "".join(f"{_clock(c.start_s, long)} {_one_line(c.title)}\n" for c in chapters)


def _clock(seconds: float, hours: bool) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def _one_line(title: str) -> str:
    return " ".join(title.split()) or "Untitled"


def _whole_seconds(chapters: Sequence[ChapterMark], duration_s: float) -> list[ChapterMark]:
    starts = [math.floor(c.start_s + 1e-6) for c in chapters]
    ends = [*starts[1:], duration_s]
    return [
        ChapterMark(c.title, float(a), float(b))
        for c, a, b in zip(chapters, starts, ends, strict=True)
    ]


def _problems(chapters: Sequence[ChapterMark]) -> list[str]:
    out = []
    if not chapters:
        return ["at least three chapters: the project has none"]
    if chapters[0].start_s != 0:
        out.append(
            f"the first chapter starts at 0:00: it starts at {_clock(chapters[0].start_s, False)}"
        )
    if len(chapters) < YOUTUBE_MIN_CHAPTERS:
        out.append(f"at least three chapters: there are {len(chapters)}")
    short = [
        f"{i + 1} {c.title!r} ({c.duration_s:.0f} s)"
        for i, c in enumerate(chapters)
        if c.duration_s < YOUTUBE_MIN_S
    ]
    if short:
        out.append("each chapter at least 10 s: " + ", ".join(short) + " are shorter")
    return out


def _from_zero(chapters: Sequence[ChapterMark]) -> list[ChapterMark]:
    if not chapters or chapters[0].start_s == 0:
        return list(chapters)
    first = chapters[0]
    return [ChapterMark(first.title, 0.0, first.end_s), *chapters[1:]]


def _merge_short(chapters: Sequence[ChapterMark]) -> list[ChapterMark]:
    """Join the shortest chapter under the minimum with its shorter neighbour until none is
    left (the joined chapter keeps the title of the longer of the two)."""
    out = list(chapters)
    while len(out) > 1:
        short = [i for i, c in enumerate(out) if c.duration_s < YOUTUBE_MIN_S]
        if not short:
            break
        i = min(short, key=lambda k: (out[k].duration_s, k))
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(out)]
        j = min(neighbours, key=lambda k: (out[k].duration_s, k))
        a, b = sorted((i, j))
        keep = out[a] if out[a].duration_s >= out[b].duration_s else out[b]
        out[a : b + 1] = [ChapterMark(keep.title, out[a].start_s, out[b].end_s)]
    return out


def chapters_vtt(chapters: Sequence[ChapterMark]) -> str:
    """WebVTT chapters (a ``kind="chapters"`` track): one numbered cue per chapter."""
    from genesis_pipeline.stages.exports.cues import timestamp

    out = ["WEBVTT", ""]
    for i, c in enumerate(chapters, 1):
        out += [str(i), f"{timestamp(c.start_s)} --> {timestamp(c.end_s)}", _one_line(c.title), ""]
    return "\n".join(out)

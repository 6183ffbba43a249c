"""The cut timeline: approved scenes laid end to end, and mapping source times onto it.

Narration planning and assembly both work on the cut; the orchestrator builds the segments
from the approved scenes in project order (media order, then scene order).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


class _Clip(Protocol):
    """A single-file clip with constant frame rate (generated footage and its ground truth)."""

    @property
    def path(self) -> Path: ...
    @property
    def fps(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


@dataclass(frozen=True, slots=True)
class CutSegment:
    """One kept piece of source media: frames ``[start_frame, end_frame)``."""

    media_key: int | str
    media_path: Path
    start_frame: int
    end_frame: int
    fps: float
    start_s: float
    end_s: float
    has_audio: bool = True
    has_video: bool = True
    width: int | None = None
    height: int | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    @classmethod
    def of_frames(cls, clip: _Clip, start: int, end: int, *, has_audio: bool = True) -> CutSegment:
        """Frames ``[start, end)`` of a constant-rate ``clip``, keyed by its file name."""
        return cls(
            media_key=clip.path.stem,
            media_path=clip.path,
            start_frame=start,
            end_frame=end,
            fps=float(clip.fps),
            start_s=start / clip.fps,
            end_s=end / clip.fps,
            has_audio=has_audio,
            width=clip.width,
            height=clip.height,
        )


def merge_adjacent(segments: Iterable[CutSegment]) -> list[CutSegment]:
    """Join segments that continue each other in the same file (fewer cuts, same frames)."""
    out: list[CutSegment] = []
    for seg in segments:
        prev = out[-1] if out else None
        if prev and prev.media_key == seg.media_key and prev.end_frame == seg.start_frame:
            out[-1] = CutSegment(**{**asdict(prev), "end_frame": seg.end_frame, "end_s": seg.end_s})
        else:
            out.append(seg)
    return out


def cut_starts(segments: Sequence[CutSegment]) -> list[float]:
    """Where each segment starts on the cut timeline, in seconds."""
    starts, t = [], 0.0
    for seg in segments:
        starts.append(t)
        t += seg.duration_s
    return starts


def cut_duration(segments: Sequence[CutSegment]) -> float:
    return sum(seg.duration_s for seg in segments)


def to_cut_time(segments: Sequence[CutSegment], media_key: int | str, t: float) -> float | None:
    """Position of source time ``t`` of ``media_key`` on the cut, or None if it was cut out."""
    for start, seg in zip(cut_starts(segments), segments, strict=True):
        if seg.media_key == media_key and seg.start_s <= t < seg.end_s:
            return start + (t - seg.start_s)
    return None


def map_intervals(
    segments: Sequence[CutSegment], media_key: int | str, intervals: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Map source intervals of one media file onto the cut, clipping at removed parts.

    Each segment looks only at the intervals that can reach it (sorted by start, bisected), so
    thousands of words over hundreds of scenes cost milliseconds, not a product of the two.
    """
    spans = sorted((a, b) for a, b in intervals if b > a)
    if not spans:
        return []
    firsts = [a for a, _ in spans]
    longest = max(b - a for a, b in spans)
    out: list[tuple[float, float]] = []
    for start, seg in zip(cut_starts(segments), segments, strict=True):
        if seg.media_key != media_key:
            continue
        # Intervals starting before the segment ends, and late enough that they may reach it.
        lo = bisect.bisect_left(firsts, seg.start_s - longest)
        hi = bisect.bisect_left(firsts, seg.end_s)
        for a, b in spans[lo:hi]:
            a, b = max(a, seg.start_s), min(b, seg.end_s)
            if b > a:
                out.append((start + a - seg.start_s, start + b - seg.start_s))
    out.sort()
    return out

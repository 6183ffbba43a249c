"""Which pictures a smart render copies and which it encodes.

Each source's video is indexed by demuxing (:mod:`genesis_pipeline.media.gop`). A source is
*copyable* when its pictures could only come out of a re-encode unchanged in geometry and
timing: H.264 in an ``avcC`` record (4-byte NAL lengths, no in-band parameter set changes),
8-bit 4:2:0, progressive, square pixels, no rotation, exactly the output's size, constant frame
rate equal to the output's; and its profile, level and ``avcC`` header equal those of the first
copyable source (its *reference*), with parameter-set ids that do not clash with it. For each
kept piece ``[start, end)`` of a copyable source
:meth:`~genesis_pipeline.media.gop.VideoIndex.copy_span` finds the copy ``[first, stop)``: from
the first IDR picture at or after ``start`` to the last point where the packets in decode order
hold exactly the frames so far. The *head* ``[start, first)`` and *tail* ``[stop, end)`` are
encoded, as is every piece of a source that is not copyable or too short to hold a copy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.gop import VideoIndex, index_video
from genesis_pipeline.stages.render.plan import Piece, RenderPlan

X264_PROFILES = {
    "Constrained Baseline": "baseline",
    "Baseline": "baseline",
    "Main": "main",
    "High": "high",
}
"""x264 profile names for the H.264 profiles it can match (8-bit 4:2:0 only)."""


class Doubtful(Exception):
    """A smart render failed one of its own checks: it is redone as a full re-encode."""


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the output's pictures, stream-copied or encoded.

    Attributes:
        kind: ``copy`` or ``encode``.
        start: first output frame.
        frames: how many output frames.
        source: the file copied from (``copy`` only).
        source_start: the first copied frame's number in ``source`` (``copy`` only).
    """

    kind: str
    start: int
    frames: int
    source: Path | None = None
    source_start: int | None = None


@dataclass(frozen=True, slots=True)
class SmartPlan:
    """How a smart render makes the cut.

    Attributes:
        spans: the output in order, copy and encode stretches alternating.
        not_copied: per source file that cannot be copied, the reason.
        sound_late: per piece, the samples its sound plays after its pictures (negative:
            before); 0 where no sound is copied (see :mod:`~genesis_pipeline.stages.render.sound`).
        sound_copied: samples of sound planned to be packet-copied (joins that need moving
            may take a few packets off when rendering).
        sound_not_copied: why no sound is copied, or None.
    """

    spans: tuple[Span, ...]
    not_copied: dict[Path, str]
    sound_late: tuple[int, ...] = ()
    sound_copied: int = 0
    sound_not_copied: str | None = None

    @property
    def frames_copied(self) -> int:
        return sum(s.frames for s in self.spans if s.kind == "copy")

    @property
    def frames_encoded(self) -> int:
        return sum(s.frames for s in self.spans if s.kind == "encode")


@dataclass(frozen=True, slots=True)
class GopCopy:
    """Frames ``[first, stop)`` of an indexed source, copied as they are."""

    index: VideoIndex
    first: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True, slots=True)
class EncodedStretch:
    """Consecutive output pictures made by the encode pass (video-only pieces)."""

    pieces: tuple[Piece, ...]

    @property
    def frames(self) -> int:
        return sum(p.frames_out for p in self.pieces)


@dataclass(frozen=True, slots=True)
class PictureLayout:
    """The cut's pictures as copied and encoded stretches, in output order.

    Attributes:
        indexes: the copyable sources' indexes, in cut order (the first is the reference).
        not_copied: per source that cannot be copied, the reason.
        reference: the source whose profile, level and colour the encoded stretches match.
    """

    plan: RenderPlan
    spans: tuple[GopCopy | EncodedStretch, ...]
    indexes: dict[Path, VideoIndex]
    not_copied: dict[Path, str]
    reference: VideoIndex | None

    @property
    def frames_copied(self) -> int:
        return sum(s.frames for s in self.spans if isinstance(s, GopCopy))

    @property
    def encodes(self) -> list[EncodedStretch]:
        return [s for s in self.spans if isinstance(s, EncodedStretch)]

    def public(self) -> SmartPlan:
        """The layout as reported (without the sound)."""
        out, t = [], 0
        for s in self.spans:
            if isinstance(s, GopCopy):
                out.append(Span("copy", t, s.frames, s.index.path, s.first))
            else:
                out.append(Span("encode", t, s.frames))
            t += s.frames
        return SmartPlan(tuple(out), dict(self.not_copied))


def lay_out(plan: RenderPlan) -> PictureLayout:
    """Index the sources, decide which can be copied, and split the cut into spans."""
    indexes: dict[Path, VideoIndex] = {}  # copyable, in cut order: the first is the reference
    not_copied: dict[Path, str] = {}
    for piece in plan.pieces:
        path = piece.source.path
        if not piece.use_video or path in indexes or path in not_copied:
            continue
        try:
            ix = index_video(path)
        except InvalidMediaError as exc:
            not_copied[path] = exc.reason
            continue
        accepted = list(indexes.values())
        problem = copy_problem(ix, plan) or (clash(ix, accepted) if accepted else None)
        if problem:
            not_copied[path] = problem
            continue
        indexes[path] = ix

    spans: list[GopCopy | EncodedStretch] = []
    pending: list[Piece] = []
    numbers = itertools.count()

    def encode(piece: Piece, start: int | None = None, end: int | None = None) -> None:
        if start is None or end is None:
            pending.append(replace(piece, index=next(numbers), use_audio=False))
        else:
            pending.append(piece.video_part(next(numbers), start, end))

    for piece in plan.pieces:
        source = indexes.get(piece.source.path) if piece.use_video else None
        copy = None
        if source is not None and not piece.conform:
            copy = source.copy_span(piece.seg.start_frame, piece.seg.end_frame)
        if source is None or copy is None:
            encode(piece)
            continue
        first, stop = copy
        if first > piece.seg.start_frame:
            encode(piece, piece.seg.start_frame, first)
        if pending:
            spans.append(EncodedStretch(tuple(pending)))
            pending = []
        spans.append(GopCopy(source, first, stop))
        if stop < piece.seg.end_frame:
            encode(piece, stop, piece.seg.end_frame)
    if pending:
        spans.append(EncodedStretch(tuple(pending)))
    reference = next(iter(indexes.values()), None)
    return PictureLayout(plan, tuple(spans), indexes, not_copied, reference)


def copy_problem(ix: VideoIndex, plan: RenderPlan) -> str | None:
    """Why pictures of this source would not come out of a re-encode unchanged (or None)."""
    if ix.problem:
        return ix.problem
    if (ix.width, ix.height) != (plan.width, plan.height):
        return f"{ix.width}x{ix.height}, the output is {plan.width}x{plan.height}"
    if ix.pix_fmt != "yuv420p":
        return f"pixel format {ix.pix_fmt}"
    if ix.profile not in X264_PROFILES:
        return f"profile {ix.profile}"
    if ix.rotation:
        return f"rotated {ix.rotation} degrees"
    if ix.sar not in (0, 1):
        return f"non-square pixels (SAR {ix.sar})"
    if ix.field_order > 1:
        return "interlaced"
    if ix.rate is None or abs(ix.rate / plan.rate - 1) > 1e-4:
        return f"{float(ix.rate or 0):.3f} fps, the output is {float(plan.rate):.3f}"
    return None


def clash(ix: VideoIndex, accepted: Sequence[VideoIndex]) -> str | None:
    """Why this source's pictures cannot share one stream with those already accepted (the
    first is the reference), or None."""
    a, ref = ix.config, accepted[0].config
    assert a is not None and ref is not None  # both passed copy_problem
    header = (a.profile, a.compatibility, a.level, a.trailer)
    if header != (ref.profile, ref.compatibility, ref.level, ref.trailer):
        return f"profile/level differ from {accepted[0].path.name}'s"
    for other in accepted:
        b = other.config
        assert b is not None
        for mine, theirs in ((a.sps_ids(), b.sps_ids()), (a.pps_ids(), b.pps_ids())):
            if any(k in theirs and theirs[k] != v for k, v in mine.items()):
                return f"parameter sets clash with {other.path.name}'s (same ids)"
    return None

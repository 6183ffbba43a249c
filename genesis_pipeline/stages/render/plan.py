"""The render's plan: which frames and samples of which file make each piece of the cut on the
output's clock, at what frame rate, and where each narration clip plays
(:mod:`~genesis_pipeline.stages.render.clips`). Shared by every render mode
(:mod:`~genesis_pipeline.stages.render.reencode`, :mod:`~genesis_pipeline.stages.render.smart`,
:mod:`~genesis_pipeline.stages.render.sound`).

Times. A piece keeps frames ``[start_frame, end_frame)`` of a file; they are on screen from the
first one's presentation time to the next one's, read from the file's packets
(:mod:`genesis_pipeline.media.timestamps`): the piece's *real span*. On the cut the pieces follow
each other by their real spans, so piece ``k`` starts at ``T_k``, the sum of the spans before
it. That is the clock of the review pages (scene times are presentation times, and the cut's
length is the sum of the kept scenes). Output frames are counted from that clock, rounded
cumulatively (``F_k = floor(T_k * rate + 1/2)``): a render lasts the kept scenes' sum to within
half a frame however many pieces it has, and no piece drifts.

Frame rate, the policy (:func:`output_rate`). The render is constant-rate, as editors and
players expect. Its rate is the ``fps`` asked for, else the rate of the footage covering most
of the cut's time: a constant-rate file counts as its own rate, a variable-rate one as the
standard rate nearest its peak rate (:func:`~genesis_pipeline.media.timestamps.read_frame_times`).
When all the kept footage is constant-rate at one rate, that rate (as before this policy;
projects mixing rates used to take the first piece's).

Conforming. A piece of a constant-rate file at exactly the output rate is *locked*: its frames
pass one for one (and may be stream-copied), its sound follows them to the sample, and the
piece as a whole sits less than half a frame from ``T_k``. Every other piece is *conformed*:
each output frame shows the source frame that is on screen at that moment of the cut's clock,
to the nearest output frame (ffmpeg's ``fps`` filter on the real timestamps duplicates and
drops frames), so every picture first appears within half an output frame of its time on the
cut; its sound is taken on the cut's clock, to the sample.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.media.filtergraph import fps_fraction
from genesis_pipeline.media.probe import display_size, stream_layout
from genesis_pipeline.media.timestamps import STANDARD_RATES, FrameTimes, read_frame_times
from genesis_pipeline.stages.render.clips import MixClip, place_narration
from genesis_pipeline.stages.render.params import AssemblyParams, NarrationClipLike
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)

_TIE_S = 0.001  # rates covering the cut to within this are a tie: the first one wins

SOUND_LEAD_S = 0.001
"""An input seek lands at least this far before the first sound sample a run needs."""


@dataclass(frozen=True, slots=True)
class Source:
    """Facts about one media file that the render needs.

    Attributes:
        clock: when each video frame is presented (None without video).
        video_start_s: the video stream's start relative to the container's.
    """

    path: Path
    video_index: int | None
    audio_index: int | None
    audio_channels: int | None
    video_start_s: float
    clock: FrameTimes | None = None

    def frame_time(self, n: int, fallback: Fraction) -> float:
        """Container time of frame ``n`` (at ``fallback`` fps when the file has no video)."""
        return self.clock.time(n) if self.clock is not None else float(n / fallback)


@dataclass(frozen=True, slots=True)
class Piece:
    """One segment placed on the output's clock.

    Attributes:
        index: position in the cut.
        rate: the source's frame rate (what a variable-rate source counts as).
        frames_out / samples_out: output frames and samples of the piece.
        start_time_s: container time of the segment's first frame.
        conform: pictures retimed onto the output's frame grid by their timestamps (else
            passed one for one: a locked piece, see the module docstring).
        shift_s: where the piece's first output frame falls against its place on the cut's
            clock (``F_k / rate - T_k``, under half a frame either way).
        seek: ``(input seek, first frame at or after it)`` when the piece is read from an
            input seek, None when from the file's start.
        hold_frame: every picture of the piece is this source frame (a freeze frame), while
            its sound plays the segment's span.
    """

    index: int
    seg: CutSegment
    source: Source
    rate: Fraction
    frames_out: int
    samples_out: int
    use_video: bool
    use_audio: bool
    start_time_s: float = 0.0
    conform: bool = False
    shift_s: float = 0.0
    seek: tuple[float, int] | None = None
    hold_frame: int | None = None

    @property
    def sound_start_s(self) -> float:
        """Container time of the source sound heard at the piece's first output sample: with
        its pictures for a locked piece, on the cut's clock for a conformed one."""
        return self.start_time_s + (self.shift_s if self.conform else 0.0)

    def video_part(self, index: int, start: int, end: int) -> Piece:
        """Frames ``[start, end)`` of this locked piece, pictures only, as a piece of its own.

        Raises:
            ValueError: the piece is conformed (its frames do not map one to one).
        """
        if self.conform:
            raise ValueError("only a locked piece splits into frames")
        fps = float(self.rate)
        seg = replace(self.seg, start_frame=start, end_frame=end, start_s=start / fps,
                      end_s=end / fps)  # fmt: skip
        t = self.source.frame_time(start, self.rate)
        seek = seek_point(self.source, start, None)
        return Piece(index, seg, self.source, self.rate, end - start, 0, True, False, t,
                     seek=seek)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Every piece on the output's clock, the output's format, and the narration mixed in.

    ``kept_s`` is the sum of the pieces' real spans (the cut's length on the review pages);
    the render lasts ``frames / rate``, within half a frame of it.
    """

    pieces: tuple[Piece, ...]
    width: int
    height: int
    rate: Fraction
    frames: int
    samples: int
    kept_s: float = 0.0
    clips: tuple[MixClip, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frames / float(self.rate)

    @property
    def frames_conformed(self) -> int:
        """Output frames retimed from another rate (variable-rate or other-rate footage)."""
        return sum(p.frames_out for p in self.pieces if p.conform and p.use_video)

    @property
    def channels(self) -> int:
        """1 when every sound in the cut (kept sources and narration) is mono, else 2.

        Upmixing mono to stereo adds nothing to hear and doubles the AAC encode, the slowest
        part of a smart render.
        """
        used = [p.source.audio_channels for p in self.pieces if p.use_audio]
        used += [c.channels for c in self.clips]
        return 1 if used and all(c == 1 for c in used) else 2


def plan_render(
    segments: Sequence[CutSegment],
    params: AssemblyParams,
    narration: Sequence[NarrationClipLike] = (),
) -> RenderPlan:
    """The cut on the output's clock for these parameters, with ``narration`` placed on it.

    Raises:
        InvalidSettingError: a malformed segment, or a negative narration offset or gain.
        InvalidMediaError: a media or narration file is missing or unusable.
    """
    plan = plan_cut(
        segments,
        width=params.width,
        height=params.height,
        fps=params.fps,
        sample_rate=params.sample_rate,
        extend_s=params.extend_s,
        freeze=params.extend_with == "freeze",
    )
    clips = place_narration(narration, plan.samples, plan.duration_s, params)
    return replace(plan, clips=clips)


def plan_cut(
    segments: Sequence[CutSegment],
    *,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    sample_rate: int = 48000,
    extend_s: float = 0.0,
    freeze: bool = False,
) -> RenderPlan:
    """Inspect the sources and place every segment on the output's clock (frames, samples).

    Args:
        segments: the kept pieces, in cut order.
        width / height: output size; None = the first segment with pictures' display size
            (rounded down to even numbers).
        fps: output frame rate; None = by :func:`output_rate`.
        sample_rate: output sample rate.
        extend_s: seconds added after the last segment (see :func:`_tail`): its file runs on
            (pictures and sound; where the file ends, its last frame is held over silence),
            or with ``freeze`` its last picture is held while its sound runs on.

    Raises:
        InvalidSettingError: a malformed segment, or nothing that lasts a frame.
        InvalidMediaError: a media file is missing or unusable.
    """
    for i, seg in enumerate(segments):
        check_segment(i, seg)
    sources: dict[Path, Source] = {}
    for seg in segments:
        if Path(seg.media_path) not in sources:
            sources[Path(seg.media_path)] = inspect_source(Path(seg.media_path))

    # Size defaults to the first segment's (the first with pictures, if it has none).
    ref = next(
        (
            s
            for s in segments
            if s.has_video and sources[Path(s.media_path)].video_index is not None
        ),
        segments[0],
    )
    if width is None or height is None:
        size = (ref.width, ref.height) if ref.width and ref.height else None
        if size is None and ref.has_video:
            size = display_size(Path(ref.media_path))
        if size is None:
            raise InvalidSettingError(
                "width/height", "no segment has video to take the output size from"
            )
        width = width if width is not None else _even(size[0])
        height = height if height is not None else _even(size[1])
    rate = output_rate(segments, sources, fps)
    per_frame = 1 / float(rate)

    pieces: list[Piece] = []
    cut_s = 0.0  # T_k: where the piece starts on the cut's clock
    frames_done = 0  # F_k

    def place(
        seg: CutSegment, *, hold: int | None = None, span: float | None = None, audio: bool = True
    ) -> None:
        nonlocal cut_s, frames_done
        src = sources[Path(seg.media_path)]
        own = fps_fraction(seg.fps)
        use_video = seg.has_video and src.video_index is not None
        use_audio = audio and seg.has_audio and src.audio_index is not None
        if audio and seg.has_audio and not use_audio:
            log.info("%s has no audio stream: silence in its place", seg.media_path.name)
        clock = src.clock
        locked = hold is None and use_video and clock is not None and clock.rate == rate
        if locked:
            span = seg.frames * per_frame
            end_frame = frames_done + seg.frames
        else:
            if span is None:
                span = (
                    clock.span(seg.start_frame, seg.end_frame)
                    if clock is not None
                    else float(seg.frames / own)
                )
            end_frame = math.floor((cut_s + span) * float(rate) + 0.5)
        shift = frames_done * per_frame - cut_s
        start = src.frame_time(seg.start_frame, own)
        frames_out = end_frame - frames_done
        if frames_out > 0:
            conform = not locked
            sound_from = start + (shift if conform else 0.0) if use_audio else None
            seek = (
                seek_point(src, seg.start_frame if hold is None else hold, sound_from)
                if use_video
                else _sound_seek(sound_from if sound_from is not None else start)
            )
            pieces.append(
                Piece(
                    index=len(pieces),
                    seg=seg,
                    source=src,
                    rate=clock.nominal_rate if clock is not None else own,
                    frames_out=frames_out,
                    samples_out=frame_to_sample(end_frame, rate, sample_rate)
                    - frame_to_sample(frames_done, rate, sample_rate),
                    use_video=use_video,
                    use_audio=use_audio,
                    start_time_s=start,
                    conform=conform,
                    shift_s=shift,
                    seek=seek,
                    hold_frame=hold if use_video else None,
                )
            )
        else:
            log.info(
                "%s frames %d..%d last %.1f ms, under half a frame at %.3f fps: left out",
                seg.media_path.name,
                seg.start_frame,
                seg.end_frame,
                1000 * span,
                float(rate),
            )
        cut_s += span
        frames_done = end_frame

    for seg in segments:
        place(seg)
    if extend_s > 0:
        last = segments[-1]
        for tail_seg, hold, span, audio in _tail(last, sources[Path(last.media_path)], extend_s,
                                                 freeze=freeze):  # fmt: skip
            place(tail_seg, hold=hold, span=span, audio=audio)
    if not pieces:
        raise InvalidSettingError("segments", "the kept scenes last less than one frame")
    return RenderPlan(
        pieces=tuple(pieces),
        width=width,
        height=height,
        rate=rate,
        frames=frames_done,
        samples=frame_to_sample(frames_done, rate, sample_rate),
        kept_s=cut_s,
    )


def _tail(
    last: CutSegment, source: Source, seconds: float, *, freeze: bool
) -> list[tuple[CutSegment, int | None, float | None, bool]]:
    """What follows the last segment for ``seconds``: ``(segment, held frame, span, sound)``
    items. The segments continue the last one's frame numbers (the sound runs on from its end);
    past the end of the file the sound is silence."""
    end = last.end_frame
    clock = source.clock

    def after(start: int, stop: int, span: float) -> CutSegment:
        return replace(last, start_frame=start, end_frame=stop, start_s=last.end_s,
                       end_s=last.end_s + span)  # fmt: skip

    if clock is None or not last.has_video:
        return [(after(end, end + 1, seconds), None, seconds, True)]
    if freeze:
        return [(after(end, end + 1, seconds), end - 1, seconds, True)]
    t0 = clock.time(end)
    stop = bisect.bisect_left(clock.times, t0 + seconds - 1e-9, lo=min(end, clock.frames))
    items: list[tuple[CutSegment, int | None, float | None, bool]] = []
    covered = 0.0
    if stop > end:
        covered = clock.span(end, stop)
        items.append((after(end, stop, covered), None, None, True))
    if covered < seconds - 1e-6:  # the file ends first: hold its last frame, silence
        rest = seconds - covered
        items.append((after(stop, stop + 1, rest), max(stop, end) - 1, rest, False))
    return items


def output_rate(
    segments: Sequence[CutSegment], sources: dict[Path, Source], fps: float | None = None
) -> Fraction:
    """The render's frame rate: ``fps`` when given, else the rate of the footage covering most
    of the cut (see the module docstring; a tie, to the millisecond, goes to the footage that
    comes first)."""
    if fps is not None:
        return _snap(fps_fraction(fps))
    cover: dict[Fraction, float] = {}
    for seg in segments:
        clock = sources[Path(seg.media_path)].clock
        if seg.has_video and clock is not None:
            rate = clock.nominal_rate
            cover[rate] = cover.get(rate, 0.0) + clock.span(seg.start_frame, seg.end_frame)
    if not cover:
        return fps_fraction(segments[0].fps)
    most = max(cover.values())
    return next(r for r, seconds in cover.items() if seconds >= most - _TIE_S)


def _snap(rate: Fraction) -> Fraction:
    """A standard rate within 0.001% of ``rate`` (29.97 means 30000/1001), else ``rate``."""
    return next((r for r in STANDARD_RATES if abs(r / rate - 1) < 1e-5), rate)


def seek_point(source: Source, frame: int, sound_from_s: float | None) -> tuple[float, int] | None:
    """Where to seek the input to read video from ``frame`` (and sound from ``sound_from_s``).

    Returns ``(seek time, first frame after it)``, the seek half-way between two frames (so
    float rounding of timestamps can neither keep the frame before nor drop the wanted one), or
    None to read from the start.
    """
    clock = source.clock
    if clock is None:
        return None
    m = min(frame, clock.frames)

    def mid(k: int) -> float:
        return (clock.time(k - 1) + clock.time(k)) / 2

    # Earlier while the sound starts before the seek, or two frames share a timestamp.
    while m > 0 and (
        (sound_from_s is not None and mid(m) > sound_from_s - SOUND_LEAD_S)
        or clock.time(m - 1) >= clock.time(m)
    ):
        m -= 1
    return None if m == 0 else (mid(m), m)


def _sound_seek(start_s: float) -> tuple[float, int] | None:
    return None if start_s <= 0 else (start_s, 0)


def frame_to_sample(frame: int, rate: Fraction, sample_rate: int) -> int:
    return round(Fraction(frame) * sample_rate / rate)


def check_segment(i: int, seg: CutSegment) -> None:
    """Raises: InvalidSettingError: the segment is malformed (named by its position)."""
    name = f"segments[{i}] ({seg.media_path.name})"
    if not (math.isfinite(seg.fps) and seg.fps > 0):
        raise InvalidSettingError(name, f"fps {seg.fps} must be > 0")
    if seg.start_frame < 0 or seg.end_frame <= seg.start_frame:
        raise InvalidSettingError(
            name, f"frames [{seg.start_frame}, {seg.end_frame}) are not a non-empty range"
        )
    if not (seg.has_video or seg.has_audio):
        raise InvalidSettingError(name, "has neither video nor audio")


def inspect_source(path: Path) -> Source:
    """Read ``path``'s streams (:func:`~genesis_pipeline.media.probe.stream_layout`) and the
    presentation time of every video frame.

    Raises:
        InvalidMediaError: missing, unreadable, or without audio and video.
    """
    layout = stream_layout(path)
    if layout.video_index is None and layout.audio_index is None:
        raise InvalidMediaError(path, "contains no audio or video stream")
    video_index = layout.video_index
    clock = read_frame_times(path, video_index) if video_index is not None else None
    return Source(
        path,
        video_index,
        layout.audio_index,
        layout.audio_channels,
        layout.video_start_s,
        clock,
    )


def _even(n: int) -> int:
    return max(2, n - n % 2)

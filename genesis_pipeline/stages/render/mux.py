"""The smart render's join: copied and encoded pictures and the sound into one MP4, and the
checks that the file is what was planned.

PyAV writes the copied packets and the encoded packets, in cut order, and the sound's packets,
interleaved by decode time (MP4, ``+faststart``). Presentation times are rebuilt from the frame
numbers (constant rate, from 0); decode times from the packet order, shifted by the largest
reordering delay of any stretch so that every decode time precedes its presentation time.
Every copied packet must be where the index put it; the output must have the planned frame
count, presentation times exactly ``0, 1, 2...`` frames apart, strictly increasing decode times
and sound as long as the pictures to within a frame. A failed check raises
:class:`~genesis_pipeline.stages.render.layout.Doubtful`: the caller redoes the render as a
full re-encode, never delivers it doubtful.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from operator import itemgetter
from pathlib import Path
from typing import Any

from genesis_pipeline.media.gop import AvcConfig, VideoIndex, index_video
from genesis_pipeline.stages.render.layout import (
    Doubtful,
    EncodedStretch,
    GopCopy,
    PictureLayout,
)
from genesis_pipeline.stages.render.plan import RenderPlan


def mux(layout: PictureLayout, enc: VideoIndex | None, sound: Path, out: Path) -> None:
    """Write the copied and encoded pictures, in cut order, and the sound into one MP4."""
    import av

    plan = layout.plan
    ref = layout.reference
    assert ref is not None and ref.config is not None
    configs = [ix.config for ix in layout.indexes.values()]
    if enc is not None:
        configs.append(enc.config)
    config = _merge_configs(ref.config, [c for c in configs if c is not None])

    # Output clock: a multiple of the frame rate's numerator, as FFmpeg's MP4 muxer picks.
    scale = 1
    while plan.rate.numerator * scale < 10000:
        scale *= 2
    time_base = Fraction(1, plan.rate.numerator * scale)
    step = plan.rate.denominator * scale
    delay = max(_depth(s, enc, start) for s, start in _span_starts(layout.spans))

    with contextlib.ExitStack() as stack:
        template = stack.enter_context(av.open(str(ref.path)))
        audio_in = stack.enter_context(av.open(str(sound)))
        output = stack.enter_context(
            av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"})
        )
        vstream = output.add_stream_from_template(template.streams[ref.stream_index])
        vstream.time_base = time_base
        vstream.codec_context.extradata = config.to_bytes()
        astream = output.add_stream_from_template(audio_in.streams.audio[0])
        enc_packets = None
        if enc is not None:
            enc_packets = _encoded_packets(stack.enter_context(av.open(str(enc.path))), enc)

        def pictures() -> Iterator[Any]:
            sources: dict[Path, Any] = {}
            out_frame = 0  # first output frame of the span
            decoded = 0  # packets so far: the decode clock
            enc_start = 0  # the span's first frame in the encoded stream
            for span in layout.spans:
                if isinstance(span, GopCopy):
                    path = span.index.path
                    if path not in sources:
                        sources[path] = stack.enter_context(av.open(str(path)))
                    packets = _copied_packets(sources[path], span)
                    origin = span.first
                else:
                    assert enc_packets is not None
                    packets = itertools.islice(enc_packets, span.frames)
                    origin = enc_start
                    enc_start += span.frames
                n = 0
                for packet, rank in packets:
                    packet.pts = (out_frame + rank - origin) * step
                    packet.dts = (decoded - delay) * step
                    packet.duration = step
                    packet.time_base = time_base
                    packet.stream = vstream
                    yield packet
                    decoded += 1
                    n += 1
                if n != span.frames:
                    raise Doubtful(f"{n} packets for a stretch of {span.frames} frames")
                out_frame += span.frames

        audio_source = audio_in.streams.audio[0]

        def sounds() -> Iterator[Any]:
            for packet in audio_in.demux(audio_source):
                if packet.dts is not None:
                    packet.stream = astream
                    yield packet

        # Interleaved by decode time, so the file plays (and streams) without jumping about;
        # compared on one integer clock (a Fraction per packet cost seconds on long cuts).
        if audio_source.time_base is None:
            raise Doubtful(f"{sound.name} has no time base")
        video_ticks, audio_ticks = _common_clock(time_base, audio_source.time_base)
        timed_pictures = ((p.dts * video_ticks, p) for p in pictures())
        timed_sounds = ((p.dts * audio_ticks, p) for p in sounds())
        for _, packet in heapq.merge(timed_pictures, timed_sounds, key=itemgetter(0)):
            output.mux(packet)


def _common_clock(*time_bases: Fraction) -> tuple[int, ...]:
    """Integer multipliers that put times in each of ``time_bases`` on one exact clock (ticks
    of 1 / the least common multiple of their denominators)."""
    ticks_per_s = math.lcm(*(tb.denominator for tb in time_bases))
    return tuple(tb.numerator * (ticks_per_s // tb.denominator) for tb in time_bases)


def _span_starts(
    spans: Sequence[GopCopy | EncodedStretch],
) -> list[tuple[GopCopy | EncodedStretch, int]]:
    """Each span with its first frame in its own stream (source, or the encoded stream)."""
    out: list[tuple[GopCopy | EncodedStretch, int]] = []
    enc_start = 0
    for s in spans:
        if isinstance(s, GopCopy):
            out.append((s, s.first))
        else:
            out.append((s, enc_start))
            enc_start += s.frames
    return out


def _depth(span: GopCopy | EncodedStretch, enc: VideoIndex | None, start: int) -> int:
    if isinstance(span, GopCopy):
        return span.index.reorder_depth(span.first, span.stop)
    assert enc is not None
    return enc.reorder_depth(start, start + span.frames)


def _encoded_packets(container: Any, ix: VideoIndex) -> Any:
    """Yield ``(packet, frame number)`` for the whole encoded stream, in decode order."""
    stream = container.streams[ix.stream_index]
    packets = (p for p in container.demux(stream) if p.size)
    for j, packet in enumerate(packets):
        if j >= len(ix.pts) or packet.pts != ix.pts[j]:
            raise Doubtful(f"{ix.path.name} demuxes differently from its index")
        yield packet, ix.ranks[j]


def _copied_packets(container: Any, span: GopCopy) -> Iterator[tuple[Any, int]]:
    """Yield ``(packet, frame number)`` for the copy, in decode order, each checked against
    the index.

    Raises:
        Doubtful: the packets are not where the index says.
    """
    ix = span.index
    stream = container.streams[ix.stream_index]
    j0 = ix.position(span.first)
    count = span.stop - span.first
    packets = _packets_from(container, stream, ix.dts[j0], ix.pts[j0])
    for j, packet in enumerate(itertools.islice(packets, count), start=j0):
        if packet.pts != ix.pts[j] or packet.dts != ix.dts[j]:
            raise Doubtful(f"{ix.path.name} demuxes differently from its index")
        yield packet, ix.ranks[j]


def _packets_from(container: Any, stream: Any, dts: int | None, pts: int) -> Iterator[Any]:
    """The stream's packets from the one with timestamps ``(dts, pts)`` on: seek to the
    keyframe at or before it (a keyframe's decode time is never above its presentation time),
    or, should the seek land past it, read from the start.

    Raises:
        Doubtful: there is no such packet.
    """
    import av

    for seek_to in (dts if dts is not None else pts, 0):
        with contextlib.suppress(av.error.FFmpegError):
            container.seek(seek_to, stream=stream, backward=True, any_frame=False)
        found = False
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if not found:
                if packet.dts == dts and packet.pts == pts:
                    found = True
                elif dts is not None and packet.dts is not None and packet.dts > dts:
                    break  # overshot: try from the start
                else:
                    continue
            yield packet
        if found:
            return
    raise Doubtful(f"no packet at {pts} in {container.name}")


def _merge_configs(base: AvcConfig, configs: Sequence[AvcConfig]) -> AvcConfig:
    """One avcC holding every distinct parameter set (ids checked not to clash)."""
    sps = list(dict.fromkeys(n for c in configs for n in c.sps))
    pps = list(dict.fromkeys(n for c in configs for n in c.pps))
    return AvcConfig(
        base.profile, base.compatibility, base.level, 4, tuple(sps), tuple(pps), base.trailer
    )


def check_output(path: Path, plan: RenderPlan) -> None:
    """Pictures as :func:`_check_timestamps` wants them, and sound as long as the pictures to
    within one frame.

    Raises:
        Doubtful: either is not.
    """
    import av

    _check_timestamps(path, plan)
    with av.open(str(path)) as c:
        audio = c.streams.audio[0] if c.streams.audio else None
        seconds = 0.0
        if audio is not None and audio.duration and audio.time_base:
            seconds = float(audio.duration * audio.time_base)
    if abs(seconds - plan.duration_s) > 1 / float(plan.rate):
        raise Doubtful(
            f"{path.name}: sound lasts {seconds:.3f} s, pictures {plan.duration_s:.3f} s"
        )


def _check_timestamps(path: Path, plan: RenderPlan) -> None:
    """The video of ``path`` has the planned frames at ``0, 1, 2...`` frame times, unique,
    with strictly increasing decode times.

    Raises:
        Doubtful: it does not.
    """
    ix = index_video(path)
    if ix.frames != plan.frames or min(ix.ranks) < 0:
        raise Doubtful(f"{path.name} has {ix.frames} frames, {plan.frames} were planned")
    ticks = 1 / (ix.time_base * plan.rate)  # per frame
    for pts, rank in zip(ix.pts, ix.ranks, strict=True):
        if abs(pts - rank * ticks) > ticks / 100:
            raise Doubtful(f"{path.name}: frame {rank} at {float(pts * ix.time_base):.4f} s")
    dts = [d if d is not None else -(2**62) for d in ix.dts]
    if any(b <= a for a, b in itertools.pairwise(dts)):
        raise Doubtful(f"{path.name}: decode times do not increase")

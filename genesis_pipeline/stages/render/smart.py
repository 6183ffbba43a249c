"""Smart rendering (assembly mode ``smart``): stream-copy the GOPs and the AAC packets that a
cut leaves whole, encode pictures and sound only around the cut points.

Plan (:func:`plan_smart`). The cut is planned as in mode ``reencode`` (same frame counts, same
samples). Each source's video is indexed by demuxing (:mod:`genesis_pipeline.media.gop`). A
source is *copyable* when its pictures could only come out of a re-encode unchanged in
geometry and timing: H.264 in an ``avcC`` record (4-byte NAL lengths, no in-band parameter set
changes), 8-bit 4:2:0, progressive, square pixels, no rotation, exactly the output's size,
constant frame rate equal to the output's; and its profile, level and ``avcC`` header equal
those of the first copyable source (its *reference*), with parameter-set ids that do not clash
with it. For each kept segment ``[start, end)`` of a copyable source
:meth:`~genesis_pipeline.media.gop.VideoIndex.copy_span` finds the copy ``[first, stop)``: from
the first IDR picture at or after ``start`` to the last point where the packets in decode order
hold exactly the frames so far. The *head* ``[start, first)`` and *tail* ``[stop, end)`` are
encoded, as is every segment of a source that is not copyable or too short to hold a copy.

Encode. Each encoded piece is decoded by its own short ffmpeg process that seeks to it (so only
the frames from the keyframe before it are decoded, never the copied stretches in between) with
the same per-piece filters as a re-encode (trim by frame number, scale/pad/frame-rate conversion
for foreign sources), piping exact raw frames to one x264 process, with an IDR forced at the
start of every stretch that follows a copy. One decoder runs at a time, so memory stays flat
however many cut points there are (a 20-minute cut with 84 pieces: 171 MB). x264 is set up like
the reference: same profile and level, colour description, 4:2:0, and SPS and PPS ids no source
uses (``sps-id``), so both sets of parameter sets live side by side in one ``avcC`` and every
slice finds its own: the joined stream never redefines a parameter set.

Sound. Built meanwhile, in a thread. Where it is the sources' own sound, untouched (no
narration, bed gain 1, AAC-LC sources at the output's rate and channels), its packets are
copied and only the stretches around the cuts encoded (:mod:`~genesis_pipeline.stages.render.sound`:
each copied piece sits on the AAC packet grid, at most 512 samples, 10.7 ms at 48 kHz, off its
pictures; every join is decoded and checked). Otherwise, or when a join cannot be made clean,
exactly as a re-encode builds it (same inputs, seeks and graph: trim + concat + narration mix +
ducking + AAC, one ffmpeg pass), sample-identical to the re-encode's.

Join. PyAV writes the copied packets and the encoded packets, in cut order, and the sound's
packets, interleaved by decode time, into the output (MP4, ``+faststart``, under a temporary
name renamed into place). Presentation times are rebuilt from the frame numbers (constant rate,
from 0); decode times from the packet order, shifted by the largest reordering delay of any
stretch so that every decode time precedes its presentation time.

Checks. Every encoded stretch must start with an IDR and hold exactly its frames in decode
order; copied packets must be where the index put them; the output must have the planned frame
count, presentation times exactly ``0, 1, 2...`` frames apart, strictly increasing decode times
and sound as long as the pictures to within a frame. When a check fails the render is redone as
a full re-encode (logged as a warning), never delivered doubtful. If nothing can be copied the
cut is simply re-encoded.

Measured with ``benchmarks/render_modes.py`` (5 min 1280x720 30 fps, 30 scenes, 21 kept = 6,756
frames; 2 cores). Source with x264's defaults (GOP 250; 3 kept scenes start on a cut that is
not an IDR, so ~200 frames each are encoded up to the next one: 670 in all): 33.3 s re-encode
vs 5.9 s smart (5.7x; ``python -m benchmarks``: 36.2 s vs 6.1 s, 5.9x). Before the sound was
copied the smart render took 8.6 s (3.8x): encoding the cut's whole sound (4.2 s alone;
synthetic speech with digital silence is the AAC encoder's slowest input) competed with x264
for the two cores; copying it takes about 1 s (99.4% of the samples copied, 21 stretches
encoded, worst join error -62 dBFS, at most 9.3 ms off the pictures). Copied pictures decode
bit-identical to the source's; frame counts, timestamps and sound offsets were checked at every
boundary.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.files import TMP_PREFIX, atomic_path
from genesis_pipeline.media.ffmpeg import ffmpeg_exe, ffmpeg_failed, run_ffmpeg
from genesis_pipeline.media.filtergraph import rate_text
from genesis_pipeline.media.gop import AvcConfig, VideoIndex, index_video
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.render.plan import CutPlan, Piece
from genesis_pipeline.stages.render.reencode import (
    AssemblyParams,
    NarrationClipLike,
    RenderResult,
    _audio_codec_args,
    _count_frames,
    _graph_args,
    _plan_narration,
    _reencode_graph,
    _render_reencode,
    _result,
    _video_codec_args,
    _video_piece,
    out_channels,
    plan_for,
)
from genesis_pipeline.stages.render.sound import SoundJoinError, SoundLayout, copy_sound, plan_sound
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)
T = TypeVar("T")

# x264 profile names for the H.264 profiles it can match (8-bit 4:2:0 only).
_X264_PROFILES = {
    "Constrained Baseline": "baseline",
    "Baseline": "baseline",
    "Main": "main",
    "High": "high",
}
_UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED


class _Doubtful(Exception):
    """A smart render failed one of its own checks: redo it as a full re-encode."""


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
class _Copy:
    index: VideoIndex
    first: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True, slots=True)
class _Encode:
    pieces: tuple[Piece, ...]  # video-only pieces of the encode pass

    @property
    def frames(self) -> int:
        return sum(p.frames_out for p in self.pieces)


@dataclass(frozen=True, slots=True)
class _Layout:
    plan: CutPlan
    spans: tuple[_Copy | _Encode, ...]
    indexes: dict[Path, VideoIndex]  # copyable sources
    not_copied: dict[Path, str]
    reference: VideoIndex | None

    def public(self) -> SmartPlan:
        out, t = [], 0
        for s in self.spans:
            if isinstance(s, _Copy):
                out.append(Span("copy", t, s.frames, s.index.path, s.first))
            else:
                out.append(Span("encode", t, s.frames))
            t += s.frames
        return SmartPlan(tuple(out), dict(self.not_copied))


def plan_smart(segments: Sequence[CutSegment], params: AssemblyParams | None = None) -> SmartPlan:
    """What a smart render of ``segments`` would copy and encode (nothing is written).

    ``params`` default to ``AssemblyParams()``.

    Raises:
        InvalidSettingError: nothing to render or a malformed segment.
        InvalidMediaError: a media file is missing or unusable.
    """
    from genesis_pipeline.stages.render.reencode import _check_params

    params = params or AssemblyParams()
    _check_params(params)
    plan = plan_for(segments, params)
    public = _layout(plan).public()
    sound = plan_sound(plan, (), params)
    if isinstance(sound, str):
        return replace(public, sound_late=(0,) * len(plan.pieces), sound_not_copied=sound)
    return replace(public, sound_late=sound.late, sound_copied=sound.samples_copied)


def render_smart(
    segments: Sequence[CutSegment],
    out_path: Path,
    params: AssemblyParams,
    narration: Sequence[NarrationClipLike] = (),
    progress: Progress = no_progress,
) -> RenderResult:
    """Render like :func:`~genesis_pipeline.stages.render.reencode.render_cut` in mode ``smart``
    (called through it, which checks the parameters).

    Raises:
        InvalidSettingError: a malformed segment or clip, or a bad parameter.
        InvalidMediaError: a media or narration file is missing or is not usable media.
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own).
        ToolNotFoundError: ffmpeg is missing.
    """
    plan = plan_for(segments, params)
    clips = _plan_narration(narration, plan, params)
    layout = _layout(plan)
    for path, reason in layout.not_copied.items():
        log.info("%s is encoded, not copied: %s", path.name, reason)
    copied = sum(s.frames for s in layout.spans if isinstance(s, _Copy))
    if not copied:
        log.info("smart render: nothing can be copied, re-encoding %s", out_path.name)
        return _render_reencode(segments, out_path, params, narration, progress)
    log.info(
        "smart render of %d pieces to %s: %d of %d frames copied in %d stretches",
        len(plan.pieces),
        out_path.name,
        copied,
        plan.frames,
        sum(isinstance(s, _Copy) for s in layout.spans),
    )
    try:
        return _render(layout, clips, out_path, params, progress)
    except _Doubtful as exc:
        log.warning("smart render of %s failed a check (%s): re-encoding it", out_path.name, exc)
        return _render_reencode(segments, out_path, params, narration, progress)


# --- planning -------------------------------------------------------------------------------


def _layout(plan: CutPlan) -> _Layout:
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
        problem = _copy_problem(ix, plan) or (_clash(ix, accepted) if accepted else None)
        if problem:
            not_copied[path] = problem
            continue
        indexes[path] = ix

    spans: list[_Copy | _Encode] = []
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
            spans.append(_Encode(tuple(pending)))
            pending = []
        spans.append(_Copy(source, first, stop))
        if stop < piece.seg.end_frame:
            encode(piece, stop, piece.seg.end_frame)
    if pending:
        spans.append(_Encode(tuple(pending)))
    reference = next(iter(indexes.values()), None)
    return _Layout(plan, tuple(spans), indexes, not_copied, reference)


def _copy_problem(ix: VideoIndex, plan: CutPlan) -> str | None:
    """Why pictures of this source would not come out of a re-encode unchanged (or None)."""
    if ix.problem:
        return ix.problem
    if (ix.width, ix.height) != (plan.width, plan.height):
        return f"{ix.width}x{ix.height}, the output is {plan.width}x{plan.height}"
    if ix.pix_fmt != "yuv420p":
        return f"pixel format {ix.pix_fmt}"
    if ix.profile not in _X264_PROFILES:
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


def _clash(ix: VideoIndex, accepted: Sequence[VideoIndex]) -> str | None:
    """Why this source's pictures cannot share one stream with those already accepted (the
    first is the reference), or None."""
    a, ref = ix.config, accepted[0].config
    assert a is not None and ref is not None  # both passed _copy_problem
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


# --- rendering ------------------------------------------------------------------------------


def _render(
    layout: _Layout,
    clips: Sequence[Any],
    out_path: Path,
    params: AssemblyParams,
    progress: Progress,
) -> RenderResult:
    plan = layout.plan
    meter = _Meter(progress, int(plan.duration_s * 1000))
    encodes = [s for s in layout.spans if isinstance(s, _Encode)]
    prefix = f"{TMP_PREFIX}p{os.getpid()}-smart-"
    meter.report("render")
    with (
        tempfile.TemporaryDirectory(prefix=prefix, dir=out_path.parent) as tmp_dir,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="genesis-sound") as pool,
    ):
        work = Path(tmp_dir)
        # The sound is independent of how the pictures are made: build it meanwhile.
        sound_path = work / "sound.mp4"
        sound = pool.submit(
            _make_sound, plan, clips, params, sound_path, meter.part("sound", report=False),
            out_path.name,
        )  # fmt: skip
        enc_index = None
        if encodes:
            enc_path = work / "encoded.mp4"
            _encode(layout, encodes, enc_path, params, meter.part("pictures"))
            enc_index = _check_encoded(enc_path, encodes)
        copied_sound = meter.wait(sound)
        with atomic_path(out_path) as tmp:
            _mux(layout, enc_index, sound_path, tmp)
            _check_output(tmp, plan)
            frames = _count_frames(tmp)
    meter.done()
    encoded = sum(s.frames for s in encodes)
    sound_s = copied_sound.copied_s if copied_sound else 0.0
    offset_ms = copied_sound.max_offset_ms if copied_sound else 0.0
    return _result(
        plan, out_path, frames, params, clips, copied=plan.frames - encoded, encoded=encoded,
        sound_copied_s=round(sound_s, 3), sound_offset_ms=round(offset_ms, 2),
    )  # fmt: skip


class _Meter:
    """Progress of the picture and sound passes (run side by side), always reported from the
    calling thread: the sound pass's callback only records its share."""

    def __init__(self, progress: Progress, total_ms: int) -> None:
        self._progress = progress
        self._total = total_ms
        self._parts = {"pictures": 0.0, "sound": 0.0}
        self._last = -1

    def part(self, name: str, *, report: bool = True) -> Progress:
        def update(done: int, of: int, note: str) -> None:
            self._parts[name] = min(1.0, done / max(1, of))
            if report:
                self.report(note)

        return update

    def report(self, note: str) -> None:
        # Joining the two into the file takes the last 5 %.
        done = int(self._total * 0.95 * sum(self._parts.values()) / len(self._parts))
        if done > self._last:
            self._last = done
            self._progress(done, self._total, note)

    def wait(self, future: Future[T]) -> T:
        """Wait for the sound pass, reporting its progress; its result, or re-raise what it
        raised."""
        self._parts["pictures"] = 1.0
        while True:
            try:
                result = future.result(timeout=0.25)
            except FuturesTimeout:
                self.report("render: sound")
                continue
            self._parts["sound"] = 1.0
            self.report("render: joining")
            return result

    def done(self) -> None:
        self._progress(self._total, self._total, "render done")


def _make_sound(
    plan: CutPlan,
    clips: Sequence[Any],
    params: AssemblyParams,
    out: Path,
    progress: Progress,
    name: str,
) -> SoundLayout | None:
    """The sound of render ``name`` to ``out``: packets copied where the sources' own sound
    plays untouched (the layout is returned), else encoded whole as a re-encode does (None)."""
    import av

    layout = plan_sound(plan, clips, params)
    if isinstance(layout, str):
        log.info("sound of %s is encoded, not copied: %s", name, layout)
    else:
        try:
            copy_sound(layout, out)
        except (SoundJoinError, ValueError, av.error.FFmpegError) as exc:
            # A join that stays audible, or packets not where the index saw them (a file
            # changed underneath, a demuxer surprise): the whole sound, encoded, is never wrong.
            log.warning("sound of %s is encoded, not copied: %s", name, exc)
        else:
            log.info(
                "sound: %.1f of %.1f s copied, %d joins re-tried, worst join %.1f dBFS, "
                "at most %.1f ms off the pictures",
                layout.copied_s,
                layout.total / layout.sample_rate,
                layout.retries,
                layout.worst_join_db,
                layout.max_offset_ms,
            )
            return layout
    _encode_sound(plan, clips, params, out, progress)
    return None


def _encode_sound(
    plan: CutPlan,
    clips: Sequence[Any],
    params: AssemblyParams,
    out: Path,
    progress: Progress,
) -> None:
    """The whole sound of the cut, as a re-encode makes it, to an AAC MP4."""
    inputs, graph, _, aout = _reencode_graph(plan, clips, params, video=False)
    with contextlib.ExitStack() as stack:
        args = [
            "-y", *inputs, *_graph_args(stack, graph), "-map", f"[{aout}]",
            *_audio_codec_args(params, out_channels(plan, clips)),
            "-map_metadata", "-1", "-f", "mp4", str(out),
        ]  # fmt: skip
        run_ffmpeg(args, what=f"sound of {out.name}", duration_s=plan.duration_s, progress=progress)


def _encode(
    layout: _Layout,
    encodes: Sequence[_Encode],
    out: Path,
    params: AssemblyParams,
    progress: Progress,
) -> None:
    """Encode every encoded stretch, in order, into one x264 stream matched to the reference.

    Each piece is decoded by its own short ffmpeg process that seeks to it (so only the frames
    from the keyframe before it are decoded, never the copied stretches in between) and pipes
    exact raw frames to a single encoder. One decoder runs at a time: memory stays flat however
    many cut points there are.
    """
    plan = layout.plan
    pieces = [p for s in encodes for p in s.pieces]
    total = sum(p.frames_out for p in pieces)
    frame_bytes = plan.width * plan.height * 3 // 2
    starts = list(itertools.accumulate(s.frames for s in encodes))[:-1]
    ref = layout.reference
    assert ref is not None and ref.config is not None
    args = [
        *_video_codec_args(params, plan.rate),
        "-profile:v", _X264_PROFILES[ref.profile or ""],
        "-x264-params", f"sps-id={_free_id(layout)}",
    ]  # fmt: skip
    if ref.level:
        args += ["-level:v", "1b" if ref.level == 9 else f"{ref.level / 10:.1f}"]
    if starts:
        # Just before each stretch's first frame, so rounding cannot move the IDR by one.
        times = ",".join(f"{(n - 0.25) / float(plan.rate):.6f}" for n in starts)
        args += ["-forced-idr", "1", "-force_key_frames", times]
    colour_range, primaries, trc, matrix = ref.colour
    if colour_range:
        args += ["-color_range", str(colour_range)]
    for name, value in (("color_primaries", primaries), ("color_trc", trc), ("colorspace", matrix)):
        if value != _UNSPECIFIED:
            args += [f"-{name}", str(value)]
    base = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    encoder_cmd = [
        *base, "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-s", f"{plan.width}x{plan.height}", "-r", rate_text(plan.rate), "-i", "pipe:0",
        *args, "-an", "-f", "mp4", str(out),
    ]  # fmt: skip
    what = f"encode the cut points of {out.name}"
    with tempfile.TemporaryFile() as enc_log:
        encoder = subprocess.Popen(
            encoder_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=enc_log
        )
        assert encoder.stdin is not None
        written = 0
        try:
            for piece in pieces:
                written += _pipe_piece(base, piece, plan, frame_bytes, encoder.stdin, what)
                progress(written, total, "encoding cut points")
        except BrokenPipeError:
            pass  # the encoder died: its own error is reported below
        except BaseException:
            encoder.kill()
            encoder.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                encoder.stdin.close()
        rc = encoder.wait()
        if rc != 0:
            enc_log.seek(0)
            raise ffmpeg_failed(what, enc_log.read().decode(errors="replace"), rc)
    if written != total:
        raise _Doubtful(f"the decoders gave {written} frames for the encode pass, {total} planned")


def _pipe_piece(
    base: list[str], piece: Piece, plan: CutPlan, frame_bytes: int, sink: Any, what: str
) -> int:
    """Decode exactly ``piece.frames_out`` frames of one piece into ``sink``; returns frames."""
    if piece.use_video:
        seek = piece.seek
        origin = seek[1] if seek is not None else 0
        src = ["-ss", f"{seek[0]:.6f}"] if seek is not None else []
        src += ["-i", str(piece.source.path), "-map", f"0:{piece.source.video_index}"]
        filters = _video_piece(piece, origin, plan)
    else:
        src = ["-f", "lavfi", "-i", f"color=c=black:s={plan.width}x{plan.height}"]
        filters = ["setsar=1"]
    cmd = [
        *base, *src, "-vf", ",".join([*filters, "format=yuv420p"]),
        "-frames:v", str(piece.frames_out), "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as dec_log:
        dec = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=dec_log)
        assert dec.stdout is not None
        want = piece.frames_out * frame_bytes
        got = 0
        try:
            while got < want:
                chunk = dec.stdout.read(min(want - got, 4 * frame_bytes))
                if not chunk:
                    break
                sink.write(chunk)
                got += len(chunk)
        finally:
            dec.stdout.close()
            rc = dec.wait()
        if rc != 0:
            dec_log.seek(0)
            raise ffmpeg_failed(what, dec_log.read().decode(errors="replace"), rc, lines=4)
    if got != want:
        raise _Doubtful(
            f"{piece.source.path.name}: {got // frame_bytes} frames decoded from frame "
            f"{piece.seg.start_frame}, {piece.frames_out} wanted"
        )
    return piece.frames_out


def _free_id(layout: _Layout) -> int:
    """An SPS/PPS id no copied source uses (x264 gives its SPS and PPS the same id)."""
    used: set[int] = set()
    for ix in layout.indexes.values():
        assert ix.config is not None
        used |= ix.config.sps_ids().keys() | ix.config.pps_ids().keys()
    return next(i for i in range(32) if i not in used)


def _check_encoded(path: Path, encodes: Sequence[_Encode]) -> VideoIndex:
    """Index the encode pass's output and check that every stretch can be cut out of it.

    Raises:
        _Doubtful: a stretch does not start with an IDR or its packets spill over.
    """
    ix = index_video(path)
    want = sum(s.frames for s in encodes)
    if ix.config is None or ix.config.length_size != 4:
        raise _Doubtful("the encoded stream has no 4-byte avcC")
    if ix.frames != want or min(ix.ranks) < 0:
        raise _Doubtful(f"the encode pass made {ix.frames} frames, {want} were planned")
    start = 0
    for s in encodes:
        if ix.copy_span(start, start + s.frames) != (start, start + s.frames):
            raise _Doubtful(f"encoded frames {start}..{start + s.frames} are not a closed GOP run")
        start += s.frames
    return ix


def _mux(layout: _Layout, enc: VideoIndex | None, sound: Path, out: Path) -> None:
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
                if isinstance(span, _Copy):
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
                    raise _Doubtful(f"{n} packets for a stretch of {span.frames} frames")
                out_frame += span.frames

        def sounds() -> Iterator[Any]:
            for packet in audio_in.demux(audio_in.streams.audio[0]):
                if packet.dts is not None:
                    packet.stream = astream
                    yield packet

        # Interleaved by decode time, so the file plays (and streams) without jumping about.
        for packet in heapq.merge(pictures(), sounds(), key=_decode_time):
            output.mux(packet)


def _decode_time(packet: Any) -> Fraction:
    return Fraction(packet.dts) * Fraction(packet.time_base)


def _span_starts(spans: Sequence[_Copy | _Encode]) -> list[tuple[_Copy | _Encode, int]]:
    """Each span with its first frame in its own stream (source, or the encoded stream)."""
    out: list[tuple[_Copy | _Encode, int]] = []
    enc_start = 0
    for s in spans:
        if isinstance(s, _Copy):
            out.append((s, s.first))
        else:
            out.append((s, enc_start))
            enc_start += s.frames
    return out


def _depth(span: _Copy | _Encode, enc: VideoIndex | None, start: int) -> int:
    if isinstance(span, _Copy):
        return span.index.reorder_depth(span.first, span.stop)
    assert enc is not None
    return enc.reorder_depth(start, start + span.frames)


def _encoded_packets(container: Any, ix: VideoIndex) -> Any:
    """Yield ``(packet, frame number)`` for the whole encoded stream, in decode order."""
    stream = container.streams[ix.stream_index]
    packets = (p for p in container.demux(stream) if p.size)
    for j, packet in enumerate(packets):
        if j >= len(ix.pts) or packet.pts != ix.pts[j]:
            raise _Doubtful(f"{ix.path.name} demuxes differently from its index")
        yield packet, ix.ranks[j]


def _copied_packets(container: Any, span: _Copy) -> Iterator[tuple[Any, int]]:
    """Yield ``(packet, frame number)`` for the copy, in decode order, each checked against
    the index.

    Raises:
        _Doubtful: the packets are not where the index says.
    """
    ix = span.index
    stream = container.streams[ix.stream_index]
    j0 = ix.position(span.first)
    count = span.stop - span.first
    packets = _packets_from(container, stream, ix.dts[j0], ix.pts[j0])
    for j, packet in enumerate(itertools.islice(packets, count), start=j0):
        if packet.pts != ix.pts[j] or packet.dts != ix.dts[j]:
            raise _Doubtful(f"{ix.path.name} demuxes differently from its index")
        yield packet, ix.ranks[j]


def _packets_from(container: Any, stream: Any, dts: int | None, pts: int) -> Iterator[Any]:
    """The stream's packets from the one with timestamps ``(dts, pts)`` on: seek to the
    keyframe at or before it (a keyframe's decode time is never above its presentation time),
    or, should the seek land past it, read from the start.

    Raises:
        _Doubtful: there is no such packet.
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
    raise _Doubtful(f"no packet at {pts} in {container.name}")


def _merge_configs(base: AvcConfig, configs: Sequence[AvcConfig]) -> AvcConfig:
    """One avcC holding every distinct parameter set (ids checked not to clash)."""
    sps = list(dict.fromkeys(n for c in configs for n in c.sps))
    pps = list(dict.fromkeys(n for c in configs for n in c.pps))
    return AvcConfig(
        base.profile, base.compatibility, base.level, 4, tuple(sps), tuple(pps), base.trailer
    )


def _check_output(path: Path, plan: CutPlan) -> None:
    """Pictures as :func:`_check_timestamps` wants them, and sound as long as the pictures to
    within one frame.

    Raises:
        _Doubtful: either is not.
    """
    import av

    _check_timestamps(path, plan)
    with av.open(str(path)) as c:
        audio = c.streams.audio[0] if c.streams.audio else None
        seconds = 0.0
        if audio is not None and audio.duration and audio.time_base:
            seconds = float(audio.duration * audio.time_base)
    if abs(seconds - plan.duration_s) > 1 / float(plan.rate):
        raise _Doubtful(
            f"{path.name}: sound lasts {seconds:.3f} s, pictures {plan.duration_s:.3f} s"
        )


def _check_timestamps(path: Path, plan: CutPlan) -> None:
    """The video of ``path`` has the planned frames at ``0, 1, 2...`` frame times, unique,
    with strictly increasing decode times.

    Raises:
        _Doubtful: it does not.
    """
    ix = index_video(path)
    if ix.frames != plan.frames or min(ix.ranks) < 0:
        raise _Doubtful(f"{path.name} has {ix.frames} frames, {plan.frames} were planned")
    ticks = 1 / (ix.time_base * plan.rate)  # per frame
    for pts, rank in zip(ix.pts, ix.ranks, strict=True):
        if abs(pts - rank * ticks) > ticks / 100:
            raise _Doubtful(f"{path.name}: frame {rank} at {float(pts * ix.time_base):.4f} s")
    dts = [d if d is not None else -(2**62) for d in ix.dts]
    if any(b <= a for a, b in itertools.pairwise(dts)):
        raise _Doubtful(f"{path.name}: decode times do not increase")

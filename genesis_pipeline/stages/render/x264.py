"""The smart render's encode pass: every encoded stretch, in cut order, into one x264 stream that
can share an ``avcC`` with the copied pictures.

Each piece is decoded by its own short ffmpeg process that seeks to it (so only the frames from
the keyframe before it are decoded, never the copied stretches in between), through the same
per-piece filters as a re-encode (:func:`~genesis_pipeline.stages.render.reencode.video_piece`),
and pipes exact raw frames to one x264 process, with an IDR forced at the start of every stretch
that follows a copy. One decoder runs at a time, so memory stays flat however many cut points
there are. x264 is set up like the reference source: same profile and level, colour
description, 4:2:0, and SPS and PPS ids no source uses (``sps-id``), so both sets of parameter
sets live side by side in one ``avcC`` and every slice finds its own: the joined stream never
redefines a parameter set.

The command lines come from ffmpeg-python; the pipe between the processes is plain
``subprocess`` (ffmpeg-python starts one process, not a decoder feeding an encoder).
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from genesis_pipeline.media.ffmpeg import ffmpeg_exe, ffmpeg_failed
from genesis_pipeline.media.filtergraph import (
    Filter,
    chain,
    command,
    open_input,
    rate_text,
    stream,
)
from genesis_pipeline.media.gop import VideoIndex, index_video
from genesis_pipeline.progress import Progress
from genesis_pipeline.stages.render.layout import (
    X264_PROFILES,
    Doubtful,
    EncodedStretch,
    PictureLayout,
)
from genesis_pipeline.stages.render.params import AssemblyParams
from genesis_pipeline.stages.render.plan import Piece, RenderPlan
from genesis_pipeline.stages.render.reencode import video_codec_options, video_piece

_UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
_BASE = ("-hide_banner", "-nostdin", "-loglevel", "error")


def encode_stretches(
    layout: PictureLayout,
    out: Path,
    params: AssemblyParams,
    progress: Progress,
) -> None:
    """Encode every encoded stretch of ``layout``, in order, into one MP4 at ``out``.

    Raises:
        MediaToolError: the encoder or a decoder failed.
        ToolNotFoundError: ffmpeg is missing.
        Doubtful: the decoders gave fewer frames than planned.
    """
    plan = layout.plan
    encodes = layout.encodes
    pieces = [p for s in encodes for p in s.pieces]
    total = sum(p.frames_out for p in pieces)
    frame_bytes = plan.width * plan.height * 3 // 2
    what = f"encode the cut points of {out.name}"
    raw = open_input(
        "pipe:0",
        format="rawvideo",
        pix_fmt="yuv420p",
        s=f"{plan.width}x{plan.height}",
        r=rate_text(plan.rate),
    )
    encoder_cmd = [
        ffmpeg_exe(),
        *_BASE,
        *command([raw], out, **_encoder_options(layout, encodes, params), an=None, format="mp4"),
    ]
    with tempfile.TemporaryFile() as enc_log:
        encoder = subprocess.Popen(
            encoder_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=enc_log
        )
        assert encoder.stdin is not None
        written = 0
        try:
            for piece in pieces:
                written += pipe_piece(piece, plan, frame_bytes, encoder.stdin, what)
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
        raise Doubtful(f"the decoders gave {written} frames for the encode pass, {total} planned")


def _encoder_options(
    layout: PictureLayout, encodes: Sequence[EncodedStretch], params: AssemblyParams
) -> dict[str, object]:
    """x264 as the render's, matched to the reference source, IDRs where stretches start."""
    plan = layout.plan
    ref = layout.reference
    assert ref is not None and ref.config is not None
    options: dict[str, object] = {
        **video_codec_options(params, plan.rate),
        "profile:v": X264_PROFILES[ref.profile or ""],
        "x264-params": f"sps-id={free_id(layout)}",
    }
    if ref.level:
        options["level:v"] = "1b" if ref.level == 9 else f"{ref.level / 10:.1f}"
    starts = list(itertools.accumulate(s.frames for s in encodes))[:-1]
    if starts:
        # Just before each stretch's first frame, so rounding cannot move the IDR by one.
        times = ",".join(f"{(n - 0.25) / float(plan.rate):.6f}" for n in starts)
        options.update({"forced-idr": 1, "force_key_frames": times})
    colour_range, primaries, trc, matrix = ref.colour
    if colour_range:
        options["color_range"] = colour_range
    for name, value in (("color_primaries", primaries), ("color_trc", trc), ("colorspace", matrix)):
        if value != _UNSPECIFIED:
            options[name] = value
    return options


def decoder_command(piece: Piece, plan: RenderPlan) -> list[str]:
    """The ffmpeg command that writes exactly ``piece.frames_out`` raw 4:2:0 frames of one
    piece to its stdout (black frames for a piece without pictures)."""
    if piece.use_video:
        seek = piece.seek
        origin = seek[1] if seek is not None else 0
        media = (
            open_input(piece.source.path, ss=f"{seek[0]:.6f}")
            if seek is not None
            else open_input(piece.source.path)
        )
        assert piece.source.video_index is not None
        pictures = chain(stream(media, piece.source.video_index), video_piece(piece, origin, plan))
    else:
        black = open_input(f"color=c=black:s={plan.width}x{plan.height}", format="lavfi")
        pictures = chain(stream(black, "v:0"), [Filter.of("setsar", 1)])
    pictures = chain(pictures, [Filter.of("format", "yuv420p")])
    options = {"frames:v": piece.frames_out, "format": "rawvideo", "pix_fmt": "yuv420p"}
    return [ffmpeg_exe(), *_BASE, *command([pictures], "pipe:1", **options)]


def pipe_piece(piece: Piece, plan: RenderPlan, frame_bytes: int, sink: IO[bytes], what: str) -> int:
    """Decode exactly ``piece.frames_out`` frames of one piece into ``sink``; returns frames.

    Raises:
        MediaToolError: the decoder failed.
        Doubtful: it gave fewer frames than the piece has.
    """
    with tempfile.TemporaryFile() as dec_log:
        dec = subprocess.Popen(decoder_command(piece, plan), stdout=subprocess.PIPE, stderr=dec_log)
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
        raise Doubtful(
            f"{piece.source.path.name}: {got // frame_bytes} frames decoded from frame "
            f"{piece.seg.start_frame}, {piece.frames_out} wanted"
        )
    return piece.frames_out


def free_id(layout: PictureLayout) -> int:
    """An SPS/PPS id no copied source uses (x264 gives its SPS and PPS the same id)."""
    used: set[int] = set()
    for ix in layout.indexes.values():
        assert ix.config is not None
        used |= ix.config.sps_ids().keys() | ix.config.pps_ids().keys()
    return next(i for i in range(32) if i not in used)


def check_encoded(path: Path, encodes: Sequence[EncodedStretch]) -> VideoIndex:
    """Index the encode pass's output and check that every stretch can be cut out of it.

    Raises:
        Doubtful: a stretch does not start with an IDR or its packets spill over.
    """
    ix = index_video(path)
    want = sum(s.frames for s in encodes)
    if ix.config is None or ix.config.length_size != 4:
        raise Doubtful("the encoded stream has no 4-byte avcC")
    if ix.frames != want or min(ix.ranks) < 0:
        raise Doubtful(f"the encode pass made {ix.frames} frames, {want} were planned")
    start = 0
    for s in encodes:
        if ix.copy_span(start, start + s.frames) != (start, start + s.frames):
            raise Doubtful(f"encoded frames {start}..{start + s.frames} are not a closed GOP run")
        start += s.frames
    return ix

"""Smart render sound: copy the AAC packets a cut leaves whole, encode only around the cuts.

Used by :mod:`~genesis_pipeline.stages.render.smart` when the cut's sound is the sources' own,
untouched (no narration, bed gain 1) and every source used for sound is AAC-LC with one
AudioSpecificConfig, the output's sample rate and channel count. Otherwise the sound is
encoded whole, as a re-encode does.

Grid. AAC packets hold 1,024 samples, so a copied packet must land on the output's packet grid:
piece ``i`` (output samples from ``O_i``, source samples from ``s_i``) is played ``D_i``
samples late, ``D_i ≡ s_i - O_i (mod 1024)`` in ``[-512, 512)``: at 48 kHz the sound of a
copied piece is at most 10.7 ms off its pictures (a third of a frame at 30 fps; EBU R37 allows
40 ms early, 60 ms late). Pieces that copy nothing keep ``D = 0``. At a cut the sound steps from
one piece's offset to the next: the earlier piece ends up to 1,023 samples sooner or runs on
into its own source's continuation.

Stretches. Between two copies the output is encoded by FFmpeg's AAC encoder (in memory) from
the decoded sources: 32 packets of the copy before it as warm-up (the encoder's first packets
are poor), the stretch, and 4 packets of the copy after it as look-ahead; only the stretch's
packets are kept. A decoder overlaps each packet with the one before it, so at a join the two
packets either side must come from frames over the same signal: every copy ends at least one
packet before its piece does (the block after it is the source's own continuation, not a cut)
and starts one packet after. Window shapes and sequences chosen by two encoders can still
disagree at a join; so every join is decoded as a player will decode it and compared with the
sound it should be, and a join that is not clean (error within 25 dB of the signal and above
-55 dBFS) moves one packet into its copy and is encoded again, up to 8 times. If one
still fails, the whole sound is encoded instead (the caller's fallback).

The warm-up, look-ahead, margins and thresholds below were chosen by measuring joins against a
whole re-encode's error at the same place (``docs/render.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from genesis_pipeline.media.aac import (
    FRAME,
    AacReader,
    AacTrack,
    bit_rate,
    decode,
    encode,
    index_aac,
)
from genesis_pipeline.media.audio_analysis import FLOOR_DB, rms_db
from genesis_pipeline.stages.render.params import AssemblyParams
from genesis_pipeline.stages.render.plan import RenderPlan

log = logging.getLogger(__name__)

WARM_UP = 32  # packets encoded before a stretch and dropped (the encoder starts poorly)
LOOK_AHEAD = 4  # packets of the next copy the encoder sees after a stretch
MIN_COPY = 8  # packets: a shorter copy is not worth its two joins
SHIFTS = 8  # attempts per join
CLEAN_SNR_DB = 25.0  # a clean join's error is at least this far under the signal...
CLEAN_FLOOR_DB = -55.0  # ...or under this level


@dataclass(slots=True)
class PacketRun:
    """AAC packets of one piece copied as they are (their ends move while joins are made)."""

    piece: int
    track: AacTrack
    first: int  # source sample (presentation time) of the first copied packet
    stop: int  # one packet past the last
    shift: int  # output position of source sample 0: out = source + shift
    late: int  # samples the sound plays after its pictures

    @property
    def out_first(self) -> int:
        return self.first + self.shift

    @property
    def out_stop(self) -> int:
        return self.stop + self.shift


@dataclass(slots=True)
class SoundLayout:
    """How the sound of a cut is copied and encoded.

    Attributes:
        sample_rate / channels / bit_rate: the output's.
        total: output samples.
        extradata: the AudioSpecificConfig every packet is coded for.
        template: the track whose stream parameters the output takes.
        bounds: per piece, its output samples ``[bounds[i], bounds[i + 1])``.
        sources: per piece, ``(track, output position of source sample 0)`` or None (silent).
        copies: the copied packet runs, in output order.
    """

    sample_rate: int
    channels: int
    bit_rate: int
    total: int
    extradata: bytes
    template: AacTrack
    bounds: list[int]
    sources: list[tuple[AacTrack, int] | None]
    copies: list[PacketRun]
    retries: int = 0
    worst_join_db: float = FLOOR_DB

    @property
    def samples_copied(self) -> int:
        return sum(c.stop - c.first for c in self.copies)

    @property
    def late(self) -> tuple[int, ...]:
        """Per piece, samples its sound plays after its pictures (0 when nothing is copied)."""
        by_piece = {c.piece: c.late for c in self.copies}
        return tuple(by_piece.get(i, 0) for i in range(len(self.sources)))

    @property
    def max_offset(self) -> int:
        """Largest sound-to-picture offset of a copied piece, in samples."""
        return max((abs(c.late) for c in self.copies), default=0)

    @property
    def copied_s(self) -> float:
        return self.samples_copied / self.sample_rate

    @property
    def max_offset_ms(self) -> float:
        return 1000 * self.max_offset / self.sample_rate


def plan_sound(plan: RenderPlan, params: AssemblyParams) -> SoundLayout | str:
    """Where the cut's sound can be copied, or why it cannot (the sound is then encoded)."""
    if plan.clips:
        return "narration is mixed in"
    if params.bed_gain != 1.0:
        return f"the natural sound's gain is {params.bed_gain}"
    sr, ch = params.sample_rate, plan.channels
    tracks: dict[Path, AacTrack] = {}
    for piece in plan.pieces:
        src = piece.source
        if not piece.use_audio or src.path in tracks:
            continue
        assert src.audio_index is not None
        track = index_aac(src.path, src.audio_index)
        if isinstance(track, str):
            return f"{src.path.name}: {track}"
        if (track.sample_rate, track.channels) != (sr, ch):
            have, want = f"{track.sample_rate} Hz {track.channels} ch", f"{sr} Hz {ch} ch"
            return f"{src.path.name}: {have} sound, the output is {want}"
        reference = next(iter(tracks.values()), None)
        if reference is not None and track.extradata != reference.extradata:
            return f"{src.path.name}: AAC set up differently from {reference.path.name}"
        tracks[src.path] = track
    if not tracks:
        return "no piece has sound"

    starts = [0]
    for piece in plan.pieces:
        starts.append(starts[-1] + piece.samples_out)
    total = starts[-1]
    natural: list[int] = []  # output position of source sample 0, in sync with the pictures
    grid: list[int] = []  # the same, on the packet grid
    for i, piece in enumerate(plan.pieces):
        s = round(piece.sound_start_s * sr)
        natural.append(starts[i] - s)
        offset = (s - starts[i]) % FRAME
        grid.append(starts[i] - s + (offset - FRAME if offset >= FRAME // 2 else offset))
    candidate = [p.use_audio for p in plan.pieces]
    while True:
        shift = [grid[i] if candidate[i] else natural[i] for i in range(len(plan.pieces))]
        bounds = [0] + [starts[i] + shift[i] - natural[i] for i in range(1, len(plan.pieces))]
        bounds.append(total)
        for i in range(1, len(bounds)):
            bounds[i] = min(max(bounds[i], bounds[i - 1]), total)
        copies: list[PacketRun] = []
        dropped = False
        for i, piece in enumerate(plan.pieces):
            if not candidate[i]:
                continue
            track = tracks[piece.source.path]
            # One packet of the piece's own sound either side of the copy.
            first = _ceil(bounds[i] + FRAME - shift[i])
            stop = min(_floor(bounds[i + 1] - FRAME - shift[i]), _floor(track.samples - FRAME))
            first = max(first, 0)
            if stop - first < MIN_COPY * FRAME:
                candidate[i] = False
                dropped = True
                continue
            copies.append(PacketRun(i, track, first, stop, shift[i], shift[i] - natural[i]))
        if not dropped:
            break
    if not copies:
        return "no piece is long enough to copy sound from"
    sources: list[tuple[AacTrack, int] | None] = [
        (tracks[p.source.path], shift[i]) if p.use_audio else None
        for i, p in enumerate(plan.pieces)
    ]
    template = next(iter(tracks.values()))
    rate = bit_rate(params.audio_bitrate)
    return SoundLayout(sr, ch, rate, total, template.extradata, template, bounds, sources, copies)


def _ceil(x: int) -> int:
    return -(-x // FRAME) * FRAME


def _floor(x: int) -> int:
    return x // FRAME * FRAME


class SoundJoinError(Exception):
    """A join stayed audible after every shift: encode the whole sound instead."""


def copy_sound(layout: SoundLayout, out: Path) -> None:
    """Write the cut's sound to ``out`` (MP4, AAC): copied runs and encoded stretches.

    Raises:
        SoundJoinError: a join could not be made clean.
    """
    copies = layout.copies
    packets: list[tuple[int, bytes, int]] = []  # (output pts, payload, duration)
    with AacReader() as reader:
        # Stretch k may move the end of copy k - 1 and the start of copy k: encode them first.
        stretches = [
            _stretch(
                layout, reader, copies[k - 1] if k else None, copies[k] if k < len(copies) else None
            )
            for k in range(len(copies) + 1)
        ]
        for k, stretch in enumerate(stretches):
            packets += stretch
            if k < len(copies):
                c = copies[k]
                payloads = reader.packets(c.track, c.first, c.stop)
                packets += [(c.out_first + j * FRAME, p, FRAME) for j, p in enumerate(payloads)]
    _check_grid(packets, layout.total)
    _write(layout, packets, out)


def _stretch(
    layout: SoundLayout, reader: AacReader, before: PacketRun | None, after: PacketRun | None
) -> list[tuple[int, bytes, int]]:
    """Encode the output between two copies, moving a join into its copy while it is not
    clean. Shrinks ``before``/``after`` in place."""
    for _ in range(SHIFTS):
        start = before.out_stop if before else 0
        end = after.out_first if after else layout.total
        body = _content(layout, reader, start, end)
        warm = (
            reader.samples(before.track, before.stop - WARM_UP * FRAME, WARM_UP * FRAME)
            if before
            else None
        )
        ahead = reader.samples(after.track, after.first, LOOK_AHEAD * FRAME) if after else None
        pcm = np.concatenate([x for x in (warm, body, ahead) if x is not None], axis=1)
        coded = encode(pcm, layout.sample_rate, layout.bit_rate)
        origin = WARM_UP * FRAME if before else 0  # encoder time of output sample ``start``
        lo = origin if before else -FRAME
        hi = origin + (end - start) if after else max(coded) + 1
        kept = [
            (start + p - origin, coded[p][0], coded[p][1]) for p in sorted(coded) if lo <= p < hi
        ]
        bad_before, bad_after = _judge(layout, reader, before, after, kept, warm, body, ahead)
        if not (bad_before or bad_after):
            return kept
        layout.retries += 1
        at = start if bad_before else end
        if bad_before and before is not None:
            before.stop -= FRAME
        if bad_after and after is not None:
            after.first += FRAME
        for c in (before, after):
            if c is not None and c.stop - c.first < FRAME * 2:
                raise SoundJoinError(f"no clean join for the sound of piece {c.piece + 1}")
    raise SoundJoinError(f"the sound join at {at / layout.sample_rate:.3f} s stays audible")


def _judge(
    layout: SoundLayout,
    reader: AacReader,
    before: PacketRun | None,
    after: PacketRun | None,
    kept: list[tuple[int, bytes, int]],
    warm: np.ndarray | None,
    body: np.ndarray,
    ahead: np.ndarray | None,
) -> tuple[bool, bool]:
    """Decode the stretch between its neighbours' packets as a player will, and say which
    join is not clean."""
    seq: list[bytes] = []
    want: list[np.ndarray] = []
    if before is not None and warm is not None:
        seq += reader.packets(before.track, before.stop - 2 * FRAME, before.stop)
        want.append(warm[:, -FRAME:])  # output of the last copied packet
    seq += [p for _, p, _ in kept]
    want.append(body)
    if after is not None and ahead is not None:
        seq += reader.packets(after.track, after.first, after.first + 3 * FRAME)
        want.append(ahead[:, : 3 * FRAME])
    got = decode(seq, layout.extradata, layout.channels)
    expect = np.concatenate(want, axis=1)
    n = min(got.shape[1], expect.shape[1])
    err = got[:, :n] - expect[:, :n]
    lead = FRAME if before is not None else 0
    bad_before = before is not None and not _clean_join(layout, err, expect, lead)
    bad_after = after is not None and not _clean_join(layout, err, expect, lead + body.shape[1])
    return bad_before, bad_after


def _clean_join(layout: SoundLayout, err: np.ndarray, expect: np.ndarray, at: int) -> bool:
    """Whether the join at sample ``at`` is clean (error level within the 2,048 samples around
    it); the level is kept as ``layout.worst_join_db`` when it is the worst so far."""
    lo, hi = max(0, at - FRAME), at + FRAME
    e, s = rms_db(err[:, lo:hi]), rms_db(expect[:, lo:hi])
    layout.worst_join_db = max(layout.worst_join_db, e)
    return e <= max(s - CLEAN_SNR_DB, CLEAN_FLOOR_DB)


def _content(layout: SoundLayout, reader: AacReader, start: int, end: int) -> np.ndarray:
    """The output's samples ``[start, end)``: each piece's source at its offset, silence for
    pieces without sound."""
    parts = [np.zeros((layout.channels, 0), dtype=np.float32)]
    for i, src in enumerate(layout.sources):
        lo, hi = max(start, layout.bounds[i]), min(end, layout.bounds[i + 1])
        if hi <= lo:
            continue
        if src is None:
            parts.append(np.zeros((layout.channels, hi - lo), dtype=np.float32))
        else:
            track, shift = src
            parts.append(reader.samples(track, lo - shift, hi - lo))
    return np.concatenate(parts, axis=1)


def _check_grid(packets: list[tuple[int, bytes, int]], total: int) -> None:
    expected = -FRAME
    for pts, _, _ in packets:
        if pts != expected:
            raise SoundJoinError(f"sound packet at {pts}, {expected} expected")
        expected += FRAME
    end = packets[-1][0] + packets[-1][2]
    if end < total:
        raise SoundJoinError(f"sound ends at sample {end}, the cut at {total}")


def _write(layout: SoundLayout, packets: list[tuple[int, bytes, int]], out: Path) -> None:
    import av

    time_base = Fraction(1, layout.sample_rate)
    with (
        av.open(str(layout.template.path)) as template,
        av.open(str(out), "w", format="mp4") as output,
    ):
        stream = output.add_stream_from_template(template.streams[layout.template.stream_index])
        stream.time_base = time_base
        for pts, payload, duration in packets:
            packet = av.Packet(payload)
            packet.pts = packet.dts = pts
            packet.duration = duration
            packet.time_base = time_base
            packet.stream = stream
            output.mux(packet)

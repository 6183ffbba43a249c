"""H.264 groups of pictures: a packet index of a video stream, and the bitstream facts needed to
stream-copy parts of it (which keyframes are IDR, parameter sets in ``avcC``).

Built by demuxing only (no decoding). Frame numbers are presentation ranks: frame ``n`` is the
``n``-th picture a decoder outputs, as trimming by frame number counts them.

Which frames can be copied (:meth:`VideoIndex.copy_span`): a stretch of packets in *decode*
order starting at an IDR picture references nothing before it (an IDR empties the decoder's
picture buffer, and nothing decoded after it is shown before it). Any prefix of that stretch is
decodable on its own too, because a picture can only reference pictures decoded earlier. So a
copy starts at an IDR and may end after any packet where the packets so far hold exactly the
consecutive frames ``[first, stop)``: with B-frames that is at the end of a mini-GOP, without
them after any packet. Non-IDR keyframes (open GOPs, recovery points) never start a copy: their
leading pictures reference the GOP before.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.streams import picture_stream

log = logging.getLogger(__name__)

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8

_HIGH_PROFILES = {100, 110, 122, 144}  # avcC carries chroma format and bit depths for these


# --- avcC and NAL units ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AvcConfig:
    """An ``AVCDecoderConfigurationRecord`` (the ``avcC`` box, FFmpeg's H.264 extradata)."""

    profile: int
    compatibility: int
    level: int
    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    trailer: bytes = b""  # High profiles: chroma format, bit depths, SPS extensions

    def sps_ids(self) -> dict[int, bytes]:
        return {sps_id(n): n for n in self.sps}

    def pps_ids(self) -> dict[int, bytes]:
        return {pps_ids(n)[0]: n for n in self.pps}

    def to_bytes(self) -> bytes:
        """Serialise (``lengthSizeMinusOne`` and reserved bits as the spec has them)."""
        out = bytearray(
            [1, self.profile, self.compatibility, self.level, 0xFC | (self.length_size - 1)]
        )
        out.append(0xE0 | len(self.sps))
        for nal in self.sps:
            out += len(nal).to_bytes(2, "big") + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += len(nal).to_bytes(2, "big") + nal
        return bytes(out + self.trailer)


def parse_avcc(data: bytes) -> AvcConfig:
    """Parse ``avcC`` bytes.

    Raises:
        ValueError: not an avcC record (Annex B extradata starts ``00 00 01``) or truncated.
    """
    if len(data) < 7 or data[0] != 1:
        raise ValueError("not an avcC record")
    pos = 5
    length_size = (data[4] & 3) + 1
    lists: list[list[bytes]] = []
    for count_mask in (0x1F, 0xFF):
        count = data[pos] & count_mask
        pos += 1
        nals = []
        for _ in range(count):
            n = int.from_bytes(data[pos : pos + 2], "big")
            nal = data[pos + 2 : pos + 2 + n]
            if n == 0 or len(nal) != n:
                raise ValueError("truncated avcC record")
            nals.append(nal)
            pos += 2 + n
        lists.append(nals)
        if pos >= len(data) and count_mask == 0x1F:
            raise ValueError("truncated avcC record")
    trailer = data[pos:] if data[1] in _HIGH_PROFILES else b""
    return AvcConfig(
        data[1], data[2], data[3], length_size, tuple(lists[0]), tuple(lists[1]), trailer
    )


def split_nals(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of a length-prefixed (``avcC``-style) access unit.

    Raises:
        ValueError: the lengths do not add up to the packet size.
    """
    out = []
    pos, end = 0, len(data)
    while pos < end:
        n = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if n == 0 or pos + n > end:
            raise ValueError("NAL unit lengths do not match the packet")
        out.append(data[pos : pos + n])
        pos += n
    return out


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def _rbsp(nal: bytes, limit: int = 64) -> bytes:
    """The first ``limit`` payload bytes of a NAL unit without emulation-prevention bytes."""
    out = bytearray()
    zeros = 0
    for b in nal[1 : limit + 1]:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise ValueError("exp-Golomb code runs past the data")
        b = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def skip(self, n: int) -> None:
        self.pos += n

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("exp-Golomb code too long")
        value = 0
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return (1 << zeros) - 1 + value


def sps_id(nal: bytes) -> int:
    """``seq_parameter_set_id`` of an SPS NAL unit (after profile, constraints and level)."""
    bits = _Bits(_rbsp(nal))
    bits.skip(24)
    return bits.ue()


def pps_ids(nal: bytes) -> tuple[int, int]:
    """``(pic_parameter_set_id, seq_parameter_set_id)`` of a PPS NAL unit."""
    bits = _Bits(_rbsp(nal))
    return bits.ue(), bits.ue()


# --- the index ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VideoIndex:
    """Packets of one video stream in decode order, with what stream copying needs.

    Attributes:
        path: the file.
        stream_index: the video stream's index in the container.
        codec: codec name (``h264``).
        width: coded picture width after cropping (what a decoder outputs).
        height: likewise.
        pix_fmt: decoder pixel format.
        profile: codec profile name (``High``).
        level: ``level_idc`` (31 for 3.1).
        sar: sample aspect ratio (0 when unset).
        field_order: FFmpeg ``AVFieldOrder`` (0 unknown, 1 progressive, more: interlaced).
        rotation: display rotation in degrees.
        colour: ``(range, primaries, trc, matrix)`` as FFmpeg enum values.
        time_base: of ``pts``/``dts``.
        pts: presentation timestamp of each packet, decode order.
        dts: decode timestamp of each packet (may be None), decode order.
        ranks: frame number of each packet, decode order; -1 for packets a decoder discards
            (edit lists) or without a timestamp.
        idr_ranks: frame numbers of the IDR pictures, increasing.
        rate: frame rate measured from the timestamps, when constant; else None.
        max_key_gap: most frames between two keyframes (any kind), or to the ends.
        config: the ``avcC`` record, when the extradata is one.
        problem: why nothing of this stream can be copied, or None.
    """

    path: Path
    stream_index: int
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    profile: str | None
    level: int
    sar: Fraction
    field_order: int
    rotation: int
    colour: tuple[int, int, int, int]
    time_base: Fraction
    pts: tuple[int, ...]
    dts: tuple[int | None, ...]
    ranks: tuple[int, ...]
    idr_ranks: tuple[int, ...]
    rate: Fraction | None
    max_key_gap: int
    config: AvcConfig | None
    problem: str | None = None
    _position: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def frames(self) -> int:
        return len(self._position)

    def position(self, rank: int) -> int:
        """Decode-order position of frame ``rank``."""
        return self._position[rank]

    def copy_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The longest stretch of frames inside ``[start, end)`` that can be stream-copied.

        Returns:
            ``(first, stop)``: ``first`` is the first IDR frame at or after ``start``, ``stop``
            the largest frame number ``<= end`` such that the packets from ``first``'s in
            decode order hold exactly frames ``[first, stop)``. None when there is none.
        """
        k = bisect.bisect_left(self.idr_ranks, start)
        if self.problem is not None or k == len(self.idr_ranks) or self.idr_ranks[k] >= end:
            return None
        first = self.idr_ranks[k]
        best = None
        top = -1
        j0 = self._position[first]
        for count, r in enumerate(itertools.islice(self.ranks, j0, None), start=1):
            if r < first or r >= end:  # also a discarded packet (-1)
                break
            top = max(top, r)
            if top - first + 1 == count:
                best = top + 1
        return (first, best) if best is not None else None

    def reorder_depth(self, first: int, stop: int) -> int:
        """How many packets ahead of its presentation slot the latest one is decoded, at most,
        within the copy ``[first, stop)`` (0 without B-frames)."""
        j0 = self._position[first]
        return max((j - j0) - (self.ranks[j] - first) for j in range(j0, j0 + (stop - first)))


def index_video(path: Path) -> VideoIndex:
    """Index the first video stream of ``path`` by demuxing it (pictures are not decoded, but
    for the first, to read the display rotation).

    Raises:
        InvalidMediaError: the file cannot be opened or has no video stream.
    """
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidMediaError(path, f"cannot be opened as media ({exc})") from None
    with container:
        video = picture_stream(container)
        if video is None:
            raise InvalidMediaError(path, "has no video stream")
        cc = video.codec_context
        problems: list[str] = []
        config = None
        if cc.name != "h264":
            problems.append(f"codec {cc.name}, not h264")
        else:
            try:
                config = parse_avcc(bytes(cc.extradata or b""))
            except ValueError:
                problems.append("H.264 without an avcC record (Annex B stream)")
        pts: list[int | None] = []
        dts: list[int | None] = []
        keys: list[int] = []  # decode positions of keyframes
        idr: list[int] = []  # decode positions of IDR keyframes
        inband: set[bytes] = set()
        try:
            for packet in container.demux(video):
                if packet.size == 0:
                    continue
                j = len(pts)
                pts.append(None if packet.is_discard else packet.pts)
                dts.append(packet.dts)
                if packet.is_keyframe:
                    keys.append(j)
                    if config is not None:
                        kind = _keyframe_kind(bytes(packet), config.length_size, inband)
                        if kind == NAL_IDR:
                            idr.append(j)
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidMediaError(path, f"video cannot be read ({exc})") from None

        sar = Fraction(0)
        if cc.sample_aspect_ratio:
            sar = Fraction(cc.sample_aspect_ratio)
        colour = (
            int(cc.color_range or 0),
            int(cc.color_primaries or 2),
            int(cc.color_trc or 2),
            int(cc.colorspace or 2),
        )
        time_base = Fraction(video.time_base) if video.time_base else Fraction(1, 90000)
        profile, level = cc.profile, int(cc.level or 0)
        width, height, pix_fmt = cc.width, cc.height, cc.pix_fmt
        codec, stream_index = cc.name, video.index  # not readable once the file is closed
        field_order = int(getattr(cc, "field_order", 0) or 0)

    rotation = _rotation(path, stream_index)
    timed = sorted(p for p in pts if p is not None)
    rank_of = {p: i for i, p in enumerate(timed)}
    if len(rank_of) != len(timed):
        problems.append("duplicate timestamps")
    ranks = tuple(-1 if p is None else rank_of[p] for p in pts)
    position = {r: j for j, r in enumerate(ranks) if r >= 0}
    rate = _constant_rate(timed, time_base)
    if rate is None:
        problems.append("variable frame rate")
    if config is not None:
        problems += _parameter_set_problems(config, inband)
    key_ranks = sorted({ranks[j] for j in keys if ranks[j] >= 0})
    gaps = [b - a for a, b in zip([0, *key_ranks], [*key_ranks, len(timed)], strict=True)]
    return VideoIndex(
        path=Path(path),
        stream_index=stream_index,
        codec=codec,
        width=width,
        height=height,
        pix_fmt=pix_fmt,
        profile=profile,
        level=level,
        sar=sar,
        field_order=field_order,
        rotation=rotation,
        colour=colour,
        time_base=time_base,
        pts=tuple(-1 if p is None else p for p in pts),
        dts=tuple(dts),
        ranks=ranks,
        idr_ranks=tuple(sorted(ranks[j] for j in idr if ranks[j] >= 0)),
        rate=rate,
        max_key_gap=max(gaps),
        config=config,
        problem="; ".join(problems) or None,
        _position=position,
    )


def _rotation(path: Path, stream_index: int) -> int:
    """Display rotation of the stream, in degrees, read from its first decoded frame (a file
    of its own, so that the index's demuxing starts untouched at the first packet).

    Raises:
        InvalidMediaError: no frame can be decoded.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            first = next(container.decode(container.streams[stream_index]))
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as exc:
        raise InvalidMediaError(path, f"video cannot be decoded ({exc})") from None
    return int(getattr(first, "rotation", 0) or 0) % 360


def _keyframe_kind(data: bytes, length_size: int, inband: set[bytes]) -> int:
    """The slice NAL type of a keyframe (5 IDR, 1 non-IDR, 0 unreadable); collects in-band
    parameter sets into ``inband``."""
    try:
        nals = split_nals(data, length_size)
    except ValueError:
        return 0
    kind = 0
    for nal in nals:
        t = nal_type(nal)
        if t in (NAL_SPS, NAL_PPS):
            inband.add(nal)
        elif t in (NAL_SLICE, NAL_IDR) and not kind:
            kind = t
    return kind


def _parameter_set_problems(config: AvcConfig, inband: set[bytes]) -> list[str]:
    if config.length_size != 4:
        return [f"{config.length_size}-byte NAL lengths"]
    try:
        for nal in (*config.sps, *config.pps, *inband):
            sps_id(nal) if nal_type(nal) == NAL_SPS else pps_ids(nal)
    except (ValueError, IndexError):
        return ["unreadable parameter sets"]
    if not config.sps or not config.pps:
        return ["no parameter sets in avcC"]
    if inband - set(config.sps) - set(config.pps):
        return ["parameter sets change in-band"]
    return []


def _constant_rate(timed: list[int], time_base: Fraction) -> Fraction | None:
    """Frames per second when every interval is the same to one tick (container rounding);
    None when not, or when there are too few frames to tell."""
    if len(timed) < 2:
        return None
    span = timed[-1] - timed[0]
    if span <= 0:
        return None
    intervals = len(timed) - 1
    # |interval - span / intervals| <= 1 tick, in integers.
    if any(abs((b - a) * intervals - span) > intervals for a, b in itertools.pairwise(timed)):
        return None
    return 1 / (Fraction(span, intervals) * time_base)

"""Will a browser play this file? One pure rule over probe facts, with the reason when not.

Streamlit's players are plain ``<video>``/``<audio>`` elements, so what plays is what Chromium,
Firefox and Safari all decode without platform extras: MP4/MOV with H.264 (8-bit 4:2:0), VP9 or
AV1; WebM with VP8, VP9 or AV1; sound in AAC, MP3, Opus or Vorbis (and the plain audio files
WAV, FLAC, MP3, AAC, Ogg). Anything else gets a playable copy (a proxy) or a reason.

Chromium is the strictest in practice: it opens an MP4 holding MPEG-4 Part 2, ProRes or HEVC,
plays its sound and shows no picture at all (``videoWidth`` 0), which is the "dead player".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

# PyAV/FFmpeg demuxer names -> the family the rule talks about. MP4 and MOV share a demuxer;
# Matroska and WebM too (the file's extension tells them apart).
_MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
_MATROSKA_DEMUXER = "matroska,webm"
_SIMPLE_AUDIO = {"mp3": "mp3", "wav": "wav", "flac": "flac", "aac": "aac", "ogg": "ogg"}

# Families a browser opens, and the sound codecs it plays in each.
_AUDIO_OK: dict[str, frozenset[str]] = {
    "mp4": frozenset({"aac", "mp3", "opus"}),
    "webm": frozenset({"opus", "vorbis"}),
    "ogg": frozenset({"opus", "vorbis", "flac"}),
    "mp3": frozenset({"mp3"}),
    "aac": frozenset({"aac"}),
    "flac": frozenset({"flac"}),
    # 8/16/24-bit integer and 32-bit float PCM: the WAV flavours all three browsers decode.
    "wav": frozenset({"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_f32le"}),
}
# Picture codecs a browser decodes, and the families it plays them in.
_VIDEO_OK: dict[str, frozenset[str]] = {
    "h264": frozenset({"mp4"}),
    "vp9": frozenset({"mp4", "webm"}),
    "av1": frozenset({"mp4", "webm"}),
    "vp8": frozenset({"webm"}),
}
# Browsers decode these codecs only as 8-bit 4:2:0 (yuvj420p is the full-range twin).
_PIX_FMT_OK = frozenset({"yuv420p", "yuvj420p"})

# Plain words for what the probe calls a codec or container (shown to reviewers).
VIDEO_NAMES: dict[str, str] = {
    "mpeg4": "MPEG-4 Part 2 video (DivX/Xvid)",
    "msmpeg4v3": "Microsoft MPEG-4 v3 video",
    "msmpeg4v2": "Microsoft MPEG-4 v2 video",
    "prores": "Apple ProRes video",
    "dnxhd": "Avid DNxHD/DNxHR video",
    "hevc": "HEVC (H.265) video",
    "mpeg2video": "MPEG-2 video",
    "mpeg1video": "MPEG-1 video",
    "mjpeg": "Motion JPEG video",
    "dvvideo": "DV video",
    "vc1": "VC-1 video",
    "wmv3": "Windows Media video",
    "wmv2": "Windows Media video",
    "h263": "H.263 video",
    "theora": "Theora video",
    "cfhd": "GoPro CineForm video",
    "rawvideo": "uncompressed video",
    "ffv1": "FFV1 video",
    "qtrle": "QuickTime Animation video",
    "h264": "H.264 video",
    "vp8": "VP8 video",
    "vp9": "VP9 video",
    "av1": "AV1 video",
}
AUDIO_NAMES: dict[str, str] = {
    "ac3": "Dolby Digital (AC-3) sound",
    "eac3": "Dolby Digital Plus (E-AC-3) sound",
    "dts": "DTS sound",
    "truehd": "Dolby TrueHD sound",
    "alac": "Apple Lossless sound",
    "mp2": "MPEG-1 Layer II sound",
    "wmav2": "Windows Media sound",
    "amr_nb": "AMR sound",
    "amr_wb": "AMR-WB sound",
    "pcm_mulaw": "mu-law sound",
    "pcm_alaw": "A-law sound",
}
CONTAINER_NAMES: dict[str, str] = {
    "mkv": "Matroska (.mkv) files reliably (Safari and older Firefox cannot)",
    "avi": "AVI files",
    "mxf": "MXF files",
    "mpegts": "MPEG transport streams (.ts/.mts/.m2ts)",
    "mpeg": "MPEG program streams (.mpg/.vob)",
    "asf": "Windows Media (.wmv/.asf) files",
    "flv": "Flash video (.flv) files",
    "aiff": "AIFF files",
    "w64": "Wave64 files",
    "caf": "Core Audio (.caf) files",
}
_SOUND_WORDS = {"aac": "AAC", "mp3": "MP3", "opus": "Opus", "vorbis": "Vorbis", "flac": "FLAC"}
_FAMILY_WORDS = {"mp4": "MP4/MOV", "webm": "WebM", "ogg": "Ogg", "wav": "WAV", "mp3": "MP3"}


@dataclass(frozen=True, slots=True)
class PlaybackFacts:
    """What the rule looks at, all from the probe (``media_files`` row and its ``probe_json``)."""

    container: str  # the demuxer name PyAV reports, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    extension: str  # the stored file's extension, lower case with the dot (".mkv")
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None

    @classmethod
    def from_probe(cls, probe: dict[str, object], name: str) -> PlaybackFacts:
        """From a ``MediaInfo`` as stored (``media_files.probe_json``) and the stored name."""

        def text(key: str) -> str | None:
            value = probe.get(key)
            return str(value) if value else None

        return cls(
            container=str(probe.get("container") or ""),
            extension=PurePath(name).suffix.lower(),
            has_video=bool(probe.get("has_video")),
            has_audio=bool(probe.get("has_audio")),
            video_codec=text("video_codec"),
            pix_fmt=text("pix_fmt"),
            audio_codec=text("audio_codec"),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether browsers play a file as it is; ``reasons`` say why not, in plain words."""

    playable: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """One sentence-part: "browsers cannot play ProRes video" (empty when playable)."""
        return "; ".join(self.reasons)


def family(container: str, extension: str) -> str:
    """The container family the rule knows: mp4, webm, mkv, ogg, mp3, wav, flac, aac or the
    demuxer's own name."""
    if container == _MP4_DEMUXER or container.startswith("mov,mp4"):
        return "mp4"
    if container == _MATROSKA_DEMUXER:
        return "webm" if extension in (".webm", ".weba") else "mkv"
    return _SIMPLE_AUDIO.get(container, container or "unknown")


def browser_verdict(facts: PlaybackFacts) -> Verdict:
    """Whether Chromium, Firefox and Safari all play ``facts``' file as it is, and why not.

    A file plays when its container family is one browsers open, its picture codec (if any) is
    one they decode in that family as 8-bit 4:2:0, and its sound (if any) is a codec they decode
    in that family.
    """
    fam = family(facts.container, facts.extension)
    reasons: list[str] = []
    opens = fam in _AUDIO_OK
    if not opens:
        what = CONTAINER_NAMES.get(fam, f"{fam} files")
        reasons.append(f"browsers do not open {what}")
    if facts.has_video:
        reasons += _video_reasons(fam, facts.video_codec or "unknown", facts.pix_fmt, opens)
    if facts.has_audio and opens:
        codec = facts.audio_codec or "unknown"
        if codec not in _AUDIO_OK.get(fam, frozenset()):
            reasons.append(_audio_reason(fam, codec))
    return Verdict(playable=not reasons, reasons=tuple(reasons))


def _video_reasons(fam: str, codec: str, pix_fmt: str | None, opens: bool) -> list[str]:
    name = VIDEO_NAMES.get(codec, f"{codec} video")
    families = _VIDEO_OK.get(codec)
    if families is None:
        if codec == "hevc":
            return [f"Chromium and Firefox cannot play {name} without platform decoders"]
        return [f"browsers cannot play {name}"]
    if opens and fam not in families:
        return [f"browsers do not play {name} in {_FAMILY_WORDS.get(fam, fam)} files"]
    if pix_fmt not in _PIX_FMT_OK:
        return [f"browsers cannot play {_depth_words(codec, pix_fmt)}"]
    return []


def _depth_words(codec: str, pix_fmt: str | None) -> str:
    """``10-bit H.264 video (High 10)``, ``4:2:2 H.264 video (High 4:2:2)``…"""
    name = VIDEO_NAMES.get(codec, codec).removesuffix(" video")
    fmt = pix_fmt or "an unknown pixel format"
    depth = next((d for d in (16, 14, 12, 10, 9) if f"p{d}" in fmt), 8)
    chroma = "4:4:4" if "444" in fmt else "4:2:2" if "422" in fmt else "4:2:0"
    if not fmt.startswith("yuv"):
        return f"{name} video stored as {fmt}"
    profile = ""
    if codec == "h264":
        if chroma == "4:2:0":
            profile = " (High 10)" if depth == 10 else ""
        else:
            profile = f" (High {chroma}{' Predictive' if chroma == '4:4:4' else ''})"
    bits = f"{depth}-bit " if depth != 8 else ""
    sampling = f"{chroma} " if chroma != "4:2:0" else ""
    return f"{bits}{sampling}{name} video{profile}"


def _audio_reason(fam: str, codec: str) -> str:
    where = _FAMILY_WORDS.get(fam, fam)
    if codec.startswith("pcm_"):
        if fam == "wav":
            return f"browsers cannot play this kind of PCM sound in WAV files ({codec})"
        return f"browsers cannot play uncompressed PCM sound in {where} files"
    if codec in _SOUND_WORDS:
        return f"browsers do not play {_SOUND_WORDS[codec]} sound in {where} files"
    return f"browsers cannot play {AUDIO_NAMES.get(codec, f'{codec} sound')}"

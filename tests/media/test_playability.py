"""The browser playability rule: one case per row of its table, then on real probed files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from support.playback_media import has_encoder, make_clip

from genesis_pipeline import serde
from genesis_pipeline.media.playability import PlaybackFacts, browser_verdict, family
from genesis_pipeline.media.probe import probe

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
MKV = "matroska,webm"


@dataclass(frozen=True)
class Case:
    container: str
    ext: str
    video: str | None
    pix_fmt: str | None
    audio: str | None
    playable: bool
    why: str = ""  # a phrase the reason must contain


CASES = {
    # Plays everywhere.
    "H.264 + AAC in MP4": Case(MP4, ".mp4", "h264", "yuv420p", "aac", True),
    "H.264 full range + MP3 in MOV": Case(MP4, ".mov", "h264", "yuvj420p", "mp3", True),
    "H.264, no sound": Case(MP4, ".mp4", "h264", "yuv420p", None, True),
    "VP9 + Opus in WebM": Case(MKV, ".webm", "vp9", "yuv420p", "opus", True),
    "VP8 + Vorbis in WebM": Case(MKV, ".webm", "vp8", "yuv420p", "vorbis", True),
    "AV1 + Opus in MP4": Case(MP4, ".mp4", "av1", "yuv420p", "opus", True),
    "AAC in M4A": Case(MP4, ".m4a", None, None, "aac", True),
    "MP3": Case("mp3", ".mp3", None, None, "mp3", True),
    "16-bit WAV": Case("wav", ".wav", None, None, "pcm_s16le", True),
    "FLAC": Case("flac", ".flac", None, None, "flac", True),
    "Opus in Ogg": Case("ogg", ".opus", None, None, "opus", True),
    # A picture codec browsers do not decode.
    "MPEG-4 Part 2": Case(MP4, ".mp4", "mpeg4", "yuv420p", "aac", False, "MPEG-4 Part 2"),
    "ProRes + PCM in MOV": Case(MP4, ".mov", "prores", "yuv422p10le", "pcm_s16le", False, "ProRes"),
    "DNxHD": Case(MP4, ".mov", "dnxhd", "yuv422p", "aac", False, "DNxHD"),
    "HEVC": Case(MP4, ".mp4", "hevc", "yuv420p", "aac", False, "HEVC"),
    "MPEG-2 in MPEG-TS": Case("mpegts", ".mts", "mpeg2video", "yuv420p", "ac3", False, "MPEG-2"),
    "Motion JPEG in AVI": Case("avi", ".avi", "mjpeg", "yuvj422p", "pcm_s16le", False, "AVI"),
    # H.264 that is not 8-bit 4:2:0.
    "10-bit H.264": Case(MP4, ".mp4", "h264", "yuv420p10le", "aac", False, "10-bit H.264"),
    "4:2:2 H.264": Case(MP4, ".mov", "h264", "yuv422p", "aac", False, "High 4:2:2"),
    "10-bit 4:4:4 H.264": Case(MP4, ".mp4", "h264", "yuv444p10le", "aac", False, "4:4:4"),
    # Sound browsers do not play, in a file whose picture is fine.
    "H.264 + PCM in MOV": Case(MP4, ".mov", "h264", "yuv420p", "pcm_s16le", False, "PCM"),
    "H.264 + AC-3": Case(MP4, ".mp4", "h264", "yuv420p", "ac3", False, "AC-3"),
    "ALAC in M4A": Case(MP4, ".m4a", None, None, "alac", False, "Apple Lossless"),
    "PCM in MOV, audio only": Case(MP4, ".mov", None, None, "pcm_s24be", False, "PCM"),
    "32-bit WAV": Case("wav", ".wav", None, None, "pcm_s32le", False, "pcm_s32le"),
    "AIFF": Case("aiff", ".aif", None, None, "pcm_s16be", False, "AIFF"),
    # Codecs fine, container not everywhere.
    "H.264 + AAC in MKV": Case(MKV, ".mkv", "h264", "yuv420p", "aac", False, "Matroska"),
    "H.264 in WebM": Case(MKV, ".webm", "h264", "yuv420p", "opus", False, "H.264 video in WebM"),
    "Vorbis in MP4": Case(MP4, ".mp4", "h264", "yuv420p", "vorbis", False, "Vorbis sound in MP4"),
    "VP8 in MP4": Case(MP4, ".mp4", "vp8", "yuv420p", "aac", False, "VP8 video in MP4"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rule(name: str) -> None:
    c = CASES[name]
    facts = PlaybackFacts(
        container=c.container,
        extension=c.ext,
        has_video=c.video is not None,
        has_audio=c.audio is not None,
        video_codec=c.video,
        pix_fmt=c.pix_fmt,
        audio_codec=c.audio,
    )
    v = browser_verdict(facts)
    assert v.playable is c.playable, v
    if c.playable:
        assert v.reasons == () and v.reason == ""
    else:
        assert c.why in v.reason and v.reason.startswith(("browsers", "Chromium")), v.reason


def test_every_problem_is_named() -> None:
    """ProRes in AVI: the container and the picture codec are both named (the sound of a file
    browsers do not open is not judged)."""
    facts = PlaybackFacts("avi", ".avi", True, True, "prores", "yuv422p10le", "pcm_s16le")
    v = browser_verdict(facts)
    assert len(v.reasons) == 2
    assert "AVI" in v.reason and "ProRes" in v.reason


def test_family() -> None:
    assert family(MP4, ".mov") == family(MP4, ".m4a") == "mp4"
    assert family(MKV, ".webm") == "webm" and family(MKV, ".mkv") == "mkv"
    assert family("wav", ".wav") == "wav" and family("mxf", ".mxf") == "mxf"


PROBED = {
    "h264": True,
    "mpeg4": False,
    "prores": False,
    "hevc": False,
    "h264 10-bit": False,
    "vfr mpeg4": False,
    "pcm mov audio": False,
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("playability")


@pytest.mark.parametrize("name", list(PROBED))
def test_probed_files(clips: Path, name: str) -> None:
    if name == "hevc" and not has_encoder("libx265"):
        pytest.skip("this ffmpeg build has no libx265 encoder to make an HEVC clip")
    path = make_clip(clips, name)
    info = probe(path)
    v = browser_verdict(PlaybackFacts.from_probe(serde.to_json(info), path.name))
    assert v.playable is PROBED[name], (info, v)

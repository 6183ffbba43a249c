"""The proxy and voiceover-import command lines, built with ffmpeg-python, write the very files
the hand-written ones did (``support/old_commands.py``): byte for byte.

x264 with several threads does not always give the same bytes twice here, whichever command
runs it (3 in 16 encodes of one clip differed), so both encode on one thread for the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.old_commands import old_proxy_args, old_voiceover_args
from support.playback_media import make_clip

from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.synth import Footage
from genesis_pipeline.stages.narration import voiceover_args
from genesis_pipeline.stages.proxy import ProxyParams, proxy_args


@pytest.mark.parametrize(
    ("name", "video", "params"),
    [
        ("mpeg4", True, ProxyParams()),
        ("vfr mpeg4", True, ProxyParams(long_side=200, keyframe_s=0.5, audio_channels=1)),
        ("mpeg4", False, ProxyParams(audio_kbps=96)),
    ],
)
def test_proxy_file_is_the_same(
    tmp_path: Path, name: str, video: bool, params: ProxyParams
) -> None:
    src = make_clip(tmp_path / "clips", name)
    old, new = tmp_path / "old.mp4", tmp_path / "new.mp4"
    for args, what in (
        (old_proxy_args(src, old, has_video=video, has_audio=True, params=params), "old"),
        (proxy_args(src, new, has_video=video, has_audio=True, params=params), "new"),
    ):
        run_ffmpeg([*args[:-1], "-threads", "1", args[-1]], what=what)
    assert old.read_bytes() == new.read_bytes()


@pytest.mark.parametrize("channels", [1, 2])
def test_voiceover_wav_is_the_same(footage: Footage, tmp_path: Path, channels: int) -> None:
    old, new = tmp_path / "old.wav", tmp_path / "new.wav"
    run_ffmpeg(old_voiceover_args(footage.path, old, channels), what="old")
    run_ffmpeg(voiceover_args(footage.path, new, channels), what="new")
    assert old.stat().st_size > 10_000
    assert old.read_bytes() == new.read_bytes()

"""The proxy stage: a copy every browser plays, frame for frame on the source's timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.playback_media import has_encoder, make_clip

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.media.playability import PlaybackFacts, browser_verdict
from genesis_pipeline.media.probe import MediaInfo, probe
from genesis_pipeline.stages.proxy import Proxy, ProxyParams, make_proxy, proxy_args


def frames(path: Path) -> tuple[list[float], list[float]]:
    """Every picture's presentation time, and the times of the keyframes (from the packets)."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [float(f.time) for f in c.decode(v)]
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        keys = sorted(
            float(p.pts * p.time_base) for p in c.demux(v) if p.pts is not None and p.is_keyframe
        )
    return times, keys


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy-clips")


def proxy_of(src: Path, out: Path, params: ProxyParams | None = None) -> tuple[Proxy, MediaInfo]:
    info = probe(src)
    out.mkdir(parents=True, exist_ok=True)
    seen: list[tuple[int, int]] = []
    made = make_proxy(
        src,
        out,
        has_video=info.has_video,
        has_audio=info.has_audio,
        duration_s=info.duration_s,
        params=params,
        progress=lambda d, t, _n: seen.append((d, t)),
    )
    assert seen and seen[-1][0] == seen[-1][1]  # progress reached the end
    return made, info


@pytest.mark.parametrize("name", ["mpeg4", "prores", "hevc", "h264 10-bit", "vfr mpeg4"])
def test_copy_matches_the_source(clips: Path, tmp_path: Path, name: str) -> None:
    if name == "hevc" and not has_encoder("libx265"):
        pytest.skip("this ffmpeg build has no libx265 encoder to make an HEVC clip")
    src = make_clip(clips, name)
    made, info = proxy_of(src, tmp_path)
    out = tmp_path / made.file
    assert made.file == "proxy.mp4" and made.kind == "video" and out.is_file()
    copy = probe(out)
    # What browsers play: H.264 8-bit 4:2:0 with AAC, in MP4.
    assert (copy.video_codec, copy.pix_fmt, copy.audio_codec) == ("h264", "yuv420p", "aac")
    assert copy.channels == 2
    assert browser_verdict(PlaybackFacts.from_probe(serde.to_json(copy), out.name)).playable
    assert (made.width, made.height) == (copy.width, copy.height) == (info.width, info.height)
    # The same timeline: every frame at its source time, none dropped or added, same length.
    src_t, _ = frames(src)
    copy_t, keys = frames(out)
    assert len(copy_t) == len(src_t) == info.frame_count
    assert max(abs(a - b) for a, b in zip(src_t, copy_t, strict=True)) < 0.001
    one_frame = max(1 / (info.fps or 25), src_t[-1] - src_t[-2])
    assert abs(copy.duration_s - info.duration_s) <= one_frame, (copy.duration_s, info.duration_s)
    assert copy.is_vfr == info.is_vfr
    # A keyframe on the first frame at or after every whole second of source time.
    wanted = [next(t for t in copy_t if t >= n - 1e-6) for n in range(int(copy_t[-1]) + 1)]
    assert all(any(abs(k - w) < 1e-3 for k in keys) for w in wanted), (wanted, keys)
    assert made.size_bytes == out.stat().st_size and made.encode_s > 0


def test_large_footage_is_scaled_down_never_up(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips / "720p", "mpeg4", size="1280x720")
    made, _ = proxy_of(src, tmp_path / "a")
    assert (made.width, made.height) == (960, 540)
    made, _ = proxy_of(src, tmp_path / "b", ProxyParams(long_side=2000))
    assert (made.width, made.height) == (1280, 720)  # never upscaled
    made, _ = proxy_of(src, tmp_path / "c", ProxyParams(long_side=333))
    assert (made.width, made.height) == (332, 186)  # both sides even


def test_portrait_phone_clip_stays_portrait(clips: Path, tmp_path: Path) -> None:
    if not has_encoder("libx265"):
        pytest.skip("this ffmpeg build has no libx265 encoder to make an HEVC clip")
    src = make_clip(clips, "hevc phone")
    made, info = proxy_of(src, tmp_path)
    assert info.rotation in (90, 270) and (info.width, info.height) == (240, 320)
    copy = probe(tmp_path / made.file)
    # Turned upright in the pixels, so every player shows it the same way up.
    assert (copy.width, copy.height, copy.rotation) == (240, 320, 0)


def test_audio_only_gets_aac(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips, "pcm mov audio")
    made, info = proxy_of(src, tmp_path)
    assert made.file == "proxy.m4a" and made.kind == "audio"
    copy = probe(tmp_path / made.file)
    assert not copy.has_video and copy.audio_codec == "aac"
    assert abs(copy.duration_s - info.duration_s) < 0.05
    assert browser_verdict(PlaybackFacts.from_probe(serde.to_json(copy), made.file)).playable


def test_result_round_trips() -> None:
    p = Proxy("proxy.mp4", "video", 3.0, 1000, 0.5, 3.0, ProxyParams(crf=30), 320, 240)
    assert serde.from_json(Proxy, serde.to_json(p)) == p and p.speed == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("long_side", 8),
        ("crf", 60),
        ("preset", "placebo"),
        ("keyframe_s", 0),
        ("audio_channels", 6),
    ],
)
def test_params_are_checked(field: str, value: Any) -> None:  # deliberately out of range
    with pytest.raises(InvalidSettingError, match=f"proxy.{field}"):
        ProxyParams(**{field: value})


def test_recipe() -> None:
    """The arguments that carry the guarantees (a change here must be deliberate)."""
    args = proxy_args(
        Path("in.mov"), Path("out.mp4"), has_video=True, has_audio=True, params=ProxyParams()
    )
    text = " ".join(args)
    for part in (
        "[0:V:0]",  # the graph reads the first picture stream that is not cover art
        "-map 0:a:0",
        "-c:v libx264",
        "-pix_fmt yuv420p",
        "-fps_mode passthrough",
        "-force_key_frames expr:gte(t,n_forced*1)",
        "-c:a aac",
        "-ac 2",
        "-movflags +faststart",
    ):
        assert part in text, part
    with pytest.raises(InvalidSettingError):
        proxy_args(Path("x"), Path("y"), has_video=False, has_audio=False, params=ProxyParams())

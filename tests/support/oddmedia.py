"""Generators for bad files and for odd-but-valid media (small, a few seconds each)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.synth import speak

SINE = ["-f", "lavfi", "-i", "sine=frequency=300:duration=3:sample_rate=48000"]


def _src(spec: str) -> list[str]:
    return ["-f", "lavfi", "-i", spec]


def bad_files(dest: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, a word the error must contain)."""
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str]] = {}
    p = dest / "empty.mp4"
    p.write_bytes(b"")
    out["empty"] = (p, "empty")
    p = dest / "notes.mp4"
    p.write_text("Shot list\n1. harbour wide\n2. crane close-up\n" * 40)
    out["text named mp4"] = (p, "not a media file")
    data = good.read_bytes()
    p = dest / "truncated.mp4"
    p.write_bytes(data[: len(data) * 2 // 3])
    out["truncated mp4"] = (p, "truncated")
    p = dest / "random.mkv"
    p.write_bytes(os.urandom(200_000))
    out["random bytes mkv"] = (p, "")
    p = dest / "picture.mov"
    run_ffmpeg(
        [
            "-y",
            *_src("testsrc2=size=320x240"),
            "-frames:v",
            "1",
            "-f",
            "image2",
            "-c:v",
            "png",
            str(p),
        ],
        what="png",
    )
    out["image renamed mov"] = (p, "still image")
    return out


def odd_media(dest: Path) -> dict[str, Path]:
    """Valid but unusual files; names include spaces, non-ASCII and shell characters."""
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def make(name: str, args: list[str]) -> Path:
        p = dest / name
        run_ffmpeg(["-y", *args, str(p)], what=name)
        return p

    out["no audio"] = make(
        "no audio.mp4", [*_src("testsrc2=size=320x240:rate=25:duration=3"), "-c:v", "libx264"]
    )
    wav = dest / "speech.wav"
    speak("This recording has no pictures at all, only a voice.", wav)
    out["audio only"] = make("voice memo (ünïcode).m4a", ["-i", str(wav), "-c:a", "aac"])
    out["vfr"] = make(
        "vfr $(touch pwned).mp4",
        [
            *_src("testsrc2=size=320x240:rate=30:duration=4"),
            *_src("sine=frequency=300:duration=6:sample_rate=48000"),
            "-vf",
            "setpts='if(lt(T,2),PTS,PTS*2)'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
        ],
    )
    plain = make(
        "plain.mov",
        [
            *_src("smptebars=size=320x240:rate=30:duration=3"),
            *SINE,
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
    out["rotated phone clip"] = make(
        "phone; rm -rf ~.mov", ["-display_rotation", "90", "-i", str(plain), "-c", "copy"]
    )
    plain.unlink()
    out["10-bit 853x480"] = make(
        "ten bit 853x480.mp4",
        [
            *_src("color=c=teal:size=853x480:rate=24:duration=3,drawgrid=w=40:h=40"),
            *SINE,
            "-pix_fmt",
            "yuv444p10le",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
    out["mkv"] = make(
        "clip.mkv",
        [
            *_src("mandelbrot=size=320x240:rate=25"),
            *SINE,
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
        ],
    )
    out["webm"] = make(
        "clip.webm",
        [
            *_src("rgbtestsrc=size=320x240:rate=25:duration=3"),
            *SINE,
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "300k",
            "-deadline",
            "realtime",
            "-c:a",
            "libopus",
            "-shortest",
        ],
    )
    traversal = dest / "sub"
    traversal.mkdir(exist_ok=True)
    src = make(
        "traversal-src.mp4",
        [
            *_src("yuvtestsrc=size=320x240:rate=25:duration=3"),
            *SINE,
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
    weird = traversal / "..%2F..%2Fetc%2Fpasswd.mp4"
    shutil.move(src, weird)
    out["traversal-looking name"] = weird
    return out

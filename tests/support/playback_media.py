"""Footage browsers cannot play as it is (and some they can), a few seconds each, with a tone."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from genesis_pipeline.media.ffmpeg import ffmpeg_exe, run_ffmpeg

TONE = ["-f", "lavfi", "-i", "sine=frequency=300:duration={d}:sample_rate=48000"]
# Irregular frame times: steps of 40, 50 and 20 ms, and a 1.5 s hold after frame 50.
VFR_PTS = "(N/25+0.01*mod(N,3)+if(gte(N,50),1.5,0))/TB"


@functools.cache
def has_encoder(name: str) -> bool:
    """Whether the ffmpeg in use can encode with ``name`` (libx265 is not in every build)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.strip())


def _video(spec: str, d: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"{spec}:duration={d}", *[a.format(d=d) for a in TONE]]


# name -> (file name, ffmpeg arguments between the inputs and the output, seconds)
RECIPES: dict[str, tuple[str, list[str], float]] = {
    "h264": ("h264.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"], 3.0),
    "mpeg4": ("mpeg4 part2.mp4", ["-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac"], 3.0),
    "prores": ("prores.mov", ["-c:v", "prores_ks", "-c:a", "pcm_s16le"], 3.0),
    "hevc": ("hevc.mp4", ["-c:v", "libx265", "-tag:v", "hvc1", "-c:a", "aac"], 3.0),
    "h264 10-bit": (
        "ten bit.mp4",
        ["-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-c:a", "aac"],
        3.0,
    ),
}


def make_clip(dest: Path, name: str, size: str = "320x240", rate: int = 25) -> Path:
    """One of :data:`RECIPES` (or ``vfr mpeg4``, ``hevc phone``, ``pcm mov audio``) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if name == "vfr mpeg4":
        # Every 4th frame of a 100 fps source, re-timed to irregular steps; encoder clock in ms
        # so the times survive exactly.
        out = dest / "vfr mpeg4.mov"
        args = [
            *_video("testsrc2=size=320x240:rate=100", 6.0),
            "-vf",
            f"select='not(mod(n,4))',setpts='{VFR_PTS}'",
            "-fps_mode",
            "passthrough",
            "-enc_time_base",
            "1:1000",
            "-c:v",
            "mpeg4",
            "-q:v",
            "4",
            "-c:a",
            "pcm_s16le",
            "-shortest",
        ]
    elif name == "hevc phone":
        # Portrait phone footage: HEVC stored landscape with a 90° display rotation.
        out = dest / "hevc phone.mov"
        plain = make_clip(dest, "hevc")
        run_ffmpeg(
            ["-y", "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(out)],
            what=name,
        )
        return out
    elif name == "pcm mov audio":
        out = dest / "voice pcm.mov"
        args = [*[a.format(d=3.0) for a in TONE], "-c:a", "pcm_s16le"]
    else:
        file, codec_args, d = RECIPES[name]
        out = dest / file
        args = [*_video(f"testsrc2=size={size}:rate={rate}", d), *codec_args, "-shortest"]
    run_ffmpeg(["-y", *args, str(out)], what=name)
    return out

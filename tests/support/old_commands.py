"""ffmpeg command lines as they were written by hand before ffmpeg-python built them (frozen
from genesis_pipeline/stages/proxy.py and stages/narration.py at f964274), kept only to prove
that the new ones make the same files (``tests/stages/test_ffmpeg_commands.py``)."""

from __future__ import annotations

from pathlib import Path

from genesis_pipeline.stages.proxy import ProxyParams


def old_proxy_args(
    source: Path, out: Path, *, has_video: bool, has_audio: bool, params: ProxyParams
) -> list[str]:
    args = ["-y", "-i", str(source), "-sn", "-dn", "-map_chapters", "-1"]
    if has_video:
        fit = f"min(1,{params.long_side}/max(iw,ih))"
        scale = f"scale='trunc(iw*{fit}/2)*2':'trunc(ih*{fit}/2)*2':flags=fast_bilinear"
        args += [
            "-map", "0:V:0", "-vf", f"{scale},format=yuv420p",
            "-c:v", "libx264", "-preset", params.preset, "-crf", str(params.crf),
            "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-force_key_frames", f"expr:gte(t,n_forced*{params.keyframe_s:g})",
            "-fps_mode", "passthrough",
        ]  # fmt: skip
    else:
        args += ["-vn"]
    if has_audio:
        args += [
            "-map", "0:a:0", "-c:a", "aac", "-b:a", f"{params.audio_kbps}k",
            "-ac", str(params.audio_channels),
        ]  # fmt: skip
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return args


def old_voiceover_args(src: Path, tmp: Path, channels: int) -> list[str]:
    return [
        "-y", "-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-ac", str(channels), "-ar", "48000", "-c:a", "pcm_s16le",
        "-f", "wav", str(tmp),
    ]  # fmt: skip

"""Stills: single frames of a video at given times, written as small JPEGs by one ffmpeg."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genesis_pipeline.errors import MediaToolError
from genesis_pipeline.media.ffmpeg import run_ffmpeg


def grab_stills(
    video: Path, times_s: Sequence[float], out_dir: Path, *, width: int = 160, quality: int = 5
) -> list[Path]:
    """Write the frame shown at each of ``times_s`` (the first frame at or after it) to
    ``out_dir/still-<k>.jpg``, ``width`` pixels wide (never upscaled); one ffmpeg process
    seeks once per time (an input each), so a few stills of a long file cost a few decodes
    of a GOP, not a decode of the file.

    Raises:
        MediaToolError: ffmpeg failed (an unreadable file, a time past its end).
        ToolNotFoundError: ffmpeg is missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    args: list[str | Path] = []
    outputs: list[str | Path] = []
    paths = []
    for k, t in enumerate(times_s):
        args += ["-ss", f"{max(float(t), 0.0):.6f}", "-i", video]
        path = out_dir / f"still-{k:02d}.jpg"
        paths.append(path)
        outputs += [
            "-map", f"{k}:v:0", "-frames:v", "1",
            "-vf", f"scale='min({int(width)},iw)':-2", "-q:v", str(int(quality)),
            "-y", path,
        ]  # fmt: skip
    if not paths:
        return []
    run_ffmpeg([*args, *outputs], what=f"stills of {video.name}", timeout_s=60)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise MediaToolError(f"stills of {video.name}", f"no frame at {missing[0].stem}")
    return paths

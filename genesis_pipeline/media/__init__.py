"""Media helpers: ffmpeg location and invocation, PyAV probing, audio utilities."""

from genesis_pipeline.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from genesis_pipeline.media.probe import MediaInfo, probe

__all__ = ["MediaInfo", "ffmpeg_exe", "probe", "run_ffmpeg"]

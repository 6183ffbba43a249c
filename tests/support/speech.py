"""A long recording for the span tests: two spoken sentences far apart, silence between them,
so it is long enough to be cut into spans yet costs seconds to transcribe (VAD skips silence).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.media.synth import speak
from genesis_pipeline.stages.transcribe import SEEK_S, SPAN_S

FIRST = "The first sentence is spoken at the very start of the recording."
SECOND = "The second sentence comes five minutes later, after a long silence."


def long_recording(folder: Path) -> tuple[Path, float]:
    """``(path, duration_s)`` of a 16 kHz mono WAV a little longer than a span plus its seek
    window (two spans): FIRST at 1 s, SECOND just after the first span's cut."""
    a, b = folder / "first.wav", folder / "second.wav"
    speak(FIRST, a, words_per_minute=130)
    speak(SECOND, b, words_per_minute=130)
    duration = SPAN_S + SEEK_S + 10.0
    out = folder / "long-recording.wav"
    graph = (
        "[0]adelay=1000:all=1,apad=whole_dur=300[x];"
        f"[x][1]concat=n=2:v=0:a=1,apad=whole_dur={duration}[out]"
    )
    subprocess.run(
        [
            *(ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(a), "-i", str(b)),
            *("-filter_complex", graph, "-map", "[out]", "-ar", "16000", "-ac", "1", str(out)),
        ],
        check=True,
    )
    return out, duration

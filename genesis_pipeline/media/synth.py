"""Synthetic footage with known ground truth, for tests, benchmarks and the demo.

Shots come from ffmpeg's test sources with hard cuts at known times; speech comes from
espeak-ng reading a known script. Everything is generated locally; nothing is downloaded.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from genesis_pipeline.errors import ToolNotFoundError
from genesis_pipeline.media.ffmpeg import run_ffmpeg

# Sources that look nothing like each other, so every join is an unambiguous hard cut.
SOURCES: tuple[str, ...] = (
    "testsrc2",
    "smptebars",
    "mandelbrot",
    "rgbtestsrc",
    "smptehdbars",
    "testsrc",
    "yuvtestsrc",
    "pal100bars",
)

DEFAULT_SCRIPT = (
    "Genesis turns raw footage into a reviewed rough cut. "
    "The editor uploads the clips and the pipeline transcribes every word. "
    "Scenes are detected at each hard cut and a preview frame is captioned. "
    "Reviewers approve the best scenes and render the final video."
)


@dataclass(frozen=True, slots=True)
class Shot:
    source: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class Footage:
    """A generated clip and its ground truth."""

    path: Path
    duration_s: float
    fps: int
    width: int
    height: int
    cuts_s: tuple[float, ...]
    shots: tuple[Shot, ...]
    script: str | None = None
    speech_start_s: float = 0.0
    speech_end_s: float | None = None
    tone_hz: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def ground_truth(self) -> dict[str, object]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    def write_ground_truth(self, path: Path | None = None) -> Path:
        out = path or self.path.with_suffix(".truth.json")
        out.write_text(json.dumps(self.ground_truth(), indent=2))
        return out


class _Truth(Protocol):
    @property
    def fps(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def cuts_s(self) -> tuple[float, ...]: ...


def scene_frames(truth: _Truth) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges of every shot of generated footage (its ground truth)."""
    bounds = [0, *(round(c * truth.fps) for c in truth.cuts_s), round(truth.duration_s * truth.fps)]
    return list(itertools.pairwise(bounds))


def espeak_exe() -> str:
    """Raises ToolNotFoundError when espeak-ng is not installed."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if not exe:
        raise ToolNotFoundError("espeak-ng: not installed (apt-get install espeak-ng)")
    return exe


def speak(text: str, out_wav: Path, *, words_per_minute: int = 150, voice: str = "en-us") -> float:
    """Synthesise ``text`` to a WAV file with espeak-ng; returns its duration in seconds."""
    subprocess.run(
        [espeak_exe(), "-v", voice, "-s", str(words_per_minute), "-w", str(out_wav), text],
        check=True,
        capture_output=True,
    )
    import av

    with av.open(str(out_wav)) as c:
        s = c.streams.audio[0]
        if s.duration and s.time_base:
            return float(s.duration * s.time_base)
        return float(c.duration or 0) / 1e6


def shots_for(cut_every_s: Sequence[float], sources: Sequence[str] = SOURCES) -> list[Shot]:
    """Shots of the given durations, cycling through distinct sources."""
    return [Shot(sources[i % len(sources)], d) for i, d in enumerate(cut_every_s)]


def make_footage(
    out: Path,
    shots: Sequence[Shot],
    *,
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
    script: str | None = None,
    speech_start_s: float = 0.5,
    words_per_minute: int = 150,
    more_speech: Sequence[tuple[float, str]] = (),
    tone_hz: float | None = None,
    tone_level: float = 0.1,
    audio: bool = True,
    vcodec_args: Sequence[str] = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23"),
    container_args: Sequence[str] = (),
    gop: int | None = None,
) -> Footage:
    """Generate a clip of ``shots`` joined by hard cuts, with optional speech and tone.

    Each shot's duration is rounded to whole frames, so cut times are exact frame times.
    ``more_speech`` adds ``(start_s, text)`` lines after ``script``; every spoken part's
    ``(start_s, end_s, text)`` is kept in ``Footage.extra["speech_parts"]``.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    frames = [max(1, round(s.duration_s * fps)) for s in shots]
    shots = [Shot(s.source, n / fps) for s, n in zip(shots, frames, strict=True)]
    duration = sum(frames) / fps
    cuts, t = [], 0
    for n in frames[:-1]:
        t += n
        cuts.append(round(t / fps, 6))

    args: list[str] = ["-y"]
    for s, n in zip(shots, frames, strict=True):
        args += ["-f", "lavfi", "-t", f"{n / fps}", "-i", f"{s.source}=size={w}x{h}:rate={fps}"]
    labels = "".join(f"[{i}:v]" for i in range(len(shots)))
    graph = [f"{labels}concat=n={len(shots)}:v=1:a=0,format=yuv420p[v]"]
    speech_end = None
    parts: list[tuple[float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="genesis-synth-") as tmp:
        audio_inputs: list[str] = []
        if audio:
            n_in = len(shots)
            lines = ([(speech_start_s, script)] if script else []) + list(more_speech)
            for k, (start, text) in enumerate(lines):
                wav = Path(tmp) / f"speech{k}.wav"
                speech_len = speak(text, wav, words_per_minute=words_per_minute)
                parts.append((start, start + speech_len, text))
                speech_end = max(speech_end or 0.0, start + speech_len)
                args += ["-i", str(wav)]
                delay_ms = round(start * 1000)
                graph.append(f"[{n_in}:a]aresample=48000,adelay={delay_ms}:all=1[sp{k}]")
                audio_inputs.append(f"[sp{k}]")
                n_in += 1
            if tone_hz:
                args += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=48000"]
                graph.append(f"[{n_in}:a]volume={tone_level}[tone]")
                audio_inputs.append("[tone]")
                n_in += 1
            if not audio_inputs:
                args += ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"]
                audio_inputs.append(f"[{n_in}:a]")
            mix = "".join(audio_inputs)
            graph.append(
                f"{mix}amix=inputs={len(audio_inputs)}:normalize=0:duration=longest,"
                f"apad,atrim=0:{duration},aformat=sample_rates=48000:channel_layouts=mono[a]"
            )
        args += ["-filter_complex", ";".join(graph), "-map", "[v]"]
        if audio:
            args += ["-map", "[a]", "-c:a", "aac", "-b:a", "96k"]
        args += list(vcodec_args)
        if gop:
            args += ["-g", str(gop)]
        args += ["-r", str(fps), "-frames:v", str(sum(frames)), *container_args, str(out)]
        run_ffmpeg(args, what=f"generate {out.name}")
    return Footage(
        path=out,
        duration_s=duration,
        fps=fps,
        width=w,
        height=h,
        cuts_s=tuple(cuts),
        shots=tuple(shots),
        script=" ".join(t for _, _, t in parts) or None,
        speech_start_s=parts[0][0] if parts else 0.0,
        speech_end_s=speech_end,
        tone_hz=tone_hz,
        extra={"speech_parts": parts},
    )

"""The render's filter graphs, built with ffmpeg-python, give exactly the frames and samples of
the hand-joined graphs they replaced (``support/old_render_graph.py``, frozen from the code
before): both are run to ``framemd5`` (every frame's and every block of samples' hash) and the
listings compared. Covers splits and seeks, pieces in reverse order, gains and the limiter,
narration with ducking and a fade, conformed and frozen pictures, a silent source, another
output size, the sound-only graph of the smart render (with and without any input file) and the
smart render's per-piece decoders. Also: file names with spaces, quotes, colons and other shell
characters reach ffmpeg intact.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from support.framecode import SR, CodedClip, alternating_times, cfr_times, write_clip
from support.old_render_graph import old_graph, old_video_piece

from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.media.filtergraph import (
    Filter,
    chain,
    command,
    open_input,
    source,
    stream,
)
from genesis_pipeline.media.synth import Footage, scene_frames
from genesis_pipeline.stages.narration import NarrationClip
from genesis_pipeline.stages.render import AssemblyParams, render_cut
from genesis_pipeline.stages.render.layout import lay_out
from genesis_pipeline.stages.render.plan import RenderPlan, plan_render
from genesis_pipeline.stages.render.reencode import cut_graph
from genesis_pipeline.stages.render.x264 import decoder_command
from genesis_pipeline.stages.timeline import CutSegment

BASE = ["-hide_banner", "-nostdin", "-loglevel", "error"]


def run(args: Sequence[str]) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), *BASE, *args], capture_output=True, check=False, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]


def listing(
    prefix: Sequence[str], labels: Sequence[str], kinds: str, work: Path
) -> tuple[bytes, ...]:
    """What the graph outputs: every picture's hash and timestamps (framemd5), and the sound
    as one run of exact float samples (the chunking of audio frames is the scheduler's)."""
    out: list[str] = []
    files: list[Path] = []
    for label, kind in zip(labels, kinds, strict=True):
        audio = kind == "a"
        path = work / f"{len(files)}.{'raw' if audio else 'md5'}"
        out += ["-map", label, "-f", "f32le" if audio else "framemd5", str(path)]
        files.append(path)
    run(["-y", *prefix, *out])
    return tuple(f.read_bytes() for f in files)


def old_listing(
    plan: RenderPlan, params: AssemblyParams, work: Path, *, video: bool, audio: bool
) -> tuple[bytes, ...]:
    inputs, graph, vout, aout = old_graph(plan, plan.clips, params, video=video, audio=audio)
    labels = [f"[{x}]" for x in (vout, aout) if x]
    return listing([*inputs, "-filter_complex", graph], labels, "v" * video + "a" * audio, work)


def new_listing(
    plan: RenderPlan, params: AssemblyParams, work: Path, *, video: bool, audio: bool
) -> tuple[bytes, ...]:
    pictures, sound = cut_graph(plan, params, video=video, audio=audio)
    outputs = [s for s in (pictures, sound) if s is not None]
    args = command(outputs, "-", format="null")
    first = args.index("-map")
    labels = [args[i + 1] for i in range(first, len(args)) if args[i] == "-map"]
    return listing(args[1:first], labels, "v" * video + "a" * audio, work)


def same(
    plan: RenderPlan, params: AssemblyParams, *, video: bool = True, audio: bool = True
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old_dir, new_dir = Path(tmp, "old"), Path(tmp, "new")
        old_dir.mkdir()
        new_dir.mkdir()
        old = old_listing(plan, params, old_dir, video=video, audio=audio)
        new = new_listing(plan, params, new_dir, video=video, audio=audio)
    assert len(old) == int(video) + int(audio)
    assert all(len(x) > 1000 for x in old)
    assert new == old


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of a mono tone sweep: a narration clip."""
    wav = tmp_path_factory.mktemp("graph-voice") / "voice.wav"
    t = np.arange(2 * SR) / SR
    pcm = (0.3 * np.sin(2 * np.pi * (300 + 200 * t) * t) * 32767).astype("<i2")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    return wav


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CodedClip]:
    d = tmp_path_factory.mktemp("graph-coded")
    return {
        "vfr": write_clip(d / "vfr.mp4", *alternating_times(48), clip=1, bframes=False),
        "25": write_clip(d / "c25.mp4", *cfr_times(60, Fraction(25)), clip=3, rate=25),
        "29.97": write_clip(
            d / "c2997.mp4", *cfr_times(90, Fraction(30000, 1001)), clip=4,
            rate=Fraction(30000, 1001),
        ),
    }  # fmt: skip


def scenes(footage: Footage, keep: Sequence[int]) -> list[CutSegment]:
    frames = scene_frames(footage)
    return [CutSegment.of_frames(footage, *frames[i]) for i in keep]


def test_split_seek_reverse_gain_and_limiter(footage: Footage) -> None:
    # 0, 2 in order (one input, split), then 4 after a gap, then 3, 1 backwards (seeked inputs).
    segments = scenes(footage, (0, 2, 4, 3, 1))
    params = AssemblyParams(bed_gain=0.5)
    same(plan_render(segments, params), params)
    same(plan_render(segments, AssemblyParams()), AssemblyParams())


def test_narration_ducking_and_fade(footage: Footage, voice: Path) -> None:
    segments = scenes(footage, (0, 2))
    params = AssemblyParams(narration_gain=0.8, duck_ratio=6.0, duck_release_ms=300.0)
    kept = sum(s.duration_s for s in segments)
    one = [NarrationClip(voice, 1.0, gain=0.7)]
    same(plan_render(segments, params, one), params)
    # Two clips (amix), the second still sounding at the cut's end (faded out).
    two = [*one, NarrationClip(voice, kept - 0.8)]
    plan = plan_render(segments, params, two)
    assert plan.clips[1].delay_samples + plan.clips[1].samples > plan.samples
    same(plan, params)
    # The sound-only graph the smart render encodes when it cannot copy.
    same(plan, params, video=False)


def test_conformed_frozen_and_extended_pictures(coded: dict[str, CodedClip]) -> None:
    mixed = [
        coded["vfr"].segment(4, 40),
        coded["25"].segment(10, 50),
        coded["29.97"].segment(0, 45),
    ]
    frozen = AssemblyParams(extend_s=0.7, extend_with="freeze")
    same(plan_render(mixed, frozen), frozen)
    # Past the end of its file: its last frame held over silence.
    extended = AssemblyParams(extend_s=3.0)
    same(plan_render([coded["25"].segment(20, 50)], extended), extended)


def test_silent_source_other_size_and_sources_only(
    footage: Footage, silent_footage: Footage
) -> None:
    segments = [
        *scenes(silent_footage, (1,)),
        *scenes(footage, (2,)),
        *scenes(silent_footage, (0,)),
    ]
    params = AssemblyParams(width=160, height=120, fps=12.5)
    same(plan_render(segments, params), params)
    # The sound of a cut with no sound at all: a graph that reads no file.
    silent = scenes(silent_footage, (0, 1))
    plan = plan_render(silent, AssemblyParams())
    same(plan, AssemblyParams(), video=False)


def test_smart_decoders_give_the_old_frames(
    footage: Footage, coded: dict[str, CodedClip], tmp_path: Path
) -> None:
    """Each piece the smart render encodes is decoded by its own ffmpeg: the same raw frames
    from the command ffmpeg-python builds as from the hand-written one (``-vf``)."""
    plan = plan_render(
        [*scenes(footage, (1, 3)), coded["vfr"].segment(2, 30)],
        AssemblyParams(width=320, height=180, fps=25, extend_s=0.5, extend_with="freeze"),
    )
    pieces = [p for s in lay_out(plan).encodes for p in s.pieces]
    pieces.append(replace(pieces[0], use_video=False))  # black frames, no file
    assert any(p.conform for p in pieces) and any(p.hold_frame is not None for p in pieces)
    for piece in pieces:
        new = subprocess.run(decoder_command(piece, plan), capture_output=True, check=True)
        old = subprocess.run(old_decoder(piece, plan), capture_output=True, check=True)
        assert len(new.stdout) == piece.frames_out * plan.width * plan.height * 3 // 2
        assert hashlib.sha256(new.stdout).digest() == hashlib.sha256(old.stdout).digest()


def old_decoder(piece, plan: RenderPlan) -> list[str]:
    if piece.use_video:
        seek = piece.seek
        origin = seek[1] if seek is not None else 0
        src = ["-ss", f"{seek[0]:.6f}"] if seek is not None else []
        src += ["-i", str(piece.source.path), "-map", f"0:{piece.source.video_index}"]
        filters = old_video_piece(piece, origin, plan)
    else:
        src = ["-f", "lavfi", "-i", f"color=c=black:s={plan.width}x{plan.height}"]
        filters = ["setsar=1"]
    return [
        ffmpeg_exe(), *BASE, *src, "-vf", ",".join([*filters, "format=yuv420p"]),
        "-frames:v", str(piece.frames_out), "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
    ]  # fmt: skip


def test_graph_without_duplicates_or_merged_nodes() -> None:
    """Two equal silent pieces stay two nodes (ffmpeg-python would merge equal nodes), and two
    inputs of one file with the same options stay two inputs (two decoders)."""
    silence = [
        chain(source(Filter.of("anullsrc", r=SR, cl="mono")), [Filter.of("atrim", end_sample=99)])
        for _ in range(2)
    ]
    a, b = (stream(open_input("/x/same.wav"), "a:0") for _ in range(2))
    args = command([*silence, a, b], "-", format="null")
    assert args.count("-i") == 2
    graph = args[args.index("-filter_complex") + 1]
    assert graph.count("anullsrc") == 2 and graph.count("atrim") == 2


NAMES = ["with space.mp4", 'quote\'s "double".mp4', "colon: semi; comma,.mp4", "$(x) `y` & z!.mp4"]


@pytest.mark.parametrize("name", NAMES)
def test_file_names_with_shell_characters(
    footage: Footage, voice: Path, tmp_path: Path, name: str
) -> None:
    src = tmp_path / name
    shutil.copyfile(footage.path, src)
    vo = tmp_path / f"vo {name}.wav"
    shutil.copyfile(voice, vo)
    seg = CutSegment.of_frames(footage, 25, 75)
    seg = replace(seg, media_path=src)
    out = tmp_path / f"out {name}"
    result = render_cut(
        [seg], out, AssemblyParams(mode="reencode"), narration=[NarrationClip(vo, 0.5)]
    )
    assert result.frames == 50 and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, vo.name, out.name])

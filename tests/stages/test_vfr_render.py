"""Variable-frame-rate and mixed-rate footage in both render modes, measured frame by frame.

Every generated picture carries its clip and frame number, so each output frame is traced to
its source frame, and its time compared with that frame's time on the cut's clock (pieces end
to end by their real spans). The sound is noise, cross-correlated with the source's at the
same place. The policy under test (``stages/cut_plan.py``): a constant-rate render at the rate
covering most of the cut; footage at exactly that rate passes frame for frame (and is copied by
the smart render), everything else is conformed by its timestamps, every picture first shown
within half an output frame of its time, the sound on the cut's clock.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import pytest
from support.framecode import (
    SR,
    CodedClip,
    Measure,
    alternating_times,
    cfr_times,
    dropped_times,
    measure,
    write_clip,
)

from genesis_pipeline.stages.render import AssemblyParams, RenderResult, render_cut
from genesis_pipeline.stages.render.smart import plan_smart

log = logging.getLogger(__name__)

MODES = ("reencode", "smart")
MS = 1e-3
DROPPED = (5, 12, 19, 26, 40, 41, 42, 60, 61, 75)  # slots a 30 fps camera lost


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CodedClip]:
    d = tmp_path_factory.mktemp("vfr")
    return {
        # 72 frames lasting 1/24 and 1/12 s in turn: 4.5 s, the average rate 16 fps.
        "vfr": write_clip(d / "vfr.mp4", *alternating_times(72), clip=1, bframes=False),
        "dropped": write_clip(
            d / "dropped.mp4", *dropped_times(90, 30, DROPPED), clip=2, bframes=False
        ),
        "25": write_clip(d / "c25.mp4", *cfr_times(60, Fraction(25)), clip=3, rate=25),
        "29.97": write_clip(
            d / "c2997.mp4",
            *cfr_times(150, Fraction(30000, 1001)),
            clip=4,
            rate=Fraction(30000, 1001),
        ),
    }


def render(
    pieces: list[tuple[CodedClip, int, int]], out: Path, mode: str
) -> tuple[RenderResult, Measure]:
    segments = [c.segment(a, b) for c, a, b in pieces]
    result = render_cut(segments, out, AssemblyParams(mode=mode))
    m = measure(out, pieces)
    log.info("%s %s: %s", out.name, mode, m.summary())
    return result, m


def output_rate(path: Path) -> Fraction:
    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate
    assert rate is not None, f"{path}: no frame rate"
    return Fraction(rate)


def check_timing(m: Measure, result: RenderResult, *, copied_late: tuple[int, ...] = ()) -> None:
    """Pictures within half an output frame of their time on the cut, none lost, the render as
    long as the kept pieces (to half a frame), sound as long as the pictures (one frame)."""
    half = 0.5 / m.rate
    assert m.foreign == 0
    assert all(abs(e) <= half + MS for e in m.first_error_s), m.first_error_s
    assert m.screen_error_s <= half + MS, m.screen_error_s
    assert result.frames == m.frames
    assert abs(m.duration_s - m.kept_s) <= half + 1e-6, (m.duration_s, m.kept_s)
    assert abs(result.duration_s - m.duration_s) < 1e-9
    assert abs(m.audio_s - m.duration_s) <= 1 / m.rate
    late = copied_late or (0,) * len(m.sound_vs_pictures_s)
    for k, (rel, lag) in enumerate(zip(m.sound_vs_pictures_s, m.sound_lag_s, strict=True)):
        slack = abs(late[k]) / SR + MS
        # The sound is on the cut's clock, or (a piece passed frame for frame) with its
        # pictures; either way within half a frame of every picture.
        assert rel is not None and lag is not None
        assert min(abs(lag), abs(rel)) <= slack, (k, lag, rel)
        assert abs(rel) <= half + slack, (k, rel)


@pytest.mark.parametrize("mode", MODES)
def test_vfr_clip_keeps_every_picture_at_its_time(
    clips: dict[str, CodedClip], tmp_path: Path, mode: str
) -> None:
    """Frames of 1/24 and 1/12 s in turn render at 24 fps (the rate of its shortest frames):
    every picture exactly at its time, the long ones shown twice, the sound in sync, 4.5 s."""
    vfr = clips["vfr"]
    result, m = render([(vfr, 0, vfr.frames)], tmp_path / "vfr.mp4", mode)
    assert output_rate(result.path) == 24
    assert m.frames == 108 and m.dropped == 0
    assert m.max_first_error_s <= MS
    assert abs(m.sound_lag_s[0] or 0) <= MS
    check_timing(m, result)


@pytest.mark.parametrize("mode", MODES)
def test_dropped_frames_are_held_not_closed_up(
    clips: dict[str, CodedClip], tmp_path: Path, mode: str
) -> None:
    """A 30 fps clip that lost 10 frames renders at 30 fps with the frame before each gap held:
    no picture moves earlier, and the render lasts as long as the clip."""
    clip = clips["dropped"]
    # Frames 3..70 of the 80 kept: slots 3..77, a gap of three among them.
    result, m = render([(clip, 3, 70)], tmp_path / "dropped.mp4", mode)
    assert output_rate(result.path) == 30
    assert m.dropped == 0 and m.max_first_error_s <= MS
    assert m.frames == round((clip.time(70) - clip.time(3)) * 30)
    check_timing(m, result)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_rates_conform_to_the_rate_covering_most_of_the_cut(
    clips: dict[str, CodedClip], tmp_path: Path, mode: str
) -> None:
    """25 fps, 30000/1001 fps, VFR and dropped-frame pieces: 29.97 fps covers most of the cut,
    so the render is 30000/1001; its pieces pass frame for frame (and are stream-copied by the
    smart render), the others are conformed; every picture within half a frame of its time on
    the cut, the sound of every piece in sync, the length the kept pieces' sum."""
    c25, ntsc, vfr, dropped = clips["25"], clips["29.97"], clips["vfr"], clips["dropped"]
    pieces = [
        (c25, 5, 55),  # 2.0 s
        (ntsc, 0, 120),  # 4.0 s
        (vfr, 7, 40),  # 2.1 s
        (dropped, 10, 70),  # 2.2 s
        (ntsc, 124, 150),  # 0.9 s
        (vfr, 45, 60),  # 0.9 s
    ]
    result, m = render(pieces, tmp_path / "mixed.mp4", mode)
    assert output_rate(result.path) == Fraction(30000, 1001)
    assert m.dropped == 0
    late: tuple[int, ...] = ()
    if mode == "smart":
        plan = plan_smart([c.segment(a, b) for c, a, b in pieces])
        assert result.frames_copied >= 96  # most of the 29.97 fps pieces
        assert {s.source for s in plan.spans if s.kind == "copy"} == {ntsc.path}
        late = plan.sound_late
    check_timing(m, result, copied_late=late)

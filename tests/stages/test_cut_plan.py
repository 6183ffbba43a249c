"""The cut on the output's clock: the frame-rate policy, cumulative rounding, locked and
conformed pieces, seeks by real timestamps."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from support.framecode import alternating_times, cfr_times, write_clip

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.media.timestamps import FrameTimes
from genesis_pipeline.stages.render.plan import Source, output_rate, plan_cut, seek_point
from genesis_pipeline.stages.timeline import CutSegment

NTSC = Fraction(30000, 1001)


def fake(name: str, rate: Fraction | None, nominal: Fraction, seconds: float) -> Source:
    step = 1 / float(nominal)
    n = round(seconds / step)
    clock = FrameTimes(tuple(i * step for i in range(n)), n * step, rate, nominal)
    return Source(Path(name), 0, 1, 1, 0.0, clock)


def seg(src: Source, start: int, end: int) -> CutSegment:
    assert src.clock is not None
    return CutSegment(src.path.stem, src.path, start, end, float(src.clock.nominal_rate), 0.0, 1.0)


def test_one_constant_rate_is_kept() -> None:
    pal = fake("pal.mp4", Fraction(25), Fraction(25), 10)
    assert output_rate([seg(pal, 0, 100), seg(pal, 150, 200)], {pal.path: pal}) == 25


def test_mixed_rates_take_the_rate_covering_most_of_the_cut() -> None:
    pal = fake("pal.mp4", Fraction(25), Fraction(25), 10)
    ntsc = fake("ntsc.mp4", NTSC, NTSC, 10)
    phone = fake("phone.mp4", None, Fraction(30), 10)  # variable rate counting as 30
    sources = {s.path: s for s in (pal, ntsc, phone)}
    # 2 s at 25 first, then 3 s at 29.97: 29.97 (the first piece's rate used to win).
    cut = [seg(pal, 0, 50), seg(ntsc, 0, 90)]
    assert output_rate(cut, sources) == NTSC
    # Two stretches of variable-rate footage add up: 1.2 + 1.2 s at "30" beat 2 s at 25.
    cut = [seg(pal, 0, 50), seg(phone, 0, 36), seg(phone, 100, 136)]
    assert output_rate(cut, sources) == 30
    # A tie (to the millisecond) goes to the footage that comes first.
    assert output_rate([seg(pal, 0, 50), seg(phone, 0, 60)], sources) == 25
    assert output_rate([seg(phone, 0, 60), seg(pal, 0, 50)], sources) == 30
    # A rate asked for wins; 29.97 means 30000/1001.
    assert output_rate(cut, sources, fps=29.97) == NTSC
    assert output_rate(cut, sources, fps=12.5) == Fraction(25, 2)


def test_seek_lands_between_frames_and_before_the_sound() -> None:
    phone = fake("phone.mp4", None, Fraction(24), 4)
    assert seek_point(phone, 0, None) is None
    t, first = seek_point(phone, 10, None) or (0.0, 0)
    assert first == 10 and t == pytest.approx(9.5 / 24)
    # Sound needed from a frame and a half earlier: the seek moves back two frames.
    t, first = seek_point(phone, 10, 8.5 / 24) or (0.0, 0)
    assert first == 8 and t == pytest.approx(7.5 / 24)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("plan")
    return {
        "vfr": write_clip(d / "vfr.mp4", *alternating_times(48), clip=1, bframes=False),
        "pal": write_clip(d / "pal.mp4", *cfr_times(50, Fraction(25)), clip=2, rate=25),
    }


def test_pieces_follow_each_other_by_their_real_spans(files: dict) -> None:
    vfr, pal = files["vfr"], files["pal"]
    pieces = [(pal, 0, 30), (vfr, 3, 20), (pal, 33, 50), (vfr, 21, 22), (vfr, 25, 30)]
    plan = plan_cut([c.segment(a, b) for c, a, b in pieces])
    assert plan.rate == 25  # 47 frames at 25 fps (1.88 s) beat 1.5 s of VFR counting as 24
    spans = [c.time(b) - c.time(a) for c, a, b in pieces]
    assert plan.kept_s == pytest.approx(sum(spans))
    assert plan.frames == math.floor(plan.kept_s * 25 + 0.5)
    assert abs(plan.duration_s - plan.kept_s) <= 0.5 / 25 + 1e-9
    # The fourth piece is one frame of 1/12 s: it keeps its place (2 output frames).
    cut_s = 0.0
    frames = 0
    for piece, span in zip(plan.pieces, spans, strict=True):
        assert piece.conform == (piece.source.path == vfr.path)
        assert frames / 25 - cut_s == pytest.approx(piece.shift_s, abs=1e-9)
        assert abs(piece.shift_s) <= 0.5 / 25
        if not piece.conform:
            assert piece.frames_out == piece.seg.frames
        frames += piece.frames_out
        cut_s += span
    assert frames == plan.frames
    assert sum(p.samples_out for p in plan.pieces) == plan.samples == plan.frames * 48000 // 25


def test_a_piece_shorter_than_half_a_frame_is_left_out(files: dict) -> None:
    vfr = files["vfr"]
    plan = plan_cut([vfr.segment(0, 10), vfr.segment(12, 13)], fps=5)
    # Frame 12 lasts 1/24 s, under half a frame at 5 fps.
    assert [p.seg.start_frame for p in plan.pieces] == [0]
    with pytest.raises(InvalidSettingError, match="less than one frame"):
        plan_cut([vfr.segment(12, 13)], fps=5)

"""Frame timestamps: constant or variable rate, and the standard rate variable-rate footage
counts as."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from support.framecode import alternating_times, cfr_times, dropped_times, write_clip

from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.timestamps import (
    constant_rate,
    peak_standard_rate,
    read_frame_times,
)

NTSC = Fraction(30000, 1001)


def test_constant_rate_survives_container_rounding() -> None:
    # 30000/1001 fps in a millisecond time base (Matroska): 33 or 34 ticks per frame.
    ms = np.round(np.arange(300) * 1001 / 30).astype(np.int64)
    assert constant_rate(ms, Fraction(1, 1000)) == NTSC
    assert constant_rate(np.arange(50, dtype=np.int64) * 512, Fraction(1, 12800)) == 25
    # An odd rate that is no standard one is kept as measured.
    assert constant_rate(np.arange(40, dtype=np.int64) * 8, Fraction(1, 100)) == Fraction(25, 2)


def test_variable_rates_are_not_constant() -> None:
    times, _ = alternating_times(40)
    ticks = np.round(np.array(times) * 120000).astype(np.int64)
    assert constant_rate(ticks, Fraction(1, 120000)) is None
    times, _ = dropped_times(60, 30, (7, 20, 21))
    ticks = np.round(np.array(times) * 90000).astype(np.int64)
    assert constant_rate(ticks, Fraction(1, 90000)) is None
    assert constant_rate(np.array([5], dtype=np.int64), Fraction(1, 25)) is None


def test_variable_rate_counts_as_the_standard_rate_nearest_its_peak() -> None:
    assert peak_standard_rate(np.diff(alternating_times(40)[0])) == 24  # average 16
    assert peak_standard_rate(np.diff(dropped_times(90, 30, range(3, 90, 4))[0])) == 30
    # A phone slowing from 30 to 20 fps in low light (average 25.7): 30.
    slow = np.array([1 / 30] * 60 + [1 / 20] * 40)
    assert peak_standard_rate(slow) == 30
    # Timestamps jittering +-2 ms around 1/30 s: still 30, not the next rate up.
    jitter = 1 / 30 + np.random.default_rng(1).uniform(-0.002, 0.002, 300)
    assert peak_standard_rate(jitter) == 30
    assert peak_standard_rate(np.array([1001 / 60000] * 10)) == Fraction(60000, 1001)


def test_read_frame_times(tmp_path: Path) -> None:
    times, end = alternating_times(12)
    vfr = write_clip(tmp_path / "vfr.mp4", times, end, clip=1, audio=False, bframes=False)
    ft = read_frame_times(vfr.path, 0)
    assert ft.frames == 12 and not ft.is_constant and ft.nominal_rate == 24
    assert ft.times == pytest.approx(times, abs=1e-6)
    assert ft.end_s == pytest.approx(end, abs=1e-6)
    assert ft.span(2, 6) == pytest.approx(times[6] - times[2])
    assert ft.time(12) == ft.time(99) == ft.end_s

    ntsc = write_clip(tmp_path / "ntsc.mp4", *cfr_times(30, NTSC), clip=2, rate=NTSC)
    ft = read_frame_times(ntsc.path, 0)
    assert ft.rate == NTSC == ft.nominal_rate and ft.end_s == pytest.approx(30 * 1001 / 30000)

    mkv = tmp_path / "ntsc.mkv"
    run_ffmpeg(["-y", "-i", ntsc.path, "-c", "copy", mkv], what="remux")
    assert read_frame_times(mkv, 0).rate == NTSC  # millisecond timestamps


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InvalidMediaError, match=r"bad\.mp4"):
        read_frame_times(bad, 0)

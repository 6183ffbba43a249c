"""How a render's sound is described: the run's render note and the Render page's history."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from genesis_pipeline.runs.steps.render import _note
from genesis_pipeline.services.render_view import _sound_line
from genesis_pipeline.stages.render import RenderResult


def result(copied_s: float, offset_ms: float) -> RenderResult:
    return RenderResult(
        Path("cut.mp4"), 225.2, 6756, 1280, 720, 30.0, False,
        frames_copied=6086, frames_encoded=670, sound_copied_s=copied_s, sound_offset_ms=offset_ms,
    )  # fmt: skip


def test_render_note() -> None:
    assert _note("smart", result(223.9, 9.33)) == (
        "smart: 6086 of 6756 frames stream-copied, 224 of 225 s of sound "
        "(at most 9.3 ms off the pictures)"
    )
    assert _note("smart", result(0, 0)) == "smart: 6086 of 6756 frames stream-copied, sound encoded"
    assert _note("reencode", result(0, 0)) == "full re-encode"
    vfr = replace(result(0, 0), fps=24.0, frames_conformed=108)
    assert _note("reencode", vfr) == (
        "full re-encode; 24 fps: 108 frames conformed from variable- or other-rate footage by "
        "their timestamps"
    )
    burned = "subtitles burned in: full re-encode"
    assert _note("reencode", result(0, 0), subtitles="burned", asked="reencode") == burned
    assert _note("reencode", result(0, 0), subtitles="burned", asked="smart") == (
        f"{burned} instead of smart (text drawn into every picture: none can be copied)"
    )
    assert _note("reencode", result(0, 0), subtitles="soft") == (
        "full re-encode, a soft subtitle track"
    )


def test_history_sound_line() -> None:
    assert _sound_line({"copied_s": 223.9, "offset_ms": 9.33}) == "224 s copied, at most 9.3 ms off"
    assert _sound_line({"copied_s": 0.0, "offset_ms": 0.0}) == "encoded, in sync to the sample"
    assert _sound_line({}) == "encoded, in sync to the sample"  # renders from before

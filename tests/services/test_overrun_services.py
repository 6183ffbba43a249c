"""A voiceover that runs past the cut's end, through the services and the pipeline: reported
before rendering, the project's choice (trim, extend, freeze) saved and part of the render's
cache key, the render and its run note doing what was chosen, one click to move it earlier."""

from __future__ import annotations

import logging

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.media.probe import probe
from genesis_pipeline.media.synth import speak
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import (
    add_voiceover,
    list_voiceovers,
    narration_clips,
    remove_voiceover,
    set_voiceover_offset,
)
from genesis_pipeline.services.overrun import move_to_fit, overrun_report
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.render_settings import (
    get_narration_overrun,
    render_key,
    set_narration_overrun,
)
from genesis_pipeline.services.render_view import render_history, render_overview
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql

CUT_S = 6.0  # the silent clip, both scenes approved
LATE_AT = 5.0


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory, silent_footage):
    """A 6 s cut with a whole-cut voiceover starting 1 s before its end."""
    home = tmp_path_factory.mktemp("overrun-home")
    store = Store(Settings(home=home, caption_model=str(home / "no-model"), offline="1"))
    pid = create_project(store, "Overrun", actor=ADMIN).id
    add_media(store, pid, [silent_footage.path], actor=ADMIN)
    wav = home / "late.wav"
    speak("A closing line that is too long for the end.", wav)
    vo = add_voiceover(store, pid, wav, offset_s=LATE_AT, original_name="closing.wav", actor=ADMIN)
    assert vo.duration_s > 2.0
    assert ProjectPipelineService(store).run(pid, RunOptions(render=False)).status == "succeeded"
    return store, pid, vo


@pytest.fixture()
def project(late):
    """The project with the voiceover back at its late start and the default choice."""
    store, pid, vo = late
    set_voiceover_offset(store, pid, vo.id, LATE_AT, actor=ADMIN)
    set_narration_overrun(store, pid, "trim", actor=ADMIN)
    return late


def run(store: Store, pid: int, **options) -> dict:
    report = ProjectPipelineService(store).run(pid, RunOptions(**options))
    assert report.status == "succeeded", report.error
    return {d["step"]: d for d in report.step_details}


def test_overrun_is_reported_before_rendering(project, caplog) -> None:
    store, pid, vo = project
    report = overrun_report(store, pid)
    assert report.choice == "trim" and report.cut_s == pytest.approx(CUT_S)
    (o,) = report.overruns
    assert (o.file, o.target, o.start_s) == ("closing.wav", "whole cut", LATE_AT)
    assert o.overrun_s == pytest.approx(LATE_AT + vo.duration_s - CUT_S, abs=1e-3)
    assert o.fit_start_s == o.fit_offset_s == pytest.approx(CUT_S - vo.duration_s - 0.05, abs=1e-3)
    assert report.extend_s == 0.0
    assert report.action == "trimmed, faded out over its last 0.5 s in the cut"
    # Planned on every page view: no log line each time (it was a warning, 15 times a visit).
    with caplog.at_level(logging.INFO, logger="genesis_pipeline"):
        for _ in range(15):
            narration_clips(store, load_cut(store, pid), list_voiceovers(store, pid))
    assert not [r for r in caplog.records if "past the end" in r.getMessage()]


def test_trim_fades_it_out_and_says_so(project) -> None:
    store, pid, vo = project
    overrun = LATE_AT + vo.duration_s - CUT_S
    steps = run(store, pid)
    assert steps["narration"]["note"] == (
        f"voiceover closing.wav runs {overrun:.1f} s past the cut's end: trimmed, faded out "
        "over its last 0.5 s in the cut"
    )
    assert steps["narration"]["counts"]["overrun_s"] == pytest.approx(overrun, abs=1e-3)
    note = steps["render"]["note"]
    assert f"voiceover closing.wav ran {overrun:.1f} s past the cut's end: trimmed" in note
    latest = render_history(store, pid)[0]
    assert latest["duration_s"] == pytest.approx(CUT_S)
    assert render_overview(store, pid).latest_is_current


@pytest.mark.parametrize(
    ("choice", "said"),
    [("extend", "the last scene ran on"), ("freeze", "the last picture held")],
)
def test_extend_or_freeze_lengthens_the_render(project, choice: str, said: str) -> None:
    store, pid, vo = project
    trim_key = render_key(store, pid)
    overrun = LATE_AT + vo.duration_s - CUT_S
    steps = run(store, pid, narration_overrun=choice)  # the CLI's --narration-overrun
    assert get_narration_overrun(store, pid) == choice
    assert f"{overrun + 0.5:.1f} s" in steps["render"]["note"] and said in steps["render"]["note"]
    latest = render_history(store, pid)[0]
    assert latest["duration_s"] == pytest.approx(CUT_S + overrun + 0.5, abs=0.05)
    assert latest["cache_key"] == render_key(store, pid) != trim_key
    assert probe(latest["path"]).duration_s == pytest.approx(CUT_S + overrun + 0.5, abs=0.05)


def test_move_it_earlier_in_one_click(project) -> None:
    store, pid, vo = project
    before = render_key(store, pid)
    start = move_to_fit(store, pid, vo.id, actor=ADMIN)
    assert start == pytest.approx(CUT_S - vo.duration_s - 0.05, abs=1e-3)
    assert next(v for v in list_voiceovers(store, pid) if v.id == vo.id).offset_s == start
    assert overrun_report(store, pid).overruns == ()
    assert render_key(store, pid) != before
    assert move_to_fit(store, pid, vo.id, actor=ADMIN) == pytest.approx(
        start
    )  # nothing left to move


def test_a_voiceover_longer_than_the_cut_cannot_be_moved(project, tmp_path) -> None:
    store, pid, _vo = project
    wav = tmp_path / "long.wav"
    text = "This narration goes on and on, for much longer than the six seconds of the cut."
    speak(f"{text} {text}", wav)
    long_vo = add_voiceover(store, pid, wav, chapter_idx=0, original_name="long.wav", actor=ADMIN)
    assert long_vo.duration_s > CUT_S
    try:
        by_file = {o.file: o for o in overrun_report(store, pid).overruns}
        assert by_file["long.wav"].fit_start_s is None
        with pytest.raises(
            InvalidSettingError, match=r"long\.wav lasts .* longer than chapter 1 to the cut's end"
        ):
            move_to_fit(store, pid, long_vo.id, actor=ADMIN)
    finally:
        remove_voiceover(store, pid, long_vo.id, actor=ADMIN)


def test_bad_choice_is_refused_and_old_projects_trim(project) -> None:
    store, pid, _vo = project
    with pytest.raises(InvalidSettingError, match="narration overrun: 'fade' is not one of"):
        set_narration_overrun(store, pid, "fade", actor=ADMIN)
    assert get_narration_overrun(store, pid) == "trim"
    # Projects saved before the choice existed have no such key (no migration: settings are
    # JSON, an absent or unknown value reads as the default).
    for stored in (None, "bogus"):
        with store.db.write() as con:
            projects_sql.update_settings(con, pid, {"narration_overrun": stored})
        assert get_narration_overrun(store, pid) == "trim"
        assert overrun_report(store, pid).choice == "trim"

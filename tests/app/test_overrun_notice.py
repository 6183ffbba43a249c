"""A voiceover past the cut's end is said on the Narration and Render pages before rendering,
with the choices (saved for the project) and one click to move it earlier."""

from __future__ import annotations

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception, texts

from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import list_voiceovers, set_voiceover_offset
from genesis_pipeline.services.render_settings import (
    get_narration_overrun,
    set_narration_overrun,
)


@pytest.fixture()
def late_vo(app_project):
    """The fixture project's whole-cut voiceover moved to start 1 s before the cut's end."""
    store, pid = app_project
    vo = next(v for v in list_voiceovers(store, pid) if v.chapter_idx is None)
    cut_s = load_cut(store, pid).duration_s
    set_voiceover_offset(store, pid, vo.id, round(cut_s - 1.0, 3), actor=ADMIN)
    yield vo, cut_s, round(vo.duration_s - 1.0, 1)
    set_voiceover_offset(store, pid, vo.id, vo.offset_s, actor=ADMIN)
    set_narration_overrun(store, pid, "trim", actor=ADMIN)


def test_narration_page_says_it_and_offers_the_choices(make_app, app_project, late_vo) -> None:
    store, pid = app_project
    vo, cut_s, overrun = late_vo
    at = make_app("views/narration.py")
    assert_no_exception(at)
    said = texts(at)
    assert f"runs **{overrun:.1f} s** past the end of the cut ({cut_s:.2f} s)" in said
    assert "Rendered now: trimmed, faded out over its last 0.5 s in the cut" in said
    choice = at.radio(key=f"narr_overrun_choice_{pid}")
    assert choice.value == "trim" and choice.options == [
        "Trim: fade it out at the cut's end",
        "Extend: the last scene runs on in its source",
        "Freeze: hold the last picture under its own sound",
    ]
    choice.set_value("extend").run()
    assert_no_exception(at)
    assert get_narration_overrun(store, pid) == "extend"
    assert f"the last scene runs on {overrun + 0.5:.1f} s in its source" in texts(at)

    at.button(key=f"narr_overrun_fit_{vo.id}").click().run()
    assert_no_exception(at)
    moved = next(v for v in list_voiceovers(store, pid) if v.id == vo.id).offset_s
    assert moved == pytest.approx(cut_s - vo.duration_s - 0.05, abs=1e-3)
    assert "past the end of the cut" not in texts(at)
    assert f"{vo.original_name} now starts at {moved:.2f} s." in texts(at)


def test_render_page_says_it_before_rendering(make_app, app_project, late_vo) -> None:
    _store, pid = app_project
    _vo, cut_s, overrun = late_vo
    at = make_app("views/render.py")
    assert_no_exception(at)
    assert f"runs **{overrun:.1f} s** past the end of the cut ({cut_s:.2f} s)" in texts(at)
    assert at.radio(key=f"render_overrun_choice_{pid}").value == "trim"
    assert at.button(key="render_start") is not None


@pytest.mark.parametrize(
    "page,prefix", [("views/narration.py", "narr"), ("views/render.py", "render")]
)
def test_the_choice_survives_a_look_at_another_page(
    make_app, app_project, late_vo, page, prefix
) -> None:
    """The stored choice is what the radio shows after a round trip, not its first option."""
    store, pid = app_project
    at = make_app(page)
    at.radio(key=f"{prefix}_overrun_choice_{pid}").set_value("freeze").run()
    assert_no_exception(at)
    at.switch_page("views/scenes.py").run()
    at.switch_page(page).run()
    assert_no_exception(at)
    assert at.radio(key=f"{prefix}_overrun_choice_{pid}").value == "freeze"
    assert get_narration_overrun(store, pid) == "freeze"

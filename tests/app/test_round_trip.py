"""Every page's widgets after a look at another page: saved values come back (never a widget's
minimum), a reviewer's unsaved moves come back, and a save after the round trip changes nothing.

Streamlit forgets the value of a widget that a run does not draw, so opening another page used to
drop every value while the pages' "already loaded" markers stayed: Chapters came back with every
slider at its minimum, Narration with every gain at 0.00, and saving wrote those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception

from genesis_pipeline import serde
from genesis_pipeline.services.chapters import current_rules, save_rules
from genesis_pipeline.services.narration import (
    get_mix,
    list_voiceovers,
    set_mix,
    set_voiceover_gain,
)
from genesis_pipeline.services.queries import scenes_table

PAGES = [
    "views/projects.py",
    "views/upload.py",
    "views/run.py",
    "views/transcript.py",
    "views/scenes.py",
    "views/confidence.py",
    "views/chapters.py",
    "views/narration.py",
    "views/render.py",
]
# Widgets that hold a value (buttons, uploaders and data editors hold none to restore).
VALUE_WIDGETS = (
    "slider",
    "select_slider",
    "number_input",
    "toggle",
    "checkbox",
    "selectbox",
    "multiselect",
    "radio",
    "text_input",
    "text_area",
)


def widget_values(at) -> dict[str, Any]:
    """Every keyed value widget on the page (sidebar included), by key."""
    out: dict[str, Any] = {}
    for kind in VALUE_WIDGETS:
        for w in at.get(kind):
            if w.key:
                out[w.key] = w.value
    return out


def widget(at, key: str):
    for kind in VALUE_WIDGETS:
        for w in at.get(kind):
            if w.key == key:
                return w
    raise KeyError(key)


def round_trip(at, page: str, via: str = "views/scenes.py") -> None:
    """Open another page, then come back (as the sidebar does, in the same session)."""
    elsewhere = via if via != page else "views/projects.py"
    at.switch_page(elsewhere).run()
    assert_no_exception(at)
    at.switch_page(page).run()
    assert_no_exception(at)


@pytest.fixture()
def saved_state(app_project):
    """Rules, mix and voiceover gains of the fixture project are put back after the test."""
    store, pid = app_project
    _version, rules = current_rules(store, pid)
    mix = get_mix(store, pid)
    gains = {v.id: v.gain for v in list_voiceovers(store, pid)}
    yield store, pid
    if current_rules(store, pid)[1] != rules:
        save_rules(store, pid, rules, note="restored by test", actor=ADMIN)
    set_mix(store, pid, voiceover_gain=mix.voiceover_gain, bed_gain=mix.bed_gain, actor=ADMIN)
    for vid, gain in gains.items():
        set_voiceover_gain(store, pid, vid, gain, actor=ADMIN)


@pytest.mark.parametrize("page", PAGES)
def test_saved_values_come_back(make_app, saved_state, page: str) -> None:
    at = make_app(page)
    assert_no_exception(at)
    before = widget_values(at)
    round_trip(at, page)
    assert widget_values(at) == before
    round_trip(at, page, via="views/confidence.py")
    assert widget_values(at) == before


def _drafts(store, pid) -> dict[str, dict[str, Any]]:
    """Per page, widgets a reviewer moves without saving (form fields are sent on submit only,
    so they are not drafts)."""
    second_file = int(list(dict.fromkeys(scenes_table(store, pid).media_id))[1])
    return {
        "views/run.py": {"run_render": False},
        "views/transcript.py": {"transcript_search": "scenes"},
        "views/scenes.py": {
            "scene_status": "unreviewed",
            "scene_media": second_file,
            "scene_text": "a",
            "scene_max_conf": 0.9,
            "scene_sort": "lowest confidence first",
            "scene_page_size": 12,
        },
        "views/confidence.py": {"conf_low_n": 5},
        "views/chapters.py": {
            "ch_min": 2.0,
            "ch_max": 50.0,
            "ch_pause": 0.3,
            "ch_sim": 0.35,
            "ch_keep": False,
            "ch_compare": False,
            "ch_note": "shorter, for the trailer",
        },
        "views/narration.py": {"narr_new_offset": 2.5, "narr_target": 0},
    }


@pytest.mark.parametrize(
    "page",
    [
        "views/run.py",
        "views/transcript.py",
        "views/scenes.py",
        "views/confidence.py",
        "views/chapters.py",
        "views/narration.py",
    ],
)
def test_unsaved_moves_come_back(make_app, saved_state, page: str) -> None:
    store, pid = saved_state
    drafts = _drafts(store, pid)[page]
    at = make_app(page)
    for key, value in drafts.items():
        widget(at, key).set_value(value)
        at.run()
        assert_no_exception(at)
    draft = widget_values(at)
    assert {k: draft[k] for k in drafts} == drafts
    round_trip(at, page)
    assert widget_values(at) == draft


def test_chapters_round_trip_then_save_changes_nothing(make_app, saved_state) -> None:
    store, pid = saved_state
    _version, rules = current_rules(store, pid)
    wanted = replace(
        rules, min_chapter_s=2.0, max_chapter_s=5.0, pause_split_s=0.3, caption_similarity=0.2
    )
    version = save_rules(store, pid, wanted, note="round trip", actor=ADMIN)
    shown = {"ch_min": 2.0, "ch_max": 5.0, "ch_pause": 0.3, "ch_sim": 0.2, "ch_keep": True}
    shown["ch_keep"] = wanted.keep_sentences
    at = make_app("views/chapters.py")
    assert {k: widget_values(at)[k] for k in shown} == pytest.approx(shown)
    round_trip(at, "views/chapters.py")
    assert {k: widget_values(at)[k] for k in shown} == pytest.approx(shown)
    assert f"saved version {version}" in " ".join(m.value for m in at.markdown)
    assert not [d for d in at.dataframe if "rule" in d.value.columns], "the rules show changes"
    assert at.button(key="ch_save").disabled
    assert current_rules(store, pid) == (version, wanted)


def test_chapters_show_a_version_saved_elsewhere(make_app, saved_state) -> None:
    """A reviewer's draft stays over a page switch, until someone saves new rules."""
    store, pid = saved_state
    _version, rules = current_rules(store, pid)
    at = make_app("views/chapters.py")
    at.slider(key="ch_min").set_value(4.0).run()
    at.switch_page("views/scenes.py").run()
    newer = replace(rules, min_chapter_s=6.0, pause_split_s=0.5)
    save_rules(store, pid, newer, note="another tab", actor=ADMIN)  # meanwhile, in another browser
    at.switch_page("views/chapters.py").run()
    assert at.slider(key="ch_min").value == 6.0
    assert at.slider(key="ch_pause").value == pytest.approx(0.5)
    assert at.button(key="ch_save").disabled


def test_narration_round_trip_then_apply_changes_nothing(make_app, saved_state) -> None:
    store, pid = saved_state
    set_mix(store, pid, voiceover_gain=1.0, bed_gain=0.5, actor=ADMIN)
    vo = next(v for v in list_voiceovers(store, pid) if v.chapter_idx is None)
    at = make_app("views/narration.py")
    before = widget_values(at)
    assert before["narr_gain"] == 1.0 and before["narr_bed_gain"] == 0.5
    assert before[f"vo_gain_{vo.id}"] == pytest.approx(vo.gain)
    assert before[f"vo_offset_{vo.id}"] == pytest.approx(vo.offset_s)
    round_trip(at, "views/narration.py")
    assert widget_values(at) == before

    at.button(key="narr_mix_apply").click().run()
    assert_no_exception(at)
    assert serde.to_json(get_mix(store, pid)) == {"voiceover_gain": 1.0, "bed_gain": 0.5}
    at.button(key=f"vo_apply_{vo.id}").click().run()
    assert_no_exception(at)
    after = next(v for v in list_voiceovers(store, pid) if v.id == vo.id)
    assert (after.offset_s, after.gain) == (vo.offset_s, vo.gain)


def test_narration_shows_a_mix_saved_elsewhere(make_app, saved_state) -> None:
    store, pid = saved_state
    at = make_app("views/narration.py")
    at.switch_page("views/scenes.py").run()
    set_mix(store, pid, voiceover_gain=0.8, bed_gain=0.4, actor=ADMIN)  # the CLI or another tab
    at.switch_page("views/narration.py").run()
    assert at.number_input(key="narr_gain").value == pytest.approx(0.8)
    assert at.number_input(key="narr_bed_gain").value == pytest.approx(0.4)


def test_a_new_project_starts_without_the_last_ones_search(make_app, app_project) -> None:
    """Filters that name one project's content (a search, a file) do not follow to another."""
    from genesis_pipeline.services.projects import create_project

    store, pid = app_project
    other = create_project(store, "Second project", actor=ADMIN).id
    try:
        at = make_app("views/transcript.py")
        at.text_input(key="transcript_search").set_value("scenes").run()
        at.switch_page("views/scenes.py").run()
        at.text_input(key="scene_text").set_value("bars").run()
        at.selectbox(key="scene_sort").set_value("lowest confidence first").run()
        at.selectbox(key="project_picker").select(other).run()
        at.selectbox(key="project_picker").select(pid).run()
        assert_no_exception(at)
        assert at.text_input(key="scene_text").value == ""
        assert at.selectbox(key="scene_sort").value == "lowest confidence first"  # a preference
        at.switch_page("views/transcript.py").run()
        assert at.text_input(key="transcript_search").value == ""
    finally:
        with store.db.write() as con:
            con.execute("DELETE FROM projects WHERE id = ?", [other])

"""Chapters page: live preview from the rules (no run), invalid rules, saving rules, titles."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception, texts

from genesis_pipeline.runs.control import list_runs
from genesis_pipeline.services.chapters import (
    chapters_on_cut,
    current_rules,
    load_chapter_inputs,
    preview_chapters,
    rules_history,
    save_rules,
    saved_chapters,
    set_chapter_title,
)
from genesis_pipeline.services.wording import duration


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _table(at, column: str):
    """The read-only table with ``column`` (AppTest keeps no key for plain dataframes)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_slider_changes_the_preview_without_a_run(make_app, app_project) -> None:
    store, pid = app_project
    version, rules = current_rules(store, pid)
    runs, saved = len(list_runs(store, pid)), saved_chapters(store, pid)
    inputs = load_chapter_inputs(store, pid)
    at = make_app("views/chapters.py")
    assert_no_exception(at)
    before = preview_chapters(inputs, rules)
    assert _metric(at, "Preview chapters") == str(len(before))
    assert at.slider(key="ch_min").value == rules.min_chapter_s

    at.slider(key="ch_min").set_value(2.0).run()
    assert_no_exception(at)
    expected = preview_chapters(inputs, replace(rules, min_chapter_s=2.0))
    # 21 s of speech then a 6 s silent clip: a shorter minimum adds chapters.
    assert len(expected) > len(before)
    assert _metric(at, "Preview chapters") == str(len(expected))
    table = _table(at, "starts because")
    assert table["starts at"].tolist() == [duration(c.start_s) for c in expected]
    assert at.get("plotly_chart"), "no timeline"
    # Nothing ran and nothing was saved.
    assert len(list_runs(store, pid)) == runs
    assert saved_chapters(store, pid) == saved
    assert current_rules(store, pid) == (version, rules)


def test_min_above_max_shows_an_error(make_app) -> None:
    at = make_app("views/chapters.py")
    at.slider(key="ch_min").set_value(100.0)
    at.slider(key="ch_max").set_value(50.0)
    at.run()
    assert_no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "“Shortest chapter”" in errors and "“Longest chapter”" in errors
    assert "min_chapter_s" not in texts(at)  # no internal names on screen
    assert at.button(key="ch_save").disabled
    at.button(key="ch_reset").click().run()
    assert not at.error
    assert at.slider(key="ch_min").value != 100.0


def test_save_rules_makes_a_new_version(make_app, app_project) -> None:
    store, pid = app_project
    version, rules = current_rules(store, pid)
    at = make_app("views/chapters.py")
    assert at.button(key="ch_save").disabled  # nothing changed yet
    try:
        at.slider(key="ch_min").set_value(3.0)
        at.text_input(key="ch_note").input("shorter chapters")
        at.run()
        diff = _table(at, "rule")
        assert diff.to_dict("records") == [
            {"rule": "Shortest chapter", "saved": f"{rules.min_chapter_s:g} s", "preview": "3 s"}
        ]
        at.button(key="ch_save").click().run()
        assert_no_exception(at)
        new_version, new_rules = current_rules(store, pid)
        assert new_version == version + 1
        assert new_rules == replace(rules, min_chapter_s=3.0)
        assert rules_history(store, pid)[-1]["note"] == "shorter chapters"
        assert f"Saved as rules v{new_version}" in texts(at)
        assert "apply on the next run" in texts(at)
        # The controls now show the saved version, and the comparison is against it.
        assert at.slider(key="ch_min").value == 3.0
        assert at.button(key="ch_save").disabled
    finally:
        save_rules(store, pid, rules, note="restored by test", actor=ADMIN)
    assert current_rules(store, pid)[1] == rules


def test_title_edit_persists(make_app, app_project) -> None:
    store, pid = app_project
    chapter = saved_chapters(store, pid)[0]
    at = make_app("views/chapters.py")
    assert at.button(key="ch_save_titles").disabled
    at.session_state["ch_titles"] = {
        "edited_rows": {0: {"title": "Opening remarks"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    try:
        at.run()
        at.button(key="ch_save_titles").click().run()
        assert_no_exception(at)
        after = saved_chapters(store, pid)[0]
        assert after["id"] == chapter["id"]
        assert after["title"] == "Opening remarks" and after["title_edited"]
        assert "Saved 1 title" in texts(at)
        # The preview shows the reviewer's title for the same first scene.
        assert _table(at, "starts because")["title"].iloc[0] == "Opening remarks"
    finally:
        set_chapter_title(store, pid, chapter["id"], chapter["title"], actor=ADMIN)


def test_restore_a_rules_version_as_a_new_one(make_app, app_project) -> None:
    store, pid = app_project
    _version, rules = current_rules(store, pid)
    try:
        older = save_rules(store, pid, replace(rules, min_chapter_s=3.0), note="three", actor=ADMIN)
        latest = save_rules(store, pid, replace(rules, min_chapter_s=4.0), note="four", actor=ADMIN)
        before = len(rules_history(store, pid))
        at = make_app("views/chapters.py")
        assert at.slider(key="ch_min").value == 4.0
        pick = at.selectbox(key="ch_restore_pick")
        assert f"v{latest}" not in pick.options  # the version in effect is not offered
        pick.set_value(older).run()
        at.button(key="ch_restore").click().run()
        assert_no_exception(at)
        history = rules_history(store, pid)
        assert len(history) == before + 1  # a new version; the old ones are kept
        assert [h.version for h in history[-3:]] == [older, latest, latest + 1]
        assert history[-1].rules == history[-3].rules
        assert history[-1].note == f"restored from v{older}"
        assert current_rules(store, pid) == (latest + 1, replace(rules, min_chapter_s=3.0))
        assert f"Restored the rules of v{older} as v{latest + 1}" in texts(at)
        assert at.slider(key="ch_min").value == 3.0  # the controls show the restored rules
    finally:
        save_rules(store, pid, rules, note="restored by test", actor=ADMIN)


def test_chapters_of_the_cut_leave_rejected_scenes_out(make_app, app_project) -> None:
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.services.review import reset_reviews, set_scene_status

    store, pid = app_project
    saved = saved_chapters(store, pid)
    inputs = load_chapter_inputs(store, pid)
    length = {int(s.key): s.end_s - s.start_s for s in inputs.scenes}
    big = max(saved, key=lambda c: len(c.scene_ids))
    assert len(big.scene_ids) >= 2, "the fixture needs a chapter of two scenes or more"
    gone = big.scene_ids[-1]
    try:
        set_scene_status(store, pid, [gone], "rejected", actor=ADMIN)
        at = make_app("views/chapters.py")
        assert_no_exception(at)
        table = at.data_editor(key="ch_titles").value.set_index("#")
        row = table.loc[big.index + 1]
        kept_s = sum(length[s] for s in big.scene_ids if s != gone)
        assert row["length in the cut"] == duration(kept_s)
        assert row["length in the footage"] == duration(big.duration_s)
        assert row["scenes kept"] == f"{len(big.scene_ids) - 1} of {len(big.scene_ids)}"
        # The cut a render plays has the same chapter lengths.
        span = next(c for c in load_cut(store, pid).chapters if c.chapter_id == big.id)
        assert span.end_s - span.start_s == pytest.approx(kept_s)
        # The preview's "Longest chapter in the cut" counts kept scenes only.
        rules = current_rules(store, pid)[1]
        expected = chapters_on_cut(preview_chapters(inputs, rules), inputs, {gone})
        assert _metric(at, "Longest chapter in the cut") == duration(expected.longest_s)
        assert expected.longest_s <= rules.max_chapter_s
        assert "1 rejected scene left out" in texts(at)

        # A chapter whose every scene is rejected is not in the cut, and says so.
        set_scene_status(store, pid, list(big.scene_ids), "rejected", actor=ADMIN)
        at = make_app("views/chapters.py")
        row = at.data_editor(key="ch_titles").value.set_index("#").loc[big.index + 1]
        assert row["scenes kept"] == f"none of {len(big.scene_ids)} (not in the cut)"
        assert row["length in the cut"] == duration(0.0)
        assert _metric(at, "Chapters in the cut") == str(len(saved) - 1)
    finally:
        reset_reviews(store, pid, actor=ADMIN)

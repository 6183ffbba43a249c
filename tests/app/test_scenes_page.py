"""Scenes page: reviews reach the store and survive a new session; filters, sort, pages, focus."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import APP, assert_no_exception, texts

from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.review import reset_reviews

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "scenes_page.py"


def _cards(at) -> list[tuple[str, int]]:
    """(look, scene id) of every card shown, in page order (look: default/approved/rejected).

    Cards are containers keyed ``scene-<look>-<id>``; a depth-first walk in element order
    visits them row by row, as they are laid out.
    """
    out: list[tuple[str, int]] = []

    def walk(node) -> None:
        key = getattr(node, "key", None) if type(node).__name__ == "Block" else None
        if key and key.startswith("scene-"):
            _, look, sid = key.split("-")
            out.append((look, int(sid)))
            return
        children = getattr(node, "children", {})
        for index in sorted(children):
            walk(children[index])

    walk(at._tree)
    return out


def _ids(at) -> list[int]:
    return [sid for _look, sid in _cards(at)]


@pytest.fixture()
def reviews_undone(app_project):
    """The fixture project's reviews are cleared again after the test."""
    store, pid = app_project
    reset_reviews(store, pid, actor=ADMIN)
    yield store, pid
    reset_reviews(store, pid, actor=ADMIN)


def _min_conf(df) -> dict[int, float]:
    out = {}
    for r in df.itertuples():
        vals = [
            v
            for v in (r.detection_confidence, r.caption_confidence, r.transcript_confidence)
            if v is not None and not math.isnan(v)
        ]
        out[int(r.id)] = min(vals) if vals else 1.0
    return out


def test_review_is_stored_and_survives_a_new_session(make_app, reviews_undone) -> None:
    store, pid = reviews_undone
    scenes = scenes_table(store, pid)
    first, second = int(scenes.id[0]), int(scenes.id[1])
    at = make_app("views/scenes.py")
    assert_no_exception(at)
    assert _ids(at) == [int(i) for i in scenes.id]  # timeline order, everything on one page
    assert {look for look, _ in _cards(at)} == {"default"}

    at.button(key=f"reject_{first}").click()
    at.run()
    at.button(key=f"approve_{second}").click()
    at.run()
    assert_no_exception(at)
    after = scenes_table(store, pid).set_index("id")
    assert after.review_status[first] == "rejected" and after.reviewed[first]
    assert after.review_status[second] == "approved" and after.reviewed[second]
    assert not after.reviewed.drop([first, second]).any()

    fresh = make_app("views/scenes.py")  # a new browser session
    looks = dict((sid, look) for look, sid in _cards(fresh))
    assert looks[first] == "rejected" and looks[second] == "approved"
    assert fresh.button(key=f"reject_{first}").disabled
    assert not fresh.button(key=f"approve_{first}").disabled
    assert fresh.button(key=f"approve_{second}").disabled
    assert "Rejected" in texts(fresh)

    # Bulk: reject everything shown (after a confirmation naming the count), then approve.
    fresh.button(key="scene_bulk_reject").click()
    fresh.run()
    assert f"Reject {len(scenes)} scenes shown?" in texts(fresh)
    assert (scenes_table(store, pid).review_status != "rejected").sum() == len(scenes) - 1
    fresh.button(key="scene_bulk_confirm").click()
    fresh.run()
    assert (scenes_table(store, pid).review_status == "rejected").all()
    assert {look for look, _ in _cards(fresh)} == {"rejected"}
    fresh.button(key="scene_bulk_approve").click()
    fresh.run()
    fresh.button(key="scene_bulk_confirm").click()
    fresh.run()
    final = scenes_table(store, pid)
    assert (final.review_status == "approved").all() and final.reviewed.all()


def test_filters_and_lowest_confidence_first(make_app, reviews_undone) -> None:
    from genesis_pipeline.services.review import set_scene_status

    store, pid = reviews_undone
    scenes = scenes_table(store, pid)
    rejected = [int(scenes.id[1]), int(scenes.id[3])]
    set_scene_status(store, pid, rejected, "rejected", actor=ADMIN)
    at = make_app("views/scenes.py")

    at.selectbox(key="scene_status").set_value("rejected")
    at.run()
    assert sorted(_ids(at)) == rejected
    at.selectbox(key="scene_status").set_value("unreviewed")
    at.run()
    assert sorted(_ids(at)) == sorted(set(scenes.id) - set(rejected))
    at.selectbox(key="scene_status").set_value("all")

    media_ids = list(dict.fromkeys(int(m) for m in scenes.media_id))
    at.selectbox(key="scene_media").set_value(media_ids[1])
    at.run()
    assert _ids(at) == [int(i) for i in scenes.id[scenes.media_id == media_ids[1]]]
    at.selectbox(key="scene_media").set_value(-1)  # all files

    word = str(scenes.caption[0]).split()[0]
    at.text_input(key="scene_text").set_value(word.upper())  # case does not matter
    at.run()
    assert _ids(at) == [
        int(i) for i, c in zip(scenes.id, scenes.caption, strict=True) if word in str(c).lower()
    ]
    at.text_input(key="scene_text").set_value("")

    conf = _min_conf(scenes)
    limit = sorted(conf.values())[len(conf) // 2]
    at.slider(key="scene_max_conf").set_value(round(limit + 0.005, 2) if limit < 0.99 else 0.95)
    at.run()
    cap = at.slider(key="scene_max_conf").value
    assert sorted(_ids(at)) == sorted(i for i, c in conf.items() if c <= cap)
    at.slider(key="scene_max_conf").set_value(1.0)

    at.selectbox(key="scene_sort").set_value("lowest confidence first")
    at.run()
    shown = _ids(at)
    assert sorted(shown) == sorted(conf)
    assert [conf[i] for i in shown] == sorted(conf.values())
    assert shown[0] == min(conf, key=conf.__getitem__)


def test_focus_ids_from_the_confidence_page(make_app, app_project) -> None:
    store, pid = app_project
    ids = [int(i) for i in scenes_table(store, pid).id]
    at = make_app("views/scenes.py")
    at.session_state["scene_focus_ids"] = [ids[4], ids[0]]
    at.run()
    assert_no_exception(at)
    assert _ids(at) == [ids[0], ids[4]]
    assert "picked on the Confidence page" in texts(at)
    at.button(key="scene_clear_focus").click()
    at.run()
    assert at.session_state["scene_focus_ids"] is None
    assert _ids(at) == ids


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory):
    """60 fake scenes (benchmark builder) in a data dir of their own."""
    spec = importlib.util.spec_from_file_location("scenes_bench", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    home = tmp_path_factory.mktemp("scenes-home")
    return bench.build_project(home, n_scenes=60, n_media=3)


def test_pagination(big_project, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    store, pid = big_project
    monkeypatch.setenv("GENESIS_HOME", str(store.home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    ordered = [int(i) for i in scenes_table(store, pid).id]
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = pid
    at.run()
    at.switch_page("views/scenes.py")
    at.run()
    assert_no_exception(at)
    assert _ids(at) == ordered[:24] and len(at.image) == 24  # default page size
    assert at.button(key="scene_prev").disabled

    at.selectbox(key="scene_page_size").set_value(12)
    at.run()
    assert _ids(at) == ordered[:12] and "of 5" in texts(at)
    at.button(key="scene_next").click()
    at.run()
    assert _ids(at) == ordered[12:24]
    for _ in range(3):
        at.button(key="scene_next").click()
        at.run()
    assert _ids(at) == ordered[48:60] and at.button(key="scene_next").disabled
    at.button(key="scene_prev").click()
    at.run()
    assert _ids(at) == ordered[36:48]

    # Bulk actions touch only the page shown; Cancel leaves everything as it was.
    at.button(key="scene_bulk_reject").click()
    at.run()
    assert "Reject 12 scenes shown?" in texts(at)
    at.button(key="scene_bulk_cancel").click()
    at.run()
    assert not scenes_table(store, pid).reviewed.any()
    assert at.button(key="scene_undo_last").disabled  # nothing was decided
    at.button(key="scene_bulk_reject").click()
    at.run()
    at.button(key="scene_bulk_confirm").click()
    at.run()
    table = scenes_table(store, pid).set_index("id")
    assert set(table.index[table.review_status == "rejected"]) == set(ordered[36:48])

    at.selectbox(key="scene_page_size").set_value(48)  # a new page size starts at page 1
    at.run()
    assert _ids(at) == ordered[:48] and "of 2" in texts(at)


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory: pytest.TempPathFactory):
    """Two projects of fake scenes (3 files each) in one data dir."""
    spec = importlib.util.spec_from_file_location("scenes_bench", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    home = tmp_path_factory.mktemp("scenes-two")
    store, first = bench.build_project(home, n_scenes=12, n_media=3)
    _store, second = bench.build_project(home, n_scenes=9, n_media=3, seed=1)
    return store, first, second


def _shown_choice(box) -> str | None:
    """What the browser shows in a selectbox: the label of its value, or None when the server set
    it to no option at all (the browser then shows the placeholder "Choose an option")."""
    if box.proto.set_value and not box.proto.HasField("raw_value"):
        return None
    return None if box.value is None else box.format_func(box.value)


def test_media_filter_always_shows_a_choice(two_projects, monkeypatch) -> None:
    """Switching project with a file picked puts the filter back to "All files", shown as such."""
    from streamlit.testing.v1 import AppTest

    store, first, second = two_projects
    monkeypatch.setenv("GENESIS_HOME", str(store.home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = first
    at.run()
    at.switch_page("views/scenes.py").run()
    box = at.selectbox(key="scene_media")
    assert _shown_choice(box) == "All files"
    a_file = scenes_table(store, first).media_id.iloc[0]
    box.set_value(int(a_file)).run()
    assert _shown_choice(at.selectbox(key="scene_media")) == "clip00.mp4"
    at.selectbox(key="project_picker").select(second).run()
    assert_no_exception(at)
    assert _shown_choice(at.selectbox(key="scene_media")) == "All files"
    assert len(_ids(at)) == 9  # every scene of the second project
    at.selectbox(key="scene_status").set_value("approved").run()  # another dropdown
    assert _shown_choice(at.selectbox(key="scene_media")) == "All files"


def test_undo_per_action_and_last_and_back_to_unreviewed(make_app, reviews_undone) -> None:
    from genesis_pipeline.services.review import review_history

    store, pid = reviews_undone
    scenes = scenes_table(store, pid)
    first, second, third = (int(i) for i in scenes.id[:3])
    name = str(scenes.media_name[0])
    at = make_app("views/scenes.py")
    assert at.button(key="scene_undo_last").disabled
    assert "No decisions yet" in texts(at)

    at.button(key=f"reject_{first}").click().run()
    at.button(key=f"approve_{second}").click().run()
    at.button(key=f"reject_{third}").click().run()
    assert_no_exception(at)
    status = scenes_table(store, pid).set_index("id").review_status
    assert (status[first], status[second], status[third]) == ("rejected", "approved", "rejected")
    labels = [a.label for a in review_history(store, pid)]
    assert labels == [
        f"Rejected scene 3 of {name}",
        f"Approved scene 2 of {name}",
        f"Rejected scene 1 of {name}",
    ]

    # Undo last takes back the newest decision only.
    at.button(key="scene_undo_last").click().run()
    table = scenes_table(store, pid).set_index("id")
    assert not table.reviewed[third] and table.review_status[third] == "approved"
    assert table.review_status[first] == "rejected"
    assert f"Undid “Rejected scene 3 of {name}”." in texts(at)

    # Undo one action further down the list: the first rejection, the approval stays.
    oldest = review_history(store, pid)[-1]
    assert oldest.label == f"Rejected scene 1 of {name}"
    at.button(key=f"scene_undo_{oldest.id}").click().run()
    table = scenes_table(store, pid).set_index("id")
    assert not table.reviewed[first]
    assert table.reviewed[second] and table.review_status[second] == "approved"
    assert at.button(key=f"scene_undo_{oldest.id}").disabled  # undone once only

    # Back to unreviewed from the card, itself undoable.
    assert at.button(key=f"unreview_{first}").disabled  # already unreviewed
    at.button(key=f"unreview_{second}").click().run()
    assert not scenes_table(store, pid).set_index("id").reviewed[second]
    at.button(key="scene_undo_last").click().run()
    table = scenes_table(store, pid).set_index("id")
    assert table.reviewed[second] and table.review_status[second] == "approved"


def test_undo_of_a_bulk_action_keeps_later_decisions(app_project, reviews_undone) -> None:
    from genesis_pipeline.services.review import review_history, set_scene_status, undo_review

    store, pid = reviews_undone
    ids = [int(i) for i in scenes_table(store, pid).id]
    set_scene_status(store, pid, [ids[0]], "rejected", actor=ADMIN)
    set_scene_status(store, pid, ids, "approved", actor=ADMIN)  # the bulk action
    set_scene_status(store, pid, [ids[1]], "rejected", actor=ADMIN)  # a later decision on one scene
    bulk = next(a for a in review_history(store, pid) if a.scene_count == len(ids))
    assert bulk.label == f"Approved {len(ids)} scenes"
    result = undo_review(store, pid, bulk.id, actor=ADMIN)
    assert (result.restored, result.skipped) == (len(ids) - 1, 1)
    table = scenes_table(store, pid).set_index("id")
    assert table.review_status[ids[0]] == "rejected"  # back to what it had before the bulk
    assert table.review_status[ids[1]] == "rejected"  # the later decision wins
    assert not table.reviewed.drop([ids[0], ids[1]]).any()  # the rest unreviewed again


def test_a_change_by_another_reviewer_shows_and_refreshes(make_app, reviews_undone) -> None:
    from genesis_pipeline.services.review import set_scene_status

    store, pid = reviews_undone
    first = int(scenes_table(store, pid).id[0])
    at = make_app("views/scenes.py")
    drawn = at.session_state["_drawn_revision"]
    assert drawn[0] == pid
    assert dict((sid, look) for look, sid in _cards(at))[first] == "default"
    assert "someone else changed" not in texts(at)

    set_scene_status(
        store, pid, [first], "rejected", actor=ADMIN
    )  # another reviewer, another browser
    # What the page's polling fragment does when the revision moved past the drawn one.
    from genesis_pipeline.services.projects import project_revision

    assert project_revision(store, pid) != drawn[1]
    at.session_state["_changed_elsewhere"] = True
    at.run()
    assert_no_exception(at)
    assert "someone else changed this project" in texts(at)
    assert dict((sid, look) for look, sid in _cards(at))[first] == "rejected"
    assert at.session_state["_drawn_revision"] == (pid, project_revision(store, pid))
    at.run()  # shown once
    assert "someone else changed" not in texts(at)

    # This session's own decision redraws the page without the notice.
    at.button(key="scene_undo_last").click().run()
    assert "someone else changed" not in texts(at)


def test_play_a_scene_with_its_filmstrip(make_app, app_project) -> None:
    store, pid = app_project
    scenes = scenes_table(store, pid)
    row = scenes.iloc[1]
    sid = int(row.id)
    at = make_app("views/scenes.py")
    assert not at.get("video")
    at.button(key=f"play_{sid}").click().run()
    assert_no_exception(at)
    [video] = at.get("video")
    assert video.proto.start_time == int(row.start_s)
    page = texts(at)
    assert f"{row.media_name} · scene 2" in page
    # The range is played from the page: seek to the first frame, pause at the last.
    script = next(h.proto.body for h in at.get("html") if "scene_player" in h.proto.body)
    assert f"start = {row.start_s:.4f}, end = {row.end_s:.4f}, frame = " in script
    # The filmstrip: six frames evenly across the scene, taken from the footage.
    from genesis_pipeline.services.filmstrip import strip_frames

    want = strip_frames(int(row.start_frame), int(row.end_frame), 6)
    assert "Filmstrip: 6 frames across the scene" in page
    for f in want:
        assert f"frame {f}" in page
    assert not any(str(c.value).endswith(" · cut") for c in at.caption)
    at.button(key="scene_player_close").click().run()
    assert not at.get("video")


def test_trim_a_scene_and_the_cut_follows(make_app, app_project) -> None:
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.services.review import scene_trims, set_trim

    store, pid = app_project
    scenes = scenes_table(store, pid)
    row = scenes.iloc[0]
    sid, first, last = int(row.id), int(row.start_frame), int(row.end_frame)
    assert last - first > 10
    before = load_cut(store, pid)
    at = make_app("views/scenes.py")
    at.button(key=f"play_{sid}").click().run()
    assert at.number_input(key=f"scene_in_{sid}").value == first
    try:
        at.number_input(key=f"scene_in_{sid}").set_value(first + 5)
        at.number_input(key=f"scene_out_{sid}").set_value(last - 3)
        at.button(key=f"scene_trim_{sid}").click().run()
        assert_no_exception(at)
        assert scene_trims(store, pid)[sid].in_frame == first + 5
        cut = load_cut(store, pid)
        seg = cut.segments[list(cut.scene_ids).index(sid)]
        assert (seg.start_frame, seg.end_frame) == (first + 5, last - 3)
        assert seg.start_s == pytest.approx(row.start_s + 5 / seg.fps)
        assert cut.duration_s == pytest.approx(before.duration_s - 8 / seg.fps)
        assert f"Keeps frames {first + 5}–{last - 3}" in texts(at)
        assert "(trimmed from" in texts(at)  # the card gives the kept length
        # The filmstrip shows the trim: frames before the in point are greyed and marked.
        assert "outside the trim" not in texts(at)  # frames 5–72 keep all six
        set_trim(store, pid, sid, first + (last - first) // 2, last, actor=ADMIN)
        at.run()
        assert "3 outside the trim (greyed)" in texts(at)
        assert any(str(c.value).endswith(" · cut") for c in at.caption)
        # Out of the scene's range: refused with a message.
        with pytest.raises(Exception, match="within the scene"):
            set_trim(store, pid, sid, first - 1, last, actor=ADMIN)
    finally:
        set_trim(store, pid, sid, first, last, actor=ADMIN)  # the whole range clears the trim
    assert sid not in scene_trims(store, pid)

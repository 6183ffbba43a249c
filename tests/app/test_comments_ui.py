"""Comments in the app: a count on each scene card, the "scenes with open comments" filter, a
scene's thread beside its thumbnail (comment, reply, edit, resolve, play from a comment's time),
and a chapter's thread on the Chapters page. On a project of its own (scenes stored directly)."""

from __future__ import annotations

import pytest
from support.apptest import assert_no_exception, open_page, texts
from support.scenes import store_scenes

from genesis_pipeline.services import access, comments
from genesis_pipeline.services.access import Actor

BEA = Actor("user", "bea", "reviewer")
FPS = 25.0


@pytest.fixture()
def scenes(small_project):
    """The small project with three stored scenes (frames 0-15, 15-30, 30-50) and a chapter."""
    store, pid = small_project
    media_id = store_scenes_media(store, pid)
    ids = store_scenes(store, pid, media_id, [15, 30], frames=50, fps=FPS)
    return store, pid, ids


def store_scenes_media(store, pid: int) -> int:
    from genesis_pipeline.store import media as media_sql

    with store.db.read() as con:
        return media_sql.list_for_project(con, pid)[0].id


def card_ids(at) -> list[int]:
    return [int(b.key.rsplit("_", 1)[1]) for b in at.button if b.key.startswith("approve_")]


def test_scene_thread_count_filter_and_writes(scenes) -> None:
    store, pid, (s1, s2, s3) = scenes
    theirs = comments.add_comment(store, pid, "too dark", actor=BEA, scene_id=s2)
    at = open_page(pid, "views/scenes.py")
    assert card_ids(at) == [s1, s2, s3]
    assert "1" in at.button(key=f"scene_comments_{s2}").label
    assert at.button(key=f"scene_comments_{s1}").label == ""
    # The filter: only scenes with an open thread.
    at.checkbox(key="scene_open_comments").check().run()
    assert card_ids(at) == [s2]
    at.checkbox(key="scene_open_comments").uncheck().run()
    # Open scene 1's thread beside its thumbnail and comment at 0.3 s of its source.
    at.button(key=f"scene_comments_{s1}").click().run()
    assert_no_exception(at)
    assert "No comments on this scene yet." in texts(at)
    at.text_area(key=f"scene_new_comment_{s1}").input("use take two, @bea")
    at.number_input(key=f"scene_new_comment_{s1}_at").set_value(0.3)
    at.button(key=f"scene_add_comment_{s1}").click().run()
    assert_no_exception(at)
    mine = comments.scene_threads(comments.threads(store, pid), s1)
    assert len(mine) == 1
    root = mine[0].root
    me = access.local_actor()
    assert (root.author, root.body, root.mentions) == (me.label, "use take two, @bea", ("bea",))
    assert root.start_s == pytest.approx(0.3)
    assert "use take two, @bea" in texts(at)
    # Reply, edit (the author's own comment only), resolve; then play from the comment's time.
    at.text_input(key=f"scene_c_reply_{root.id}").input("or the wide shot").run()
    at.button(key=f"scene_c_send_{root.id}").click().run()
    at.text_area(key=f"scene_c_edit_{root.id}").input("use take two")
    at.button(key=f"scene_c_save_{root.id}").click().run()
    at.button(key=f"scene_c_resolve_{root.id}").click().run()
    assert_no_exception(at)
    thread = comments.scene_threads(comments.threads(store, pid), s1)[0]
    assert [c.body for c in thread.comments] == ["use take two", "or the wide shot"]
    assert thread.root.edited_at is not None and thread.resolved
    at.button(key=f"scene_c_at_{root.id}").click().run()
    assert_no_exception(at)
    assert at.session_state["scene_comment_play"][:2] == (s1, pytest.approx(0.3))
    # Another's thread: no edit box for this session, and the filter shows only scene 2.
    at.button(key=f"scene_comments_{s2}").click().run()
    assert not [w for w in at.text_area if w.key == f"scene_c_edit_{theirs.id}"]
    at.checkbox(key="scene_open_comments").check().run()
    assert card_ids(at) == [s2]


def test_an_orphaned_comment_is_listed_and_chapters_take_comments(scenes) -> None:
    store, pid, (_s1, s2, _s3) = scenes
    gone = comments.add_comment(store, pid, "split here", actor=BEA, scene_id=s2)
    media_id = store_scenes_media(store, pid)
    store_scenes(store, pid, media_id, [20, 30], frames=50, fps=FPS)  # frame 15 no longer cuts
    at = open_page(pid, "views/scenes.py")
    new_first = card_ids(at)[0]
    at.button(key=f"scene_comments_{new_first}").click().run()
    assert any("Orphaned comments (1)" in e.label for e in at.expander)
    assert "split here" in texts(at)
    at = open_page(pid, "views/chapters.py")
    # The page lists each saved chapter with a box to comment on it.
    key = next(w.key for w in at.text_input if w.key.startswith("ch_new_comment_"))
    at.text_input(key=key).input("rename to Harbour")
    at.button(key=key.replace("new_comment", "add_comment")).click().run()
    assert_no_exception(at)
    threads = [t for t in comments.threads(store, pid) if t.target == "chapter"]
    assert [t.root.body for t in threads] == ["rename to Harbour"]
    assert gone.id in {t.id for t in comments.threads(store, pid) if t.orphaned}

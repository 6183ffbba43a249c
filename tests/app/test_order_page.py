"""Cut order page: move a scene within its chapter and a chapter with its scenes; the cut
follows; Reset order goes back to the footage's order; Undo move takes back a move or a reset."""

from __future__ import annotations

from support.apptest import assert_no_exception, texts

from genesis_pipeline.services.access import local_actor
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.cut_order import cut_order, reset_order


def test_reorder_scenes_and_chapters(make_app, app_project) -> None:
    store, pid = app_project
    order = cut_order(store, pid)
    natural = order.scene_ids
    assert not order.reordered
    at = make_app("views/order.py")
    assert_no_exception(at)
    assert "footage order" in texts(at)
    assert at.button(key="order_reset").disabled
    try:
        big = next(b for b in order.blocks if len(b.scene_ids) >= 2)
        first, second = big.scene_ids[:2]
        assert at.button(key=f"order_scene_up_{first}").disabled
        at.button(key=f"order_scene_down_{first}").click().run()
        assert_no_exception(at)
        moved = next(b for b in cut_order(store, pid).blocks if b.key == big.key)
        assert moved.scene_ids[:2] == (second, first)
        cut = load_cut(store, pid)
        kept = [s for s in cut.scene_ids if s in (first, second)]
        assert kept == [second, first]
        assert "reordered" in texts(at)
        assert not at.button(key="order_reset").disabled
        chapters = [b for b in order.blocks if b.chapter_id is not None]
        if len(chapters) >= 2:
            top = chapters[0]
            at.button(key=f"order_chapter_down_{top.chapter_id}").click().run()
            assert_no_exception(at)
            blocks = cut_order(store, pid).blocks
            assert blocks[1].chapter_id == top.chapter_id
            assert [c.chapter_id for c in load_cut(store, pid).chapters][:2] == [
                blocks[0].chapter_id,
                top.chapter_id,
            ]
        at.button(key="order_reset").click().run()
        assert_no_exception(at)
        assert cut_order(store, pid).scene_ids == natural
        assert "Back to the footage's order." in texts(at)
    finally:
        reset_order(store, pid, actor=local_actor())


def test_scenes_page_sorts_by_cut_order(make_app, app_project) -> None:
    from genesis_pipeline.services.cut_order import move_scene

    store, pid = app_project
    order = cut_order(store, pid)
    big = next(b for b in order.blocks if len(b.scene_ids) >= 2)
    first, second = big.scene_ids[:2]
    try:
        move_scene(store, pid, first, 1, actor=local_actor())
        at = make_app("views/scenes.py")
        at.selectbox(key="scene_sort").set_value("cut order").run()
        assert_no_exception(at)
        keys = [b.key for b in at.button if b.key and b.key.startswith("approve_")]
        shown = [int(k.removeprefix("approve_")) for k in keys]
        assert shown.index(second) < shown.index(first)
    finally:
        reset_order(store, pid, actor=local_actor())


def test_undo_move_takes_back_the_last_move_and_a_reset(make_app, app_project) -> None:
    store, pid = app_project
    order = cut_order(store, pid)
    natural = order.scene_ids
    big = next(b for b in order.blocks if len(b.scene_ids) >= 2)
    first = big.scene_ids[0]
    at = make_app("views/order.py")
    try:
        at.button(key=f"order_scene_down_{first}").click().run()
        assert not at.button(key="order_undo").disabled
        moved = cut_order(store, pid).scene_ids
        assert moved != natural
        at.button(key="order_reset").click().run()
        assert cut_order(store, pid).scene_ids == natural
        at.button(key="order_undo").click().run()
        assert_no_exception(at)
        assert cut_order(store, pid).scene_ids == moved
        assert "Undid “Reset the order to the footage's”." in texts(at)
        at.button(key="order_undo").click().run()
        assert cut_order(store, pid).scene_ids == natural
        assert "Undid “Moved scene " in texts(at)
        assert "~~Moved scene" in texts(at)  # the list of moves marks it undone
    finally:
        reset_order(store, pid, actor=local_actor())

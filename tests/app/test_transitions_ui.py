"""The Scenes page's cards say how each scene starts (cut, dissolve, fade, wipe)."""

from __future__ import annotations

from support.apptest import assert_no_exception

from genesis_pipeline.services.queries import scenes_table


def test_cards_name_the_boundary_each_scene_starts_with(make_app, app_project) -> None:
    store, pid = app_project
    scenes = scenes_table(store, pid)
    at = make_app("views/scenes.py")
    assert_no_exception(at)
    badges = [m.value for m in at.markdown if "-badge[:material/" in m.value]
    shown = scenes.sort_values(["media_position", "idx"]).head(24)
    # A badge per scene that follows a boundary (not a file's first), naming its kind: the
    # fixture footage is joined by hard cuts.
    expected = [t for t in shown.transition if isinstance(t, str)]
    assert expected and set(expected) == {"cut"}
    assert badges == [":gray-badge[:material/content_cut: cut]"] * len(expected)

"""Projects page: create a project, see the list, errors as messages."""

from __future__ import annotations

from support.apptest import assert_no_exception, texts

from genesis_pipeline.services.projects import list_projects


def test_lists_the_fixture_project_with_media_and_run(make_app, app_project) -> None:
    at = make_app("views/projects.py")
    assert_no_exception(at)
    page = texts(at)
    assert "App fixture" in page
    assert any("succeeded" in str(m.value) for m in at.metric)


def test_create_project_then_it_is_selected(make_app, app_project) -> None:
    store, pid = app_project
    at = make_app("views/projects.py")
    at.text_input(key="new_project_name").input("Harbour shoot, day 2")
    at.button[0].click().run()
    assert_no_exception(at)
    names = {p["project"]["name"]: p["project"]["id"] for p in list_projects(store)}
    assert "Harbour shoot, day 2" in names
    assert at.session_state["project_id"] == names["Harbour shoot, day 2"]
    at.session_state["project_id"] = pid  # leave the fixture selection as it was
    with store.db.write() as con:
        con.execute("DELETE FROM projects WHERE id = ?", [names["Harbour shoot, day 2"]])


def test_empty_name_shows_a_message(make_app) -> None:
    at = make_app("views/projects.py")
    at.text_input(key="new_project_name").input("   ")
    at.button[0].click().run()
    assert_no_exception(at)
    assert any("must not be empty" in str(e.value) for e in at.error)


def test_sidebar_picker_switches_project(make_app, app_project) -> None:
    from genesis_pipeline.services.projects import create_project

    store, pid = app_project
    other = create_project(store, "Other project").id
    try:
        at = make_app("views/projects.py")
        at.selectbox(key="project_picker").select(other).run()
        assert at.session_state["project_id"] == other
        at.selectbox(key="project_picker").select(pid).run()
        assert at.session_state["project_id"] == pid
    finally:
        with store.db.write() as con:
            con.execute("DELETE FROM projects WHERE id = ?", [other])

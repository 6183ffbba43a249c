"""Projects page: create a project, see the list, errors as messages."""

from __future__ import annotations

from support.actors import ADMIN
from support.apptest import assert_no_exception, texts

from genesis_pipeline.services.projects import list_projects


def test_lists_the_fixture_project_with_media_and_run(make_app, app_project) -> None:
    at = make_app("views/projects.py")
    assert_no_exception(at)
    page = texts(at)
    assert "App fixture" in page
    assert "Succeeded" in page and ":material/check_circle:" in page  # an icon, not an emoji
    assert "2 files" in [m.value for m in at.metric]


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
    other = create_project(store, "Other project", actor=ADMIN).id
    try:
        at = make_app("views/projects.py")
        at.selectbox(key="project_picker").select(other).run()
        assert at.session_state["project_id"] == other
        at.selectbox(key="project_picker").select(pid).run()
        assert at.session_state["project_id"] == pid
    finally:
        with store.db.write() as con:
            con.execute("DELETE FROM projects WHERE id = ?", [other])


def _processed_two_clips(store, tmp_path):
    """A project of two silent 2 s clips, processed without a render."""
    from genesis_pipeline.media.synth import Shot, make_footage
    from genesis_pipeline.runs.options import RunOptions
    from genesis_pipeline.runs.pipeline import ProjectPipelineService
    from genesis_pipeline.services.projects import create_project
    from genesis_pipeline.services.upload import add_media

    shots = [("smptebars", "testsrc2"), ("testsrc2", "smptebars")]  # two different files
    clips = [
        make_footage(tmp_path / f"clip{i}.mp4", (Shot(a, 1.0), Shot(b, 1.0)), audio=False).path
        for i, (a, b) in enumerate(shots, 1)
    ]
    pid = create_project(store, "Harbour shoot", actor=ADMIN).id
    add_media(store, pid, clips, actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return pid


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def test_rename_delete_and_disk_used(small_project, tmp_path) -> None:
    from support.apptest import open_page

    from genesis_pipeline.services.projects import disk_usage, get_project
    from genesis_pipeline.services.wording import size

    store, small = small_project
    pid = _processed_two_clips(store, tmp_path)
    usage = disk_usage(store, pid)
    media_bytes = sum(p.stat().st_size for p in _files(store.project_dir("media", pid)))
    assert usage.by_folder["media"] == media_bytes > 0
    assert usage.by_folder["scene_previews"] > 0

    at = open_page(pid, "views/projects.py")
    assert size(usage.total_bytes) in [m.value for m in at.metric if m.label == "Disk used"]
    assert "2 files" in [m.value for m in at.metric]

    # Rename.
    at.text_input(key=f"proj_name_{pid}").input("Harbour shoot, day 1")
    at.button(key=f"proj_rename_{pid}").click().run()
    assert_no_exception(at)
    assert get_project(store, pid).name == "Harbour shoot, day 1"
    assert "Renamed to “Harbour shoot, day 1”." in texts(at)

    # Delete asks first; Cancel keeps everything.
    at.button(key=f"proj_delete_{pid}").click().run()
    assert "Delete “Harbour shoot, day 1” with its 2 media files, 0 renders" in texts(at)
    at.button(key=f"proj_delete_no_{pid}").click().run()
    assert get_project(store, pid).name == "Harbour shoot, day 1"
    folders = [store.project_dir(k, pid) for k in ("media", "scene_previews", "artifacts")]
    assert all(_files(f) for f in folders[:2])

    at.button(key=f"proj_delete_{pid}").click().run()
    at.button(key=f"proj_delete_ok_{pid}").click().run()
    assert_no_exception(at)
    assert pid not in [p.project.id for p in list_projects(store)]
    assert not any(_files(f) for f in folders if f.exists()), "the project's files stayed"
    assert "Deleted “Harbour shoot, day 1”" in texts(at)
    # Nothing of it is left in any table, and the other project is untouched.
    with store.db.read() as con:
        from genesis_pipeline.store.removal import project_tables

        for table in project_tables(con):
            row = con.execute(f'SELECT count(*) FROM "{table}" WHERE project_id = ?', [pid])
            assert row.fetchone()[0] == 0, table
    assert small in [p.project.id for p in list_projects(store)]


def test_remove_media_refused_during_a_run_then_removed(small_project, tmp_path) -> None:
    from support.apptest import open_page

    from genesis_pipeline.runs.pipeline import ProjectPipelineService
    from genesis_pipeline.services.queries import scenes_table
    from genesis_pipeline.services.review import set_scene_status

    store, _small = small_project
    pid = _processed_two_clips(store, tmp_path)
    summary = next(p for p in list_projects(store) if p.project.id == pid)
    gone, kept = summary.media
    scenes = scenes_table(store, pid)
    set_scene_status(
        store, pid, [int(scenes.id[scenes.media_id == gone.id].iloc[0])], "rejected", actor=ADMIN
    )
    footage = store.absolute(gone.path)
    previews = store.project_dir("scene_previews", pid) / str(gone.id)
    assert footage.is_file() and _files(previews)

    at = open_page(pid, "views/projects.py")
    at.selectbox(key=f"proj_media_{pid}").set_value(gone.id).run()
    at.button(key=f"proj_remove_{pid}").click().run()
    assert f"Remove **{gone.original_name}**" in texts(at)
    with ProjectPipelineService(store).project_lock(pid):  # a run is going
        at.button(key=f"proj_remove_ok_{pid}").click().run()
    assert_no_exception(at)
    assert "Not removed" in texts(at) and "a run is using it" in texts(at)
    assert footage.is_file()

    at.button(key=f"proj_remove_{pid}").click().run()
    at.button(key=f"proj_remove_ok_{pid}").click().run()
    assert_no_exception(at)
    assert f"Removed “{gone.original_name}” from the project" in texts(at)
    summary = next(p for p in list_projects(store) if p.project.id == pid)
    assert [m.id for m in summary.media] == [kept.id]
    assert not footage.exists() and not previews.exists()
    after = scenes_table(store, pid)
    assert set(after.media_id) == {kept.id} and not after.reviewed.any()
    assert store.absolute(kept.path).is_file()

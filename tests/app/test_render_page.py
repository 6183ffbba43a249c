"""Render page: refuses when nothing is approved, renders in a worker, lists and plays renders."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import APP, assert_no_exception, texts

from genesis_pipeline.config import Settings
from genesis_pipeline.media.probe import probe
from genesis_pipeline.media.synth import Shot, make_footage
from genesis_pipeline.runs.control import list_runs, run_state, wait_for_run
from genesis_pipeline.runs.launch import last_launch
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.render_settings import get_render_mode, set_render_mode
from genesis_pipeline.services.render_view import render_history
from genesis_pipeline.services.review import reset_reviews, set_scene_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store


@pytest.fixture(scope="module")
def render_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int, Path]:
    """A data dir of its own: one silent 2 s clip of two shots, processed without a render."""
    home = tmp_path_factory.mktemp("render-page")
    missing = home / "no-such-model"
    store = Store(Settings(home=home, caption_model=str(missing), offline="1"))
    clip = make_footage(
        home / "clip.mp4", (Shot("smptebars", 1.0), Shot("testsrc2", 1.0)), audio=False
    )
    pid = create_project(store, "Render test", actor=ADMIN).id
    add_media(store, pid, [clip.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid, missing


@pytest.fixture()
def open_page(render_project, monkeypatch: pytest.MonkeyPatch):
    store, pid, missing = render_project
    monkeypatch.setenv("GENESIS_HOME", str(store.home))
    monkeypatch.setenv("GENESIS_NO_DEMO", "1")
    monkeypatch.setenv("GENESIS_OFFLINE", "1")
    monkeypatch.setenv("GENESIS_CAPTION_MODEL", str(missing))

    def factory():
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(APP), default_timeout=60)
        at.session_state["project_id"] = pid
        at.run()
        at.switch_page("views/render.py")
        at.run()
        assert_no_exception(at)
        return at

    return factory


def test_nothing_approved_is_refused(render_project, open_page) -> None:
    store, pid, _ = render_project
    runs = len(list_runs(store, pid))
    set_scene_status(store, pid, scenes_table(store, pid).id.tolist(), "rejected", actor=ADMIN)
    try:
        at = open_page()
        assert "Nothing is approved" in texts(at)
        assert next(m.value for m in at.metric if m.label == "Approved scenes") == "0 of 2"
        at.button(key="render_start").click().run()
        assert_no_exception(at)
        assert "Nothing to render" in " ".join(e.value for e in at.error)
        assert len(list_runs(store, pid)) == runs
        assert not run_state(store, pid).active
    finally:
        reset_reviews(store, pid, actor=ADMIN)


@contextlib.contextmanager
def worker_held(store: Store, pid: int) -> Iterator[list[int]]:
    """Stop (SIGSTOP) the next run worker launched for the project as soon as it appears, and
    let it go on leaving the block: the pages are checked while a run is going however fast the
    render is against the page's own runs on a busy machine (it took 2.5 s, a page rerun under
    CI load longer)."""
    since, held, done = time.time(), [], threading.Event()

    def watch() -> None:
        while not done.is_set():
            launch = last_launch(store, f"project-{pid}")
            if launch is not None and launch.at >= since:
                os.kill(launch.pid, signal.SIGSTOP)
                held.append(launch.pid)
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield held
    finally:
        done.set()
        watcher.join()
        for worker in held:
            os.kill(worker, signal.SIGCONT)


def test_render_runs_in_a_worker_and_is_listed(render_project, open_page) -> None:
    store, pid, _ = render_project
    assert render_history(store, pid) == []
    runs = len(list_runs(store, pid))
    at = open_page()
    other = open_page()  # a second browser tab, opened before the render starts
    assert "No render yet" in texts(at)
    with worker_held(store, pid) as held:
        at.button(key="render_start").click().run()
        assert_no_exception(at)
        assert held, "no worker was started"
        assert run_state(store, pid).active
        assert at.button(key="render_start").disabled
        assert at.get("progress"), "no progress bar while rendering"
        # The other tab cannot start a second run: it shows the one going.
        other.button(key="render_start").click().run()
        assert_no_exception(other)
        assert other.button(key="render_start").disabled
        assert "is going" in texts(other)
    run = wait_for_run(store, pid, timeout_s=120)
    assert run is not None and run.status == "succeeded", run and run.error
    assert len(list_runs(store, pid)) == runs + 1
    steps = {d["step"]: d for d in run.step_details}
    assert steps["render"]["status"] == "ok" and not steps["render"]["cache_hit"]
    assert steps["scenes"]["cache_hit"], "an unchanged project should only render"

    at.run()  # the page notices the finished run
    assert_no_exception(at)
    history = render_history(store, pid)
    assert len(history) == 1
    render = history[0]
    assert probe(render["path"]).duration_s == pytest.approx(2.0, abs=0.05)
    assert render["scenes"] == 2 and render["narration"] == "none"
    table = next(d.value for d in at.dataframe if "render" in d.value.columns)
    assert table["render"].tolist() == [render["id"]]
    assert table["scenes"].tolist() == [2]
    assert at.get("video"), "the latest render is not played"
    assert any("Download" in b.label for b in at.get("download_button"))
    assert "matches the approved cut" in texts(at)


def test_render_mode_is_saved_and_used(render_project, open_page) -> None:
    store, pid, _ = render_project
    before = render_history(store, pid)
    assert before and before[0]["mode"] == "smart"
    assert before[0]["sound"] == "encoded, in sync to the sample"  # a silent clip: no packets
    at = open_page()
    radio = at.radio(key=f"render_mode_{pid}")
    assert radio.value == "smart" and list(radio.options) == [
        "smart render (copies what the cut leaves whole)",
        "full re-encode",
    ]
    try:
        radio.set_value("reencode").run()
        assert_no_exception(at)
        assert get_render_mode(store, pid) == "reencode"
        assert "changed since the latest render" in texts(at)
        at.button(key="render_start").click().run()
        run = wait_for_run(store, pid, timeout_s=120)
        assert run is not None and run.status == "succeeded", run and run.error
        step = next(d for d in run.step_details if d["step"] == "render")
        assert step["note"] == "full re-encode" and step["counts"]["frames_copied"] == 0
        at.run()
        assert_no_exception(at)
        history = render_history(store, pid)
        assert [h["mode"] for h in history[:2]] == ["reencode", "smart"]
        table = next(d.value for d in at.dataframe if "render" in d.value.columns)
        assert table["mode"].tolist()[:2] == ["reencode", "smart"]
        assert "Made by: full re-encode · sound encoded, in sync to the sample" in texts(at)
        assert history[0]["sound"] == "encoded, in sync to the sample"
        # The choice reads the saved mode after a look at another page, and when another tab
        # (or the CLI) saves another mode.
        at.switch_page("views/projects.py").run()
        at.switch_page("views/render.py").run()
        assert at.radio(key=f"render_mode_{pid}").value == "reencode"
        set_render_mode(store, pid, "smart", actor=ADMIN)
        at.run()
        assert at.radio(key=f"render_mode_{pid}").value == "smart"
    finally:
        set_render_mode(store, pid, "smart", actor=ADMIN)


def test_forced_rerun_with_nothing_changed_adds_no_identical_render(render_project) -> None:
    store, pid, _ = render_project
    before = render_history(store, pid)
    assert before, "the tests above render first"
    # The project renders in smart mode again (the test above switched back): a render of
    # these very inputs is in the history already.
    same = next(h for h in before if h["mode"] == "smart")
    report = ProjectPipelineService(store).run(pid, RunOptions(force=True))
    assert report.status == "succeeded", report.error
    after = render_history(store, pid)
    # Re-rendered (force), but the identical render it made replaced the old one.
    new = after[0]
    assert new["id"] not in {h["id"] for h in before} and new["mode"] == "smart"
    assert len(after) == len(before)
    assert {h["id"] for h in after[1:]} == {h["id"] for h in before} - {same["id"]}
    assert not Path(same["path"]).exists(), "the replaced render's file was left behind"
    assert Path(new["path"]).is_file()

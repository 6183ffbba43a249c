"""Run page: a run starts in a worker process, the page follows it to the finished step table."""

from __future__ import annotations

import re
import time

from support.apptest import APP, assert_no_exception, texts

from genesis_pipeline.runs.control import list_runs, run_state, wait_for_run
from genesis_pipeline.runs.pipeline import STEP_NAMES, ProjectPipelineService


def _open(pid: int):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = pid
    at.run()
    at.switch_page("views/run.py")
    at.run()
    assert_no_exception(at)
    return at


def test_run_starts_a_worker_and_shows_progress_then_steps(small_project) -> None:
    store, pid = small_project
    at = _open(pid)
    assert "not been processed yet" in texts(at)
    assert not at.button(key="run_start").disabled

    # Nobody has reviewed anything: the run does not render unless asked to.
    assert at.toggle(key="run_render").value is False
    assert "nobody has reviewed the scenes" in texts(at)
    at.toggle(key="run_render").set_value(True).run()
    assert "Renders every scene" in texts(at)
    at.toggle(key="run_render").set_value(False)  # the cut is not needed here: a faster run
    at.button(key="run_start").click()
    at.run()
    assert_no_exception(at)
    state = run_state(store, pid)
    assert state.active, "no worker was started"
    assert at.button(key="run_start").disabled and at.button(key="run_force").disabled
    assert at.get("progress"), "no progress bar while the run goes"
    assert "started in the background" in texts(at)

    # Follow the run as the polling fragment would, until it is over.
    seen_steps: set[str] = set()
    deadline = time.monotonic() + 120
    while run_state(store, pid).active and time.monotonic() < deadline:
        at.run()
        assert_no_exception(at)
        for bar in at.get("progress"):
            text = bar.proto.text
            # "**scenes**", or "**transcribe + scenes**" while the two run at once
            for shown in re.findall(r"\*\*([^*]+)\*\*", text):
                seen_steps |= {s for s in shown.split(" + ") if s in STEP_NAMES}
        time.sleep(0.4)
    run = wait_for_run(store, pid, timeout_s=5)
    assert run is not None and run.status == "succeeded", run and run.error
    assert seen_steps, "never saw a step's live progress"

    at.run()
    assert_no_exception(at)
    assert f"Run #{run.id} succeeded" in texts(at)
    assert not at.button(key="run_start").disabled
    table = at.dataframe[0].value
    assert list(table.step) == list(STEP_NAMES)
    recorded = {d["step"]: d["status"] for d in run.step_details}
    assert dict(zip(table.step, table.status, strict=True)) == recorded
    assert recorded["captions"] == "skipped"
    assert recorded["render"] == "skipped" and run.options_json["render"] is False
    assert "no-such-model" in table.set_index("step").note["captions"]
    # Device and models: the skipped reason is shown beside the Whisper model that ran.
    page = texts(at)
    assert "skipped" in page and "no-such-model" in page
    assert run.device_json["models"]["whisper"]["identity"] in page
    assert [r.id for r in list_runs(store, pid)] == [run.id]


def test_run_in_progress_shows_a_message(small_project) -> None:
    store, pid = small_project
    at = _open(pid)
    # Another process (the CLI, say) takes the project while the page shows it idle.
    with ProjectPipelineService(store).project_lock(pid):
        at.button(key="run_start").click()
        at.run()
        assert_no_exception(at)
        assert any("already" in w.value for w in at.warning), texts(at)
        assert at.button(key="run_start").disabled
        assert "A run is going" in texts(at)
    assert not run_state(store, pid).active
    assert list_runs(store, pid) == []


def test_force_rerun_asks_first(small_project) -> None:
    store, pid = small_project
    at = _open(pid)
    at.button(key="run_force").click()
    at.run()
    assert at.button(key="run_force_confirm")
    at.button(key="run_force_cancel").click()
    at.run()
    assert not [b for b in at.button if b.key == "run_force_confirm"]
    assert not run_state(store, pid).active


def test_a_run_whose_worker_died_is_explained(small_project) -> None:
    from genesis_pipeline.store import runs as runs_sql

    store, pid = small_project
    with store.db.write() as con:  # a run row left "running" by a worker that was killed
        dead = runs_sql.start(con, pid, pid=999_999, host="gone", options={}, device={})
    at = _open(pid)
    assert any(f"Run #{dead.id} stopped without finishing" in w.value for w in at.warning)
    assert not at.button(key="run_start").disabled
    # Its steps never started: no duration, said as a dash (a missing number reads "None").
    steps, history = (d.value for d in at.dataframe)
    assert list(steps.status) == ["pending"] * len(STEP_NAMES)
    assert list(steps.duration_s) == ["—"] * len(STEP_NAMES)
    assert list(history["took (s)"]) == ["—"]

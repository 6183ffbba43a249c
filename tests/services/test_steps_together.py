"""Steps running at once: how they are grouped, and the progress document while they run."""

from __future__ import annotations

from pathlib import Path

from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.progress import no_progress
from genesis_pipeline.runs.context import StepOutcome, StepResults
from genesis_pipeline.runs.control import run_fraction
from genesis_pipeline.runs.pipeline import STEP_NAMES, step_groups
from genesis_pipeline.runs.recorder import StepRecorder
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.store import Store
from genesis_pipeline.store import runs as runs_sql


def test_neighbours_that_need_nothing_from_each_other_form_one_group() -> None:
    names = [[name for _, name, _ in g] for g in step_groups()]
    assert ["transcribe", "scenes"] in names
    assert [n for g in names for n in g] == list(STEP_NAMES)
    assert all(len(g) == 1 for g in step_groups(frozenset()))
    # Only neighbours join: two steps far apart stay in groups of their own.
    apart = step_groups(frozenset({"media", "render"}))
    assert all(len(g) == 1 for g in apart)


def test_progress_of_two_steps_at_once(home: Path) -> None:
    store = Store(Settings(home=home))
    pid = create_project(store, "p", actor=ADMIN).id
    with store.db.write() as con:
        run = runs_sql.start(con, pid, pid=1, host="h", options={}, device={})
    rec = StepRecorder(store, run.id, no_progress)

    def doc():
        with store.db.read() as con:
            return runs_sql.get(con, run.id)

    rec.begin("transcribe", 2, 8)
    rec.begin("scenes", 3, 8)
    rec.progress_for("transcribe")(1, 2, "a.mp4")
    rec.progress_for("scenes")(4, 4, "b.mp4 done")
    now = doc()
    p = now.progress_json
    assert (p["step"], p["step_index"], p["span"], p["steps"]) == ("transcribe + scenes", 2, 2, 8)
    assert (p["done"], p["total"]) == (1500, 2000)  # half of one step and all of the other
    assert p["note"] == "transcribe: a.mp4 · scenes: b.mp4 done"
    assert run_fraction(now) == (2 + 1.5) / 8
    rec.end("scenes", StepOutcome(counts={"scenes": 3}))
    now = doc()
    # The ended step is recorded at once; the one still going is the progress alone.
    (d,) = [d for d in now.step_details if d["step"] == "scenes"]
    assert d["status"] == "ok" and d["counts"] == {"scenes": 3}
    assert now.progress_json["step"] == "transcribe" and "span" not in now.progress_json
    rec.progress_for("scenes")(9, 9, "late")  # a late report of an ended step is dropped
    assert doc().progress_json["step"] == "transcribe"


def test_waiting_for_a_step_returns_at_once_unless_it_runs_beside() -> None:
    import threading

    results = StepResults()
    results.wait_for("transcribe")  # not running: no wait
    ended = threading.Event()
    results.going["transcribe"] = ended
    waiter = threading.Thread(target=results.wait_for, args=("transcribe",))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()
    ended.set()
    waiter.join(2)
    assert not waiter.is_alive()


def test_the_setting_takes_1_or_0() -> None:
    import pytest

    from genesis_pipeline.errors import InvalidSettingError

    assert Settings(steps_together="0").steps_together == "0"
    with pytest.raises(InvalidSettingError, match="GENESIS_STEPS_TOGETHER"):
        Settings(steps_together="yes")

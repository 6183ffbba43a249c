"""Cancelling a run through the API stops its worker, frees the project and records why."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.actors import ADMIN

from genesis_pipeline.api import create_app
from genesis_pipeline.config import Settings
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.runs.cancel import cancel_run
from genesis_pipeline.runs.control import list_runs
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import access
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store


@pytest.mark.slow
def test_cancel_stops_the_worker_and_records_the_reason(home: Path, footage) -> None:
    settings = Settings(home=home, caption_model=str(home / "no-model"), offline="1")
    store = Store(settings)
    pid = create_project(store, "to cancel", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    h = {
        "Authorization": "Bearer "
        + access.create_token(store, "canceller", "reviewer", actor=ADMIN).secret
    }
    with TestClient(create_app(settings)) as client:
        assert client.post(f"/projects/{pid}/runs", headers=h, json={"force": True}).is_success
        deadline = time.monotonic() + 120
        # The worker takes the project's lock, then records its run: wait for both (a cancel
        # in between is recorded by the cancel: the next test).
        while not (ProjectPipelineService(store).is_running(pid) and list_runs(store, pid)):
            assert time.monotonic() < deadline, "the run never took its lock"
            time.sleep(0.1)
        cancelled = client.post(f"/projects/{pid}/runs/cancel", headers=h)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "failed"
        assert cancelled.json()["error"] == "cancelled by token:canceller"
        assert not ProjectPipelineService(store).is_running(pid)
        current = client.get(f"/projects/{pid}/runs/current", headers=h).json()
        assert not current["running"] and current["run"]["status"] == "failed"
        again = client.post(f"/projects/{pid}/runs/cancel", headers=h)
        assert again.status_code == 404


def test_a_run_cancelled_before_it_records_itself_is_in_the_history(home: Path) -> None:
    """The race the test above waits out: the worker is stopped after its launch and before it
    records its run (a stand-in worker that never gets that far). The cancel records the run."""
    store = Store(Settings(home=home))
    pid = create_project(store, "cancel early", actor=ADMIN).id
    worker = subprocess.Popen(["sleep", "60"], start_new_session=True)
    marker = store.lock_path(f"project-{pid}.launch")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"pid": worker.pid, "at": time.time(), "log": ""}))
    try:
        run = cancel_run(store, pid, "cancelled by token:early", actor=ADMIN)
    finally:
        worker.kill()
    assert worker.wait(5) is not None
    assert run is not None and run.status == "failed" and run.pid == worker.pid
    assert run.error == "cancelled by token:early before its first step"
    assert [r.id for r in list_runs(store, pid)] == [run.id]
    with pytest.raises(NotFoundError):
        cancel_run(store, pid, actor=ADMIN)

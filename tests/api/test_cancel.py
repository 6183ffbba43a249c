"""Cancelling a run through the API stops its worker, frees the project and records why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.actors import ADMIN

from genesis_pipeline.api import create_app
from genesis_pipeline.config import Settings
from genesis_pipeline.runs.control import list_runs
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import access
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


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
        # in between stops the worker before any run is recorded, and answers null).
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

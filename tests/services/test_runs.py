"""Background runs: settings reach the worker, run_state follows it, a second start is refused."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import NotFoundError, RunInProgressError
from genesis_pipeline.runs.control import (
    list_runs,
    models_used,
    run_fraction,
    run_state,
    start_background_run,
    step_checklist,
    wait_for_run,
)
from genesis_pipeline.runs.launch import settings_env
from genesis_pipeline.runs.pipeline import STEP_NAMES, ProjectPipelineService
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.store import Store
from genesis_pipeline.store.records import RunRecord


def test_settings_env_round_trip(tmp_path: Path) -> None:
    every = Settings(
        home=tmp_path / "home",
        whisper_model="small.en",
        caption_model=str(tmp_path / "blip"),
        device="cpu",
        whisper_compute_type="int8_float32",
        whisper_batch_size=4,
        caption_batch_size=2,
        offline="1",
        max_upload_mb=12,
        import_dir=tmp_path / "incoming",
        upload_ttl_s=60,
    )
    for settings in (every, Settings(), Settings(home=Path("relative/data"))):
        env = settings_env(settings)
        assert all(k.startswith("GENESIS_") for k in env)
        assert Settings.from_env(env) == settings
    assert "GENESIS_IMPORT_DIR" not in settings_env(Settings())


def _record(status: str, details: list[dict], progress: dict, device: dict) -> RunRecord:
    return RunRecord(
        id=7,
        project_id=1,
        status=status,
        started_at=datetime(2026, 1, 1, 12, 0, 0),
        ended_at=None,
        pid=1,
        host="h",
        options_json={},
        device_json=device,
        step_details=details,
        progress_json=progress,
        error=None,
    )


def test_checklist_fraction_and_models() -> None:
    details = [
        {"step": "media", "status": "ok", "duration_s": 0.1, "cache_hit": False, "counts": {}},
        {"step": "proxies", "status": "skipped", "duration_s": 0.0, "cache_hit": False},
        {"step": "transcribe", "status": "running", "cache_hit": False},
    ]
    n = len(STEP_NAMES)
    progress = {"step": "transcribe", "step_index": 2, "steps": n, "done": 500, "total": 1000}
    run = _record("running", details, progress, {"device": "cpu", "whisper_compute_type": "int8"})
    rows = step_checklist(run)
    assert [r["step"] for r in rows] == list(STEP_NAMES)
    assert [r["status"] for r in rows] == ["ok", "skipped", "running"] + ["pending"] * (n - 3)
    assert run_fraction(run) == pytest.approx(2.5 / n)
    assert step_checklist(None)[0]["status"] == "pending" and run_fraction(None) == 0.0

    failed = _record("failed", details[:1], {}, {})
    assert [r["status"] for r in step_checklist(failed)][1:] == ["not run"] * (len(STEP_NAMES) - 1)
    assert run_fraction(failed) == 1.0

    device = {
        "device": "cpu",
        "device_name": "cpu",
        "cpu_threads": 2,
        "whisper_compute_type": "int8",
        "caption_dtype": "float32",
        "models": {
            "whisper": {"identity": "tiny.en@1", "fallback": True, "note": "hub unreachable"},
            "captions": {"skipped": "GENESIS_CAPTION_MODEL=x: folder does not exist"},
        },
    }
    info = models_used(_record("succeeded", [], {}, device))
    assert info["whisper_model"] == "tiny.en@1" and info["whisper_fallback"]
    assert info["whisper_note"] == "hub unreachable" and info["whisper_compute_type"] == "int8"
    assert info["captions_skipped"].startswith("GENESIS_CAPTION_MODEL=x")
    assert info["caption_model"] is None and info["cpu_threads"] == 2
    assert models_used(None)["device"] is None


@pytest.fixture()
def store(home: Path) -> Store:
    return Store(Settings(home=home, offline="1"))


def test_idle_and_running(store: Store) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    state = run_state(store, pid)
    assert (state.running, state.starting, state.active, state.run) == (False, False, False, None)
    with ProjectPipelineService(store).project_lock(pid):
        state = run_state(store, pid)
        assert state.running and state.active and not state.starting
        with pytest.raises(RunInProgressError):
            start_background_run(store, pid, actor=ADMIN)
    assert not run_state(store, pid).active
    with pytest.raises(NotFoundError):
        start_background_run(store, pid + 100, actor=ADMIN)


def test_background_run_starting_refusal_and_end(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A variable of the app's environment that the store's settings do not carry stays out.
    monkeypatch.setenv("GENESIS_IMPORT_DIR", "/nonexistent/leak")
    pid = create_project(
        store, "no media yet", actor=ADMIN
    ).id  # the worker fails fast: nothing to process
    worker = start_background_run(store, pid, actor=ADMIN)
    state = run_state(store, pid)
    assert state.starting and state.active and not state.running
    # Its own session: closing the app's terminal or tab does not stop it.
    assert os.getsid(worker) == worker != os.getsid(0)
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{worker}/environ").read_text().split("\0")
        if "=" in item
    )
    assert environ["GENESIS_HOME"] == str(store.settings.home)
    assert environ["GENESIS_OFFLINE"] == "1" and "GENESIS_IMPORT_DIR" not in environ
    # Below the app and the API that started it (GENESIS_RUN_NICE, 10 by default).
    argv = Path(f"/proc/{worker}/cmdline").read_text().split("\0")
    assert argv[argv.index("--nice") + 1] == str(store.settings.run_nice) == "10"
    with pytest.raises(RunInProgressError, match="already in progress"):
        start_background_run(store, pid, actor=ADMIN)

    run = wait_for_run(store, pid, timeout_s=60)
    assert run is not None and run.status == "failed"
    assert "has no media" in (run.error or "")
    state = run_state(store, pid)
    assert not state.active and state.run == run
    assert [r.id for r in list_runs(store, pid)] == [run.id]

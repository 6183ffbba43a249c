"""Footage imported from a folder of the app host, under ``ray`` with local storage: a worker
checks it can read each file (a shared mount) before the first work is sent, and a run whose
workers cannot fails at once in one line naming ``GENESIS_STORAGE``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.actors import ADMIN
from support.rayrows import OWNER

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.executor import Call, StepProgress, make_executor, tasks
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import import_from_folder
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


def test_a_worker_says_which_host_files_it_cannot_read(ray_cluster, tmp_path: Path) -> None:
    here = tmp_path / "shared.mp4"
    here.write_bytes(b"x" * 100)
    files = ((str(here), 100), (str(here), 99), (str(tmp_path / "gone.mp4"), 5))
    executor = make_executor(Settings(executor="ray", ray_address=ray_cluster.address))
    try:
        call = Call(tasks.unreadable_files, (files,), "imports")
        [(_, unreadable)] = list(executor.run([call], StepProgress(lambda d, t, n: None, 1)))
        where = executor.where(0)
    finally:
        executor.close()
    # This machine's nodes share its disk: the file is readable there, at its size only.
    assert unreadable == [str(here), str(tmp_path / "gone.mp4")]
    assert where["node"] in (ray_cluster.gpu_node, ray_cluster.cpu_node)


def nothing_readable(files: Any, *, progress: Any) -> list[str]:
    """A worker on a machine without the app host's folder (as this one's nodes are not)."""
    return [path for path, _size in files]


def test_a_run_refuses_host_imports_its_workers_cannot_read(
    ray_cluster, tmp_path: Path, tone_footage, monkeypatch
) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(tasks, "unreadable_files", nothing_readable)
    store = Store(
        Settings(
            home=tmp_path / "home",
            executor="ray",
            ray_address=ray_cluster.address,
            ray_owner=OWNER,
            import_dir=tone_footage.path.parent,
            offline="1",
        )
    )
    pid = create_project(store, "host folder", actor=ADMIN).id
    import_from_folder(store, pid, [tone_footage.path.name], actor=ADMIN)
    t0 = time.monotonic()
    report = ProjectPipelineService(store).run(pid)
    assert report.status == "failed"
    error = report.error or ""
    # Refused before the first work is sent: by the first step with a cache miss.
    assert error.startswith(
        f"transcribe: GENESIS_STORAGE: {tone_footage.path.name} was imported from a folder of "
        f"the app host ({tone_footage.path.resolve()}), which the Ray workers cannot read"
    ), error
    assert "s3://" in error and "\n" not in error
    assert time.monotonic() - t0 < 30
    # Transcription and scenes start at once; both are refused by the one check.
    ran = {d["step"]: d["status"] for d in report.step_details if d["status"] != "not run"}
    assert ran == {"media": "ok", "proxies": "skipped", "transcribe": "failed",
                   "scenes": "failed"}, ran  # fmt: skip


def test_a_run_refuses_a_data_dir_its_workers_cannot_read(
    ray_cluster, tmp_path: Path, tone_footage, monkeypatch
) -> None:
    import ray.cloudpickle

    from genesis_pipeline.services.upload import add_media

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(tasks, "unreadable_files", nothing_readable)
    home = tmp_path / "home"
    store = Store(
        Settings(
            home=home, executor="ray", ray_address=ray_cluster.address, ray_owner=OWNER, offline="1"
        )
    )
    pid = create_project(store, "data dir", actor=ADMIN).id
    add_media(store, pid, [tone_footage.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid)
    error = report.error or ""
    assert error.startswith(
        f"transcribe: GENESIS_STORAGE: {tone_footage.path.name} is in the data dir "
        f"{home.resolve()} ("
    ), error
    assert "share the data dir at the same path on every worker" in error, error

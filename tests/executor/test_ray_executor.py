"""The Ray executor on a real two-node cluster (conftest): same rows as the local executor,
model stages on the GPU node and the rest elsewhere, a killed worker retried, a stopped head
failing the run in one line and the next run resuming, two projects at once kept apart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.procs import spawn, wait_for_step
from support.raycluster import start_cluster

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.executor import tasks
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.status import status_report
from genesis_pipeline.services.upload import add_media, import_from_s3
from genesis_pipeline.storage import CACHE_DIR, worker_dir
from genesis_pipeline.store import Store
from genesis_pipeline.store import renders as renders_sql

pytestmark = pytest.mark.slow


def _settings(home: Path, blip: Path, **kw: Any) -> Settings:
    return Settings(home=home, caption_model=str(blip), offline="1", **kw)


def _project(home: Path, blip: Path, footage: Path, name: str, **kw: Any) -> tuple[Store, int]:
    store = Store(_settings(home, blip, **kw))
    pid = create_project(store, name).id
    add_media(store, pid, [footage])
    return store, pid


def rows(store: Store, pid: int) -> dict[str, Any]:
    """What the pipeline wrote for a project, without ids, paths or timings."""
    doc = status_report(store, pid)
    media = {m.id: m.original_name for m in doc.media}
    index = {s.id: (media[s.media_id], s.index) for s in doc.scenes}
    return {
        "words": [
            (media[t.media_id], w.word, w.start, w.end)
            for t in doc.transcripts
            for w in t.words or ()
        ],
        "scenes": [
            (media[s.media_id], s.index, s.start_frame, s.end_frame, s.caption) for s in doc.scenes
        ],
        "chapters": [
            (c.index, c.title, c.start_s, c.end_s, [index[i] for i in c.scene_ids])
            for c in doc.chapters
        ],
        "renders": [round(r.duration_s, 3) for r in doc.renders],
    }


def steps(report: RunReport) -> dict[str, dict[str, Any]]:
    return {d["step"]: d for d in report.step_details}


@pytest.fixture(scope="module")
def local_reference(local_pipeline) -> dict[str, Any]:
    return rows(local_pipeline.store, local_pipeline.pid)


def test_ray_gives_the_rows_local_gives_with_models_on_the_gpu_node(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, footage, local_reference
) -> None:
    store, pid = _project(
        tmp_path / "home",
        tiny_blip_session,
        footage.path,
        "ray",
        executor="ray",
        ray_address=ray_cluster.address,
    )
    notes: list[str] = []
    report = ProjectPipelineService(store).run(pid, progress=lambda d, t, n: notes.append(n))
    assert report.status == "succeeded", report.error
    assert rows(store, pid) == local_reference
    # Progress from inside the workers reached the host (the Run page polls it).
    assert f"{footage.path.name}: transcribing" in notes, notes
    s = steps(report)
    assert s["captions"]["status"] == "ok" and s["render"]["status"] == "ok"
    # Where each call ran, as the workers reported it.
    for step in ("transcribe", "captions"):
        assert [i["worker"]["node"] for i in s[step]["items"]] == [ray_cluster.gpu_node], step
        assert report.device["models"]["whisper" if step == "transcribe" else "captions"][
            "worker"
        ] == (ray_cluster.gpu_node)
    assert [i["worker"]["node"] for i in s["scenes"]["items"]] == [ray_cluster.cpu_node]
    assert s["render"]["worker"]["node"] == ray_cluster.cpu_node
    # torch/CTranslate2 see no CUDA on the "GPU" node: the worker planned its own device.
    assert report.device["models"]["whisper"]["device"] == "cpu"

    # A re-run finds everything in the cache and submits nothing.
    again = ProjectPipelineService(store).run(pid)
    assert again.status == "succeeded"
    for step in ("transcribe", "scenes", "captions", "render"):
        assert steps(again)[step]["cache_hit"], step
        assert "worker" not in json.dumps(steps(again)[step].get("items", [])), step


def test_ray_workers_read_inputs_from_s3_and_publish_the_render_themselves(
    ray_cluster, s3, tmp_path: Path, tiny_blip_session: Path, footage, local_reference
) -> None:
    bucket = s3.bucket()
    # The footage goes straight to S3 (never on the app host) and is registered in place.
    footage_uri = f"s3://{bucket}/incoming/{footage.path.name}"
    s3.client().upload_file(str(footage.path), bucket, f"incoming/{footage.path.name}")
    # The storage settings exist only in the host's Settings (not in any environment): the
    # workers get them with each call.
    store = Store(
        _settings(
            tmp_path / "home",
            tiny_blip_session,
            executor="ray",
            ray_address=ray_cluster.address,
            storage=f"s3://{bucket}/genesis",
            s3_endpoint_url=s3.endpoint,
        )
    )
    pid = create_project(store, "ray-s3").id
    import_from_s3(store, pid, [footage_uri])
    worker_cache = worker_dir() / CACHE_DIR / "objects" / f"s3:{bucket}"
    try:
        report = ProjectPipelineService(store).run(pid)
        assert report.status == "succeeded", report.error
        assert rows(store, pid) == local_reference
        with store.db.read() as con:
            [render] = renders_sql.list_for_project(con, pid)
        # The footage reached the workers from S3, not through the host: the host's
        # read-through cache never held it, nor the render, which a worker published.
        host_cache = store.home / CACHE_DIR / "objects"
        assert not list(host_cache.rglob("*.mp4")), list(host_cache.rglob("*.mp4"))
        assert (worker_cache / "incoming" / footage.path.name).is_file()
        assert list((worker_cache / "genesis" / "renders").rglob("*.mp4"))
        assert store.object_size(render.path) == render.size_bytes
        assert f"s3://{bucket}/genesis/{render.path}" == store.location(render.path)
    finally:
        shutil.rmtree(worker_cache, ignore_errors=True)
        shutil.rmtree(worker_dir() / CACHE_DIR / "tags" / f"s3:{bucket}", ignore_errors=True)


def _dies_once(marker: Path, real: Any, kind: str) -> Any:
    """``real`` wrapped so that its first attempt SIGKILLs its own worker process at the
    stage's first progress report (mid-stage); later attempts run normally."""

    def call(*args: Any, progress: Any) -> Any:
        attempt = len(list(marker.parent.glob(f"{kind}-attempt-*")))
        (marker.parent / f"{kind}-attempt-{attempt}").write_text(str(os.getpid()))

        def die(done: int, total: int, note: str) -> None:
            os.kill(os.getpid(), signal.SIGKILL)

        return real(*args, progress=die if attempt == 0 else progress)

    return call


def test_a_worker_killed_mid_stage_is_retried_and_the_run_succeeds(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, tone_footage, monkeypatch
) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marks = tmp_path / "marks"
    marks.mkdir()
    # A CPU task (scene detection) and a model actor (Whisper) each lose their process once.
    monkeypatch.setattr(
        tasks, "detect_scenes_in", _dies_once(marks / "x", tasks.detect_scenes_in, "scenes")
    )
    monkeypatch.setattr(
        tasks, "transcribe_media", _dies_once(marks / "x", tasks.transcribe_media, "whisper")
    )
    store, pid = _project(
        tmp_path / "home",
        tiny_blip_session,
        tone_footage.path,
        "kill",
        executor="ray",
        ray_address=ray_cluster.address,
    )
    report = ProjectPipelineService(store).run(pid)
    assert report.status == "succeeded", report.error
    for kind in ("scenes", "whisper"):
        pids = [int(p.read_text()) for p in sorted(marks.glob(f"{kind}-attempt-*"))]
        assert len(pids) == 2 and pids[0] != pids[1], (kind, pids)
    s = steps(report)
    assert len(rows(store, pid)["scenes"]) == 3 and s["scenes"]["counts"]["scenes"] == 3
    assert s["scenes"]["items"][0]["worker"]["pid"] == pids_of(marks, "scenes")[1]


def pids_of(marks: Path, kind: str) -> list[int]:
    return [int(p.read_text()) for p in sorted(marks.glob(f"{kind}-attempt-*"))]


def test_two_projects_at_once_keep_their_rows_apart(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, footage, tone_footage, local_reference
) -> None:
    home = tmp_path / "home"
    store, a = _project(home, tiny_blip_session, footage.path, "a")
    b = create_project(store, "b").id
    add_media(store, b, [tone_footage.path])
    env = {
        "GENESIS_EXECUTOR": "ray",
        "GENESIS_RAY_ADDRESS": ray_cluster.address,
        "GENESIS_CAPTION_MODEL": str(tiny_blip_session),
        "GENESIS_OFFLINE": "1",
    }
    procs = [spawn(home, "process-project", "--project-id", str(p), "-q", env=env) for p in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with store.db.read() as con:
        runs = con.execute("SELECT project_id, started_at, ended_at FROM runs").fetchall()
    (a0, a1), (b0, b1) = (next(r[1:] for r in runs if r[0] == p) for p in (a, b))
    assert a0 < b1 and b0 < a1, "the two runs did not overlap"
    assert rows(store, a) == local_reference
    got = rows(store, b)
    assert {s[0] for s in got["scenes"]} == {tone_footage.path.name}
    assert [(s[2], s[3]) for s in got["scenes"]] == [(0, 100), (100, 200), (200, 300)]
    assert {w[0] for w in got["words"]} <= {tone_footage.path.name}


def test_a_stopped_head_fails_the_run_in_one_line_and_the_next_run_resumes(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, tone_footage
) -> None:
    home = tmp_path / "home"
    store, pid = _project(home, tiny_blip_session, tone_footage.path, "head")
    # A cluster of its own (this test stops it), driven by a `genesis` worker process.
    doomed = start_cluster(gpu_node=False)
    try:
        env = {
            "GENESIS_EXECUTOR": "ray",
            "GENESIS_RAY_ADDRESS": doomed.address,
            "GENESIS_CAPTION_MODEL": str(tiny_blip_session),
            "GENESIS_OFFLINE": "1",
        }
        proc = spawn(home, "process-project", "--project-id", str(pid), "-q", env=env)
        assert wait_for_step(store, pid, "scenes", proc), proc.communicate()
        doomed.head_node.kill_all_processes(check_alive=False, allow_graceful=False)
        stopped = time.monotonic()
        _out, err = proc.communicate(timeout=90)
        took = time.monotonic() - stopped
    finally:
        doomed.shutdown()
    assert proc.returncode != 0
    with store.db.read() as con:
        row = con.execute("SELECT status, error FROM runs WHERE project_id = ?", [pid]).fetchone()
    assert row is not None
    status, error = row
    assert status == "failed"
    assert "GENESIS_RAY_ADDRESS" in error and "stopped answering" in error, error
    assert "\n" not in error and error.startswith("scenes: "), error
    assert f"failed: {error}" in err
    assert took < 30, f"the run took {took:.0f} s to notice the head was gone ({err})"

    # The next run (local) resumes: the transcript made on the cluster comes from the cache.
    report = ProjectPipelineService(store).run(pid, RunOptions())
    assert report.status == "succeeded", report.error
    assert steps(report)["transcribe"]["cache_hit"]
    assert not steps(report)["scenes"]["cache_hit"]

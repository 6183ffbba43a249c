"""The Ray executor on the session's two-node cluster (conftest): same rows as the local
executor, model stages on the GPU node and the rest elsewhere, a cache-hit re-run that never
connects, a killed worker retried, work no node can hold failing at once, model actors kept per
model settings, a long recording's spans fanned out, two projects at once kept apart, and a
stopped head failing the run in one line with the next run resuming (last: it ends the
cluster)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.actors import ADMIN
from support.procs import spawn
from support.raygate import wait_for
from support.rayrows import OWNER, project, rows, settings

from genesis_pipeline.runs.executor import tasks
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media, import_from_s3
from genesis_pipeline.storage import CACHE_DIR, worker_dir
from genesis_pipeline.store import Store
from genesis_pipeline.store import renders as renders_sql

pytestmark = pytest.mark.slow

# The models run on the CPU in actors asking for a share of the "GPU" node's declared GPU.
ON_GPU_NODE = {"device": "cpu", "ray_gpu_per_model": 0.5}


def steps(report: RunReport) -> dict[str, dict[str, Any]]:
    return {d["step"]: d for d in report.step_details}


def dead_address() -> str:
    """A ``host:port`` nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_ray_gives_the_rows_local_gives_with_models_on_the_gpu_node(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, footage, local_reference
) -> None:
    store, pid = project(
        tmp_path / "home",
        tiny_blip_session,
        footage.path,
        "ray",
        executor="ray",
        ray_address=ray_cluster.address,
        **ON_GPU_NODE,
    )
    notes: list[str] = []
    report = ProjectPipelineService(store).run(pid, progress=lambda d, t, n: notes.append(n))
    assert report.status == "succeeded", report.error
    assert rows(store, pid) == local_reference
    # Progress from inside the workers reached the host (the Run page polls it; with
    # transcription and scenes at once, each note says its step first).
    assert any(n.endswith(f"{footage.path.name}: transcribing") for n in notes), notes
    s = steps(report)
    assert s["captions"]["status"] == "ok" and s["render"]["status"] == "ok"
    # Where each call ran, as the workers reported it.
    for step in ("transcribe", "captions"):
        assert [i["worker"]["node"] for i in s[step]["items"]] == [ray_cluster.gpu_node], step
    assert [i["worker"]["node"] for i in s["scenes"]["items"]] == [ray_cluster.cpu_node]
    assert s["render"]["worker"]["node"] == ray_cluster.cpu_node
    # The host planned the models from the settings (the CPU, as GENESIS_DEVICE says).
    assert report.device["models"]["whisper"]["device"] == "cpu"
    assert report.device["models"]["whisper"]["worker"] == "ray"

    # A re-run finds everything in the cache and never reaches for the cluster: pointed at an
    # address where nothing answers, it still succeeds (a connection would fail at once).
    elsewhere = project_store(store, executor="ray", ray_address=dead_address(), **ON_GPU_NODE)
    again = ProjectPipelineService(elsewhere).run(pid)
    assert again.status == "succeeded", again.error
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
        settings(
            tmp_path / "home",
            tiny_blip_session,
            executor="ray",
            ray_address=ray_cluster.address,
            storage=f"s3://{bucket}/genesis",
            s3_endpoint_url=s3.endpoint,
        )
    )
    pid = create_project(store, "ray-s3", actor=ADMIN).id
    import_from_s3(store, pid, [footage_uri], actor=ADMIN)
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


def project_store(store: Any, **kw: Any) -> Any:
    """``store``'s data dir opened with other settings."""
    import dataclasses

    from genesis_pipeline.store import Store

    return Store(dataclasses.replace(store.settings, **kw))


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
    # A CPU task (scene detection) and a model actor (Whisper) each lose their process once,
    # at the stage's first progress report: mid-stage, whatever the machine's speed.
    monkeypatch.setattr(
        tasks, "detect_scenes_in", _dies_once(marks / "x", tasks.detect_scenes_in, "scenes")
    )
    monkeypatch.setattr(
        tasks, "transcribe_media", _dies_once(marks / "x", tasks.transcribe_media, "whisper")
    )
    store, pid = project(
        tmp_path / "home",
        tiny_blip_session,
        tone_footage.path,
        "kill",
        executor="ray",
        ray_address=ray_cluster.address,
        **ON_GPU_NODE,  # the settings of the tests around it: their model actors serve it
    )
    report = ProjectPipelineService(store).run(pid)
    assert report.status == "succeeded", report.error
    for kind in ("scenes", "whisper"):
        pids = pids_of(marks, kind)
        assert len(pids) == 2 and pids[0] != pids[1], (kind, pids)
    s = steps(report)
    assert len(rows(store, pid)["scenes"]) == 3 and s["scenes"]["counts"]["scenes"] == 3
    assert s["scenes"]["items"][0]["worker"]["pid"] == pids_of(marks, "scenes")[1]
    assert s["transcribe"]["items"][0]["worker"]["pid"] == pids_of(marks, "whisper")[1]


def pids_of(marks: Path, kind: str) -> list[int]:
    return [int(p.read_text()) for p in sorted(marks.glob(f"{kind}-attempt-*"))]


def test_two_projects_at_once_keep_their_rows_apart(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, footage, tone_footage, local_reference
) -> None:
    home = tmp_path / "home"
    store, a = project(home, tiny_blip_session, footage.path, "a")
    b = create_project(store, "b", actor=ADMIN).id
    add_media(store, b, [tone_footage.path], actor=ADMIN)
    env = {
        "GENESIS_EXECUTOR": "ray",
        "GENESIS_RAY_ADDRESS": ray_cluster.address,
        "GENESIS_CAPTION_MODEL": str(tiny_blip_session),
        "GENESIS_OFFLINE": "1",
        "GENESIS_DEVICE": "cpu",
        "GENESIS_RAY_GPU_PER_MODEL": "0.5",
        "GENESIS_RAY_OWNER": OWNER,
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


def test_a_model_actor_no_node_can_hold_fails_the_run_at_once_in_one_line(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, tone_footage
) -> None:
    store, pid = project(
        tmp_path / "home",
        tiny_blip_session,
        tone_footage.path,
        "too-big",
        executor="ray",
        ray_address=ray_cluster.address,
        device="cpu",
        ray_gpu_per_model=2.0,  # the cluster's one GPU node declares 1
    )
    t0 = time.monotonic()
    report = ProjectPipelineService(store).run(pid)
    took = time.monotonic() - t0
    assert report.status == "failed"
    error = report.error or ""
    assert error.startswith("transcribe: GENESIS_RAY_GPU_PER_MODEL=2: "), error
    assert "asks for 2 GPU and 1 CPU" in error and "0 GPU" in error and "1 GPU" in error, error
    assert "\n" not in error
    assert took < 20, f"{took:.1f} s to fail"


def test_a_cpu_task_no_node_can_hold_fails_at_once(ray_cluster) -> None:
    from genesis_pipeline.config import Settings
    from genesis_pipeline.errors import ExecutorError
    from genesis_pipeline.runs.executor import Call, StepProgress, make_executor

    executor = make_executor(
        Settings(executor="ray", ray_address=ray_cluster.address, ray_cpus_per_task=3.0)
    )
    try:
        with pytest.raises(ExecutorError, match=r"^GENESIS_RAY_CPUS_PER_TASK=3: a CPU task "):
            list(executor.run([Call(echo, (1,), "one")], StepProgress(lambda d, t, n: None, 1)))
    finally:
        executor.close()


def echo(*args: Any, progress: Any) -> Any:
    return args


def actor_pid(model: Any, *, progress: Any) -> int:
    """The process of the model actor that runs the call."""
    return os.getpid()


def test_model_actors_are_kept_per_model_settings_and_stale_ones_retired(ray_cluster) -> None:
    import ray
    import ray.cloudpickle
    from ray.util import list_named_actors

    from genesis_pipeline.config import Settings
    from genesis_pipeline.runs.executor import Call, StepProgress, make_executor, model_config

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    quiet = StepProgress(lambda d, t, n: None, 1)

    def serve(**kw: Any) -> tuple[int, str]:
        """(pid of the actor that ran a call, its actors' name prefix) under settings ``kw``."""
        settings = Settings(
            executor="ray", ray_address=ray_cluster.address, offline="1", ray_owner=OWNER, **kw
        )
        config = model_config(settings, "whisper")
        executor = make_executor(settings)
        try:
            [(_, pid)] = list(executor.run([Call(actor_pid, (), "probe", config)], quiet))
            return pid, f"{mine}{executor.actor_tag(config)}-"  # type: ignore[attr-defined]
        finally:
            executor.close()

    mine = f"genesis-{OWNER}-whisper-"

    def whisper_actors() -> list[str]:
        return sorted(n for n in list_named_actors() if n.startswith(mine))

    def settle(expected: list[str], timeout_s: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while whisper_actors() != expected and time.monotonic() < deadline:
            time.sleep(0.1)  # a retired actor ends once its queued calls are done
        return whisper_actors()

    first, f32 = serve(whisper_compute_type="float32")
    assert settle([f"{f32}0"]) == [f"{f32}0"]
    # Another run (another executor, as another process would have) finds the same actor.
    again, same = serve(whisper_compute_type="float32")
    assert (again, same) == (first, f32)
    # Another compute type is another model: new actors, and the float32 one is retired.
    other, shared = serve(whisper_compute_type="int8", **ON_GPU_NODE)
    assert shared != f32 and other != first
    assert settle([f"{shared}0"]) == [f"{shared}0"]
    # So is another resource request (the actors hold what they asked for).
    last, own = serve(whisper_compute_type="int8")
    assert own not in (f32, shared) and last not in (first, other)
    assert settle([f"{own}0"]) == [f"{own}0"]


def test_the_spans_of_a_long_recording_fan_out_over_whisper_actors(
    ray_cluster, tmp_path: Path
) -> None:
    from support.speech import long_recording

    from genesis_pipeline.config import Settings
    from genesis_pipeline.progress import no_progress
    from genesis_pipeline.runs.executor import LocalExecutor, make_executor, model_config
    from genesis_pipeline.runs.steps.transcribe import Recording, transcribe_files
    from genesis_pipeline.stages.transcribe import TranscribeParams, split_recording
    from genesis_pipeline.storage import StorageAccess

    path, duration = long_recording(tmp_path)
    access = StorageAccess(root=str(tmp_path))  # local storage: the locator is the path
    assert len(split_recording(path).spans) == 2
    files = [Recording(path.name, str(path), True, duration)]
    settings = Settings(
        executor="ray",
        ray_address=ray_cluster.address,
        offline="1",
        ray_model_actors=2,
        ray_owner=OWNER,
    )
    config = model_config(settings, "whisper")
    local = LocalExecutor()
    info = local.model_info(config)
    params = TranscribeParams(
        batch_size=info.plan.whisper_batch_size, workers=info.plan.whisper_workers
    )
    [(_, expected, _)] = transcribe_files(
        local, access, files, params, info.identity, config, no_progress
    )
    heard = [w.start for w in expected.words]
    assert min(heard) < 10 and max(heard) > 300, heard  # both sentences, one in each span
    executor = make_executor(settings)
    try:
        assert executor.model_info(config).identity == info.identity
        [(_, got, where)] = transcribe_files(
            executor, access, files, params, info.identity, config, no_progress
        )
    finally:
        executor.close()
    assert got == expected
    assert len(where) == 2 and len({w["pid"] for w in where}) == 2, where


@pytest.mark.stops_ray_head
def test_a_stopped_head_fails_the_run_in_one_line_and_the_next_run_resumes(
    ray_cluster, tmp_path: Path, tiny_blip_session: Path, tone_footage
) -> None:
    home = tmp_path / "home"
    gate = tmp_path / "gate"
    gate.mkdir()
    store, pid = project(home, tiny_blip_session, tone_footage.path, "head")
    env = {
        "GENESIS_EXECUTOR": "ray",
        "GENESIS_RAY_ADDRESS": ray_cluster.address,
        "GENESIS_CAPTION_MODEL": str(tiny_blip_session),
        "GENESIS_OFFLINE": "1",
        "GENESIS_RAY_OWNER": OWNER,
        # One step after another: the transcript is made (and cached) before scene detection,
        # which the gate holds, so the next run shows what resumes from the cache.
        "GENESIS_STEPS_TOGETHER": "0",
    }
    # `genesis process-project` with scene detection held on its worker until the head is gone.
    script = Path(__file__).resolve().parents[1] / "support" / "raygate.py"
    cmd = [sys.executable, str(script), str(gate), "process-project", "--project-id", str(pid)]
    proc = subprocess.Popen(
        [*cmd, "-q", "--data-dir", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,
    )
    try:
        assert wait_for(gate / "started", proc), proc.communicate()
        ray_cluster.stop_head()
        stopped = time.monotonic()
        _out, err = proc.communicate(timeout=90)
        took = time.monotonic() - stopped
    finally:
        (gate / "release").write_text("")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
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

"""One Ray cluster, several apps (the session's cluster, conftest): each app host retires only
its own stale model actors; and work no node holds waits for an autoscaler, saying so, then
fails naming the setting."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import ExecutorError
from genesis_pipeline.runs.executor import Call, StepProgress, make_executor, model_config

pytestmark = pytest.mark.slow


def actor_pid(model: Any, *, progress: Any) -> int:
    """The process of the model actor that runs the call."""
    import os

    return os.getpid()


def echo(*args: Any, progress: Any) -> Any:
    return args


def test_two_apps_on_one_cluster_retire_only_their_own_model_actors(
    ray_cluster, tmp_path: Path
) -> None:
    import ray
    import ray.cloudpickle
    from ray.util import list_named_actors

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    quiet = StepProgress(lambda d, t, n: None, 1)
    # Light actors: the session's cluster is small and other tests' actors hold CPUs.
    light = {"ray_cpus_per_model": 0.25}

    def serve(home: Path, **kw: Any) -> tuple[int, str, str]:
        """(pid of the actor that ran a call, its name, its owner's whisper prefix) for an
        app on data dir ``home`` with settings ``kw``."""
        settings = Settings(
            home=home, executor="ray", ray_address=ray_cluster.address, offline="1", **kw
        )
        config = model_config(settings, "whisper")
        executor = make_executor(settings)
        try:
            [(_, pid)] = list(executor.run([Call(actor_pid, (), "probe", config)], quiet))
            mine = executor.actor_prefix("whisper")  # type: ignore[attr-defined]
            return pid, f"{mine}{executor.actor_tag(config)}-0", mine  # type: ignore[attr-defined]
        finally:
            executor.close()

    def actors(prefix: str) -> list[str]:
        return sorted(n for n in list_named_actors() if n.startswith(prefix))

    def settle(prefix: str, expected: list[str], timeout_s: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while actors(prefix) != expected and time.monotonic() < deadline:
            time.sleep(0.1)  # a retired actor ends once its queued calls are done
        return actors(prefix)

    a_home, b_home = tmp_path / "app-a", tmp_path / "app-b"
    a_pid, a_name, a_mine = serve(a_home, whisper_compute_type="float32", **light)
    b_pid, b_name, b_mine = serve(b_home, whisper_compute_type="int8", **light)
    try:
        assert a_mine != b_mine and a_pid != b_pid
        # App B's other settings did not retire app A's actor: both serve.
        assert actors(a_mine) == [a_name] and actors(b_mine) == [b_name]
        again, same, _ = serve(a_home, whisper_compute_type="float32", **light)
        assert (again, same) == (a_pid, a_name)
        # App A moves to int8: its own float32 actor retires, app B's int8 one is not touched
        # (nor shared: each app retires only what it started).
        a2_pid, a2_name, _ = serve(a_home, whisper_compute_type="int8", **light)
        assert a2_pid not in (a_pid, b_pid)
        assert settle(a_mine, [a2_name]) == [a2_name]
        assert actors(b_mine) == [b_name]
        again_b, same_b, _ = serve(b_home, whisper_compute_type="int8", **light)
        assert (again_b, same_b) == (b_pid, b_name)
    finally:
        for name in actors(a_mine) + actors(b_mine):
            ray.kill(ray.get_actor(name, namespace="genesis"))


def test_work_no_node_holds_waits_for_the_autoscaler_then_fails_naming_the_wait(
    ray_cluster,
) -> None:
    notes: list[str] = []
    executor = make_executor(
        Settings(
            executor="ray",
            ray_address=ray_cluster.address,
            ray_cpus_per_task=3.0,  # each node has 2
            ray_autoscaling=True,
            ray_scale_wait_s=2.0,
        )
    )
    t0 = time.monotonic()
    try:
        with pytest.raises(ExecutorError) as caught:
            list(
                executor.run(
                    [Call(echo, (1,), "one")], StepProgress(lambda d, t, n: notes.append(n), 1)
                )
            )
    finally:
        executor.close()
    took = time.monotonic() - t0
    message = str(caught.value)
    assert message.startswith(
        "GENESIS_RAY_CPUS_PER_TASK=3, GENESIS_RAY_SCALE_WAIT_S=2: a CPU task asks for 3 CPU"
    ), message
    assert "the autoscaler added none in 2 s" in message and "\n" not in message
    assert notes and notes[0].startswith("waiting for the autoscaler to add a node for a CPU task")
    assert "GENESIS_RAY_SCALE_WAIT_S" in notes[0]
    assert 2.0 <= took < 15, f"{took:.1f} s"


def test_work_waiting_for_the_autoscaler_runs_once_a_node_joins(ray_cluster) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    notes: list[str] = []
    joined: list[Any] = []

    def progress(done: int, total: int, note: str) -> None:
        # The "autoscaler": a 3-CPU node joins once the step says it is waiting (Ray adds
        # nodes from the main thread only; the wait reports from it).
        notes.append(note)
        if not joined:
            joined.append(ray_cluster.cluster.add_node(num_cpus=3, object_store_memory=80 * 2**20))

    executor = make_executor(
        Settings(
            executor="ray",
            ray_address=ray_cluster.address,
            ray_cpus_per_task=3.0,
            ray_autoscaling=True,
            ray_scale_wait_s=120.0,
        )
    )
    try:
        got = list(executor.run([Call(echo, (7,), "one")], StepProgress(progress, 1)))
        where = executor.where(0)
    finally:
        executor.close()
        for node in joined:
            ray_cluster.cluster.remove_node(node)
    assert got == [(0, (7,))]
    assert notes[0].startswith("waiting for the autoscaler"), notes
    assert where["node"] == joined[0].node_id

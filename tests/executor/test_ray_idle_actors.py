"""Model actors that do not hold a shared cluster for good (the session's cluster, conftest):
an idle actor ends itself and the next run starts it again; a call that meets an actor just
ended is sent once more; a model actor whose GPU other owners' actors hold says who holds it
and fails after GENESIS_RAY_PLACE_WAIT_S naming them, then runs once they end; and neither
that wait nor a wait for the autoscaler holds up the CPU work of the step running beside it."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import ExecutorError
from genesis_pipeline.runs.executor import Call, StepProgress, make_executor, model_config

pytestmark = pytest.mark.slow

NAMESPACE = "genesis"
# Light model actors: the session's cluster has 2 CPUs a node.
LIGHT: dict[str, Any] = {"ray_cpus_per_model": 0.25, "offline": "1", "device": "cpu"}


def served(model: Any, *, progress: Any) -> tuple[str, int]:
    """Which model served the call, and the actor's process."""
    return type(model).__name__, os.getpid()


def echo(*args: Any, progress: Any) -> Any:
    return args


def model_actors(prefix: str = "genesis-") -> list[str]:
    from ray.util import list_named_actors

    from genesis_pipeline.runs.executor.placement import model_actor

    return sorted(n for n in list_named_actors() if n.startswith(prefix) and model_actor(n))


def kill(names: list[str]) -> None:
    import ray

    for name in names:
        with contextlib.suppress(ValueError):  # gone already
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)


@pytest.fixture
def ray_here(ray_cluster) -> Iterator[Any]:
    """The session's cluster with this module's functions shipped by value; the model actors
    a test started are ended after it."""
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    before = set(model_actors())
    yield ray_cluster
    kill([n for n in model_actors() if n not in before])


def run_one(executor: Any, call: Call[Any], notes: list[str] | None = None) -> Any:
    progress = StepProgress(lambda d, t, n: notes.append(n) if notes is not None else None, 1)
    [(_, value)] = list(executor.run([call], progress))
    return value


def ray_settings(ray_here: Any, home: Path, owner: str, **extra: Any) -> Settings:
    """Settings for a light model actor of ``owner`` on the session cluster."""
    return Settings(
        home=home, executor="ray", ray_address=ray_here.address, ray_owner=owner, **LIGHT, **extra
    )


def test_an_idle_model_actor_ends_itself_and_the_next_run_starts_it_again(
    ray_here, tmp_path: Path
) -> None:
    settings = ray_settings(ray_here, tmp_path, "idle-test", ray_actor_idle_s=2.0)
    config = model_config(settings, "whisper")
    executor = make_executor(settings)
    try:
        model, pid = run_one(executor, Call(served, (), "probe", config))
        ended = time.monotonic()
        [name] = model_actors("genesis-idle-test-")
        while model_actors("genesis-idle-test-") and time.monotonic() - ended < 30:
            time.sleep(0.05)
        gone_after = time.monotonic() - ended
        assert not model_actors("genesis-idle-test-"), "the idle actor is still there"
        # Not before its idle time, and soon after (it looks every idle/4 s).
        assert 2.0 <= gone_after < 10, f"{gone_after:.1f} s"
        # The next run (this executor still holds the ended actor's handle) gets a fresh one
        # of the same name and the same answer.
        t0 = time.monotonic()
        again, pid2 = run_one(executor, Call(served, (), "probe", config))
        restarted = time.monotonic() - t0
        assert (again, model_actors("genesis-idle-test-")) == (model, [name])
        assert pid2 != pid
        print(
            f"retired {gone_after:.2f} s after its last call; re-created + served in "
            f"{restarted:.2f} s"
        )
    finally:
        executor.close()


def test_a_call_meeting_an_actor_that_just_ended_is_sent_again_to_a_fresh_one(
    ray_here, tmp_path: Path
) -> None:
    settings = ray_settings(ray_here, tmp_path, "ended-test")
    config = model_config(settings, "whisper")
    executor = make_executor(settings)
    try:
        _, pid = run_one(executor, Call(served, (), "probe", config))
        # The actor ends as an idle one does (no restart) while this executor keeps its handle.
        kill(model_actors("genesis-ended-test-"))
        _, pid2 = run_one(executor, Call(served, (), "probe", config))
        assert pid2 != pid and len(model_actors("genesis-ended-test-")) == 1
    finally:
        executor.close()


def test_a_call_refused_by_an_actor_ending_itself_waits_for_it_to_end_and_goes_to_a_fresh_one(
    ray_here, tmp_path: Path
) -> None:
    import ray

    from genesis_pipeline.runs.executor.ray_actors import (
        ADMIN,
        ActorRetired,
        ActorStatus,
        ModelWorker,
    )

    class Ending(ModelWorker):
        """An actor caught between deciding to end (idle) and ending, half a second later."""

        @ray.method(concurrency_group=ADMIN)
        def status(self) -> Any:
            return ActorStatus(0.0, 0, {"CPU": 0.25}, retiring=True)

        def call(self, *args: Any) -> Any:
            me = ray.get_runtime_context().current_actor
            threading.Timer(0.5, lambda: ray.kill(me, no_restart=True)).start()
            raise ActorRetired("the model actor is ending itself (idle)")

    settings = ray_settings(ray_here, tmp_path, "ending-test")
    config = model_config(settings, "whisper")
    executor = make_executor(settings)
    name = f"{executor.actor_prefix('whisper')}{executor.actor_tag(config)}-0"  # type: ignore[attr-defined]
    planned, plan = executor.planned(config)  # type: ignore[attr-defined]
    ending = (
        ray.remote(concurrency_groups={ADMIN: 1})(Ending)  # type: ignore[call-overload]  # Ray's overloads lack it
        .options(name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=0.25)
        .remote(planned, plan, "-", 0.0)
    )
    ray.get(ending.status.remote(), timeout=60)
    try:
        model, _ = run_one(executor, Call(served, (), "probe", config))
        assert model == "WhisperModel"  # served by a fresh actor of the same name
        assert model_actors("genesis-ending-test-") == [name]
    finally:
        executor.close()


def hold_the_gpu(owner: str) -> Any:
    """Another app's idle model actor holding the whole GPU (as a Whisper actor of that app
    would after its run), started and answering."""
    import ray

    from genesis_pipeline.runs.executor.base import ModelConfig
    from genesis_pipeline.runs.executor.ray_actors import RemoteModelWorker

    config = ModelConfig("whisper", "tiny.en", device="cpu")
    holder = RemoteModelWorker.options(
        name=f"genesis-{owner}-whisper-0123456789ab-0",
        namespace=NAMESPACE,
        lifetime="detached",
        num_gpus=1.0,
        num_cpus=0.25,
    ).remote(config, config.plan(), "-", 0.0)
    ray.get(holder.status.remote(), timeout=60)
    return holder


def test_a_model_actor_whose_gpu_other_owners_hold_says_so_and_gives_up_naming_them(
    ray_here, tmp_path: Path
) -> None:
    import ray

    # The session's other tests leave their idle model actors on the GPU node: this test
    # needs the one GPU for another owner's actor.
    kill(model_actors())
    holder = hold_the_gpu("other-app")
    settings = ray_settings(
        ray_here, tmp_path, "waiter", ray_gpu_per_model=1.0, ray_place_wait_s=8.0
    )
    config = model_config(settings, "whisper")
    executor = make_executor(settings)
    notes: list[str] = []
    failed: list[BaseException] = []
    model_step_done = threading.Event()

    def model_step() -> None:
        try:
            run_one(executor, Call(served, (), "clip.mp4", config), notes)
        except BaseException as exc:  # the thread's outcome is looked at below
            failed.append(exc)
        finally:
            model_step_done.set()

    try:
        cpu_calls = [Call(echo, (i,), f"s{i}") for i in range(3)]
        list(executor.run(cpu_calls, quiet()))  # worker processes started (seconds here)
        t0 = time.monotonic()
        waiting = threading.Thread(target=model_step)
        waiting.start()
        # The CPU step beside it (as scenes beside transcription) runs while it waits.
        got = list(executor.run(cpu_calls, quiet()))
        cpu_step = time.monotonic() - t0
        assert sorted(got) == [(0, (0,)), (1, (1,)), (2, (2,))]
        assert not model_step_done.is_set(), f"the CPU step took {cpu_step:.1f} s: {failed}"
        waiting.join(60)
        took = time.monotonic() - t0
        [error] = failed
        assert isinstance(error, ExecutorError), error
        message = str(error)
        assert message.startswith(
            "GENESIS_RAY_PLACE_WAIT_S=8: the whisper model actor waited 8 s for 1 GPU, held by "
            "model actors of genesis-other-app (whisper idle "
        ), message
        assert "GENESIS_RAY_ACTOR_IDLE_S" in message and "\n" not in message
        waits = [n for n in notes if n.startswith("waiting for 1 GPU for the whisper model")]
        assert waits and "genesis-other-app (whisper idle" in waits[0], notes
        assert "GENESIS_RAY_PLACE_WAIT_S" in waits[0]
        assert 8 <= took < 30, f"{took:.1f} s"
        print(f"CPU step beside the wait: {cpu_step:.2f} s; gave up after {took:.2f} s")
        # The holder ends (as an idle one does): the next run's actor is placed and serves.
        again = make_executor(
            ray_settings(
                ray_here, tmp_path, "waiter", ray_gpu_per_model=1.0, ray_place_wait_s=120.0
            )
        )
        ended: list[bool] = []

        def note(n: str) -> None:
            notes.append(n)
            if n.startswith("waiting for 1 GPU") and not ended:
                ray.kill(holder, no_restart=True)
                ended.append(True)

        try:
            [(_, (model, _pid))] = list(
                again.run(
                    [Call(served, (), "clip.mp4", config)], StepProgress(lambda d, t, n: note(n), 1)
                )
            )
        finally:
            again.close()
        assert ended, "the second run never said it waited"
        assert model == "WhisperModel"
    finally:
        executor.close()
        kill(model_actors("genesis-other-app-"))


def quiet() -> StepProgress:
    return StepProgress(lambda d, t, n: None, 1)


def test_a_step_waiting_for_the_autoscaler_does_not_hold_up_the_step_beside_it(
    ray_here,
) -> None:
    executor = make_executor(
        Settings(
            executor="ray",
            ray_address=ray_here.address,
            ray_owner="scale-test",
            ray_cpus_per_model=3.0,  # each node has 2
            ray_autoscaling=True,
            ray_scale_wait_s=4.0,
            offline="1",
            device="cpu",
        )
    )
    config = model_config(Settings(offline="1", device="cpu"), "whisper")
    failed: list[BaseException] = []

    def model_step() -> None:
        try:
            run_one(executor, Call(served, (), "clip.mp4", config))
        except BaseException as exc:
            failed.append(exc)

    try:
        waiting = threading.Thread(target=model_step)
        waiting.start()
        time.sleep(0.5)  # the model step is in its wait
        t0 = time.monotonic()
        got = list(executor.run([Call(echo, (1,), "s1")], quiet()))
        took = time.monotonic() - t0
        assert got == [(0, (1,))]
        assert waiting.is_alive(), "the model step stopped waiting before the CPU step ran"
        assert took < 3.5, f"the CPU step waited {took:.1f} s"
        waiting.join(30)
        [error] = failed
        assert "GENESIS_RAY_SCALE_WAIT_S=4" in str(error)
    finally:
        executor.close()

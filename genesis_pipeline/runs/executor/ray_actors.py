"""What the Ray executor runs on the cluster: the model actors, the CPU task and the progress
board. Imported only by :mod:`.ray_cluster` (this module imports Ray).

* :class:`ModelWorker`: a long-lived (detached, named) actor that loads one model once and
  serves the calls of many files, runs and projects, with the device plan the host decided
  (it checks its node can follow it and that its model has the host's identity). Idle for
  ``GENESIS_RAY_ACTOR_IDLE_S`` with no call in flight, it ends itself and frees its GPU share
  and CPUs for other owners; the host's next call starts it again. :meth:`ModelWorker.status`
  answers on a thread of its own, even while a call runs.
* :func:`run_task`: one CPU stage call (scene detection, render) as a Ray task.
* :class:`ProgressBoard`: workers post each call's latest ``(done, total, note)``; the host
  reads it while it waits, so the Run page moves as it does with the local executor.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray

from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.executor.base import ModelConfig
from genesis_pipeline.runs.executor.tasks import load_planned

log = logging.getLogger(__name__)

# A worker posts progress at most this often (each post is one small actor message).
POST_INTERVAL_S = 0.5
# How often an idle model actor looks at its clock (at most; a short idle time looks oftener).
IDLE_POLL_S = 5.0
#: The concurrency group of the calls that answer while a model call runs.
ADMIN = "admin"


class ActorRetired(RuntimeError):
    """A call reached a model actor that has just decided to end itself (idle): the host sends
    it again to a fresh actor of the same name."""


@dataclass(frozen=True, slots=True)
class ActorStatus:
    """What a model actor is doing: seconds since its last call ended (or it started), calls
    in flight, the resources Ray gave it (``{"CPU": 1.0, "GPU": 0.5}``) and whether it is
    ending itself (it refuses calls from then on)."""

    idle_s: float
    busy: int
    resources: dict[str, float]
    retiring: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """A call's result, where it ran (the Ray node id and worker pid) and how long the worker
    spent on it (``busy_s``; the rest of the host's wait is scheduling and transfer)."""

    value: Any
    node: str
    pid: int
    busy_s: float


class ProgressBoard:
    """The latest progress of each running call, keyed ``<run token>/<call index>``."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[int, int, str]] = {}

    def post(self, key: str, done: int, total: int, note: str) -> None:
        self.latest[key] = (done, total, note)

    def take(self, prefix: str) -> dict[str, tuple[int, int, str]]:
        """Every entry under ``prefix``, removed from the board."""
        mine = {k: v for k, v in self.latest.items() if k.startswith(prefix)}
        for k in mine:
            del self.latest[k]
        return mine


def _poster(board: Any, key: str) -> Progress:
    last = [0.0]

    def post(done: int, total: int, note: str) -> None:
        now = time.monotonic()
        if now - last[0] < POST_INTERVAL_S and done < total:
            return
        last[0] = now
        board.post.remote(key, done, total, note)  # fire and forget

    return post


def _here() -> str:
    return str(ray.get_runtime_context().get_node_id())


class ModelWorker:
    """One model, loaded on first use with the plan the host decided and kept for the life of
    the actor. Named after that plan and the model's identity: other settings get other actors.
    """

    def __init__(
        self, config: ModelConfig, plan: DevicePlan, identity: str, idle_s: float = 0.0
    ) -> None:
        # Ray starts the worker with OMP_NUM_THREADS set to the actor's CPU claim (1), so numpy's
        # BLAS is already down to one thread. The models compute with the threads of their
        # device plan (this node's cores), as in the local executor: the BLAS pool's size even
        # changes Whisper's text (the mel features are summed in another order).
        from threadpoolctl import threadpool_limits

        cores = os.cpu_count() or 1
        os.environ["OMP_NUM_THREADS"] = str(cores)  # libraries loaded from now on
        threadpool_limits(cores)  # those loaded already
        self.config = config
        self.plan = plan
        self.identity = identity
        self.model: Any = None
        self.idle_s = idle_s
        self._gate = threading.Lock()  # busy, last and retiring change together
        self._busy = 0
        self._last = time.monotonic()
        self._retiring = False
        if idle_s > 0:
            idler = threading.Thread(target=self._retire_when_idle, name="genesis-idle")
            idler.daemon = True
            idler.start()

    def where(self) -> tuple[str, int]:
        """This actor's node id and process id."""
        return _here(), os.getpid()

    @ray.method(concurrency_group=ADMIN)
    def status(self) -> ActorStatus:
        """How long this actor has been idle, its calls in flight and what it holds (answered
        on the admin thread, so a running call does not hold the answer up)."""
        with self._gate:
            idle, busy, retiring = time.monotonic() - self._last, self._busy, self._retiring
        context = ray.get_runtime_context()
        held = context.get_assigned_resources()  # type: ignore[no-untyped-call]
        resources = {k: float(v) for k, v in held.items()}
        return ActorStatus(round(idle, 1), busy, resources, retiring)

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], board: Any, key: str) -> Done:
        t0 = time.monotonic()
        with self._gate:
            if self._retiring:
                raise ActorRetired("the model actor is ending itself (idle)")
            self._busy += 1
        try:
            if self.model is None:
                self.model = load_planned(self.config, self.plan, self.identity, _here())
            value = fn(self.model, *args, progress=_poster(board, key))
        finally:
            with self._gate:
                self._busy -= 1
                self._last = time.monotonic()
        return Done(value, _here(), os.getpid(), round(time.monotonic() - t0, 3))

    def retire(self) -> None:
        """End this actor once the calls sent to it before this one are done (the host retires
        its owner's actors that other settings started)."""
        with self._gate:
            self._retiring = True
        self._end()

    def _end(self) -> None:
        # exit_actor() from a call left the actor alive 10+ s (Ray 2.60, with the admin
        # thread); a kill without restart ends it at once, and nothing runs now.
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)

    def _retire_when_idle(self) -> None:
        """End this actor once it has had no call for ``idle_s`` (its model's memory, GPU
        share and CPUs go back to the cluster). A call that slips in meanwhile is refused
        (:class:`ActorRetired`) or sees the actor die; either way the host sends it again."""
        while True:
            time.sleep(min(IDLE_POLL_S, self.idle_s / 4))
            with self._gate:
                if self._busy or time.monotonic() - self._last < self.idle_s:
                    continue
                self._retiring = True
            log.info("model actor idle for %.0f s: ending", self.idle_s)
            self._end()
            return


def run_task(fn: Callable[..., Any], args: tuple[Any, ...], board: Any, key: str) -> Done:
    """One CPU stage call on a Ray worker."""
    t0 = time.monotonic()
    value = fn(*args, progress=_poster(board, key))
    return Done(value, _here(), os.getpid(), round(time.monotonic() - t0, 3))


RemoteTask = ray.remote(run_task)
# Ray's overloads of remote() leave out concurrency_groups, which it takes.
RemoteModelWorker = ray.remote(concurrency_groups={ADMIN: 1})(  # type: ignore[call-overload]
    ModelWorker
)
RemoteProgressBoard = ray.remote(ProgressBoard)

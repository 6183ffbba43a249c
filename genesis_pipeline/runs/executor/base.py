"""The executor interface: where a step's stage calls run, and what a call is.

A step describes each cache miss as a :class:`Call` (a module-level task function from
:mod:`.tasks` and its arguments: input locators, params, small values) and hands all of a step's
calls to :meth:`Executor.run` at once; results come back as they complete, and the step writes
the stage cache and the rows on the host, as before. A call that needs a model names a
:class:`ModelConfig`; the executor supplies the loaded model (in this process, or in a
long-lived actor that loaded it once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.progress import Progress

R = TypeVar("R")

MODEL_KINDS = ("whisper", "captions")


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """What it takes to plan a device and load a model, and nothing of the host's (no data
    dir, no Settings): the model's name as configured and the device knobs. The local executor
    plans this machine's device from them; the Ray executor decides the device from the settings
    (``device`` resolved, see ``RayExecutor.planned``) and its workers load the model with that
    plan, so a GPU worker behind a CPU-only app host runs the model on its GPU.

    Attributes:
        kind: ``whisper`` or ``captions``.
        name: ``GENESIS_WHISPER_MODEL`` or ``GENESIS_CAPTION_MODEL`` as configured.
    """

    kind: str
    name: str
    offline: str = "auto"
    device: str = "auto"
    whisper_compute_type: str = "auto"
    whisper_batch_size: int = 0
    caption_batch_size: int = 0

    def plan(self, cuda_count: int | None = None) -> DevicePlan:
        """The device plan on the machine this runs on, or, given ``cuda_count``, for a machine
        with that many CUDA devices (a host planning for its workers).

        Raises:
            InvalidSettingError: the device or compute type cannot be used here.
        """
        from genesis_pipeline.ml.device import plan_devices

        return plan_devices(
            self.device,
            whisper_compute_type=self.whisper_compute_type,
            whisper_batch_size=self.whisper_batch_size,
            caption_batch_size=self.caption_batch_size,
            cuda_count=cuda_count,
        )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model as the executor resolved it from the settings, without loading it: the identity
    that goes into cache keys and the device plan the model runs with (the Ray executor decides
    it for its workers, which load the model with it and check the identity).

    Attributes:
        identity: the model's cache-key identity (weights and, for BLIP, dtype).
        note: why this model was chosen (a fallback), for the run's step_details.
        where: ``local``, or ``ray`` (the calls' items say which node served each).
        error: why the model cannot be used (captions are then skipped), None when it can.
    """

    identity: str
    plan: DevicePlan
    note: str | None = None
    fallback: bool = False
    where: str = "local"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Call(Generic[R]):
    """One stage call. ``fn`` is a module-level function of :mod:`.tasks` (Ray ships it by
    reference); it is called as ``fn(*args, progress=...)``, or ``fn(model, *args,
    progress=...)`` when ``model`` names the model it needs.

    Attributes:
        label: what progress notes and errors call it (the file's name).
        model: the model the call runs with; None for a CPU task.
    """

    fn: Callable[..., R]
    args: tuple[Any, ...]
    label: str
    model: ModelConfig | None = None


@dataclass(slots=True)
class StepProgress:
    """Folds the progress of a step's concurrent calls into one ``(done, total, note)`` for
    the step: each call weighs the same, ``1000`` units, as the steps counted one file at a
    time before."""

    progress: Progress
    calls: int
    fractions: dict[int, float] = field(default_factory=dict)

    def __call__(self, index: int, done: int, total: int, note: str) -> None:
        self.fractions[index] = min(1.0, done / total) if total > 0 else 0.0
        whole = sum(int(1000 * f) for f in self.fractions.values())
        self.progress(whole, self.calls * 1000, note)

    def finished(self, index: int, note: str) -> None:
        self(index, 1, 1, note)


class Executor(Protocol):
    """Runs a step's stage calls: in this process (:class:`.local.LocalExecutor`) or on a Ray
    cluster (:class:`.ray_cluster.RayExecutor`)."""

    name: str
    #: Whether steps that need nothing from each other may hand it calls at once, from
    #: threads of their own (``runs.pipeline.TOGETHER``).
    concurrent_steps: bool

    def describe(self) -> dict[str, Any]:
        """What runs where, for ``genesis config`` and the run's record."""
        ...

    def model_info(self, config: ModelConfig) -> ModelInfo:
        """The model's identity (for cache keys) and the device plan it runs with, decided
        without loading it (and, for a cluster, without reaching it).

        Raises:
            InvalidSettingError: the model's name or device settings are unusable.
            ModelUnavailableError: a Whisper model cannot be found.
            ExecutorError: the cluster cannot be reached.
        """
        ...

    def model_slots(self, config: ModelConfig) -> int:
        """How many calls with ``config``'s model run at once (the work worth splitting)."""
        ...

    def run(self, calls: Sequence[Call[R]], progress: StepProgress) -> Iterator[tuple[int, R]]:
        """Run every call, yielding ``(index in calls, result)`` as each completes. Calls not
        yet finished when the caller stops iterating (an error, an interrupt) are cancelled.

        Raises:
            GenesisError: what a call raised (the first to fail), unchanged.
            ExecutorError: the cluster stopped answering.
        """
        ...

    def before_work(self, check: Callable[[], None]) -> None:
        """Have ``check()`` run once before the first calls this executor sends elsewhere (it
        may raise to refuse them all): a run whose steps all hit the cache never pays for it.
        A no-op for the local executor, which sends nothing away."""
        ...

    def watch(self, on_lost: Callable[[str], None]) -> None:
        """Have ``on_lost(message)`` called (and the process ended) if the cluster goes away
        while this process is stuck in a call to it; a no-op where there is no cluster."""
        ...

    def where(self, index: int) -> dict[str, Any]:
        """Where call ``index`` of the last :meth:`run` ran (``node``, ``pid``, and ``busy_s``,
        the worker's own time on it); empty when it ran in this process."""
        ...

    def close(self) -> None:
        """Let go of the cluster (the long-lived model actors stay for the next run)."""
        ...

"""The Ray executor: a step's calls fan out over a Ray cluster and are gathered as they finish.

Connecting: ``GENESIS_RAY_ADDRESS`` = ``auto`` (the cluster this machine belongs to),
``host:port`` (its GCS), ``ray://host:10001`` (Ray Client), or empty (start a Ray on this
machine for this process). Ray's dashboard and usage statistics stay off.

Models: the host decides each model's identity (the cache keys) and device plan from the
settings alone (:meth:`RayExecutor.planned`), so a run whose steps all hit the cache never
connects. Whisper and BLIP calls go to long-lived detached actors
(:class:`.ray_actors.ModelWorker`, ``GENESIS_RAY_MODEL_ACTORS`` per model) named after that
identity, plan and resource request and after their owner (``GENESIS_RAY_OWNER``: by default
this host and data dir), so a second run, of any project, finds them with the model loaded; a
run with other model settings starts its own and retires its owner's stale ones, never another
app's. An actor idle for ``GENESIS_RAY_ACTOR_IDLE_S`` ends itself, so an owner that stopped
running frees its share for others; a call that meets an actor just ended is sent once more, to
a fresh one. An actor that cannot be placed because other model actors hold what it asks for
is reported in the step's progress, naming their owners, and fails the step after
``GENESIS_RAY_PLACE_WAIT_S``. Each asks for ``GENESIS_RAY_GPU_PER_MODEL`` GPUs and
``GENESIS_RAY_CPUS_PER_MODEL`` CPUs;
scene detection, playable copies and renders are Ray tasks asking for
``GENESIS_RAY_CPUS_PER_TASK`` CPUs. A request no node of the cluster can hold fails at once,
naming the setting and what the nodes have; with an autoscaler (``GENESIS_RAY_AUTOSCALING=1``)
it asks for a node and waits up to ``GENESIS_RAY_SCALE_WAIT_S`` first. Neither wait holds up
the other step running at once (scenes go on while transcription waits). A worker that
dies is retried by Ray (tasks: ``max_retries``; actors: ``max_restarts`` and
``max_task_retries``).

A cluster that stops answering (its head gone) is noticed within seconds by probing the GCS
port while waiting, and fails the step with one line naming ``GENESIS_RAY_ADDRESS``; the stage
cache keeps what finished, so the next run resumes there.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import ExecutorError, GenesisError, InvalidSettingError
from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.runs.executor import placement
from genesis_pipeline.runs.executor.base import Call, ModelConfig, ModelInfo, R, StepProgress
from genesis_pipeline.store.cache import fingerprint

log = logging.getLogger(__name__)

SETTING = "GENESIS_RAY_ADDRESS"
WAIT_SETTING = "GENESIS_RAY_SCALE_WAIT_S"
# While waiting for the autoscaler: how often the nodes are looked at again.
SCALE_POLL_S = 1.0
NAMESPACE = "genesis"
# Retries of a call whose worker process died (a crash, the OOM killer, a lost node).
TASK_RETRIES = 2
ACTOR_RESTARTS = 2
# A model actor not answering this long after its calls were sent is looked into: starting a
# worker process takes a few seconds on a busy machine.
PLACE_GRACE_S = 2.0
# While a model actor waits to be placed: how often the holders are asked and the note renewed.
PLACE_POLL_S = 1.0
# How long the holders get to say what they do (a live actor answers on its admin thread).
HOLDER_PROBE_S = 1.0
# How long a call whose actor ended waits for that actor's name to be free (or taken by a
# fresh actor) before it is sent again: the ending takes milliseconds.
GONE_WAIT_S = 10.0
# While waiting for calls: how often the host reads progress and checks the cluster is there.
POLL_S = 0.5
PROBE_S = 1.0
# The GCS port refusing connections this many probes in a row means the head is gone.
PROBES_TO_FAIL = 2
# How long the watchdog lets the main thread notice a lost head itself before ending the process.
STUCK_GRACE_S = 3.0
# The exit status of a process ended by the watchdog (the CLI's "run failed").
EXIT_CLUSTER_LOST = 1


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why no node of the cluster can hold a request: the settings that ask for it (``settings``,
    as ``NAME=value``) and what was asked of which nodes (``reason``)."""

    settings: str
    reason: str


def shortfall(
    nodes: Sequence[Mapping[str, float]],
    need: Mapping[str, float],
    what: str,
    settings: Mapping[str, str],
) -> Shortfall | None:
    """None when some node holds every resource of ``need`` (each live node's resources in
    ``nodes``); else which settings ask for what no node has (``settings``: resource → the
    setting that asks for it)."""

    def holds(node: Mapping[str, float], kinds: Sequence[str]) -> bool:
        return all(node.get(k, 0.0) >= need[k] for k in kinds if need[k] > 0)

    if any(holds(n, list(need)) for n in nodes):
        return None
    alone = [k for k in need if need[k] > 0 and not any(holds(n, [k]) for n in nodes)]
    named = alone or [k for k in need if need[k] > 0]
    asked = " and ".join(f"{need[k]:g} {k}" for k in need if need[k] > 0)
    has = "; ".join(f"{n.get('CPU', 0.0):g} CPU, {n.get('GPU', 0.0):g} GPU" for n in nodes)
    return Shortfall(
        ", ".join(f"{settings[k]}={need[k]:g}" for k in named),
        f"{what} asks for {asked} but no node of the cluster has that "
        f"({len(nodes)} node{'s' if len(nodes) != 1 else ''}: {has})",
    )


def scale_verdict(
    short: Shortfall | None, autoscaling: bool, waited_s: float, wait_s: float
) -> Literal["fits", "wait", "fail"]:
    """What to do about a request after ``waited_s`` seconds: send it (a node holds it), wait
    for the autoscaler to add a node (there is one, and ``wait_s`` has not passed), or fail."""
    if short is None:
        return "fits"
    if autoscaling and waited_s < wait_s:
        return "wait"
    return "fail"


def owner_of(settings: Settings) -> str:
    """Whose model actors a host starts on a shared cluster: this host and its data dir (so two
    apps on one cluster, with other data dirs or model settings, retire only their own)."""
    where = {"host": socket.gethostname(), "home": str(settings.home.resolve())}
    return fingerprint(where)[:8]


class _ActorGone(Exception):
    """A model call's actor ended (idle, killed, or out of restarts) before it ran the call."""


@dataclass(slots=True)
class _Placing:
    """A model actor this run sent calls to, until it answers: its handle, the model kind, a
    pending status call (answered once it is placed and started) and when the calls went."""

    handle: Any
    kind: str
    probe: Any
    since: float


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return host.strip("[]"), int(port)


class RayExecutor:
    """Runs stage calls on a Ray cluster (connects on first use)."""

    name = "ray"
    # Steps run at once (transcription on the model actors while scenes run as CPU tasks): each
    # run()'s bookkeeping (placements, where waits are reported) is its thread's own, and the
    # shared parts (connecting, the model pools, the checks before work) are taken under a lock.
    concurrent_steps = True

    def __init__(self, settings: Settings) -> None:
        self.address = settings.ray_address.strip()
        self.gpu_per_model = settings.ray_gpu_per_model
        self.cpus_per_model = settings.ray_cpus_per_model
        self.cpus_per_task = settings.ray_cpus_per_task
        self.model_actors = settings.ray_model_actors
        self.owner = settings.ray_owner or owner_of(settings)
        self.autoscaling = settings.ray_autoscaling
        self.scale_wait_s = settings.ray_scale_wait_s
        self.actor_idle_s = settings.ray_actor_idle_s
        self.place_wait_s = settings.ray_place_wait_s
        self._mine = threading.local()  # this thread's run: its placements and progress note
        self._lock = threading.RLock()
        self._connected = False
        self._watching = False
        self._raised = False
        self._on_lost: Callable[[str], None] | None = None
        self._started_here = False
        self._gcs: tuple[str, int] | None = None
        self._board: Any = None
        self._actors: dict[ModelConfig, list[tuple[str, Any]]] = {}
        self._info: dict[ModelConfig, ModelInfo] = {}
        self._fitting: set[tuple[tuple[str, float], ...]] = set()
        self._turn = itertools.count()
        self._token = uuid.uuid4().hex[:12]
        self._before: list[Callable[[], None]] = []
        self._refused: GenesisError | None = None  # a check before work failed: every step fails

    @property
    def placements(self) -> dict[int, dict[str, Any]]:
        """Where each call of this thread's last :meth:`run` ran: index → node, pid, busy_s."""
        found: dict[int, dict[str, Any]] = getattr(self._mine, "placements", {})
        return found

    @property
    def progress_note(self) -> Callable[[str], None]:
        """Where a wait for the autoscaler is reported (this thread's :meth:`run` points it at
        its step)."""
        note: Callable[[str], None] = getattr(self._mine, "note", lambda note: None)
        return note

    # -- connection ------------------------------------------------------------------------------
    def _shown(self) -> str:
        return f"{SETTING}={self.address or '(empty: a local Ray)'}"

    def _fail(self, reason: str) -> ExecutorError:
        return ExecutorError(self._shown(), reason)

    def connect(self) -> None:
        """Join the cluster (or start a local one).

        Raises:
            ExecutorError: Ray is not installed, or the cluster cannot be reached.
        """
        with self._lock:
            self._connect()

    def _connect(self) -> None:
        if self._connected:
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError as exc:
            raise ExecutorError(
                "GENESIS_EXECUTOR=ray", "Ray is not installed (pip install 'genesis-pipeline[ray]')"
            ) from exc
        if self.address not in ("", "auto"):
            host, port = _split(self.address)
            if not _reachable(host, port, timeout=3.0):
                raise self._fail(f"nothing answers at {host}:{port}; is the Ray head running?")
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address or None,
                    namespace=NAMESPACE,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise self._fail(f"cannot join the Ray cluster ({first})") from exc
            self._started_here = True
        context = ray.get_runtime_context()
        if self.address.startswith("ray://"):
            self._gcs = _split(self.address)
        else:
            gcs = getattr(context, "gcs_address", None)
            self._gcs = _split(gcs) if gcs else None
        from genesis_pipeline.runs.executor.ray_actors import RemoteProgressBoard

        self._board = RemoteProgressBoard.options(
            name="genesis-progress",
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_restarts=-1,
        ).remote()
        self._connected = True
        self._start_watch()

    def before_work(self, check: Callable[[], None]) -> None:
        self._before.append(check)

    def watch(self, on_lost: Callable[[str], None]) -> None:
        """Call ``on_lost(message)`` if the head goes away while this process is stuck inside a
        Ray call that waits for it (an actor lookup, a function export), then end the process:
        Ray itself would end it a minute later without saying why. When the process is only
        waiting for results, the step fails normally instead (:meth:`run` raises)."""
        self._on_lost = on_lost

    def _start_watch(self) -> None:
        if self._gcs is None or self._watching:
            return
        self._watching = True
        threading.Thread(target=self._watch, name="genesis-ray-watch", daemon=True).start()

    def _watch(self) -> None:
        misses = 0
        while self._connected:
            time.sleep(PROBE_S)
            misses = 0 if self.alive() else misses + 1
            if misses < PROBES_TO_FAIL:
                continue
            # The main thread notices on its own within a probe when it is waiting for calls.
            time.sleep(STUCK_GRACE_S)
            if self._raised or not self._connected:
                return
            message = str(self._lost("a call to the cluster"))
            log.error("%s", message)
            if self._on_lost is not None:
                self._on_lost(message)
            sys.stderr.write(f"genesis: error: {message}\n")
            sys.stderr.flush()
            os._exit(EXIT_CLUSTER_LOST)

    def alive(self) -> bool:
        """Whether the cluster's head still accepts connections."""
        if self._gcs is None:
            return True
        return _reachable(*self._gcs)

    def _check(self, doing: str) -> None:
        for i in range(PROBES_TO_FAIL):
            if self.alive():
                return
            if i + 1 < PROBES_TO_FAIL:
                time.sleep(PROBE_S / 2)
        self._raised = True
        raise self._lost(doing)

    def _lost(self, doing: str) -> ExecutorError:
        host, port = self._gcs or ("?", 0)
        return self._fail(
            f"the Ray cluster stopped answering (head {host}:{port} unreachable) during "
            f"{doing}; the next run resumes from the cache"
        )

    # -- models ----------------------------------------------------------------------------------
    def planned(self, config: ModelConfig) -> tuple[ModelConfig, DevicePlan]:
        """``config`` with its device decided from the settings alone (``GENESIS_DEVICE``;
        ``auto`` means CUDA when the model actors ask for GPUs, ``GENESIS_RAY_GPU_PER_MODEL`` >
        0, else the CPU), and the plan the workers load the model with.

        Raises:
            InvalidSettingError: ``GENESIS_DEVICE=cuda`` with actors that ask for no GPU, or an
                unusable compute type.
        """
        device = config.device
        if device == "auto":
            device = "cuda" if self.gpu_per_model > 0 else "cpu"
        elif device == "cuda" and self.gpu_per_model == 0:
            raise InvalidSettingError(
                "GENESIS_RAY_GPU_PER_MODEL",
                "is 0 but GENESIS_DEVICE=cuda: the model actors must ask for a GPU share",
            )
        config = dataclasses.replace(config, device=device)
        return config, config.plan(cuda_count=1 if device == "cuda" else 0)

    def model_info(self, config: ModelConfig) -> ModelInfo:
        """The model's identity and plan, decided here from the settings: no cluster needed."""
        if config not in self._info:
            from genesis_pipeline.runs.executor.tasks import planned_model_info

            planned, plan = self.planned(config)
            self._info[config] = planned_model_info(planned, plan)
        return self._info[config]

    def actor_tag(self, config: ModelConfig) -> str:
        """What the model actors for ``config`` are named after: the model's identity, the plan
        it is loaded with and the resources the actors hold. Another value of any of them gets
        other actors (and retires these)."""
        info = self.model_info(config)
        plan = self.planned(config)[1]
        return fingerprint(
            {
                "kind": config.kind,
                "name": config.name,
                "offline": config.offline,
                "identity": info.identity,
                "device": plan.device,
                "compute_type": plan.whisper_compute_type,
                "whisper_batch_size": plan.whisper_batch_size,
                "whisper_workers": plan.whisper_workers,
                "caption_dtype": plan.caption_dtype,
                "caption_batch_size": plan.caption_batch_size,
                "gpus": self.gpu_per_model,
                "cpus": self.cpus_per_model,
                "idle_s": self.actor_idle_s,
            }
        )[:12]

    def actor_prefix(self, kind: str) -> str:
        """The names of this owner's model actors of ``kind`` start with this
        (``genesis-<owner>-<kind>-``); the actor tag and a number follow."""
        return f"genesis-{self.owner}-{kind}-"

    def _model_need(self) -> dict[str, float]:
        return {"GPU": self.gpu_per_model, "CPU": self.cpus_per_model}

    def _shapes_fit(self, calls: Sequence[Call[Any]]) -> None:
        """:meth:`_fits` for each kind of work among ``calls`` (a model actor, a CPU task)."""
        kinds = {c.model.kind for c in calls if c.model is not None}
        if kinds:
            self._fits(
                self._model_need(),
                f"a {' and a '.join(sorted(kinds))} model actor",
                {"GPU": "GENESIS_RAY_GPU_PER_MODEL", "CPU": "GENESIS_RAY_CPUS_PER_MODEL"},
            )
        if any(c.model is None for c in calls):
            self._fits(
                {"CPU": self.cpus_per_task}, "a CPU task", {"CPU": "GENESIS_RAY_CPUS_PER_TASK"}
            )

    def _pool(self, config: ModelConfig) -> list[tuple[str, Any]]:
        """This owner's actors for ``config``, as (name, handle): found by name, or started
        (their placement is not waited for here)."""
        from genesis_pipeline.runs.executor.ray_actors import RemoteModelWorker

        if config not in self._actors:
            info = self.model_info(config)
            planned, plan = self.planned(config)
            mine = self.actor_prefix(config.kind)
            prefix = f"{mine}{self.actor_tag(config)}-"
            names = [f"{prefix}{i}" for i in range(self.model_actors)]
            self._retire(mine, keep=set(names))
            self._actors[config] = [
                (
                    name,
                    RemoteModelWorker.options(
                        name=name,
                        namespace=NAMESPACE,
                        lifetime="detached",
                        get_if_exists=True,
                        num_cpus=self.cpus_per_model,
                        num_gpus=self.gpu_per_model,
                        max_restarts=ACTOR_RESTARTS,
                        max_task_retries=TASK_RETRIES,
                    ).remote(planned, plan, info.identity, self.actor_idle_s),
                )
                for name in names
            ]
        return self._actors[config]

    def _retire(self, kind_prefix: str, keep: set[str]) -> None:
        """Retire this owner's model actors of this kind that other settings started (another
        model, device, compute type or resource request), or that a smaller pool no longer
        uses: each ends once the calls already sent to it are done (a run using it finishes its
        file). Other owners' actors (other apps on the cluster) are theirs to retire."""
        import ray
        from ray.util import list_named_actors

        for name in list_named_actors():
            if not name.startswith(kind_prefix) or name in keep:
                continue
            try:
                stale = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                continue  # gone meanwhile
            log.info("retiring model actor %s (other settings)", name)
            # Actors of Genesis before retire() existed end with Ray's own terminate call.
            end = getattr(stale, "retire", None) or stale.__ray_terminate__
            end.remote()

    def _fits(self, need: dict[str, float], what: str, settings: dict[str, str]) -> None:
        """Make sure some node of the cluster can hold ``need`` before work of that shape is
        sent (Ray would keep it pending for good). Without an autoscaler
        (``GENESIS_RAY_AUTOSCALING=0``) a request no node holds fails at once; with one, the
        autoscaler is asked for such a node (``ray.autoscaler.sdk.request_resources``) and the
        step waits for it up to ``GENESIS_RAY_SCALE_WAIT_S``, saying so in its progress.

        Raises:
            ExecutorError: naming the settings that ask for too much and what the nodes have.
        """
        import ray

        shape = tuple(sorted(need.items()))
        if shape in self._fitting:
            return
        t0 = time.monotonic()
        asked = False
        while True:
            # Ray leaves nodes() unannotated.
            nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
            short = shortfall(nodes, need, what, settings)
            waited = time.monotonic() - t0
            verdict = scale_verdict(short, self.autoscaling, waited, self.scale_wait_s)
            if verdict == "fits":
                self._fitting.add(shape)
                return
            assert short is not None
            if verdict == "fail":
                if not self.autoscaling:
                    raise ExecutorError(short.settings, short.reason)
                raise ExecutorError(
                    f"{short.settings}, {WAIT_SETTING}={self.scale_wait_s:g}",
                    f"{short.reason}, and the autoscaler added none in {waited:.0f} s",
                )
            if not asked:
                from ray.autoscaler.sdk import request_resources

                # A hint that stays until the next request: the node is wanted from now on.
                request_resources(bundles=[{k: v for k, v in need.items() if v > 0}])
                asked = True
            self.progress_note(
                f"waiting for the autoscaler to add a node for {what} "
                f"({waited:.0f} of {self.scale_wait_s:g} s, {WAIT_SETTING})"
            )
            self._check(f"the wait for a node for {what}")
            time.sleep(SCALE_POLL_S)

    def _value(self, ref: Any, call: Call[Any]) -> Any:
        """A finished call's value; its own error (a GenesisError) is raised unchanged.

        Raises:
            _ActorGone: a model call's actor ended before running it (the caller sends it
                again, once, to a fresh actor).
            ExecutorError: a worker died and Ray's retries ran out.
        """
        import ray
        from ray import exceptions as rx

        from genesis_pipeline.runs.executor.ray_actors import ActorRetired

        try:
            return ray.get(ref)
        except rx.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, GenesisError):
                raise cause from None
            if isinstance(cause, ActorRetired):
                raise _ActorGone(str(cause)) from exc
            raise
        except rx.RayActorError as exc:
            if call.model is not None:
                raise _ActorGone(type(exc).__name__) from exc
            raise self._died(exc) from exc
        except (rx.WorkerCrashedError, rx.NodeDiedError) as exc:
            raise self._died(exc) from exc

    def _died(self, exc: BaseException) -> ExecutorError:
        return self._fail(f"a Ray worker died and its retries ran out ({type(exc).__name__})")

    def _await_gone(self, name: str) -> None:
        """Wait (up to ``GONE_WAIT_S``) until the actor ``name`` has ended: its name is free,
        or taken by a fresh actor that is not ending itself."""
        import ray

        deadline = time.monotonic() + GONE_WAIT_S
        while time.monotonic() < deadline:
            status: Any = None
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
                status = ray.get(actor.status.remote(), timeout=HOLDER_PROBE_S)
            except ValueError:
                return  # the name is free: the next send starts a fresh actor
            except ray.exceptions.GetTimeoutError:
                return  # a fresh actor waiting to be placed: the placement wait takes over
            except ray.exceptions.RayActorError:
                pass  # the ended one, still under its name
            if status is not None and not status.retiring:
                return
            time.sleep(0.1)

    # -- placement -------------------------------------------------------------------------------
    def _holders(self, exclude: set[str]) -> list[placement.Holder]:
        """The live model actors of every owner on the cluster but ``exclude``, with what each
        holds and how long it has been idle (those that do not answer within
        ``HOLDER_PROBE_S``, such as actors waiting to be placed themselves, are left out)."""
        import ray
        from ray.util import list_named_actors

        asked: dict[Any, tuple[str, str, str]] = {}
        for name in list_named_actors():
            parsed = placement.model_actor(name)
            if parsed is None or name in exclude:
                continue
            try:
                handle = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                continue  # gone meanwhile
            asked[handle.status.remote()] = (name, *parsed)
        if not asked:
            return []
        answered, _ = ray.wait(list(asked), num_returns=len(asked), timeout=HOLDER_PROBE_S)
        holders = []
        for ref in answered:
            name, owner, kind = asked[ref]
            try:
                status = ray.get(ref)
            except ray.exceptions.RayError:
                continue  # ended meanwhile
            holders.append(
                placement.Holder(name, owner, kind, status.idle_s, status.busy, status.resources)
            )
        return holders

    def _await_placement(self, placing: dict[str, _Placing]) -> None:
        """Forget the actors of ``placing`` that answer; for those that have not for a while,
        say in the step's progress what they wait for and who holds it, and fail the step once
        they waited ``GENESIS_RAY_PLACE_WAIT_S``.

        Raises:
            ExecutorError: naming ``GENESIS_RAY_PLACE_WAIT_S`` and the holders.
        """
        import ray

        probes = {p.probe: name for name, p in placing.items()}
        answered, _ = ray.wait(list(probes), num_returns=len(probes), timeout=0)
        for ref in answered:
            del placing[probes[ref]]
        now = time.monotonic()
        late = [p for p in placing.values() if now - p.since >= PLACE_GRACE_S]
        if not late:
            return
        need = self._model_need()
        holders = self._holders(exclude=set(placing))
        # Ray leaves these two unannotated.
        free = ray.available_resources()  # type: ignore[no-untyped-call]
        total = ray.cluster_resources()  # type: ignore[no-untyped-call]
        kinds = placement.lacking(need, free, total, holders)
        oldest = min(late, key=lambda p: p.since)
        what = f"the {oldest.kind} model actor"
        waited = now - oldest.since
        if waited >= self.place_wait_s:
            raise ExecutorError(
                f"{placement.PLACE_WAIT_SETTING}={self.place_wait_s:g}",
                placement.gave_up(what, need, kinds, holders, self.place_wait_s),
            )
        if kinds:
            self.progress_note(
                placement.waiting_note(what, need, kinds, holders, waited, self.place_wait_s)
            )

    # -- calls -----------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "executor": "ray",
            "address": self.address or "local Ray",
            "gpu_per_model": self.gpu_per_model,
            "cpus_per_model": self.cpus_per_model,
            "cpus_per_task": self.cpus_per_task,
            "model_actors": self.model_actors,
            "owner": self.owner,
            "autoscaling": self.autoscaling,
            "scale_wait_s": self.scale_wait_s,
            "actor_idle_s": self.actor_idle_s,
            "place_wait_s": self.place_wait_s,
        }

    def model_slots(self, config: ModelConfig) -> int:
        return self.model_actors

    def _submit(self, call: Call[Any], key: str) -> tuple[Any, str | None, Any]:
        """Send ``call``: its ref, and for a model call the actor's name and handle."""
        from genesis_pipeline.runs.executor.ray_actors import RemoteTask

        if call.model is not None:
            pool = self._pool(call.model)
            name, actor = pool[next(self._turn) % len(pool)]
            return actor.call.remote(call.fn, call.args, self._board, key), name, actor
        ref = RemoteTask.options(
            num_cpus=self.cpus_per_task, max_retries=TASK_RETRIES, retry_exceptions=False
        ).remote(call.fn, call.args, self._board, key)
        return ref, None, None

    def run(self, calls: Sequence[Call[R]], progress: StepProgress) -> Iterator[tuple[int, R]]:
        if not calls:
            return  # a step whose calls all hit the cache: Ray is not even imported
        with self._lock:  # a step at once with this one waits for the checks and their verdict
            if self._refused is not None:
                raise self._refused
            while self._before:  # each taken off first: a check may send calls of its own
                try:
                    self._before.pop(0)()
                except GenesisError as exc:
                    self._refused = exc
                    raise
        import ray

        self.connect()
        self._check(calls[0].label)
        self._mine.note = lambda note: progress.progress(0, progress.calls * 1000, note)
        # Waits for the autoscaler happen outside the lock: the other step goes on meanwhile.
        self._shapes_fit(calls)
        token = f"{self._token}/{next(self._turn)}/"
        refs: dict[Any, int] = {}
        placing: dict[str, _Placing] = {}  # model actors not heard from yet

        actor_of: dict[Any, str] = {}  # a model call's ref -> its actor's name

        def send(i: int, again: bool = False) -> Any:
            ref, name, actor = self._submit(calls[i], f"{token}{i}")
            refs[ref] = i
            if name is not None:
                actor_of[ref] = name
            model = calls[i].model
            if name is not None and model is not None and (again or name not in placing):
                placing[name] = _Placing(actor, model.kind, actor.status.remote(), time.monotonic())
            return ref

        with self._lock:  # one thread starts a model's actors; the other then finds them
            for i in range(len(calls)):
                send(i)
        pending = list(refs)
        placements: dict[int, dict[str, Any]] = {}
        self._mine.placements = placements
        sent_again: set[int] = set()
        finished = False
        try:
            next_probe = next_place = time.monotonic() + PROBE_S
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                self._read_board(token, calls, progress)
                if not done:
                    now = time.monotonic()
                    if now >= next_probe:
                        self._check(", ".join(calls[refs[r]].label for r in pending[:3]))
                        next_probe = now + PROBE_S
                    if placing and now >= next_place:
                        self._await_placement(placing)
                        next_place = time.monotonic() + PLACE_POLL_S
                    continue
                for ref in done:
                    i = refs[ref]
                    try:
                        result = self._value(ref, calls[i])
                    except _ActorGone as gone:
                        if i in sent_again:
                            raise self._died(gone) from gone
                        # The actor ended (idle) as the call reached it: once more, to a fresh
                        # actor of the same name.
                        log.info("model actor gone (%s): sending %s again", gone, calls[i].label)
                        sent_again.add(i)
                        self._await_gone(actor_of[ref])
                        model = calls[i].model
                        with self._lock:
                            if model is not None:
                                self._actors.pop(model, None)
                            pending.append(send(i, again=True))
                        continue
                    placements[i] = {
                        "node": result.node,
                        "pid": result.pid,
                        "busy_s": result.busy_s,
                    }
                    progress.finished(i, f"{calls[i].label}: done")
                    yield i, result.value
            finished = True
        finally:
            if not finished and pending and self.alive():
                for ref in pending:
                    # A CPU task is stopped at once; a model actor finishes its current file.
                    is_task = calls[refs[ref]].model is None
                    ray.cancel(ref, force=is_task)

    def _read_board(self, token: str, calls: Sequence[Call[Any]], progress: StepProgress) -> None:
        import ray

        try:
            posted = ray.get(self._board.take.remote(token), timeout=POLL_S * 4)
        except (ray.exceptions.GetTimeoutError, ray.exceptions.RayActorError):
            return  # progress is a nicety: a slow or restarting board never stops the work
        for key, (done, total, note) in sorted(posted.items()):
            i = int(key.rsplit("/", 1)[1])
            progress(i, done, total, f"{calls[i].label}: {note}")

    def where(self, index: int) -> dict[str, Any]:
        return dict(self.placements[index])

    def close(self) -> None:
        """Leave the cluster; a Ray started here for this process is stopped."""
        if not self._connected:
            return
        import ray

        if self._started_here and self.alive():
            ray.shutdown()
        self._connected = False

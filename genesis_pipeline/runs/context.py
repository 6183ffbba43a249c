"""What a step gets (the run's context), what it hands to later steps, and what it reports."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.executor import Executor, LocalExecutor
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.store import Store
from genesis_pipeline.store.records import MediaFile, Project, RenderRecord

if TYPE_CHECKING:
    from genesis_pipeline.services.cut import CutPlan
    from genesis_pipeline.stages.narration import NarrationClip

T = TypeVar("T")
K = TypeVar("K")


@dataclass(slots=True)
class StepOutcome:
    """What one step did, for ``runs.step_details``.

    Attributes:
        status: ``ok``, ``skipped`` or ``failed``.
        counts: what the step counted (files, words, scenes…), shown as is.
        note: one line for people (why it was skipped, what it noticed).
        details: step-specific facts recorded beside the common ones (per-file items, the
            model used, the render's id and path).
    """

    status: str = "ok"
    cache_hit: bool = False
    counts: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StepResults:
    """What steps hand to later steps in one run.

    Attributes:
        transcript_keys: media id → the transcribe cache key of its transcript.
        scene_keys: media id → the scenes cache key of its scenes (video files only).
        chapters_key: the chapters' cache key (None when there were no scenes to group).
        cut: the approved cut the narration was planned on.
        narration: the narration planned on ``cut``.
        render: the render the run made or found.
        going: steps running now beside others (name → set when it ends): see
            :meth:`wait_for`.
    """

    transcript_keys: dict[int, str] = field(default_factory=dict)
    scene_keys: dict[int, str] = field(default_factory=dict)
    chapters_key: str | None = None
    cut: CutPlan | None = None
    narration: list[NarrationClip] = field(default_factory=list)
    render: RenderRecord | None = None
    going: dict[str, threading.Event] = field(default_factory=dict)

    def wait_for(self, step: str) -> None:
        """Block until ``step`` has ended, when it runs beside the caller; at once otherwise
        (it ran before, or not at all). The part of a step that needs another's results
        waits here, its other work overlaps."""
        ended = self.going.get(step)
        if ended is not None:
            ended.wait()


@dataclass(slots=True)
class RunContext:
    """One run of one project: the store, the run's row, the media, the user's options, where
    models run, progress, the executor the steps hand their stage calls to, what earlier steps
    handed on, and the models used (recorded with the run as ``device_json["models"]``)."""

    store: Store
    project: Project
    run_id: int
    media: list[MediaFile]
    options: RunOptions
    plan: DevicePlan
    progress: Progress
    executor: Executor = field(default_factory=LocalExecutor)
    results: StepResults = field(default_factory=StepResults)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def project_id(self) -> int:
        return self.project.id

    @property
    def force(self) -> bool:
        return self.options.force

    def media_locator(self, m: MediaFile) -> str:
        """What a worker opens for ``m`` (its path, or its ``s3://`` URI: the worker fetches
        the bytes itself, so nothing is downloaded to this host)."""
        return self.store.location(m.path)

    def params(self, cls: type[T], key: str, **defaults: Any) -> T:
        """Build a stage's ``Params`` from the project's saved overrides (unknown names are
        ignored), falling back to ``defaults`` and then the dataclass defaults."""
        saved: dict[str, Any] = dict(self.project.settings_json.get(key) or {})
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        values = {**defaults, **{k: v for k, v in saved.items() if k in known}}
        return cls(**values)

    def lookup(self, stage: str, key: str, load: Callable[[Path], T]) -> T | None:
        """The cache entry ``key`` loaded, or None on a miss (always None with ``--force``)."""
        if self.force:
            return None
        return self.store.cache.lookup(stage, key, load)

    def lookup_each(
        self, stage: str, keys: Mapping[K, str], load: Callable[[Path], T]
    ) -> tuple[dict[K, T], list[K]]:
        """Each of ``keys`` (id → cache key) looked up: the entries found, by id, and the ids
        missed, in ``keys``' order (every id is missed with ``--force``)."""
        found: dict[K, T] = {}
        missed: list[K] = []
        for ident, key in keys.items():
            hit = self.lookup(stage, key, load)
            if hit is None:
                missed.append(ident)
            else:
                found[ident] = hit
        return found, missed

    def store_entry(
        self, stage: str, key: str, write: Callable[[Path], Mapping[str, Any] | None]
    ) -> Path:
        """Publish a computed result as cache entry ``key`` (replacing one made before)."""
        if self.force:
            self.store.cache.delete(stage, key)
        return self.store.cache.store(stage, key, write)

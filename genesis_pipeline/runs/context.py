"""What a step gets: the store, the run, the project's media, device plan and shared state."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from genesis_pipeline.ml.device import DevicePlan
from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.store import Store
from genesis_pipeline.store.records import MediaFile, Project

T = TypeVar("T")


@dataclass(slots=True)
class StepOutcome:
    """What one step did, for ``runs.step_details``."""

    status: str = "ok"  # ok | skipped | failed
    cache_hit: bool = False
    counts: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunContext:
    store: Store
    project: Project
    run_id: int
    media: list[MediaFile]
    options: RunOptions
    plan: DevicePlan
    progress: Progress
    # Results handed from one step to the next (cache keys, loaded stage results).
    state: dict[str, Any] = field(default_factory=dict)
    # Models actually used, recorded with the run.
    models: dict[str, Any] = field(default_factory=dict)

    @property
    def project_id(self) -> int:
        return self.project.id

    @property
    def force(self) -> bool:
        return self.options.force

    def media_path(self, m: MediaFile) -> Path:
        return self.store.absolute(m.path)

    def setting(self, key: str, default: T) -> T:
        """A per-project setting saved in ``projects.settings_json``."""
        value = self.project.settings_json.get(key, default)
        return value  # type: ignore[no-any-return]

    def params(self, cls: type[T], key: str, **defaults: Any) -> T:
        """Build a stage's ``Params`` from the project's saved overrides (unknown names are
        ignored), falling back to ``defaults`` and then the dataclass defaults."""
        import dataclasses

        saved: dict[str, Any] = dict(self.setting(key, {}))
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        values = {**defaults, **{k: v for k, v in saved.items() if k in known}}
        return cls(**values)

    def cached(
        self,
        stage: str,
        key: str,
        load: Callable[[Path], T],
        compute: Callable[[Path], Mapping[str, Any] | None],
    ) -> tuple[T, bool]:
        """Look ``key`` up; on a miss (or ``--force``) build the entry with ``compute(dir)``.

        Returns the loaded result and whether it was a cache hit.
        """
        cache = self.store.cache
        if not self.force:
            hit = cache.lookup(stage, key, load)
            if hit is not None:
                return hit, True
        else:
            shutil.rmtree(cache.entry(stage, key), ignore_errors=True)
        path = cache.store(stage, key, compute)
        return load(path), False

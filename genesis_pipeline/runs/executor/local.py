"""The default executor: every call runs here, one after another, as the steps always ran them.

Models are loaded in this process once (the loaders keep them); Ray is never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from genesis_pipeline.runs.executor.base import Call, ModelConfig, ModelInfo, R, StepProgress
from genesis_pipeline.runs.executor.tasks import load_model, model_info


class LocalExecutor:
    """Runs stage calls in this process, in order."""

    name = "local"
    # Calls run in the calling thread; the model loaders are safe to call from several.
    concurrent_steps = True

    def __init__(self) -> None:
        self._info: dict[ModelConfig, ModelInfo] = {}

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "runs": "in this process"}

    def model_info(self, config: ModelConfig) -> ModelInfo:
        if config not in self._info:
            self._info[config] = model_info(config)
        return self._info[config]

    def model_slots(self, config: ModelConfig) -> int:
        return 1

    def run(self, calls: Sequence[Call[R]], progress: StepProgress) -> Iterator[tuple[int, R]]:
        for i, call in enumerate(calls):

            def prog(done: int, total: int, note: str, i: int = i, label: str = call.label) -> None:
                progress(i, done, total, f"{label}: {note}")

            if call.model is None:
                result = call.fn(*call.args, progress=prog)
            else:
                result = call.fn(load_model(call.model), *call.args, progress=prog)
            yield i, result

    def before_work(self, check: Callable[[], None]) -> None:
        """Nothing to check: every call runs here, reading what this host reads."""

    def watch(self, on_lost: Callable[[str], None]) -> None:
        """Nothing to watch: no cluster."""

    def where(self, index: int) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        """Nothing to let go of: the models stay loaded for the life of the process."""

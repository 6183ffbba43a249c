"""Executors: where a step's stage calls run.

``local`` (the default) runs them in this process, as always; ``ray`` fans them out over a Ray
cluster (``GENESIS_EXECUTOR=ray``, ``GENESIS_RAY_ADDRESS``). Ray is imported only by the Ray
executor's own modules, and only when it is chosen.

Modules, one job each: ``base`` (the interface, calls, model configs), ``inputs`` (locator →
local file: the seam to storage), ``tasks`` (what runs on a worker), ``local``, ``ray_cluster``
(connecting, placing, gathering), ``ray_actors`` (the model actors, the CPU task, the
progress board) and ``placement`` (why a model actor waits, in words; no Ray).
"""

from __future__ import annotations

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.executor.base import (
    Call,
    Executor,
    ModelConfig,
    ModelInfo,
    StepProgress,
)
from genesis_pipeline.runs.executor.local import LocalExecutor


def make_executor(settings: Settings) -> Executor:
    """The executor ``GENESIS_EXECUTOR`` names (Ray is imported only for ``ray``)."""
    if settings.executor == "ray":
        from genesis_pipeline.runs.executor.ray_cluster import RayExecutor

        return RayExecutor(settings)
    return LocalExecutor()


def model_config(settings: Settings, kind: str) -> ModelConfig:
    """The model settings a worker needs for ``kind`` (``whisper`` or ``captions``)."""
    return ModelConfig(
        kind=kind,
        name=settings.whisper_model if kind == "whisper" else settings.caption_model,
        offline=settings.offline,
        device=settings.device,
        whisper_compute_type=settings.whisper_compute_type,
        whisper_batch_size=settings.whisper_batch_size,
        caption_batch_size=settings.caption_batch_size,
    )


__all__ = [
    "Call",
    "Executor",
    "LocalExecutor",
    "ModelConfig",
    "ModelInfo",
    "StepProgress",
    "make_executor",
    "model_config",
]

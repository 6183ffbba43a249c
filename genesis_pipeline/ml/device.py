"""Device selection for the models.

``auto`` picks CUDA when a device is visible, else the CPU. The choice fixes the numeric types and
batch sizes each model runs with; a user setting overrides any of them.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.errors import InvalidSettingError

log = logging.getLogger(__name__)

WHISPER_COMPUTE_TYPES = (
    "auto",
    "default",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """How the models run on this host."""

    device: str  # "cpu" or "cuda"
    device_name: str  # e.g. "cpu" or the CUDA device's name
    whisper_compute_type: str
    whisper_batch_size: int
    caption_dtype: str  # "float32" or "float16"
    caption_batch_size: int
    cpu_threads: int
    whisper_workers: int = 1  # Whisper batches decoded at once (model replicas)

    @property
    def whisper_threads(self) -> int:
        """CPU threads each Whisper worker computes with."""
        return max(1, self.cpu_threads // self.whisper_workers)


#: Device nodes of an NVIDIA driver on Linux (``/dev/dxg``: the GPU of WSL 2). Without any of
#: them no CUDA device can be visible, so the 0.4 s import of CTranslate2 is not needed to say so.
NVIDIA_DEVICE_NODES = ("nvidiactl", "nvidia0", "dxg")


def nvidia_driver_present(dev: Path = Path("/dev")) -> bool:
    """Whether this host may have a CUDA device: off Linux, always (only CUDA itself can tell);
    on Linux, when an NVIDIA driver's device node is there."""
    if not sys.platform.startswith("linux"):
        return True
    return any((dev / name).exists() for name in NVIDIA_DEVICE_NODES)


@functools.cache
def cuda_device_count() -> int:
    """Number of CUDA devices visible to CTranslate2 (no torch import needed; asked once per
    process; a Linux host without an NVIDIA driver is answered without importing it)."""
    if not nvidia_driver_present():
        return 0
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA install means "no GPU", not a crash
        return 0


def cuda_device_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except Exception:
        pass
    return "cuda"


def plan_devices(
    requested: str = "auto",
    *,
    whisper_compute_type: str = "auto",
    whisper_batch_size: int = 0,
    caption_batch_size: int = 0,
    cuda_count: int | None = None,
    cpu_count: int | None = None,
) -> DevicePlan:
    """Decide device, compute types, batch sizes and Whisper workers (CPU: two batches at a
    time, each on half the cores; CUDA: one, the GPU runs a batch in parallel itself).

    Args:
        requested: ``auto``, ``cpu`` or ``cuda``.
        whisper_compute_type: ``auto`` or a CTranslate2 compute type.
        whisper_batch_size: 0 for the device default.
        caption_batch_size: 0 for the device default.
        cuda_count: visible CUDA devices (detected when None; tests pass it).
        cpu_count: CPU cores (detected when None).

    Raises:
        InvalidSettingError: ``cuda`` requested with no CUDA device, or an unknown compute type.
    """
    if whisper_compute_type not in WHISPER_COMPUTE_TYPES:
        raise InvalidSettingError(
            "GENESIS_WHISPER_COMPUTE_TYPE",
            f"unknown compute type {whisper_compute_type!r}; use one of "
            + ", ".join(WHISPER_COMPUTE_TYPES),
        )
    n_cuda = cuda_device_count() if cuda_count is None else cuda_count
    cores = cpu_count or os.cpu_count() or 1
    if requested == "cuda" and n_cuda == 0:
        raise InvalidSettingError("GENESIS_DEVICE", "cuda requested but no CUDA device is visible")
    use_cuda = requested == "cuda" or (requested == "auto" and n_cuda > 0)
    if use_cuda:
        # float16 weights with int8 matmuls: the fastest Whisper setting on CUDA at small VRAM
        # cost; BLIP in float16 halves memory with no visible caption change.
        return DevicePlan(
            device="cuda",
            device_name=cuda_device_name() if cuda_count is None else "cuda",
            whisper_compute_type=(
                "int8_float16" if whisper_compute_type == "auto" else whisper_compute_type
            ),
            whisper_batch_size=whisper_batch_size or 16,
            caption_dtype="float16",
            caption_batch_size=caption_batch_size or 32,
            cpu_threads=cores,
        )
    if whisper_compute_type in ("float16", "int8_float16", "bfloat16", "int8_bfloat16"):
        raise InvalidSettingError(
            "GENESIS_WHISPER_COMPUTE_TYPE",
            f"{whisper_compute_type} needs a CUDA device; on the CPU use int8 or float32",
        )
    # int8 on the CPU; 8 sequences in flight, as two workers of 4 on one thread each where
    # there are two cores (faster, same text: docs/transcription.md).
    workers = 2 if cores >= 2 else 1
    return DevicePlan(
        device="cpu",
        device_name="cpu",
        whisper_compute_type="int8" if whisper_compute_type == "auto" else whisper_compute_type,
        whisper_batch_size=whisper_batch_size or 8 // workers,
        caption_dtype="float32",
        caption_batch_size=caption_batch_size or 8,
        cpu_threads=cores,
        whisper_workers=workers,
    )

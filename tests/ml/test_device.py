"""Device selection: CUDA when present, CPU otherwise; user settings override; bad ones named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.ml.device import plan_devices


def test_auto_without_gpu_is_cpu_int8_float32() -> None:
    plan = plan_devices("auto", cuda_count=0, cpu_count=2)
    assert (plan.device, plan.whisper_compute_type, plan.caption_dtype) == (
        "cpu",
        "int8",
        "float32",
    )
    assert plan.whisper_batch_size == 4 and plan.caption_batch_size == 8
    assert plan.cpu_threads == 2
    # Two Whisper batches at once, one thread each: 8 sequences in flight as before.
    assert (plan.whisper_workers, plan.whisper_threads) == (2, 1)


@pytest.mark.parametrize(("cores", "workers", "threads", "batch"), [(1, 1, 1, 8), (8, 2, 4, 4)])
def test_cpu_workers_follow_the_cores(cores: int, workers: int, threads: int, batch: int) -> None:
    plan = plan_devices("cpu", cuda_count=0, cpu_count=cores)
    assert (plan.whisper_workers, plan.whisper_threads, plan.whisper_batch_size) == (
        workers,
        threads,
        batch,
    )


def test_auto_with_gpu_is_cuda_float16() -> None:
    plan = plan_devices("auto", cuda_count=1, cpu_count=8)
    assert plan.device == "cuda"
    assert plan.whisper_compute_type == "int8_float16"
    assert plan.caption_dtype == "float16"
    assert plan.whisper_batch_size == 16 and plan.caption_batch_size == 32
    assert plan.whisper_workers == 1  # the GPU runs one batch in parallel itself


def test_cpu_forced_even_with_gpu() -> None:
    assert plan_devices("cpu", cuda_count=2).device == "cpu"


def test_overrides_win() -> None:
    plan = plan_devices(
        "auto",
        whisper_compute_type="float32",
        whisper_batch_size=3,
        caption_batch_size=5,
        cuda_count=0,
    )
    assert (plan.whisper_compute_type, plan.whisper_batch_size, plan.caption_batch_size) == (
        "float32",
        3,
        5,
    )


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"requested": "cuda", "cuda_count": 0}, "GENESIS_DEVICE"),
        ({"whisper_compute_type": "float16", "cuda_count": 0}, "GENESIS_WHISPER_COMPUTE_TYPE"),
        ({"whisper_compute_type": "int3"}, "GENESIS_WHISPER_COMPUTE_TYPE"),
    ],
)
def test_impossible_settings_are_named(kwargs: dict, setting: str) -> None:
    with pytest.raises(InvalidSettingError, match=setting):
        plan_devices(**kwargs)


@pytest.mark.gpu
def test_real_gpu_is_selected() -> None:
    from genesis_pipeline.ml.device import cuda_device_count

    if cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    assert plan_devices("auto").device == "cuda"


def test_nvidia_driver_is_looked_for_by_its_device_nodes(tmp_path: Path) -> None:
    from genesis_pipeline.ml.device import nvidia_driver_present

    assert not nvidia_driver_present(tmp_path)
    for name in ("nvidiactl", "nvidia0", "dxg"):  # a driver's control node, a GPU, WSL 2's GPU
        node = tmp_path / name
        node.touch()
        assert nvidia_driver_present(tmp_path), name
        node.unlink()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or any(Path("/dev").glob("nvidia*")),
    reason="needs a Linux host without an NVIDIA driver",
)
def test_no_driver_means_no_cuda_without_importing_ctranslate2() -> None:
    """Planning devices on a host without a GPU driver costs no CTranslate2 import (0.4 s of
    every run and every cache-hit re-run)."""
    code = (
        "import sys; from genesis_pipeline.ml.device import plan_devices;"
        "print(plan_devices('auto').device, 'ctranslate2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cpu", "False"]

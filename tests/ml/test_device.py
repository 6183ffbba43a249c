"""Device selection: CUDA when present, CPU otherwise; user settings override; bad ones named."""

from __future__ import annotations

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

"""Choosing the executor: settings, the local default never importing Ray, progress folding,
and an unreachable cluster failing at once in one line."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import ExecutorError, InvalidSettingError
from genesis_pipeline.runs.executor import (
    Call,
    LocalExecutor,
    StepProgress,
    make_executor,
    model_config,
    tasks,
)
from genesis_pipeline.stages.transcribe import TranscribeParams


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("GENESIS_EXECUTOR", "dask"),
        ("GENESIS_RAY_ADDRESS", "gpu-host"),
        ("GENESIS_RAY_ADDRESS", "http://gpu-host:10001"),
        ("GENESIS_RAY_GPU_PER_MODEL", "half"),
        ("GENESIS_RAY_CPUS_PER_TASK", "-1"),
        ("GENESIS_RAY_MODEL_ACTORS", "0"),
    ],
)
def test_bad_executor_settings_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(InvalidSettingError, match=var):
        Settings.from_env({var: value})


@pytest.mark.parametrize("address", ["", "auto", "10.0.0.5:6379", "ray://gpu-host:10001"])
def test_ray_addresses_accepted(address: str) -> None:
    s = Settings.from_env(
        {
            "GENESIS_EXECUTOR": "ray",
            "GENESIS_RAY_ADDRESS": address,
            "GENESIS_RAY_GPU_PER_MODEL": "0.25",
        }
    )
    assert s.executor == "ray" and s.ray_address == address and s.ray_gpu_per_model == 0.25
    assert make_executor(s).describe()["executor"] == "ray"


def test_the_default_is_local_and_never_imports_ray() -> None:
    assert isinstance(make_executor(Settings()), LocalExecutor)
    code = (
        "import sys\n"
        "from genesis_pipeline.cli import main\n"
        "from genesis_pipeline.runs.pipeline import ProjectPipelineService\n"
        "from genesis_pipeline.runs.steps import transcribe, scenes, captions, render\n"
        "main(['config'])\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "executor in effect: local" in out
    assert out.strip().endswith("False"), out


def test_step_progress_folds_concurrent_calls() -> None:
    seen: list[tuple[int, int, str]] = []
    progress = StepProgress(lambda d, t, n: seen.append((d, t, n)), calls=3)
    progress(0, 50, 100, "a: half")
    progress(2, 1, 4, "c: a quarter")
    progress.finished(1, "b: done")
    assert seen == [(500, 3000, "a: half"), (750, 3000, "c: a quarter"), (1750, 3000, "b: done")]


def test_an_unreachable_cluster_fails_at_once_naming_the_setting() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    executor = make_executor(Settings(executor="ray", ray_address=f"127.0.0.1:{port}", offline="1"))
    # Deciding the model needs no cluster; running a call does.
    config = model_config(Settings(offline="1"), "whisper")
    assert executor.model_info(config).identity == LocalExecutor().model_info(config).identity
    t0 = time.monotonic()
    call = Call(tasks.transcribe_silent, ("missing.mp4", TranscribeParams(), "x"), "missing.mp4")
    with pytest.raises(ExecutorError, match=f"GENESIS_RAY_ADDRESS=127.0.0.1:{port}") as err:
        list(executor.run([call], StepProgress(lambda d, t, n: None, 1)))
    assert "nothing answers" in str(err.value) and "\n" not in str(err.value)
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize(
    ("device", "gpus", "planned", "compute"),
    [
        ("auto", 0.0, "cpu", "int8"),
        ("auto", 0.5, "cuda", "int8_float16"),
        ("cpu", 0.5, "cpu", "int8"),
        ("cuda", 1.0, "cuda", "int8_float16"),
    ],
)
def test_ray_plans_the_models_from_the_settings_alone(
    device: str, gpus: float, planned: str, compute: str
) -> None:
    """No worker is asked: GENESIS_DEVICE, and for ``auto`` whether the actors ask for a GPU
    share, decide the plan (and so the cache keys); the weights' identity is the local one."""
    settings = Settings(executor="ray", device=device, ray_gpu_per_model=gpus, offline="1")
    config = model_config(settings, "whisper")
    info = make_executor(settings).model_info(config)
    assert (info.plan.device, info.plan.whisper_compute_type) == (planned, compute)
    assert info.plan.caption_dtype == ("float16" if planned == "cuda" else "float32")
    here = model_config(Settings(offline="1"), "whisper")  # this machine has no CUDA
    assert info.identity == LocalExecutor().model_info(here).identity
    assert info.where == "ray"


def test_cuda_models_on_ray_need_a_gpu_share() -> None:
    settings = Settings(executor="ray", device="cuda", ray_gpu_per_model=0.0, offline="1")
    with pytest.raises(InvalidSettingError, match=r"^GENESIS_RAY_GPU_PER_MODEL: is 0 but"):
        make_executor(settings).model_info(model_config(settings, "whisper"))


def test_deciding_the_models_for_ray_neither_imports_nor_reaches_ray() -> None:
    code = (
        "import sys\n"
        "from genesis_pipeline.config import Settings\n"
        "from genesis_pipeline.runs.executor import StepProgress, make_executor, model_config\n"
        "s = Settings(executor='ray', ray_address='127.0.0.1:9', offline='1')\n"
        "executor = make_executor(s)\n"
        "info = executor.model_info(model_config(s, 'whisper'))\n"
        "assert list(executor.run([], StepProgress(lambda d, t, n: None, 0))) == []\n"
        "executor.close()\n"
        "print(bool(info.identity), 'ray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["True", "False"], out


def test_work_no_node_holds_waits_for_an_autoscaler_then_fails() -> None:
    from genesis_pipeline.runs.executor.ray_cluster import scale_verdict, shortfall

    nodes = [{"CPU": 2.0}, {"CPU": 2.0, "GPU": 1.0}]
    which = {"GPU": "GENESIS_RAY_GPU_PER_MODEL", "CPU": "GENESIS_RAY_CPUS_PER_MODEL"}
    assert shortfall(nodes, {"GPU": 0.5, "CPU": 1.0}, "a model actor", which) is None
    short = shortfall(nodes, {"GPU": 2.0, "CPU": 1.0}, "a model actor", which)
    assert short is not None and short.settings == "GENESIS_RAY_GPU_PER_MODEL=2"
    assert short.reason == (
        "a model actor asks for 2 GPU and 1 CPU but no node of the cluster has that "
        "(2 nodes: 2 CPU, 0 GPU; 2 CPU, 1 GPU)"
    )
    # Each alone fits somewhere, together nowhere: both settings are named.
    both = shortfall(nodes, {"GPU": 1.0, "CPU": 3.0}, "x", which)
    assert both is not None and both.settings == "GENESIS_RAY_CPUS_PER_MODEL=3"
    assert scale_verdict(None, False, 0.0, 600.0) == "fits"
    assert scale_verdict(None, True, 0.0, 600.0) == "fits"
    assert scale_verdict(short, False, 0.0, 600.0) == "fail"  # no autoscaler: at once
    assert scale_verdict(short, True, 0.0, 600.0) == "wait"
    assert scale_verdict(short, True, 599.0, 600.0) == "wait"
    assert scale_verdict(short, True, 600.0, 600.0) == "fail"
    assert scale_verdict(short, True, 0.0, 0.0) == "fail"  # a wait of 0: as without one


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GENESIS_RAY_AUTOSCALING": "maybe"}, "GENESIS_RAY_AUTOSCALING: 'maybe' is not 1 or 0"),
        ({"GENESIS_RAY_SCALE_WAIT_S": "-1"}, "GENESIS_RAY_SCALE_WAIT_S: must be 0 or more"),
        ({"GENESIS_RAY_OWNER": "a b"}, "GENESIS_RAY_OWNER: letters, digits"),
        ({"GENESIS_RAY_ACTOR_IDLE_S": "-5"}, "GENESIS_RAY_ACTOR_IDLE_S: must be 0 (never"),
        ({"GENESIS_RAY_ACTOR_IDLE_S": "soon"}, "GENESIS_RAY_ACTOR_IDLE_S"),
        ({"GENESIS_RAY_PLACE_WAIT_S": "0"}, "GENESIS_RAY_PLACE_WAIT_S: must be more than 0"),
    ],
)
def test_autoscaling_and_owner_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSettingError, match=re.escape(message)):
        Settings.from_env(env)


def test_each_data_dir_owns_its_model_actors(tmp_path: Path) -> None:
    from genesis_pipeline.runs.executor.ray_cluster import RayExecutor

    def prefix(**kw: Any) -> str:
        return RayExecutor(Settings(executor="ray", **kw)).actor_prefix("whisper")

    a, b = prefix(home=tmp_path / "a"), prefix(home=tmp_path / "b")
    assert a != b and a.startswith("genesis-") and a.endswith("-whisper-")
    assert prefix(home=tmp_path / "a") == a  # the same app, run after run
    assert prefix(home=tmp_path / "a", ray_owner="studio-1") == "genesis-studio-1-whisper-"

"""A `genesis` command's process: one BLAS thread and no pydantic plugin search unless asked
otherwise, no full collection at exit, the same exit code and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What numpy's BLAS runs on, asked of the library itself (threadpoolctl reads the pools).
PROBE = """
import json, sys
from genesis_pipeline import command_process
command_process.begin()
import numpy, threadpoolctl
pools = threadpoolctl.threadpool_info()
print(json.dumps([p["num_threads"] for p in pools if p["user_api"] == "blas"]))
"""


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    return {**env, **extra}


def test_numpy_gets_one_blas_thread() -> None:
    proc = _python(PROBE, _env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [1]


def test_a_thread_count_the_caller_set_is_kept() -> None:
    proc = _python(PROBE, _env(OPENBLAS_NUM_THREADS="2"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [2]


@pytest.mark.parametrize(
    ("given", "expected"), [(None, "__all__"), ("", ""), ("logfire", "logfire")]
)
def test_pydantic_plugins_are_not_searched_unless_asked(given: str | None, expected: str) -> None:
    code = (
        "import os\nfrom genesis_pipeline import command_process\ncommand_process.begin()\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "print(os.environ['PYDANTIC_DISABLE_PLUGINS'], len(list(get_plugins())))"
    )
    env = {k: v for k, v in _env().items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if given is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = given
    proc = _python(code, env)
    assert proc.returncode == 0, proc.stderr
    value, _plugins = proc.stdout.rstrip("\n").rsplit(" ", 1)
    assert value == expected


def test_end_freezes_what_the_command_made() -> None:
    code = (
        "import gc\nfrom genesis_pipeline import command_process\n"
        "junk = [[i] for i in range(1000)]\ncommand_process.end()\nprint(gc.get_freeze_count())"
    )
    proc = _python(code, _env())
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) >= 1000


@pytest.mark.parametrize("module", ["genesis_pipeline", "genesis_pipeline.cli"])
def test_the_command_keeps_its_output_and_exit_code(module: str, tmp_path: Path) -> None:
    """Output written before the end is all there; an error still exits 2 with its message."""
    run = [sys.executable, "-m", module, "--data-dir", str(tmp_path)]
    ok = subprocess.run([*run, "--json", "list-projects"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) is not None
    bad = subprocess.run([*run, "status", "--project-id", "99"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "99" in bad.stderr

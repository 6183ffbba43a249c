"""Settings from GENESIS_* variables; bad values name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_pipeline.config import Settings, configuration_table
from genesis_pipeline.errors import InvalidSettingError


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "GENESIS_HOME": str(tmp_path),
        "GENESIS_WHISPER_MODEL": "tiny.en",
        "GENESIS_DEVICE": "cpu",
        "GENESIS_WHISPER_BATCH_SIZE": "4",
        "GENESIS_MAX_UPLOAD_MB": "10",
        "GENESIS_IMPORT_DIR": str(tmp_path),
        "GENESIS_OFFLINE": "1",
    }
    s = Settings.from_env(env)
    assert s.home == tmp_path and s.whisper_model == "tiny.en" and s.device == "cpu"
    assert s.whisper_batch_size == 4 and s.max_upload_bytes == 10 * 1024 * 1024
    assert s.import_dir == tmp_path and s.offline == "1"
    assert Settings.from_env(env, home=tmp_path / "x").home == tmp_path / "x"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("GENESIS_DEVICE", "tpu"),
        ("GENESIS_WHISPER_BATCH_SIZE", "many"),
        ("GENESIS_CAPTION_BATCH_SIZE", "-2"),
        ("GENESIS_MAX_UPLOAD_MB", "0"),
        ("GENESIS_OFFLINE", "maybe"),
        ("GENESIS_RUN_NICE", "20"),
    ],
)
def test_bad_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(InvalidSettingError, match=var):
        Settings.from_env({var: value})


def test_configuration_table_lists_every_variable() -> None:
    names = [r[0] for r in configuration_table()]
    assert len(names) == len(set(names)) and all(n.startswith("GENESIS_") for n in names)
    assert "GENESIS_HOME" in names and "GENESIS_CAPTION_MODEL" in names


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("False", False)]
)
def test_yes_no_variables(value: str, expected: bool) -> None:
    assert Settings.from_env({"GENESIS_NO_DEMO": value}).no_demo is expected


def test_a_bad_yes_no_value_names_the_variable() -> None:
    with pytest.raises(InvalidSettingError, match="GENESIS_NO_DEMO"):
        Settings.from_env({"GENESIS_NO_DEMO": "sometimes"})

"""Bad settings get one clear error naming the setting; nothing done so far is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapters import current_rules, save_rules
from genesis_pipeline.services.narration import add_voiceover, set_mix, set_voiceover_offset
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, footage):
    home = tmp_path_factory.mktemp("settings-home")
    store = Store(Settings(home=home, caption_model=str(home / "none"), offline="1"))
    pid = create_project(store, "settings", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    first = ProjectPipelineService(store).run(pid, RunOptions())
    assert first.status == "succeeded"
    return store, pid, first


def test_missing_voiceover(project) -> None:
    store, pid, _ = project
    with pytest.raises(InvalidMediaError, match=r"narration\.wav.*does not exist"):
        add_voiceover(store, pid, "/nowhere/narration.wav", actor=ADMIN)


def test_negative_gain(project) -> None:
    store, pid, _ = project
    with pytest.raises(InvalidSettingError, match="bed gain"):
        set_mix(store, pid, bed_gain=-0.5, actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="voiceover gain"):
        set_mix(store, pid, voiceover_gain=float("nan"), actor=ADMIN)


def test_rules_min_over_max(project) -> None:
    store, pid, _ = project
    before = current_rules(store, pid)
    with pytest.raises(InvalidSettingError, match="min_chapter_s"):
        save_rules(store, pid, Rules(min_chapter_s=60, max_chapter_s=30), actor=ADMIN)
    assert current_rules(store, pid) == before


def test_offset_beyond_the_cut_fails_the_run_and_keeps_the_render(
    project, footage, tmp_path: Path
) -> None:
    from genesis_pipeline.media.synth import speak

    store, pid, first = project
    vo = tmp_path / "vo.wav"
    speak("Late narration.", vo)
    rec = add_voiceover(store, pid, vo, offset_s=0.0, actor=ADMIN)
    set_voiceover_offset(store, pid, rec.id, 500.0, actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions())
    assert report.status == "failed"
    assert report.error_type == "InvalidSettingError" and report.error is not None
    assert "voiceover offset" in report.error and "500" in report.error
    assert Path(first.render_path).is_file()  # the previous render is intact
    set_voiceover_offset(store, pid, rec.id, 1.0, actor=ADMIN)
    assert ProjectPipelineService(store).run(pid, RunOptions()).status == "succeeded"


def test_unknown_model_name_via_cli(project) -> None:
    store, pid, _ = project
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "genesis_pipeline.cli",
            "process-project",
            "--project-id",
            str(pid),
            "--data-dir",
            str(store.home),
            "--json",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GENESIS_WHISPER_MODEL": "whisper-ultra-9000!"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "GENESIS_WHISPER_MODEL" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["status"] == "failed"

"""The `genesis` command as scripts use it: exact flags, one JSON document, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def genesis(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def one_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)  # fails unless stdout is exactly one JSON document


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def project_id(cli_home: Path) -> int:
    proc = genesis(cli_home, "create-project", "--name", "cli test", "--json")
    assert proc.returncode == 0, proc.stderr
    return int(one_json(proc)["project_id"])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.mp4", b"", "empty"),
        ("notes.mp4", b"just some text, not a video\n" * 20, "not a media file"),
        ("noise.mkv", os.urandom(64 * 1024), ""),
    ],
)
def test_bad_media_is_refused_with_one_line(
    cli_home: Path, project_id: int, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    proc = genesis(cli_home, "add-media", "--project-id", str(project_id), str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0] and reason in lines[0]
    assert "Traceback" not in proc.stderr
    status = one_json(genesis(cli_home, "status", "--project-id", str(project_id), "--json"))
    assert status["media"] == []


def test_truncated_mp4_is_refused(cli_home: Path, project_id: int, footage, tmp_path: Path) -> None:
    data = footage.path.read_bytes()
    cut = tmp_path / "cut short.mp4"
    cut.write_bytes(data[: len(data) // 2])
    proc = genesis(cli_home, "add-media", "--project-id", str(project_id), str(cut), "--json")
    assert proc.returncode == 2
    assert "cut short.mp4" in proc.stderr
    assert one_json(proc)["type"] == "InvalidMediaError"


def test_debug_shows_the_traceback(cli_home: Path, project_id: int, tmp_path: Path) -> None:
    bad = tmp_path / "empty.mov"
    bad.write_bytes(b"")
    proc = genesis(cli_home, "add-media", "--project-id", str(project_id), str(bad), "--debug")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_process_with_voiceover_end_to_end(
    cli_home: Path, project_id: int, footage, tiny_blip: Path, tmp_path: Path
) -> None:
    from genesis_pipeline.media.synth import speak

    env = {"GENESIS_CAPTION_MODEL": str(tiny_blip)}
    added = genesis(
        cli_home, "add-media", "--project-id", str(project_id), str(footage.path), "--json"
    )
    assert added.returncode == 0, added.stderr
    media = one_json(added)["media"]
    assert media[0]["original_name"] == footage.path.name

    vo = tmp_path / "vo.wav"
    speak("A few words of narration over the pictures.", vo)
    proc = genesis(
        cli_home,
        "process-project",
        "--project-id",
        str(project_id),
        "--voiceover",
        str(vo),
        "--voiceover-offset",
        "2.5",
        "--voiceover-gain",
        "0.9",
        "--bed-gain",
        "0.8",
        "--json",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    report = one_json(proc)
    assert report["status"] == "succeeded"
    steps = {d["step"]: d for d in report["step_details"]}
    assert steps["narration"]["status"] == "ok"
    assert Path(report["render_path"]).is_file()

    doc = one_json(genesis(cli_home, "status", "--project-id", str(project_id), "--json"))
    assert set(doc) >= {
        "project",
        "media",
        "transcripts",
        "scenes",
        "chapters",
        "renders",
        "last_run",
    }
    m = doc["media"][0]
    assert {
        "id",
        "original_name",
        "sha256",
        "duration_s",
        "width",
        "height",
        "fps",
        "has_audio",
    } <= set(m)
    t = doc["transcripts"][0]
    assert {"media_id", "language", "model", "text", "words"} <= set(t)
    assert {"word", "start", "end", "probability", "timing_uncertain"} == set(t["words"][0])
    s = doc["scenes"][0]
    assert {
        "id",
        "media_id",
        "index",
        "start_s",
        "end_s",
        "preview_path",
        "caption",
        "confidence",
    } <= set(s)
    c = doc["chapters"][0]
    assert {"id", "index", "title", "start_s", "end_s", "scene_ids"} <= set(c)
    r = doc["renders"][0]
    assert {"id", "path", "duration_s", "created_at", "voiceover"} <= set(r)
    assert r["voiceover"][0]["offset_s"] == 2.5
    assert r["settings"]["mix"] == {"voiceover_gain": 0.9, "bed_gain": 0.8}
    assert {"id", "status", "step_details"} <= set(doc["last_run"])

    again = one_json(
        genesis(cli_home, "process-project", "--project-id", str(project_id), "--json", env=env)
    )
    cached = {d["step"]: d["cache_hit"] for d in again["step_details"]}
    assert all(cached[s] for s in ("transcribe", "scenes", "captions", "chapters", "render"))
    smart = {d["step"]: d for d in report["step_details"]}["render"]
    assert smart["note"].startswith("smart: ")
    # Narration is mixed in: the sound is encoded whole, in sync to the sample.
    assert smart["note"].endswith(", sound encoded") and smart["counts"]["sound_copied_s"] == 0
    assert r["settings"]["sound"] == {"copied_s": 0.0, "offset_ms": 0.0}

    # A full re-encode on request: only the render runs again, and the mode is kept.
    full = one_json(
        genesis(
            cli_home, "process-project", "--project-id", str(project_id),
            "--render-mode", "reencode", "--json", env=env,
        )
    )  # fmt: skip
    steps = {d["step"]: d for d in full["step_details"]}
    assert steps["scenes"]["cache_hit"] and not steps["render"]["cache_hit"]
    assert steps["render"]["note"] == "full re-encode"
    assert steps["render"]["counts"]["frames_copied"] == 0
    assert steps["render"]["counts"]["frames"] == smart["counts"]["frames"]
    doc = one_json(genesis(cli_home, "status", "--project-id", str(project_id), "--json"))
    assert doc["project"]["settings"]["render_mode"] == "reencode"
    assert [r["settings"]["params"]["mode"] for r in doc["renders"][:2]] == ["reencode", "smart"]

    # Subtitles in the render: set by `export --subtitles` (saved, nothing rendered) or by
    # `process-project --subtitles` (saved and rendered).
    soft = one_json(
        genesis(cli_home, "export", "--project-id", str(project_id), "--subtitles", "soft",
                "--json")
    )  # fmt: skip
    assert soft["render_subtitles"] == "soft" and soft["path"] is None
    burned = one_json(
        genesis(
            cli_home, "process-project", "--project-id", str(project_id),
            "--subtitles", "burned", "--json", env=env,
        )
    )  # fmt: skip
    note = {d["step"]: d for d in burned["step_details"]}["render"]["note"]
    assert note.startswith("subtitles burned in: full re-encode"), note
    doc = one_json(genesis(cli_home, "status", "--project-id", str(project_id), "--json"))
    assert doc["project"]["settings"]["render_subtitles"] == "burned"
    assert doc["renders"][0]["settings"]["subtitles"] == "burned"
    srt = tmp_path / "cut.srt"
    written = one_json(
        genesis(cli_home, "export", "--project-id", str(project_id), "--format", "srt",
                "--subtitles", "off", "--out", str(srt), "--json")
    )  # fmt: skip
    assert written["render_subtitles"] == "off" and written["path"] == str(srt)
    assert " --> " in srt.read_text()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--voiceover", "/no/such/narration.wav"], "narration.wav"),
        (["--bed-gain", "-1"], "bed gain"),
        (["--voiceover-offset", "5"], "--voiceover-offset"),
        (["--render-mode", "fast"], "--render-mode"),
        (["--narration-overrun", "fade"], "--narration-overrun"),
        (["--subtitles", "hard"], "--subtitles"),
        (["--nice", "-5"], "--nice"),
    ],
)
def test_bad_run_settings_exit_2(
    cli_home: Path, tmp_path: Path, flags: list[str], named: str
) -> None:
    pid = one_json(genesis(cli_home, "create-project", "--name", "settings", "--json"))[
        "project_id"
    ]
    proc = genesis(cli_home, "process-project", "--project-id", str(pid), *flags)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    if named == "--narration-overrun":  # refused before a run starts, in one line
        assert proc.stderr.strip() == (
            "genesis: error: --narration-overrun: 'fade' is not one of trim, extend, freeze"
        )
    if named == "--subtitles":
        assert proc.stderr.strip() == (
            "genesis: error: --subtitles: 'hard' is not one of off, soft, burned"
        )
        again = genesis(cli_home, "export", "--project-id", str(pid), *flags)
        assert again.returncode == 2 and again.stderr == proc.stderr


def test_unknown_project(cli_home: Path) -> None:
    proc = genesis(cli_home, "status", "--project-id", "999")
    assert proc.returncode == 2
    assert "project 999" in proc.stderr

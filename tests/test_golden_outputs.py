"""Golden outputs: every ``genesis`` command's output, byte for byte, as before the layering (#12).

One scenario drives the CLI in child processes (two projects, footage with speech and footage
browsers cannot play, playable copies, a run with a voiceover, a cached re-run, status, lists,
errors) and compares what each command printed, and every JSON document and cache key the store
then holds (``stored.json``), with ``tests/golden/*``, captured from the code before issue #12.
Only what legitimately differs between two runs is normalised: timestamps, process ids and
hosts, wall-clock timings, upload ticket ids and the size of a re-encoded playable copy. JSON
documents are also checked to be exactly ``json.dumps`` of themselves, so key order, number
types and layout are compared too.

Regenerate (only when an output is meant to change, and say why in the commit):
``.venv/bin/python tests/test_golden_outputs.py --write``. The scenario's footage with speech and
its voiceover are kept in ``tests/golden_inputs`` (``--write-inputs`` makes them anew; the
goldens must then be written again), so the outputs do not depend on the ffmpeg or espeak-ng
build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parent / "golden"
# The scenario's footage with speech and its voiceover, generated once (``--write-inputs``) and
# kept: ffmpeg's AAC encoder and muxer and espeak-ng differ between builds, and every media hash,
# cache key and word probability follows those bytes.
INPUTS = Path(__file__).resolve().parent / "golden_inputs"
# Keys whose values change from run to run wherever they appear.
VOLATILE = {"started_at", "ended_at", "created_at", "updated_at", "pid", "host", "encode_s"}
# Keys that are wall-clock timings inside the listed containers (elsewhere duration_s is a
# media length and compared exactly).
TIMING_PARENTS = {"step_details", "items"}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?")
# Upload tickets are random ids (the probe facts keep the ticket's path).
UPLOAD_ID = re.compile(r"uploads/[0-9a-f]{32}/")
# A playable copy's size changes from one encode to the next (x264 threads).
PROXY_PARENTS = {"proxy", "metadata_json"}
# A render's size follows the ffmpeg build's x264 and muxer (its frames and times are tested
# elsewhere, exactly).
RENDER_PARENTS = {"renders"}
STEP_TIME = re.compile(r"(?m)^(  \S+\s+\S+(?: run)?\s+)\s*\d+\.\d\d s")


def _genesis(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )


def run_scenario(work: Path) -> dict[str, str]:
    """Run every command once; returns ``{name: "exit <code>\\n<stdout>"}``."""
    from support.playback_media import make_clip
    from support.tiny_blip import build_tiny_blip

    home = work / "home"
    blip = build_tiny_blip(work / "blip")
    env = {
        "GENESIS_CAPTION_MODEL": str(blip),
        "GENESIS_OFFLINE": "1",
        "GENESIS_WHISPER_MODEL": "",
        "GENESIS_IMPORT_DIR": "",
    }
    talk = shutil.copy(INPUTS / "talk clip.mp4", work / "talk clip.mp4")
    vo = Path(shutil.copy(INPUTS / "narration.wav", work / "narration.wav"))
    odd = make_clip(work / "odd", "mpeg4")

    out: dict[str, str] = {}

    def call(name: str, *args: str) -> None:
        proc = _genesis(home, env, *args)
        out[name] = f"exit {proc.returncode}\n{proc.stdout}"

    call("config.json", "config", "--json")
    call("config.txt", "config")
    call("create-project.json", "create-project", "--name", "Golden harbour", "--json")
    call("create-project.txt", "create-project", "--name", "Second")
    call("add-media.json", "add-media", "--project-id", "1", str(talk), str(odd), "--json")
    call("add-media.txt", "add-media", "--project-id", "2", str(talk))
    call("add-media-again.json", "add-media", "--project-id", "2", str(talk), "--json")
    call("make-proxies.json", "make-proxies", "--project-id", "1", "--json", "-q")
    call("make-proxies.txt", "make-proxies", "--project-id", "1", "-q")
    call(
        "process-project.json",
        "process-project",
        "--project-id",
        "1",
        "--voiceover",
        str(vo),
        "--voiceover-offset",
        "0.5",
        "--bed-gain",
        "0.8",
        "--json",
        "-q",
    )
    call("process-project-again.txt", "process-project", "--project-id", "1", "-q")
    call(
        "process-project-2.txt",
        "process-project",
        "--project-id",
        "2",
        "--no-render",
        "--render-mode",
        "reencode",
        "-q",
    )
    call("status.json", "status", "--project-id", "1", "--json")
    call("status.txt", "status", "--project-id", "1")
    call("status-2.json", "status", "--project-id", "2", "--json")
    call("list-projects.json", "list-projects", "--json")
    call("list-projects.txt", "list-projects")
    call("status-missing.json", "status", "--project-id", "99", "--json")
    call(
        "process-bad-flag.json",
        "process-project",
        "--project-id",
        "1",
        "--narration-overrun",
        "fade",
        "--json",
    )
    out["stored.json"] = "exit 0\n" + json.dumps(_stored(home), indent=2) + "\n"
    return {k: _normalise(k, v, home, work) for k, v in out.items()}


# Every JSON column and cache key the store holds: (table, order, columns).
STORED = (
    ("projects", "id", ("settings_json",)),
    ("media_files", "id", ("probe_json",)),
    ("media_proxies", "media_id", ("cache_key", "metadata_json")),
    ("runs", "id", ("options_json", "device_json", "step_details")),
    ("transcripts", "id", ("cache_key", "segments_json", "params_json")),
    ("scenes", "id", ("cache_key", "metadata_json")),
    ("chapter_rules", "id", ("rules_json",)),
    ("chapters", "id", ("cache_key", "reasons_json")),
    ("renders", "id", ("settings_json",)),
)


def _stored(home: Path) -> dict[str, Any]:
    """The stored JSON documents, each checked to be exactly ``json.dumps`` of itself."""
    import duckdb

    con = duckdb.connect(str(home / "genesis.duckdb"), read_only=True)
    try:
        doc: dict[str, Any] = {}
        for table, order, columns in STORED:
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            for row in rows.fetchall():
                for column, raw in zip(columns, row, strict=True):
                    if column.endswith("_json") or column == "step_details":
                        value = json.loads(raw)
                        if raw != json.dumps(value, default=str):
                            raise AssertionError(f"{table}.{column}: not json.dumps of itself")
                    else:
                        value = raw
                    doc.setdefault(table, []).append({column: value})
        return doc
    finally:
        con.close()


def _normalise(name: str, text: str, home: Path, work: Path) -> str:
    code, _, body = text.partition("\n")
    if name.endswith(".json") and body.strip():
        doc = json.loads(body)
        if body != json.dumps(doc, indent=2, default=str) + "\n" and "error" not in doc:
            raise AssertionError(f"{name}: not json.dumps(doc, indent=2) of itself")
        body = json.dumps(_clean(doc), indent=2) + "\n"
    body = _paths(body, home, work)
    body = ISO_TIME.sub("<time>", body)
    body = UPLOAD_ID.sub("uploads/<id>/", body)
    body = STEP_TIME.sub(r"\1<time> s", body)
    return f"{code}\n{body}"


def _paths(text: str, home: Path, work: Path) -> str:
    for root, label in ((home.resolve(), "<home>"), (home, "<home>"), (work, "<work>")):
        text = text.replace(str(root), label)
    return text


def _clean(value: Any, parent: str = "") -> Any:
    if isinstance(value, dict):
        timing = parent in TIMING_PARENTS
        proxy = parent in PROXY_PARENTS and "encode_s" in value
        render = parent in RENDER_PARENTS
        return {
            k: "<volatile>"
            if k in VOLATILE
            or (timing and k == "duration_s")
            or (proxy and k in ("size_bytes", "speed"))
            or (render and k == "size_bytes")
            else _clean(v, k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_clean(v, parent) for v in value]
    return value


# Cache keys hash absolute paths (the caption model's folder, a voiceover's file), so the
# scenario always runs in this one folder; a lock keeps two test sessions out of each other's way.
WORK = Path(tempfile.gettempdir()) / "genesis-golden-outputs"


@contextlib.contextmanager
def scenario_folder() -> Iterator[Path]:
    WORK.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{WORK}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir()
        try:
            yield WORK
        finally:
            shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    with scenario_folder() as work:
        made = run_scenario(work)
    if os.environ.get("GENESIS_GOLDEN_DUMP"):  # a folder to diff against tests/golden
        dump = Path(os.environ["GENESIS_GOLDEN_DUMP"])
        dump.mkdir(parents=True, exist_ok=True)
        for name, text in made.items():
            (dump / name).write_text(text)
    return made


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*")))
def test_output_is_unchanged(outputs: dict[str, str], name: str) -> None:
    assert outputs[name] == (GOLDEN / name).read_text()


def test_every_output_has_a_golden(outputs: dict[str, str]) -> None:
    assert sorted(outputs) == sorted(p.name for p in GOLDEN.glob("*"))


def write_inputs() -> None:
    """Generate the scenario's footage with speech and its voiceover into ``INPUTS``."""
    from genesis_pipeline.media.synth import Shot, make_footage, speak

    INPUTS.mkdir(exist_ok=True)
    make_footage(
        INPUTS / "talk clip.mp4",
        (Shot("testsrc2", 2.0), Shot("smptebars", 2.4)),
        script="The harbour at dawn. Boats come in.",
        speech_start_s=0.3,
        words_per_minute=140,
    )
    speak("Narration over the harbour.", INPUTS / "narration.wav")


if __name__ == "__main__" and sys.argv[1:] == ["--write-inputs"]:
    write_inputs()
    print(f"wrote {sorted(p.name for p in INPUTS.iterdir())} to {INPUTS}")

if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for var in ("GENESIS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[var] = "1"
    with scenario_folder() as work:
        GOLDEN.mkdir(exist_ok=True)
        for name, text in run_scenario(work).items():
            (GOLDEN / name).write_text(text)
    print(f"wrote {len(list(GOLDEN.iterdir()))} files to {GOLDEN}")

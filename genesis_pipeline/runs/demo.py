"""The demo project: a short generated clip with speech and a voiceover, processed end to end.

The source material lives in the repository's ``data/demo/`` (made by :func:`make_demo_media`);
when Genesis runs from an installed wheel without it, it is generated on first use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.media.synth import Shot, make_footage, speak
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.control import start_background_run
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.services import access
from genesis_pipeline.services.narration import add_voiceover
from genesis_pipeline.services.projects import create_project, has_projects
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store.records import ReadModel

log = logging.getLogger(__name__)

DEMO_NAME = "Genesis demo"
REPO_DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"

# Two spoken parts with a long pause between them, so the default rules give two chapters.
DEMO_SCRIPT = (
    "Welcome to the Genesis demo. This short film was made from test patterns. "
    "Every shot ends with a hard cut, and Genesis finds each one. "
    "The words you hear are transcribed with their timings."
)
DEMO_SCRIPT_PART_TWO = (
    "After a pause, the second part begins. "
    "Reviewers approve the scenes they like and reject the others. "
    "Chapters follow the pauses in the speech."
)
PART_TWO_START_S = 19.4
VOICEOVER_SCRIPT = "This is the narration track. The natural sound ducks under my voice."
DEMO_SHOTS = (
    Shot("testsrc2", 4.0),
    Shot("smptebars", 3.2),
    Shot("mandelbrot", 4.4),
    Shot("rgbtestsrc", 3.6),
    Shot("smptehdbars", 4.0),
    Shot("testsrc", 3.2),
    Shot("yuvtestsrc", 4.0),
    Shot("pal100bars", 3.6),
    Shot("testsrc2", 4.0),
    Shot("mandelbrot", 4.0),
)


@dataclass(frozen=True, slots=True)
class DemoResult(ReadModel):
    """The demo project, its run and its render (``genesis demo --json``)."""

    project_id: int
    run: RunReport
    render_path: str | None


def make_demo_media(dest: Path) -> dict[str, Any]:
    """Generate ``demo.mp4``, ``voiceover.wav`` and ``demo.json`` (ground truth) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    footage = make_footage(
        dest / "demo.mp4",
        DEMO_SHOTS,
        size=(640, 360),
        fps=25,
        script=DEMO_SCRIPT,
        speech_start_s=1.0,
        more_speech=((PART_TWO_START_S, DEMO_SCRIPT_PART_TWO),),
        words_per_minute=150,
        tone_hz=220.0,
        tone_level=0.03,
        vcodec_args=("-c:v", "libx264", "-preset", "medium", "-crf", "30"),
        gop=50,
    )
    vo_seconds = speak(VOICEOVER_SCRIPT, dest / "voiceover.wav", words_per_minute=160)
    truth = {
        "description": "Genesis demo: 10 shots of ffmpeg test sources joined by hard cuts, "
        "espeak-ng reading a known script under a quiet 220 Hz tone, and a separate voiceover.",
        "clip": "demo.mp4",
        "voiceover": "voiceover.wav",
        "voiceover_duration_s": vo_seconds,
        "voiceover_script": VOICEOVER_SCRIPT,
        **{k: v for k, v in footage.ground_truth().items() if k != "path"},
    }
    (dest / "demo.json").write_text(json.dumps(truth, indent=2))
    return truth


def demo_sources(store: Store) -> Path:
    """The folder with the demo clip and voiceover (the repo's, else generated once)."""
    if (REPO_DEMO_DIR / "demo.mp4").is_file() and (REPO_DEMO_DIR / "voiceover.wav").is_file():
        return REPO_DEMO_DIR
    generated = store.demo_source_dir
    if not (generated / "demo.json").is_file():
        make_demo_media(generated)
    return generated


def find_demo_project(store: Store) -> int | None:
    """The demo project's id, None when there is none."""
    with store.db.read() as con:
        for p in projects_sql.list_all(con):
            if p.settings_json.get("demo"):
                return p.id
    return None


def build_demo(store: Store, progress: Progress = no_progress, force: bool = False) -> DemoResult:
    """Create (once) and process the demo project; returns its id, the run and the render path."""
    project_id = None if force else find_demo_project(store)
    if project_id is None:
        project_id = create_demo_project(store)
    report = ProjectPipelineService(store).run(project_id, RunOptions(), progress, wait=True)
    return DemoResult(project_id, report, report.render_path)


def ensure_demo_project(store: Store) -> int | None:
    """On an empty data dir: create the demo project and process it in a background worker.

    Returns the demo project's id when it was created now, else None.
    """
    if has_projects(store):
        return None
    project_id = create_demo_project(store)
    start_background_run(store, project_id, actor=access.system_actor("demo"))
    return project_id


def create_demo_project(store: Store) -> int:
    """The demo project with its clip and voiceover, not yet processed."""
    src = demo_sources(store)
    project = create_project(store, DEMO_NAME, actor=access.system_actor("demo"))
    with store.db.write() as con:
        projects_sql.update_settings(con, project.id, {"demo": True})
    add_media(store, project.id, [src / "demo.mp4"], actor=access.system_actor("demo"))
    add_voiceover(
        store, project.id, src / "voiceover.wav", offset_s=8.0, actor=access.system_actor("demo")
    )
    return project.id

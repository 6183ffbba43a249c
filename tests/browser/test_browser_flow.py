"""One reviewer's day in a real browser: Debian's chromium driven by Playwright against
`streamlit run`. Upload a generated clip, run the pipeline, see thumbnails, move a chapter
slider, render; a screenshot of every page is saved (for the README with GENESIS_SCREENSHOTS)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesis_pipeline.config import Settings
from genesis_pipeline.services.projects import list_projects
from genesis_pipeline.services.runs import wait_for_run
from genesis_pipeline.services.status import project_status
from genesis_pipeline.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("browser-blip"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_blip: Path) -> Iterator[tuple[str, Path]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./.ci/setup (it apt-installs it)")
    home = tmp_path_factory.mktemp("browser-home")
    port = _free_port()
    env = {
        **os.environ,
        "GENESIS_HOME": str(home),
        "GENESIS_CAPTION_MODEL": str(tiny_blip),
        "GENESIS_OFFLINE": "1",
        "GENESIS_NO_DEMO": "1",
    }
    log = open(home.parent / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "app" / "streamlit_app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (home.parent / "streamlit.log").read_text())
    yield url, home
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = os.environ.get("GENESIS_SCREENSHOTS")
    d = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def settle(pg, quiet_s: float = 1.0, timeout_s: float = 60.0) -> None:
    """Wait until Streamlit has finished the current script run: no running indicator and the
    page's text unchanged for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        running = pg.locator("[data-testid='stStatusWidget']").count() > 0
        text = pg.inner_text("body")
        if text != last or running:
            last, since = text, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        pg.wait_for_timeout(200)


def goto(pg, url: str, path: str) -> None:
    pg.goto(f"{url}/{path}")
    pg.wait_for_selector("[data-testid='stAppViewContainer']")
    settle(pg)


def snap(pg, shots: Path, name: str) -> None:
    # Streamlit scrolls its main section, not the window: start every screenshot at the top.
    pg.evaluate(
        "() => document.querySelectorAll('section, [data-testid=stMain]')"
        ".forEach(e => e.scrollTop = 0)"
    )
    pg.wait_for_timeout(200)
    pg.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def no_exception(pg) -> None:
    assert pg.locator("[data-testid='stException']").count() == 0, pg.inner_text("body")[:2000]


def test_a_reviewers_day(server, page, shots: Path, footage) -> None:
    url, home = server
    pg = page
    store = Store(Settings(home=home))

    # Projects: create one.
    goto(pg, url, "")
    pg.locator(".st-key-new_project_name input").fill("Browser test")
    pg.get_by_role("button", name="Create").click()
    settle(pg)
    no_exception(pg)
    pid = next(
        p["project"]["id"] for p in list_projects(store) if p["project"]["name"] == "Browser test"
    )

    # Upload: a generated clip through the browser's file input.
    goto(pg, url, "upload")
    pg.locator("input[type=file]").set_input_files(str(footage.path))
    pg.wait_for_function("() => document.body.innerText.includes('main.mp4')", timeout=60_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not project_status(store, pid)["media"]:
        time.sleep(0.3)
    settle(pg)
    no_exception(pg)
    media = project_status(store, pid)["media"]
    assert [m["original_name"] for m in media] == ["main.mp4"]
    snap(pg, shots, "upload")

    # Run: start the pipeline in a worker, watch it finish.
    goto(pg, url, "run")
    pg.get_by_role("button", name="Run", exact=True).click()
    settle(pg)
    run = wait_for_run(store, pid, timeout_s=300)
    assert run is not None and run.status == "succeeded", run
    goto(pg, url, "run")
    no_exception(pg)
    assert re.search(r"run #?\d+.*(succeeded|finished)", pg.inner_text("body"), re.I | re.S)
    snap(pg, shots, "run")

    # Transcript.
    goto(pg, url, "transcript")
    no_exception(pg)
    assert "hard cut" in pg.inner_text("body").lower()
    snap(pg, shots, "transcript")

    # Scenes: the thumbnails are really there.
    goto(pg, url, "scenes")
    no_exception(pg)
    n_scenes = len(project_status(store, pid, include_words=False)["scenes"])
    pg.wait_for_function(
        f"() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        f".filter(i => i.complete && i.naturalWidth > 0).length >= {n_scenes}",
        timeout=30_000,
    )
    snap(pg, shots, "scenes")

    # Confidence.
    goto(pg, url, "confidence")
    no_exception(pg)
    pg.wait_for_selector(".js-plotly-plot")
    snap(pg, shots, "confidence")

    # Chapters: move the minimum-length slider; the live preview follows, nothing runs.
    goto(pg, url, "chapters")
    no_exception(pg)
    before = pg.inner_text("body")
    runs_before = len(list_runs_ids(store, pid))
    for key in ("ch_min", "ch_pause"):  # shortest chapter and pause threshold all the way down
        pg.locator(f".st-key-{key} input[type=range]").focus()
        pg.keyboard.press("Home")
        settle(pg)
    no_exception(pg)
    after = pg.inner_text("body")
    assert int(_preview_count(after)) > int(_preview_count(before)), (before, after)
    assert len(list_runs_ids(store, pid)) == runs_before
    snap(pg, shots, "chapters")

    # Narration: add a voiceover for the whole cut through the browser.
    from genesis_pipeline.media.synth import speak

    vo = home.parent / "narration.wav"
    speak("This is the narration over the rough cut.", vo)
    goto(pg, url, "narration")
    pg.locator("input[type=file]").set_input_files(str(vo))
    settle(pg)
    pg.get_by_role("button", name="Add voiceover").click()
    settle(pg)
    no_exception(pg)
    assert [v["original_name"] for v in project_status(store, pid)["voiceovers"]] == [
        "narration.wav"
    ]
    snap(pg, shots, "narration")

    # Render: reject one scene first so the render really has something new to do.
    from genesis_pipeline.services.review import set_scene_status

    scenes = project_status(store, pid, include_words=False)["scenes"]
    set_scene_status(store, pid, [scenes[1]["id"]], "rejected")
    goto(pg, url, "render")
    pg.get_by_role("button", name="Render approved cut").click()
    settle(pg)
    run = wait_for_run(store, pid, timeout_s=300)
    assert run is not None and run.status == "succeeded"
    renders = project_status(store, pid, include_words=False)["renders"]
    assert len(renders) == 2 and Path(renders[0]["path"]).is_file()
    assert renders[0]["voiceover"] and renders[0]["voiceover"][0]["path"].endswith(".wav")
    goto(pg, url, "render")
    no_exception(pg)
    pg.wait_for_selector("video")
    snap(pg, shots, "render")

    # Projects overview last, with the run and renders on it.
    goto(pg, url, "")
    no_exception(pg)
    snap(pg, shots, "projects")


def list_runs_ids(store: Store, pid: int) -> list[int]:
    from genesis_pipeline.services.runs import list_runs

    return [r.id for r in list_runs(store, pid)]


def _preview_count(text: str) -> str:
    m = re.search(r"Preview chapters\s*\n\s*(\d+)", text)
    return m.group(1) if m else ""

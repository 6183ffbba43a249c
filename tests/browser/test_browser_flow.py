"""One reviewer's day in a real browser: Debian's chromium driven by Playwright against
`streamlit run`. Upload a generated clip, run the pipeline, play the transcript from a line, see
thumbnails, save chapter rules, add a voiceover, render, download every export; on every page the
widgets read the same after a look at another page (sidebar, same session) and after a reload. A
screenshot of every page (and of the Export section) is saved (for the README with
GENESIS_SCREENSHOTS)."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from support.actors import ADMIN
from support.browser import CHROMIUM, CHROMIUM_ARGS, REPO, screenshot_dir, settle, streamlit_server

from genesis_pipeline import serde
from genesis_pipeline.config import Settings
from genesis_pipeline.runs.control import wait_for_run
from genesis_pipeline.services import comments
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.chapters import current_rules
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import get_mix
from genesis_pipeline.services.projects import list_projects
from genesis_pipeline.services.status import project_status
from genesis_pipeline.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_blip import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("browser-blip"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_blip: Path) -> Iterator[tuple[str, Path]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./.ci/setup (it apt-installs it)")
    home = tmp_path_factory.mktemp("browser-home")
    env = {
        "GENESIS_HOME": str(home),
        "GENESIS_CAPTION_MODEL": str(tiny_blip),
        "GENESIS_OFFLINE": "1",
        "GENESIS_NO_DEMO": "1",
    }
    with streamlit_server(env, REPO, home.parent / "streamlit.log") as url:
        yield url, home


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
    return screenshot_dir(tmp_path_factory)


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


# What each keyed widget on the page shows, by key (as a reviewer reads it).
READ_WIDGETS = """() => {
  const out = {};
  for (const el of document.querySelectorAll(
      "[data-testid=stElementContainer][class*='st-key-']")) {
    const key = [...el.classList].find((c) => c.startsWith("st-key-")).slice(7);
    const radios = [...el.querySelectorAll("input[type=radio]")];
    const box = el.querySelector("input[type=checkbox]");
    const input = el.querySelector(
      "input[type=range], input[type=number], input[type=text], input:not([type]), textarea");
    if (radios.length) out[key] = radios.find((r) => r.checked)?.closest("label")?.innerText;
    else if (box) out[key] = box.checked;
    else if (input) out[key] = input.value;
  }
  return out;
}"""


def widgets(pg, expect: set[str] | None = None) -> dict[str, object]:
    """Every keyed value widget's shown value; with ``expect``, wait until those keys are drawn."""
    deadline = time.monotonic() + 30
    while True:
        values = pg.evaluate(READ_WIDGETS)
        if expect is None or expect <= values.keys() or time.monotonic() > deadline:
            return values
        pg.wait_for_timeout(200)


def nav(pg, title: str) -> None:
    """Open a page from the sidebar: the same browser session, as a reviewer moves around."""
    pg.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    settle(pg)


def _review(store, pid: int, scene_id: int) -> tuple[bool, str]:
    """(reviewed, status) of one scene as the store has it."""
    from genesis_pipeline.services.queries import scenes_table

    row = scenes_table(store, pid).set_index("id").loc[scene_id]
    return bool(row.reviewed), str(row.review_status)


def round_trip(pg, title: str, via: str = "Projects") -> dict[str, object]:
    """Look at another page and come back: every widget reads as before. Returns the values."""
    before = widgets(pg)
    nav(pg, via)
    nav(pg, title)
    no_exception(pg)
    after = widgets(pg, set(before))
    assert after == before, (title, before, after)
    return after


def pick(pg, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox ``key``. A rerun of the page (the poll that follows
    other reviewers' changes) closes an open list: open it again, up to three times."""
    choice = pg.get_by_role("option", name=option, exact=True)
    for attempt in range(3):
        settle(pg)
        pg.locator(f".st-key-{key} input[role=combobox]").click()
        try:
            choice.click(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            pg.keyboard.press("Escape")
    settle(pg)


def slide(pg, key: str, *keys: str) -> None:
    """Move a slider with the keyboard (Home, ArrowRight, …), as a reviewer can."""
    pg.locator(f".st-key-{key} input[type=range]").focus()
    for k in keys:
        pg.keyboard.press(k)
    settle(pg)


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
    # Nobody has reviewed the scenes: a run renders only when asked, and then says so.
    assert "nobody has reviewed the scenes" in pg.inner_text("body")
    pg.locator(".st-key-run_render label").click()  # "Render the cut" on
    settle(pg)
    assert "Renders every scene" in pg.inner_text("body")
    pg.get_by_role("button", name="Run", exact=True).click()
    settle(pg)
    run = wait_for_run(store, pid, timeout_s=300)
    assert run is not None and run.status == "succeeded", run
    goto(pg, url, "run")
    no_exception(pg)
    assert re.search(r"run #?\d+.*(succeeded|finished)", pg.inner_text("body"), re.I | re.S)
    snap(pg, shots, "run")
    # A new page load: still nobody reviewed, so "Render the cut" is off again until asked.
    pg.locator(".st-key-run_render label").click()  # on, not run yet
    settle(pg)
    assert round_trip(pg, "Run")["run_render"] is True

    # Transcript: ▶ on a line plays the clip from that line's first word.
    nav(pg, "Transcript")
    no_exception(pg)
    assert "hard cut" in pg.inner_text("body").lower()
    pg.wait_for_selector(".st-key-transcript_player video")
    pg.evaluate(
        "() => { const v = document.querySelector('.st-key-transcript_player video');"
        " window.seeks = [];"  # where each seek goes (read as it starts: playback waits)
        " v.addEventListener('seeking', () => window.seeks.push(v.currentTime)); }"
    )
    # A line that starts well inside a second (st.video alone starts on whole seconds).
    line = next(ln for ln in _transcript_lines(store, pid) if 0.2 < ln["start"] % 1 < 0.8)
    pg.locator(f".st-key-seek_{media[0]['id']}_{line['index']} button").first.click()
    # Streamlit's own seek goes to the whole second first; the page's seek to the word follows.
    player = "document.querySelector('.st-key-transcript_player video')"
    played = f"() => [window.seeks, {player}.currentTime, {player}.paused]"
    try:
        pg.wait_for_function(
            f"() => !{player}.paused"
            f" && window.seeks.some((t) => Math.abs(t - {line['start']}) < 0.01)",
            timeout=20_000,
        )
    except Exception as exc:  # say where the player went instead
        raise AssertionError(f"not played from {line['start']}: {pg.evaluate(played)}") from exc
    pg.wait_for_timeout(500)
    seeks, now, paused = pg.evaluate(played)
    assert seeks[-1] == pytest.approx(line["start"], abs=0.01), (seeks, line["start"])
    assert now >= line["start"] and not paused, (now, paused)
    pg.mouse.move(1, 1)  # no tooltip in the screenshot
    settle(pg)
    no_exception(pg)
    snap(pg, shots, "transcript")
    pg.locator(".st-key-transcript_search input").fill("scenes")
    pg.keyboard.press("Enter")
    settle(pg)
    assert round_trip(pg, "Transcript", via="Scenes")["transcript_search"] == "scenes"

    # Scenes: the thumbnails are really there.
    goto(pg, url, "scenes")
    no_exception(pg)
    n_scenes = len(project_status(store, pid, include_words=False)["scenes"])
    pg.wait_for_function(
        f"() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        f".filter(i => i.complete && i.naturalWidth > 0).length >= {n_scenes}",
        timeout=30_000,
    )
    # Undo: reject the first scene on its card, then take it back with "Undo last".
    first = project_status(store, pid, include_words=False)["scenes"][0]["id"]
    settle(pg)
    pg.locator(f".st-key-reject_{first} button").first.click()
    settle(pg)
    pg.wait_for_selector(f".st-key-scene-rejected-{first}")
    assert _review(store, pid, first) == (True, "rejected")
    pg.locator(".st-key-scene_undo_last button").first.click()
    settle(pg)
    pg.wait_for_selector(f".st-key-scene-default-{first}")
    assert _review(store, pid, first) == (False, "approved")
    assert "Undid “Rejected scene 1 of main.mp4”" in pg.inner_text("body")

    # Play a scene: the player starts at the scene's first frame (not the whole second before
    # it) and stops on its last.
    second = project_status(store, pid, include_words=False)["scenes"][1]
    start, end = float(second["start_s"]), float(second["end_s"])
    # Where the player is when it starts playing (media events reach a capturing listener on
    # the document): read at the event, not by polling, which a loaded machine makes late.
    pg.evaluate(
        "() => { window.scenePlayedAt = undefined; document.addEventListener('playing', e => {"
        " if (window.scenePlayedAt === undefined) window.scenePlayedAt = e.target.currentTime;"
        " }, true); }"
    )
    pg.locator(f".st-key-play_{second['id']} button").first.click()
    pg.wait_for_selector(".st-key-scene_player video")
    pg.wait_for_function("() => window.scenePlayedAt !== undefined", timeout=30_000)
    assert abs(pg.evaluate("() => window.scenePlayedAt") - start) < 0.1
    pg.wait_for_function(
        "([e]) => { const v = document.querySelector('.st-key-scene_player video');"
        " return v.paused && v.currentTime > 0 && Math.abs(v.currentTime - e) < 0.3; }",
        arg=[end],
        timeout=int((end - start) * 1000) + 20_000,
    )
    # It holds the scene's last frame: the next shot never shows.
    held = pg.evaluate("() => document.querySelector('.st-key-scene_player video').currentTime")
    assert end - 1 / footage.fps < held < end, (held, end)
    settle(pg)
    # Trim: the in point halfway through the scene; its length on the page changes and the
    # filmstrip greys the frames the trim leaves out.
    from genesis_pipeline.services.queries import scenes_table
    from genesis_pipeline.services.review import scene_trims

    row = scenes_table(store, pid).set_index("id").loc[second["id"]]
    first_frame, last_frame = int(row.start_frame), int(row.end_frame)
    half = first_frame + (last_frame - first_frame) // 2
    pg.wait_for_selector("[class*='st-key-strip-kept-']")
    assert pg.locator("[class*='st-key-strip-cut-']").count() == 0
    field = pg.locator(f".st-key-scene_in_{second['id']} input")
    field.fill(str(half))
    field.press("Enter")
    settle(pg)
    pg.locator(f".st-key-scene_trim_{second['id']} button").first.click()
    settle(pg)
    no_exception(pg)
    trim = scene_trims(store, pid)[second["id"]]
    assert (trim.in_frame, trim.out_frame) == (half, last_frame)
    # The card's length is the kept one; the filmstrip greys the three frames left out.
    pg.wait_for_function("() => document.body.innerText.includes('(trimmed from')")
    pg.wait_for_selector("[class*='st-key-strip-cut-2']")
    settle(pg)
    body = pg.inner_text("body")
    assert f"Keeps frames {half}–{last_frame} of {first_frame}–{last_frame}" in body
    assert pg.locator("[class*='st-key-strip-cut-']").count() == 3
    pg.mouse.move(1, 1)
    settle(pg)
    snap(pg, shots, "scene-player")
    # A second reviewer: a change made elsewhere (here the service, as the CLI or another
    # browser would) while the page is open shows the notice and the page follows it.
    from genesis_pipeline.services.review import UNREVIEWED, set_scene_status

    third = project_status(store, pid, include_words=False)["scenes"][2]["id"]
    set_scene_status(store, pid, [third], "rejected", actor=ADMIN)
    pg.wait_for_function(
        "() => document.body.innerText.includes('someone else changed this project')",
        timeout=30_000,
    )
    pg.wait_for_selector(f".st-key-scene-rejected-{third}")
    set_scene_status(store, pid, [third], UNREVIEWED, actor=ADMIN)
    pg.wait_for_selector(f".st-key-scene-default-{third}", timeout=30_000)
    settle(pg)
    pg.locator(".st-key-scene_player_close button").first.click()
    settle(pg)
    snap(pg, shots, "scenes")
    # A client's note on the second scene, answered in another browser; the thread opens beside
    # the scene's thumbnail from the card's comment button (the README's screenshot).
    note = comments.add_comment(
        store,
        pid,
        "Too dark here: can we use the second take?",
        actor=Actor("user", "client", "viewer"),
        scene_id=second["id"],
        start_s=start + 0.2,
    )
    comments.reply(
        store,
        pid,
        note.id,
        "@client yes, swapping it in.",
        actor=Actor("user", "editor", "reviewer"),
    )
    pg.locator(f".st-key-scene_comments_{second['id']} button").first.click()
    settle(pg)
    panel = pg.locator(".st-key-scene_thread_panel")
    panel.wait_for()
    assert "swapping it in" in panel.inner_text()
    panel.screenshot(path=str(shots / "comment-thread.png"))
    pg.locator(".st-key-scene_thread_close button").first.click()
    settle(pg)
    pick(pg, "scene_sort", "lowest confidence first")
    pick(pg, "scene_page_size", "12")
    shown = round_trip(pg, "Scenes", via="Confidence")
    assert shown["scene_sort"] == "lowest confidence first" and shown["scene_page_size"] == "12"
    assert shown["scene_media"] == "All files"

    # Confidence.
    nav(pg, "Confidence")
    no_exception(pg)
    pg.wait_for_selector(".js-plotly-plot")
    snap(pg, shots, "confidence")
    pg.locator(".st-key-conf_low_n input").fill("5")
    pg.keyboard.press("Enter")
    settle(pg)
    assert round_trip(pg, "Confidence")["conf_low_n"] == "5"

    # Chapters: move the sliders to shortest 2 s, longest 5 s, pauses of 0.3 s; the live preview
    # follows, nothing runs; the moves survive a look at another page; then save them.
    nav(pg, "Chapters")
    no_exception(pg)
    before = pg.inner_text("body")
    runs_before = len(list_runs_ids(store, pid))
    slide(pg, "ch_min", "Home", *["ArrowRight"] * 4)  # 0 + 4 × 0.5
    slide(pg, "ch_max", "Home", *["ArrowRight"] * 4)  # 1 + 4 × 1
    slide(pg, "ch_pause", "Home", *["ArrowRight"] * 2)  # 0.1 + 2 × 0.1
    no_exception(pg)
    after = pg.inner_text("body")
    assert int(_preview_count(after)) > int(_preview_count(before)), (before, after)
    assert len(list_runs_ids(store, pid)) == runs_before
    rules = {"ch_min": "2", "ch_max": "5", "ch_pause": "0.3", "ch_sim": "0.2", "ch_keep": True}
    draft = round_trip(pg, "Chapters", via="Scenes")
    assert {k: draft[k] for k in rules} == rules
    pg.get_by_role("button", name="Save rules as new version").click()
    settle(pg)
    no_exception(pg)
    version, latest = current_rules(store, pid)
    assert (latest.min_chapter_s, latest.max_chapter_s, latest.pause_split_s) == (2.0, 5.0, 0.3)
    shown = round_trip(pg, "Chapters", via="Narration")
    assert {k: shown[k] for k in rules} == rules
    assert f"saved version {version}" in pg.inner_text("body")
    assert pg.get_by_role("button", name="Save rules as new version").is_disabled()
    pg.reload()
    settle(pg)
    assert {k: v for k, v in widgets(pg, set(rules)).items() if k in rules} == rules
    snap(pg, shots, "chapters")

    # Narration: add a voiceover for the whole cut through the browser.
    from genesis_pipeline.media.synth import speak

    vo = home.parent / "narration.wav"
    speak("This is the narration over the rough cut.", vo)
    nav(pg, "Narration")
    pg.locator("input[type=file]").set_input_files(str(vo))
    settle(pg)
    pg.get_by_role("button", name="Add voiceover").click()
    settle(pg)
    no_exception(pg)
    assert [v["original_name"] for v in project_status(store, pid)["voiceovers"]] == [
        "narration.wav"
    ]
    # The saved offset and gains read the same after a look at another page and a reload, and
    # Apply mix then saves what was there.
    vo_id = project_status(store, pid)["voiceovers"][0]["id"]
    saved = {f"vo_offset_{vo_id}": "0.00", f"vo_gain_{vo_id}": "1.00"}
    saved |= {"narr_gain": "1.00", "narr_bed_gain": "1.00"}
    # The page shows the new voiceover's row without leaving it (on a starved machine the
    # rerun that draws it can start after the page has looked quiet for a second).
    assert saved.keys() <= widgets(pg, set(saved)).keys()
    shown = round_trip(pg, "Narration", via="Chapters")
    assert {k: shown[k] for k in saved} == saved
    pg.get_by_role("button", name="Apply mix").click()
    settle(pg)
    no_exception(pg)
    assert serde.to_json(get_mix(store, pid)) == {"voiceover_gain": 1.0, "bed_gain": 1.0}
    pg.reload()
    settle(pg)
    assert {k: v for k, v in widgets(pg, set(saved)).items() if k in saved} == saved
    snap(pg, shots, "narration")

    # Render: reject one scene first so the render really has something new to do.
    from genesis_pipeline.services.review import set_scene_status

    scenes = project_status(store, pid, include_words=False)["scenes"]
    set_scene_status(store, pid, [scenes[1]["id"]], "rejected", actor=ADMIN)
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
    shown = round_trip(pg, "Render")
    mode = shown[f"render_mode_{pid}"]
    assert isinstance(mode, str) and mode.startswith("smart render")
    assert shown[f"render_subtitles_{pid}"] == "off"

    # Cut order: the run made chapters with the saved rules; move the first one later (its
    # scenes go with it) and a scene within its chapter, undo the last move; the cut and the
    # exports follow.
    from genesis_pipeline.services.cut_order import cut_order

    nav(pg, "Cut order")
    no_exception(pg)
    order = cut_order(store, pid)
    assert len(order.blocks) >= 2, order
    top = order.blocks[0]
    pg.locator(f".st-key-order_chapter_down_{top.chapter_id} button").first.click()
    settle(pg)
    no_exception(pg)
    moved = cut_order(store, pid)
    assert moved.blocks[1].chapter_id == top.chapter_id and moved.reordered
    big = next((b for b in moved.blocks if len(b.scene_ids) >= 2), None)
    if big is not None:  # the rules may give one scene per chapter (AppTests cover this)
        pg.locator(f".st-key-order_scene_down_{big.scene_ids[0]} button").first.click()
        settle(pg)
        again = next(b for b in cut_order(store, pid).blocks if b.key == big.key)
        assert again.scene_ids[:2] == (big.scene_ids[1], big.scene_ids[0])
    # Undo move takes the last move back (the scene's, else the chapter's, which is made again).
    pg.locator(".st-key-order_undo button").first.click()
    settle(pg)
    assert "Undid “Moved " in pg.inner_text("body")
    if big is not None:
        assert cut_order(store, pid).scene_ids == moved.scene_ids
    else:
        assert not cut_order(store, pid).reordered
        pg.locator(f".st-key-order_chapter_down_{top.chapter_id} button").first.click()
        settle(pg)
    assert "reordered" in pg.inner_text("body")
    cut = load_cut(store, pid)
    in_cut = {c.chapter_id for c in cut.chapters}  # a chapter all rejected is not in the cut
    assert [c.chapter_id for c in cut.chapters] == [
        b.chapter_id for b in cut_order(store, pid).blocks if b.chapter_id in in_cut
    ]
    pg.mouse.move(1, 1)
    settle(pg)
    snap(pg, shots, "order")
    nav(pg, "Render")
    no_exception(pg)

    # Export: every format downloads from the Export section, each file what it says it is,
    # in the cut's order.
    downloads = download_exports(pg)
    check_exports(downloads, load_cut(store, pid))
    assert chapter_titles(downloads["chapters-vtt"][1]) == [c.title for c in cut.chapters]
    # The section is taller than the window and Streamlit scrolls its own main block: a
    # window tall enough for the whole page, so the section is drawn whole, then back.
    viewport = pg.viewport_size
    assert viewport is not None
    pg.set_viewport_size({"width": 1400, "height": 4000})
    pg.mouse.move(1, 1)
    settle(pg)
    pg.locator(".st-key-export_section").screenshot(path=str(shots / "export.png"))
    pg.set_viewport_size(viewport)

    # Projects overview last, with the run and renders on it.
    nav(pg, "Projects")
    no_exception(pg)
    round_trip(pg, "Projects", via="Upload")
    snap(pg, shots, "projects")


def download_exports(pg) -> dict[str, tuple[str, bytes]]:
    """Click every download of the Export section: ``{format: (file name, bytes)}``; a
    disabled button (YouTube chapters no merge can save) is left out."""
    from genesis_pipeline.services.exports import EXPORT_FORMATS

    section = pg.locator(".st-key-export_section")
    section.wait_for()
    out = {}
    for fmt, spec in EXPORT_FORMATS.items():
        button = section.locator(f".st-key-export_{fmt} button", has_text=spec.short).first
        if button.is_disabled():
            assert fmt == "chapters-youtube", fmt
            continue
        with pg.expect_download(timeout=60_000) as info:
            button.click()
        download = info.value
        out[fmt] = (download.suggested_filename, Path(download.path()).read_bytes())
    return out


def check_exports(downloads: dict[str, tuple[str, bytes]], cut) -> None:
    """Each download parses as its format and holds the cut."""
    import xml.etree.ElementTree as ET

    import opentimelineio as otio

    n = len(cut.scene_ids)
    names = {fmt: name for fmt, (name, _) in downloads.items()}
    today = datetime.date.today().isoformat()  # download names: the project and the date
    assert names["otio"] == f"browser-test-cut-{today}.otio"
    assert names["edl"] == f"browser-test-cut-{today}.edl"
    text = {fmt: data.decode("utf-8") for fmt, (_, data) in downloads.items()}
    timeline = otio.adapters.read_from_string(text["otio"], "otio_json")
    assert len(list(timeline.video_tracks()[0].find_clips())) == n
    assert ET.fromstring(text["fcpxml"]).tag == "fcpxml"
    assert ET.fromstring(text["fcp7"]).tag == "xmeml"
    # CMX 3600 event lines: number, reel, track, transition, four timecodes.
    events = re.findall(
        r"(?m)^\d{3}\s+\S+\s+V\s+C\s+(?:\d\d:){3}\d\d(?:\s+(?:\d\d:){3}\d\d){3}\s*$", text["edl"]
    )
    assert len(events) == n, text["edl"]
    cues = re.findall(r"(?m)^\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n\S", text["srt"])
    assert cues, text["srt"]
    assert text["vtt"].startswith("WEBVTT") and text["vtt"].count(" --> ") == len(cues)
    assert text["chapters-vtt"].startswith("WEBVTT")
    assert text["chapters-vtt"].count(" --> ") == len(cut.chapters)
    if "chapters-youtube" in text:
        assert text["chapters-youtube"].startswith("0:00 ")


def _transcript_lines(store: Store, pid: int) -> list[dict]:
    from genesis_pipeline.services.queries import transcript_tables
    from genesis_pipeline.services.subtitles import split_lines

    segments, words = transcript_tables(store, pid)
    return split_lines(segments.to_dict("records"), words.to_dict("records"))


def list_runs_ids(store: Store, pid: int) -> list[int]:
    from genesis_pipeline.runs.control import list_runs

    return [r.id for r in list_runs(store, pid)]


def _preview_count(text: str) -> str:
    m = re.search(r"Preview chapters\s*\n\s*(\d+)", text)
    return m.group(1) if m else ""


def chapter_titles(vtt: bytes) -> list[str]:
    """The cue texts of a chapters WebVTT file, in order."""
    text = vtt.decode("utf-8")
    return re.findall(r"(?m)^\d\d:\d\d:\d\d\.\d{3} --> [^\n]+\n(.+)$", text)

"""Single sign-on in a real browser: a real OpenID Connect provider (oidc-provider-mock, in a
thread), `streamlit run` configured against it in secrets.toml, Debian's chromium driven by
Playwright. A reviewer signs in and approves a scene; a viewer in a second browser context
sees the approval and who made it, finds no approve buttons, and a forged service call as the
viewer is refused. Screenshots of the sign-in pages go to GENESIS_SCREENSHOTS (the README's)
(#18)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from support.actors import ADMIN
from support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    free_port,
    screenshot_dir,
    settle,
    streamlit_server,
)

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import PermissionDeniedError
from genesis_pipeline.media.synth import Shot, make_footage
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import access, comments, review
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVIEWER = "rita@example.com"
VIEWER = "victor@example.com"
NOTE = "Check the name spelled at 0:42"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The OpenID Connect provider, with the two people's claims."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for email, name in ((REVIEWER, "Rita"), (VIEWER, "Victor")):
            r = httpx.put(f"{url}/users/{quote(email)}", json={"email": email, "name": name})
            assert r.status_code == 204, r.text
        yield url


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int]:
    """A small processed project (two shots, no speech, no render)."""
    from support.tiny_blip import build_tiny_blip

    work = tmp_path_factory.mktemp("oidc")
    blip = build_tiny_blip(work / "blip")
    store = Store(Settings(home=work / "home", caption_model=str(blip), offline="1"))
    clip = make_footage(
        work / "clip.mp4", (Shot("smptebars", 1.5), Shot("testsrc2", 1.5)), audio=False
    )
    pid = create_project(store, "Sign-in", actor=ADMIN).id
    add_media(store, pid, [clip.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid


@pytest.fixture(scope="module")
def app(provider: str, project: tuple[Store, int], tmp_path_factory) -> Iterator[str]:
    """`streamlit run` with the provider in its secrets.toml (run from a folder of its own, so
    the checkout's .streamlit has no secrets.toml written into it)."""
    store, _pid = project
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run_dir = tmp_path_factory.mktemp("oidc-app")
    (run_dir / ".streamlit").mkdir()
    shutil.copy(REPO / ".streamlit" / "config.toml", run_dir / ".streamlit" / "config.toml")
    (run_dir / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "genesis"\n'
        'client_secret = "genesis-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        "[genesis]\n"
        'default_role = "viewer"\n'
        "[genesis.roles]\n"
        f'"{REVIEWER}" = "reviewer"\n'
    )
    env = {
        "GENESIS_HOME": str(store.home),
        "GENESIS_CAPTION_MODEL": store.settings.caption_model,
        "GENESIS_OFFLINE": "1",
        "GENESIS_NO_DEMO": "1",
    }
    with streamlit_server(env, run_dir, run_dir / "streamlit.log", port) as served:
        yield served


@pytest.fixture(scope="module")
def browser(app: str):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./.ci/setup (it apt-installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


def sign_in(browser, app: str, email: str, shots: Path | None = None):
    """A new browser context signed in as ``email`` through the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app)
    pg.wait_for_selector("[data-testid='stAppViewContainer']")
    pg.get_by_role("button", name="Sign in").wait_for()
    settle(pg)
    assert "Sign in to review" in pg.inner_text("body")
    if shots is not None:
        pg.screenshot(path=str(shots / "sign-in-oidc.png"))
    pg.get_by_role("button", name="Sign in").click()
    pg.get_by_placeholder("sub").fill(email)
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(f"{app}/**")
    pg.get_by_text(f"Signed in as {email}").wait_for()
    settle(pg)
    return context, pg


def scenes_page(pg, app: str) -> None:
    pg.goto(f"{app}/scenes")
    pg.wait_for_selector("[data-testid='stAppViewContainer']")
    pg.locator("[class*='st-key-play_']").first.wait_for()
    settle(pg)
    assert pg.locator("[data-testid='stException']").count() == 0, pg.inner_text("body")[:2000]


def test_a_reviewer_approves_and_a_viewer_sees_it_read_only(
    browser, app: str, project: tuple[Store, int], shots: Path
) -> None:
    store, pid = project
    sid = _scene_ids(store, pid)[0]  # unreviewed: its approve button is live

    context, pg = sign_in(browser, app, REVIEWER, shots)
    assert "reviewer" in pg.inner_text("[data-testid='stSidebar']")
    scenes_page(pg, app)
    pg.locator(f".st-key-approve_{sid} button").first.click()
    pg.get_by_text("by rita@example.com").first.wait_for()
    settle(pg)
    decided = review.last_decisions(store, pid)[sid]
    assert (decided.status, decided.reviewer) == ("approved", f"user:{REVIEWER}")
    last = access.audit_log(store, pid, limit=1)[0]
    assert (last.actor, last.action) == (f"user:{REVIEWER}", "scenes.review")
    # ... and leaves a note on the scene, in the thread beside its thumbnail.
    pg.locator(f".st-key-scene_comments_{sid} button").first.click()
    panel = pg.locator(".st-key-scene_thread_panel")
    panel.wait_for()
    settle(pg)
    panel.locator(f".st-key-scene_new_comment_{sid} textarea").fill(NOTE)
    panel.locator(f".st-key-scene_add_comment_{sid} button").click()
    panel.get_by_text(NOTE).first.wait_for()  # the thread shows it
    settle(pg)
    (thread,) = comments.scene_threads(comments.threads(store, pid), sid)
    assert (thread.root.body, thread.root.author) == (NOTE, f"user:{REVIEWER}")
    context.close()

    context, pg = sign_in(browser, app, VIEWER)
    assert "viewer" in pg.inner_text("[data-testid='stSidebar']")
    scenes_page(pg, app)
    body = pg.inner_text("body")
    assert "by rita@example.com" in body  # the approval, and who made it
    pg.locator(f".st-key-scene_comments_{sid} button").first.click()
    pg.locator(".st-key-scene_thread_panel").get_by_text(NOTE).first.wait_for()  # the note
    settle(pg)
    assert pg.locator("[class*='st-key-approve_']").count() == 0
    assert pg.locator("[class*='st-key-reject_']").count() == 0
    assert pg.locator("[class*='st-key-scene_bulk_']").count() == 0
    pg.screenshot(path=str(shots / "scenes-viewer.png"))
    # A forged service call as the viewer is refused, and nothing changes.
    viewer = access.Actor("user", VIEWER, "viewer")
    with pytest.raises(PermissionDeniedError):
        review.set_scene_status(store, pid, [sid], "rejected", actor=viewer)
    assert review.last_decisions(store, pid)[sid].status == "approved"
    # Sign out ends the session: the sign-in page again.
    # Sign out: Streamlit ends the provider's session too (its end-session page), then the
    # app asks for a sign-in again.
    pg.get_by_role("button", name="Sign out").click()
    pg.get_by_role("button", name="End session").click()
    pg.get_by_role("button", name="Sign in").wait_for()
    assert "Signed in as" not in pg.inner_text("body")
    context.close()


def _scene_ids(store: Store, pid: int) -> list[int]:
    from genesis_pipeline.services.queries import scenes_table

    return [int(i) for i in scenes_table(store, pid).id]

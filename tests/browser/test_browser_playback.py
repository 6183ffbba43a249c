"""Issue #11 in a real browser: an MPEG-4 Part 2 clip uploaded through the app plays on the
Transcript page. Debian's chromium opens such a file, plays its sound and shows no picture
(``videoWidth`` 0, the dead player); the page must hand it a copy it decodes, on the source's
timeline, soon after the upload and without a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.playback_media import make_clip
from test_browser_flow import goto, no_exception, page, server, settle, tiny_blip

from genesis_pipeline.config import Settings
from genesis_pipeline.media.probe import probe
from genesis_pipeline.services.projects import list_projects
from genesis_pipeline.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["page", "server", "tiny_blip"]  # fixtures shared with the reviewer's-day test

# Resolves when the player has decoded a picture (or gives up): what the <video> can do.
PLAYER_STATE = """async () => {
  const v = document.querySelector('video');
  if (!v) return null;
  v.muted = true;
  if (v.readyState < 2) {
    await new Promise(ok => {
      v.addEventListener('loadeddata', ok, {once: true});
      v.addEventListener('error', ok, {once: true});
      setTimeout(ok, 15000);
    });
  }
  return {readyState: v.readyState, width: v.videoWidth, height: v.videoHeight,
          duration: v.duration, error: v.error && v.error.message, src: v.currentSrc};
}"""

SEEK = """async (t) => {
  const v = document.querySelector('video');
  await new Promise(ok => { v.addEventListener('seeked', ok, {once: true}); v.currentTime = t; });
  return {time: v.currentTime, readyState: v.readyState};
}"""


def test_unplayable_upload_plays_in_chromium(server, page, tmp_path: Path) -> None:
    url, home = server
    pg = page
    store = Store(Settings(home=home))
    clip = make_clip(tmp_path, "vfr mpeg4")  # MPEG-4 Part 2, variable frame rate, PCM sound
    source = probe(clip)

    goto(pg, url, "")
    pg.locator(".st-key-new_project_name input").fill("Playback test")
    pg.get_by_role("button", name="Create").click()
    settle(pg)
    assert any(p["project"]["name"] == "Playback test" for p in list_projects(store))
    goto(pg, url, "upload")
    pg.locator("input[type=file]").set_input_files(str(clip))
    pg.wait_for_function(f"() => document.body.innerText.includes({clip.name!r})", timeout=60_000)
    settle(pg)
    no_exception(pg)

    # Transcript, no run: a player appears (after "Preparing a playable copy…" at most).
    goto(pg, url, "transcript")
    no_exception(pg)
    pg.wait_for_function(
        "() => document.querySelector('video') ||"
        " document.body.innerText.includes('Preparing a playable copy')",
        timeout=60_000,
    )
    pg.wait_for_selector("video", timeout=120_000)
    state = pg.evaluate(PLAYER_STATE)
    assert state is not None and state["error"] is None, state
    # Chromium decodes pictures from it (the MPEG-4 Part 2 file itself gives width 0).
    assert state["readyState"] >= 2 and (state["width"], state["height"]) == (320, 240), state
    # The copy lasts as long as the source, and a seek lands where it was asked to.
    assert abs(state["duration"] - source.duration_s) < 0.1, (state, source.duration_s)
    landed = pg.evaluate(SEEK, 3.6)
    assert abs(landed["time"] - 3.6) < 0.05 and landed["readyState"] >= 2, landed
    assert "Playing a small H.264 copy" in pg.inner_text("body")

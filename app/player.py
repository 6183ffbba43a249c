"""A page's player: what it loads for a media file (the footage, its playable copy, or a
message), and playing it from a time, or over a range that stops on its last frame.

Footage browsers cannot play (MPEG-4 Part 2, ProRes, HEVC…) gets a small H.264 copy made in
the background (``genesis_pipeline.services.playback``). Until it exists, the player's place
says "Preparing a playable copy…" and polls; when no copy can be made it says why.
"""

from __future__ import annotations

import streamlit as st

from genesis_app import reads

POLL_S = 2.0

# st.video / st.audio start on whole seconds (start_time is an int in their message, and the
# player seeks back to it when the media loads); scenes and words start anywhere. So the page
# seeks the player itself and starts it, once per press. For a range, requestVideoFrameCallback
# sees each frame as it is shown: the player pauses on the range's last frame and is held there
# (mid-frame), so the next shot never shows; where there is no such callback (audio) timeupdate
# stands in. A browser that refuses sound before the reviewer touched the page plays muted.
_PLAY = """<script>
(() => {{
  const start = {start:.4f}, end = {end}, frame = {frame:.5f}, press = {press};
  const player = () => document.querySelector(".st-key-{key} video, .st-key-{key} audio");
  const play = (m) => {{
    m.currentTime = start;
    if (end !== null) {{
      const hold = () => {{ m.pause(); m.currentTime = Math.max(start, end - frame / 2); }};
      if (m.requestVideoFrameCallback) {{
        const onFrame = (_now, shown) => {{
          if (shown.mediaTime + 1.5 * frame >= end) hold();
          else m.requestVideoFrameCallback(onFrame);
        }};
        m.requestVideoFrameCallback(onFrame);
      }} else {{
        const onTime = () => {{
          if (m.currentTime < end - frame) return;
          m.removeEventListener("timeupdate", onTime);
          hold();
        }};
        m.addEventListener("timeupdate", onTime);
      }}
    }}
    m.play().catch(() => {{ m.muted = true; m.play().catch(() => {{}}); }});
  }};
  const go = (tries) => {{
    const m = player();
    if (!m) {{ if (tries < 50) setTimeout(() => go(tries + 1), 100); return; }}
    if (m.readyState >= 1) setTimeout(() => play(m), 0);
    else m.addEventListener("loadedmetadata", () => setTimeout(() => play(m), 0), {{once: true}});
  }};
  go(0);
}})();
</script>"""


def play(
    key: str, start: float, *, end: float | None = None, frame_s: float = 0.04, press: int = 0
) -> None:
    """Start the player in the container keyed ``key`` at ``start`` seconds; with ``end``, stop
    on the last frame before ``end`` (frames ``frame_s`` long). ``press`` tells one press of a
    play button from the next (each draws its own script)."""
    script = _PLAY.format(
        key=key,
        start=start,
        end="null" if end is None else f"{end:.4f}",
        frame=max(frame_s, 1e-3),
        press=int(press),
    )
    st.html(script, unsafe_allow_javascript=True)


def playable_path(media_id: int) -> str | None:
    """The file to hand ``st.video``/``st.audio`` for ``media_id``, or None while the browser
    has nothing it can play (a message then stands where the player would be)."""
    pb = reads.playback(media_id)
    if pb.path is not None:
        if pb.state == "proxy":
            st.caption(pb.message)
        return pb.path
    if pb.state == "failed":
        st.warning(pb.message, icon=":material/videocam_off:")
        return None
    _preparing(media_id)
    return None


@st.fragment(run_every=POLL_S)
def _preparing(media_id: int) -> None:
    pb = reads.playback(media_id)
    if pb.path is not None or pb.state == "failed":
        st.rerun(scope="app")  # the copy is there (or cannot be made): show the player
    if pb.state == "queued":  # nobody is making it (an older upload, a worker that died)
        reads.prepare_playback(pb.project_id)
    st.info(pb.message, icon=":material/hourglass_top:")

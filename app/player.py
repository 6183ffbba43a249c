"""What a page's player loads for a media file: the footage, its playable copy, or a message.

Footage browsers cannot play (MPEG-4 Part 2, ProRes, HEVC…) gets a small H.264 copy made in
the background (``genesis_pipeline.services.playback``). Until it exists, the player's place
says "Preparing a playable copy…" and polls; when no copy can be made it says why.
"""

from __future__ import annotations

import streamlit as st

from genesis_app import reads

POLL_S = 2.0


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

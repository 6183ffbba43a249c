"""Genesis review app: the entry point only builds the navigation and the project picker.

Run with ``genesis app`` (or ``streamlit run app/streamlit_app.py``). Pages live in
``app/views/``; they hold widgets and layout, read through :mod:`genesis_app.reads` and write
through ``genesis_pipeline`` service functions.
"""

from __future__ import annotations

import streamlit as st

from genesis_app import auth, reads, state

st.set_page_config(page_title="Genesis", page_icon=":material/movie:", layout="wide")

UPLOAD = st.Page("views/upload.py", title="Upload", icon=":material/upload:")
PAGES = [
    st.Page("views/projects.py", title="Projects", icon=":material/folder_open:", default=True),
    UPLOAD,
    st.Page("views/run.py", title="Run", icon=":material/play_circle:"),
    st.Page("views/transcript.py", title="Transcript", icon=":material/subtitles:"),
    st.Page("views/scenes.py", title="Scenes", icon=":material/grid_view:"),
    st.Page("views/confidence.py", title="Confidence", icon=":material/monitoring:"),
    st.Page("views/chapters.py", title="Chapters", icon=":material/segment:"),
    st.Page("views/order.py", title="Cut order", icon=":material/reorder:"),
    st.Page("views/narration.py", title="Narration", icon=":material/mic:"),
    st.Page("views/render.py", title="Render", icon=":material/movie:"),
]

auth.gate()  # the sign-in page stops the run here until someone signs in
# Only an admin adds footage: the others do not see a page that would only say so.
nav = st.navigation([p for p in PAGES if p is not UPLOAD or state.can("manage")])
reads.ensure_demo()
state.project_picker()
nav.run()

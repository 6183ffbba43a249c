"""Upload: placeholder until the page lands."""

import state
import streamlit as st

st.title("Upload")
state.require_project()
st.info("This page is being built.")

"""Transcript: placeholder until the page lands."""

import state
import streamlit as st

st.title("Transcript")
state.require_project()
st.info("This page is being built.")

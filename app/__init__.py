"""The Genesis review app (Streamlit), installed as ``genesis_app``.

``streamlit_app.py`` is the entry point (it only builds the navigation); the pages in
``views/`` hold widgets and layout and reach Genesis through :mod:`genesis_app.reads` (cached
reads) and ``genesis_pipeline`` service functions (writes). :mod:`genesis_app.state` sets up the
session-state keys.
"""

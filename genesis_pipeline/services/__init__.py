"""Service functions: what the CLI, the app and notebooks call. No Streamlit, no argparse."""

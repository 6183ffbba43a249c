"""The domain: what the CLI, the app, notebooks and the pipeline's steps call.

Services read and write through the store's table modules (they decide the transactions) and
call stages for domain computations; they never import ``genesis_pipeline.runs`` (run control
sits above them). No Streamlit, no argparse.
"""

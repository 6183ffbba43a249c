"""``python -m genesis_pipeline`` is the ``genesis`` command."""

from genesis_pipeline.cli import run

run()

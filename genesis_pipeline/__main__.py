"""``python -m genesis_pipeline`` is the ``genesis`` command."""

import sys

from genesis_pipeline.cli import main

sys.exit(main())

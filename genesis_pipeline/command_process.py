"""Tuning for the process of one ``genesis`` command (and a benchmark's measured task, which
stands for it); a notebook or another program importing Genesis keeps Python's and the
libraries' defaults. The two environment defaults also reach what a command starts (``genesis
app``'s Streamlit server, ``genesis api``'s server, a run started from either); the freeze
at exit ends only the command's own process.

Measured on a 2-core VM, a chapter-rules change re-run on a 20-minute project in a fresh
process (about 1.5 s in all):

- numpy's OpenBLAS starts a thread per core when numpy is imported, and they spin for a while:
  ``import numpy`` took 0.21 CPU s, 0.10 with one thread. Genesis does no BLAS work worth a
  thread pool (the models run in CTranslate2 and torch, which keep their own), so the command
  asks for one thread unless ``OPENBLAS_NUM_THREADS`` is set. It must be set before numpy loads.
- pydantic looks for plugins the first time it builds a validator, by reading the entry points
  of every installed distribution: 0.04-0.07 s. Genesis uses none, so the command turns the
  search off unless ``PYDANTIC_DISABLE_PLUGINS`` is set (set it empty to keep a plugin on).
- At exit, Python's finalization collects garbage over every object the command made: 0.13 to
  0.2 s. The process is ending and every file it wrote is closed (the store's units of work and
  the atomic writes close theirs before returning), so the objects are frozen out of that
  collection; the operating system takes the memory back.
"""

from __future__ import annotations

import gc
import os


def begin() -> None:
    """Call first, before anything imports numpy or pydantic."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def end() -> None:
    """Call last, just before the process exits (never in a process that goes on)."""
    gc.freeze()

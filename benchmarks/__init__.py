"""Genesis benchmarks: the pipeline against the physical limit and against doing it by hand.

``python -m benchmarks`` generates its own footage, measures, and writes
``benchmarks/results/``; see :mod:`benchmarks.__main__`.
"""

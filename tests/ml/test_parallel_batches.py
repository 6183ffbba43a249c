"""Batches split for parallel workers: bounded, even, a multiple of the workers."""

from __future__ import annotations

import pytest

from genesis_pipeline.ml.parallel_batches import batch_sizes


@pytest.mark.parametrize(
    ("n", "batch", "workers", "want"),
    [
        (11, 4, 2, [3, 3, 3, 2]),  # the 5 min benchmark clip's 11 windows
        (46, 4, 2, [4] * 10 + [3] * 2),  # the 20 min clip's
        (3, 4, 2, [2, 1]),  # fewer than a batch: still both workers
        (1, 4, 2, [1]),
        (8, 8, 1, [8]),
        (9, 8, 1, [5, 4]),
        (0, 4, 2, []),
    ],
)
def test_batch_sizes(n: int, batch: int, workers: int, want: list[int]) -> None:
    sizes = batch_sizes(n, batch, workers)
    assert sizes == want
    assert sum(sizes) == n and all(0 < s <= batch for s in sizes)

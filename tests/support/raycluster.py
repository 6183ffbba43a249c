"""Real Ray clusters on this machine for the executor tests (small object stores, few CPUs)."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# Small object stores: the executor only moves results and preview JPEGs through them.
OBJECT_STORE = 100 * 1024 * 1024


def start_cluster(*, gpu_node: bool) -> Any:
    """A ``ray.cluster_utils.Cluster``: a head of 2 CPUs and, with ``gpu_node``, a second node
    of 2 CPUs declaring one GPU."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "object_store_memory": OBJECT_STORE,
            "include_dashboard": False,
        },
    )
    if gpu_node:
        cluster.add_node(num_cpus=2, num_gpus=1, object_store_memory=OBJECT_STORE)
    cluster.wait_for_nodes()
    return cluster

"""One real Ray cluster for the executor tests: two nodes on this machine, one declaring a GPU.

The GPU is a declared resource only: torch and CTranslate2 find no CUDA there, so the models
plan the CPU, but Ray must still place them on that node (they ask for a GPU share) and the CPU
tasks elsewhere (the GPU node's CPUs are all taken by the two model actors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from support.raycluster import start_cluster
from support.s3server import S3Server


@dataclass(frozen=True)
class RayTestCluster:
    address: str
    gpu_node: str
    cpu_node: str


@pytest.fixture(scope="session")
def ray_cluster(s3: S3Server) -> Iterator[RayTestCluster]:
    """The cluster's workers start after the session's S3 server, so they find its test
    credentials in their own environment, as a real worker finds its own AWS credentials (the
    endpoint, bucket and cache limits travel with each call)."""
    import ray

    cluster = start_cluster(gpu_node=True)
    ray.init(address=cluster.address, namespace="genesis", include_dashboard=False)
    try:
        nodes = [n for n in ray.nodes() if n["Alive"]]
        gpu = next(n["NodeID"] for n in nodes if n["Resources"].get("GPU"))
        cpu = next(n["NodeID"] for n in nodes if not n["Resources"].get("GPU"))
        yield RayTestCluster(cluster.address, gpu, cpu)
    finally:
        ray.shutdown()
        cluster.shutdown()

"""One real Ray cluster for the whole test session: two nodes on this machine, one declaring a
GPU; and one local-executor reference result the Ray runs are compared with.

The GPU is a declared resource only: torch and CTranslate2 find no CUDA there, so the tests run
the models on the CPU (``GENESIS_DEVICE=cpu``) in actors that ask for a GPU share: Ray must
place them on that node, and the CPU tasks elsewhere.

The test that stops the cluster's head (marked ``stops_ray_head``) is moved to the end of the
session, so every test shares the one cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from support.raycluster import start_cluster
from support.s3server import S3Server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stops_ray_head: the test stops the session's Ray head (run last)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [i for i in items if i.get_closest_marker("stops_ray_head")]
    items[:] = [i for i in items if i not in last] + last


@dataclass
class RayTestCluster:
    address: str
    gpu_node: str
    cpu_node: str
    cluster: Any
    head_stopped: bool = False

    def stop_head(self) -> None:
        """Kill the head's processes (as a crash would); this process leaves Ray first, so its
        own driver is not ended by Ray when the head goes."""
        import ray

        ray.shutdown()
        self.head_stopped = True
        self.cluster.head_node.kill_all_processes(check_alive=False, allow_graceful=False)


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
        yield RayTestCluster(cluster.address, gpu, cpu, cluster)
    finally:
        ray.shutdown()
        with contextlib.suppress(Exception):  # a stopped head leaves processes already gone
            cluster.shutdown()


@pytest.fixture(scope="session")
def local_reference(local_pipeline: Any) -> dict[str, Any]:
    """The rows the local executor wrote for ``footage`` (the session's reference run)."""
    from support.rayrows import rows

    return rows(local_pipeline.store, local_pipeline.pid)

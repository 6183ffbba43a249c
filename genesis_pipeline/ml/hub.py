"""Whether a model hub may be contacted: the one place that decides, so no load ever stalls.

``offline`` is the ``GENESIS_OFFLINE`` setting: ``"1"`` never contacts a hub, ``"0"`` always may,
``"auto"`` probes the hub once per process with a short TCP connect and remembers the answer.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from urllib.parse import urlparse

from genesis_pipeline.errors import InvalidSettingError

log = logging.getLogger(__name__)

HF_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 2.0


def hf_endpoint() -> tuple[str, int]:
    """Host and port of the Hugging Face hub (``HF_ENDPOINT`` when set)."""
    endpoint = os.environ.get("HF_ENDPOINT", "").strip()
    if not endpoint:
        return HF_HOST, 443
    url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    port = url.port or (80 if url.scheme == "http" else 443)
    return url.hostname or HF_HOST, port


def probe(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout_s`` (DNS included)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@functools.cache
def hub_reachable() -> bool:
    """Probe the Hugging Face hub once per process (at most ~2 s), then answer from memory."""
    host, port = hf_endpoint()
    ok = probe(host, port)
    log.info(
        "model hub %s:%d %s", host, port, "reachable" if ok else "unreachable; working offline"
    )
    return ok


def hub_allowed(offline: str) -> bool:
    """Whether a model may be fetched from the hub under the ``GENESIS_OFFLINE`` mode ``offline``.

    ``HF_HUB_OFFLINE=1`` in the environment always wins: the hub client would refuse anyway.

    Raises:
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    if offline not in ("auto", "1", "0"):
        raise InvalidSettingError("GENESIS_OFFLINE", f"{offline!r} must be auto, 1 or 0")
    if offline == "1" or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true"):
        return False
    if offline == "0":
        return True
    return hub_reachable()

"""Where model weights come from: the one place that decides it, for Whisper and BLIP alike, so
no load ever stalls.

A model setting names a **local folder** (:func:`local_folder`) or a hub repository. A
repository is used from the **Hugging Face cache** when it is there, else **downloaded** only
when the hub may be used (:func:`hub_refusal`): ``GENESIS_OFFLINE`` (the ``offline`` argument)
``1`` never contacts it, ``0`` always may, ``auto`` asks a quick probe once per process
(:func:`hub_reachable`); ``HF_HUB_OFFLINE`` in the environment always wins, as the hub client
itself would refuse. :func:`snapshot` walks those steps; what a model does when its weights
cannot be had (Whisper: the **bundled** ``tiny.en``; BLIP: captions skipped) is the model's
own module's choice.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.errors import InvalidSettingError

log = logging.getLogger(__name__)

HF_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 2.0
OFFLINE_SETTING = "GENESIS_OFFLINE"
OFFLINE_MODES = ("auto", "1", "0")
# How huggingface_hub reads its boolean variables (HF_HUB_OFFLINE among them).
_TRUTHY = {"1", "true", "yes", "on"}


def check_offline(offline: str) -> None:
    """Raises: InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``."""
    if offline not in OFFLINE_MODES:
        raise InvalidSettingError(OFFLINE_SETTING, f"{offline!r} must be auto, 1 or 0")


def hf_hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` switches the hub client's downloads off."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY


def hf_endpoint() -> tuple[str, int]:
    """Host and port of the Hugging Face hub (``HF_ENDPOINT`` when set)."""
    endpoint = os.environ.get("HF_ENDPOINT", "").strip()
    if not endpoint:
        return HF_HOST, 443
    url = urllib.parse.urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    port = url.port or (80 if url.scheme == "http" else 443)
    return url.hostname or HF_HOST, port


def hub_address() -> tuple[str, int]:
    """Where a connection to the hub goes: the HTTPS proxy when one is set and the hub is not
    bypassed, else the hub itself."""
    import urllib.request  # http.client and ssl: 50 ms that only this question needs

    host, port = hf_endpoint()
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        p = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
        if p.hostname:
            return p.hostname, p.port or 8080
    return host, port


def probe(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout_s``, DNS included: the
    attempt runs in a daemon thread that is abandoned when it overruns (a resolver can ignore
    socket timeouts)."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, name="genesis-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    ok = bool(result and result[0])
    log.debug("hub probe %s:%d -> %s", host, port, "reachable" if ok else "unreachable")
    return ok


@functools.cache
def hub_reachable() -> bool:
    """Probe the hub once per process (at most :data:`PROBE_TIMEOUT_S`), then answer from
    memory."""
    host, port = hub_address()
    ok = probe(host, port)
    log.info(
        "model hub %s:%d %s", host, port, "reachable" if ok else "unreachable; working offline"
    )
    return ok


def hub_refusal(offline: str) -> str | None:
    """Why the hub may not be used now, in words for a run's notes, or None when it may.

    Raises:
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    check_offline(offline)
    if offline == "1":
        return f"{OFFLINE_SETTING}=1"
    if hf_hub_offline():
        return "HF_HUB_OFFLINE switches hub downloads off"
    if offline == "0" or hub_reachable():
        return None
    return f"the hub did not answer within {PROBE_TIMEOUT_S:.0f} s"


def hub_allowed(offline: str) -> bool:
    """Whether a model may be fetched from the hub under the ``GENESIS_OFFLINE`` mode ``offline``.

    Raises:
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    return hub_refusal(offline) is None


def local_folder(spec: str) -> Path | None:
    """The file-system entry a model setting names (``~`` expanded, resolved), or None when
    nothing by that name exists (the setting is then a hub id, or a mistake)."""
    path = Path(spec).expanduser()
    return path.resolve() if path.exists() else None


def looks_like_path(spec: str) -> bool:
    """Whether a setting is plainly meant as a path (absolute, ``./``, ``~``, backslashes, or
    more than one ``/``), not a hub id ``org/name``."""
    return (
        Path(spec).is_absolute()
        or spec.startswith((".", "~"))
        or "\\" in spec
        or spec.count("/") > 1
    )


def cache_root() -> Path:
    """The Hugging Face cache folder, found as the hub client finds it (without importing it
    unless it is loaded already)."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # already imported: its resolved setting is the truth
        return Path(constants.HF_HUB_CACHE)
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]) / "hub"
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def maybe_cached(repo_id: str) -> bool:
    """Whether the Hugging Face cache may hold ``repo_id`` (its folder exists), by the cache
    layout ``<cache>/models--org--name``; True when unsure."""
    if "/" not in repo_id:
        return True
    return (cache_root() / ("models--" + repo_id.replace("/", "--"))).is_dir()


Fetch = Callable[[bool], Path]
"""Gets a repository's snapshot folder; the argument is ``local_only`` (the cache alone). Raises
``OSError`` when ``local_only`` and the snapshot is not cached."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A repository's weights on disk: ``folder`` (``downloaded`` now or found in the cache),
    or, when ``folder`` is None, ``refused``: why the hub was not used."""

    folder: Path | None
    downloaded: bool = False
    refused: str | None = None


def snapshot(repo_id: str, offline: str, fetch: Fetch, *, cache_first: bool = True) -> Snapshot:
    """The weights of ``repo_id``: from the cache, else from the hub when it may be used.

    Args:
        repo_id: the hub repository.
        offline: ``GENESIS_OFFLINE``.
        fetch: the model's own download call (which files, which client).
        cache_first: look in the cache before asking whether the hub may be used (``False``:
            when the hub may be used, let ``fetch`` resolve the latest revision online; when
            not, look in the cache, skipping the hub client when nothing can be there).

    Raises:
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
        Exception: what ``fetch`` raises when downloading, or (not ``OSError``) when reading
            the cache; the model's module says what it means.
    """
    check_offline(offline)
    if cache_first:
        try:
            return Snapshot(fetch(True))
        except OSError as exc:  # LocalEntryNotFoundError is an OSError
            log.debug("%s is not in the local Hugging Face cache: %s", repo_id, exc)
        refused = hub_refusal(offline)
        if refused is not None:
            return Snapshot(None, refused=refused)
        log.info("downloading %s from the Hugging Face hub", repo_id)
        return Snapshot(fetch(False), downloaded=True)
    refused = hub_refusal(offline)
    if refused is not None:
        if not maybe_cached(repo_id):  # no hub client import on a machine without the model
            return Snapshot(None, refused=refused)
        try:
            return Snapshot(fetch(True))
        except OSError:
            return Snapshot(None, refused=refused)
    return Snapshot(fetch(False), downloaded=True)

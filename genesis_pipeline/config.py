"""Settings: one frozen dataclass built from the environment (``GENESIS_*``) and CLI flags.

Stages never read settings; the orchestrator turns settings into each stage's ``Params``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import InvalidSettingError

DEFAULT_CAPTION_MODEL = "Salesforce/blip-image-captioning-base"
DEVICES = ("auto", "cpu", "cuda")
# What a yes/no variable may say (``str(True)`` included: child processes get settings that way).
_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
OFFLINE_MODES = ("auto", "1", "0")
EXECUTORS = ("local", "ray")
# A cluster's GCS (host:port) or its Ray Client server (ray://host:port).
_RAY_OWNER = re.compile(r"^[A-Za-z0-9._-]{0,40}$")
_RAY_ADDRESS = re.compile(r"^(ray://)?[\w.\-\[\]:]+:\d+$")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about a Genesis process.

    Each field maps to an environment variable named in its ``metadata["env"]``; the README's
    configuration table is generated from these. Nothing else reads a ``GENESIS_*`` variable.
    The layout of the data dir under ``home`` is the store's (``genesis_pipeline.store.Store``).
    """

    home: Path = field(
        default=Path("data"),
        metadata={
            "env": "GENESIS_HOME",
            "doc": "Data dir: DuckDB file, artifacts, cache, renders.",
        },
    )
    whisper_model: str = field(
        default="",
        metadata={
            "env": "GENESIS_WHISPER_MODEL",
            "doc": "Whisper size name, HF id or local CTranslate2 folder; empty = bundled tiny.en.",
        },
    )
    caption_model: str = field(
        default=DEFAULT_CAPTION_MODEL,
        metadata={"env": "GENESIS_CAPTION_MODEL", "doc": "BLIP HF id or local folder."},
    )
    device: str = field(
        default="auto",
        metadata={"env": "GENESIS_DEVICE", "doc": "auto (CUDA when present), cpu or cuda."},
    )
    whisper_compute_type: str = field(
        default="auto",
        metadata={
            "env": "GENESIS_WHISPER_COMPUTE_TYPE",
            "doc": "CTranslate2 compute type; auto = int8 on CPU, int8_float16 on CUDA.",
        },
    )
    whisper_batch_size: int = field(
        default=0,
        metadata={
            "env": "GENESIS_WHISPER_BATCH_SIZE",
            "doc": "Batched decoding size per worker; 0 = by device.",
        },
    )
    caption_batch_size: int = field(
        default=0,
        metadata={
            "env": "GENESIS_CAPTION_BATCH_SIZE",
            "doc": "Images per BLIP batch; 0 = by device.",
        },
    )
    offline: str = field(
        default="auto",
        metadata={
            "env": "GENESIS_OFFLINE",
            "doc": "1 = never contact a model hub; 0 = allow; auto = probe once, fail fast.",
        },
    )
    steps_together: str = field(
        default="1",
        metadata={
            "env": "GENESIS_STEPS_TOGETHER",
            "doc": "1 = steps that need nothing from each other (transcribe, scenes) run at once;"
            " 0 = one after another (less peak memory, slower).",
        },
    )
    run_nice: int = field(
        default=10,
        metadata={
            "env": "GENESIS_RUN_NICE",
            "doc": "Runs started from the app or the API work at this nice level (0-19): the"
            " pages and API calls stay responsive while a run uses every core; 0 = no lower.",
        },
    )
    max_upload_mb: int = field(
        default=2048,
        metadata={"env": "GENESIS_MAX_UPLOAD_MB", "doc": "Largest accepted upload, in MB."},
    )
    import_dir: Path | None = field(
        default=None,
        metadata={
            "env": "GENESIS_IMPORT_DIR",
            "doc": "Host folder whose files can be registered without copying (large footage).",
        },
    )
    upload_ttl_s: int = field(
        default=3600,
        metadata={"env": "GENESIS_UPLOAD_TTL_S", "doc": "Lifetime of an upload ticket, seconds."},
    )
    session_hours: float = field(
        default=12.0,
        metadata={
            "env": "GENESIS_SESSION_HOURS",
            "doc": "How long an app sign-in lasts before the user signs in again, hours.",
        },
    )
    signin_max_failures: int = field(
        default=5,
        metadata={
            "env": "GENESIS_SIGNIN_MAX_FAILURES",
            "doc": "Failed sign-ins of one user within the window before it is locked out.",
        },
    )
    signin_client_max_failures: int = field(
        default=20,
        metadata={
            "env": "GENESIS_SIGNIN_CLIENT_MAX_FAILURES",
            "doc": "Failed sign-ins from one client address within the window before it waits.",
        },
    )
    signin_window_s: int = field(
        default=900,
        metadata={
            "env": "GENESIS_SIGNIN_WINDOW_S",
            "doc": "The sign-in rate limit's window, seconds (a lockout lasts at most this).",
        },
    )
    no_demo: bool = field(
        default=False,
        metadata={
            "env": "GENESIS_NO_DEMO",
            "doc": "1 = the app does not create and process the demo project on an empty data dir.",
        },
    )
    ffmpeg: str = field(
        default="",
        metadata={
            "env": "GENESIS_FFMPEG",
            "doc": "Path of an ffmpeg binary to use instead of PATH / imageio-ffmpeg.",
        },
    )
    storage: str = field(
        default="",
        metadata={
            "env": "GENESIS_STORAGE",
            "doc": "Where footage and artifacts live: empty = the data dir; s3://bucket/prefix.",
        },
    )
    s3_endpoint_url: str = field(
        default="",
        metadata={
            "env": "GENESIS_S3_ENDPOINT_URL",
            "doc": "S3 API endpoint for MinIO/Ceph/R2 (empty = AWS); credentials: AWS chain.",
        },
    )
    storage_cache_mb: int = field(
        default=20480,
        metadata={
            "env": "GENESIS_STORAGE_CACHE_MB",
            "doc": "Size limit of the local read-through cache of S3 objects, in MB.",
        },
    )
    s3_multipart_mb: int = field(
        default=64,
        metadata={
            "env": "GENESIS_S3_MULTIPART_MB",
            "doc": "Files over this many MB go to S3 in parts (also the part size).",
        },
    )
    presign_ttl_s: int = field(
        default=3600,
        metadata={
            "env": "GENESIS_PRESIGN_TTL_S",
            "doc": "Lifetime of presigned S3 download URLs (players, probes), seconds.",
        },
    )

    executor: str = field(
        default="local",
        metadata={
            "env": "GENESIS_EXECUTOR",
            "doc": "Where stage calls run: local (in this process) or ray (a Ray cluster).",
        },
    )
    ray_address: str = field(
        default="",
        metadata={
            "env": "GENESIS_RAY_ADDRESS",
            "doc": "Ray cluster for GENESIS_EXECUTOR=ray: auto, host:port, ray://host:10001; "
            "empty = start a local Ray.",
        },
    )
    ray_gpu_per_model: float = field(
        default=0.0,
        metadata={
            "env": "GENESIS_RAY_GPU_PER_MODEL",
            "doc": "GPUs each model actor asks for (0: models on CPUs; 0.5: two share a GPU).",
        },
    )
    ray_cpus_per_model: float = field(
        default=1.0,
        metadata={
            "env": "GENESIS_RAY_CPUS_PER_MODEL",
            "doc": "CPUs each model actor (Whisper, BLIP) asks Ray for.",
        },
    )
    ray_cpus_per_task: float = field(
        default=1.0,
        metadata={
            "env": "GENESIS_RAY_CPUS_PER_TASK",
            "doc": "CPUs each CPU task (scene detection, render) asks Ray for.",
        },
    )
    ray_model_actors: int = field(
        default=1,
        metadata={
            "env": "GENESIS_RAY_MODEL_ACTORS",
            "doc": "Long-lived actors per model; files of a step are spread over them.",
        },
    )
    ray_owner: str = field(
        default="",
        metadata={
            "env": "GENESIS_RAY_OWNER",
            "doc": "Whose model actors these are on a shared cluster (empty: this host and data "
            "dir); an app retires only its own stale actors.",
        },
    )
    ray_autoscaling: bool = field(
        default=False,
        metadata={
            "env": "GENESIS_RAY_AUTOSCALING",
            "doc": "1 = the cluster has an autoscaler: work no node holds yet asks it for a node "
            "and waits; 0 = such work fails at once.",
        },
    )
    ray_scale_wait_s: float = field(
        default=600.0,
        metadata={
            "env": "GENESIS_RAY_SCALE_WAIT_S",
            "doc": "With an autoscaler: how long work waits for a node that can hold it, seconds.",
        },
    )
    ray_actor_idle_s: float = field(
        default=600.0,
        metadata={
            "env": "GENESIS_RAY_ACTOR_IDLE_S",
            "doc": "A model actor idle this long ends itself and frees its GPU share and CPUs "
            "(the next run starts it again), seconds; 0 = never.",
        },
    )
    ray_place_wait_s: float = field(
        default=900.0,
        metadata={
            "env": "GENESIS_RAY_PLACE_WAIT_S",
            "doc": "How long a step waits for a model actor whose resources other model actors "
            "hold before it fails naming them, seconds.",
        },
    )

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise InvalidSettingError(_env("executor"), f"must be one of {', '.join(EXECUTORS)}")
        for name in ("ray_gpu_per_model", "ray_cpus_per_model", "ray_cpus_per_task"):
            if getattr(self, name) < 0:
                raise InvalidSettingError(_env(name), "must be 0 or more")
        address = self.ray_address.strip()
        if address not in ("", "auto") and not _RAY_ADDRESS.match(address):
            raise InvalidSettingError(
                _env("ray_address"),
                f"{address!r} is not auto, host:port or ray://host:port (empty starts a local Ray)",
            )
        if self.ray_model_actors < 1:
            raise InvalidSettingError(_env("ray_model_actors"), "must be at least 1")
        if self.ray_scale_wait_s < 0:
            raise InvalidSettingError(_env("ray_scale_wait_s"), "must be 0 or more")
        if self.ray_actor_idle_s < 0:
            raise InvalidSettingError(
                _env("ray_actor_idle_s"), "must be 0 (never retire) or more seconds"
            )
        if self.ray_place_wait_s <= 0:
            raise InvalidSettingError(_env("ray_place_wait_s"), "must be more than 0 seconds")
        if not _RAY_OWNER.match(self.ray_owner):
            raise InvalidSettingError(
                _env("ray_owner"), "letters, digits, '.', '_' and '-' only (at most 40)"
            )
        if self.device not in DEVICES:
            raise InvalidSettingError(_env("device"), f"must be one of {', '.join(DEVICES)}")
        if self.offline not in OFFLINE_MODES:
            raise InvalidSettingError(_env("offline"), "must be auto, 1 or 0")
        if self.steps_together not in ("0", "1"):
            raise InvalidSettingError(_env("steps_together"), "must be 1 or 0")
        if not 0 <= self.run_nice <= 19:
            raise InvalidSettingError(_env("run_nice"), "must be 0 to 19 (a nice level)")
        for name in ("whisper_batch_size", "caption_batch_size"):
            if getattr(self, name) < 0:
                raise InvalidSettingError(_env(name), "must be 0 (automatic) or a positive count")
        if self.max_upload_mb <= 0:
            raise InvalidSettingError(_env("max_upload_mb"), "must be a positive number of MB")
        if self.upload_ttl_s <= 0:
            raise InvalidSettingError(_env("upload_ttl_s"), "must be a positive number of seconds")
        if not 0 < self.session_hours <= 24 * 366:
            raise InvalidSettingError(_env("session_hours"), "must be more than 0 and at most 8784")
        for name in ("signin_max_failures", "signin_client_max_failures", "signin_window_s"):
            if getattr(self, name) < 1:
                raise InvalidSettingError(_env(name), "must be at least 1")
        if self.storage and not self.storage.startswith("s3://"):
            raise InvalidSettingError(
                _env("storage"),
                f"{self.storage!r}: must be empty (the data dir, GENESIS_HOME) or s3://bucket/prefix",
            )
        if self.storage.startswith("s3://") and not self.storage[5:].split("/", 1)[0]:
            raise InvalidSettingError(_env("storage"), f"{self.storage!r} names no bucket")
        if self.s3_endpoint_url and not self.s3_endpoint_url.startswith(("http://", "https://")):
            raise InvalidSettingError(
                _env("s3_endpoint_url"), f"{self.s3_endpoint_url!r} is not an http(s) URL"
            )
        if self.storage_cache_mb <= 0:
            raise InvalidSettingError(_env("storage_cache_mb"), "must be a positive number of MB")
        # S3 parts are at least 5 MiB (the last one excepted); at most 10,000 of them.
        if self.s3_multipart_mb < 5:
            raise InvalidSettingError(
                _env("s3_multipart_mb"), "must be at least 5 (S3's minimum part)"
            )
        if self.presign_ttl_s <= 0 or self.presign_ttl_s > 7 * 86400:
            raise InvalidSettingError(
                _env("presign_ttl_s"), "must be 1 to 604800 seconds (S3 allows at most 7 days)"
            )

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def uses_s3(self) -> bool:
        """Whether footage and artifacts live in S3 (``GENESIS_STORAGE=s3://…``)."""
        return self.storage.startswith("s3://")

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given fields replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "home" in given:
            given["home"] = Path(given["home"])
        return replace(self, **given)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``GENESIS_*`` variables, then apply non-None ``overrides``.

        Raises:
            InvalidSettingError: a variable has a value of the wrong type or out of range.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            if f.name in ("home", "import_dir"):
                values[f.name] = Path(raw).expanduser()
            elif isinstance(f.default, bool):
                if raw.lower() not in _BOOLEANS:
                    raise InvalidSettingError(f.metadata["env"], f"{raw!r} is not 1 or 0")
                values[f.name] = _BOOLEANS[raw.lower()]
            elif isinstance(f.default, float):
                try:
                    values[f.name] = float(raw)
                except ValueError:
                    raise InvalidSettingError(
                        f.metadata["env"], f"{raw!r} is not a number"
                    ) from None
            elif f.type == "int" or isinstance(f.default, int):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise InvalidSettingError(
                        f.metadata["env"], f"{raw!r} is not a whole number"
                    ) from None
            else:
                values[f.name] = raw
        settings = cls(**values)
        return settings.with_overrides(**overrides)


def _env(name: str) -> str:
    for f in fields(Settings):
        if f.name == name:
            return str(f.metadata["env"])
    raise KeyError(name)


def configuration_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, for docs and ``genesis config``."""
    rows = []
    for f in fields(Settings):
        default = "" if f.default is None else str(f.default)
        if isinstance(f.default, bool):
            default = str(int(f.default))
        rows.append((str(f.metadata["env"]), default, str(f.metadata["doc"])))
    return rows

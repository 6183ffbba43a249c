"""Named errors. Every public function says in its docstring which of these it raises.

The CLI and the app turn a :class:`GenesisError` into one clear line for the user (the message
always names the file or setting and the reason); anything else is a bug and gets a traceback.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any


class GenesisError(Exception):
    """Base of every error Genesis raises on purpose.

    Picklable whatever its constructor takes (the error a Ray worker raises reaches the host
    unchanged): it is rebuilt from its message and attributes, not by calling ``__init__``.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[GenesisError], args: tuple[Any, ...], state: dict[str, Any]) -> GenesisError:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


class InvalidSettingError(GenesisError, ValueError):
    """A setting, parameter or flag has a value Genesis cannot use."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"{setting}: {reason}")


class InvalidMediaError(GenesisError):
    """A file is not media Genesis can use (empty, truncated, not audio/video, unreadable)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ToolNotFoundError(GenesisError):
    """An external tool (ffmpeg) is not available."""


class MediaToolError(GenesisError):
    """An external media tool ran and failed."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"{what} failed: {detail}")


class ModelUnavailableError(GenesisError):
    """A model could not be loaded (not cached offline, bad folder, unknown name)."""


class StageError(GenesisError):
    """A pipeline stage failed; the message names the stage and the cause."""

    def __init__(self, stage: str, cause: BaseException | str) -> None:
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage}: {cause}")


class ExecutorError(GenesisError):
    """The executor cannot run stage calls: the Ray cluster is unreachable, stopped answering
    mid-run, or Ray is not installed. The message names the setting (``GENESIS_RAY_ADDRESS``)."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"{setting}: {reason}")


class NotFoundError(GenesisError, LookupError):
    """A project, media file, scene, upload or render does not exist."""


class StoreBusyError(GenesisError):
    """The store stayed locked by another process for longer than the wait allows."""


class RunInProgressError(GenesisError):
    """Another run of the same project holds its run lock."""


class UploadError(GenesisError):
    """An upload ticket is unknown, expired, already used, or its file is missing."""


class StorageError(GenesisError):
    """The storage (local data dir or S3) refused or failed an operation."""


class AuthenticationError(GenesisError):
    """No credentials, or credentials Genesis does not know (unknown or revoked token)."""


class TooManyAttemptsError(AuthenticationError):
    """Too many failed sign-ins for a user or from a client: refused until ``retry_at``."""

    def __init__(self, who: str, retry_at: datetime, retry_after_s: int) -> None:
        self.who = who
        self.retry_at = retry_at
        self.retry_after_s = retry_after_s
        minutes = max(1, -(-retry_after_s // 60))
        super().__init__(
            f"{who}: too many failed sign-ins; try again after {retry_at:%H:%M:%S} "
            f"(in {minutes} min)"
        )


class PermissionDeniedError(GenesisError):
    """The caller is known but its role does not allow the action."""

    def __init__(self, actor: str, role: str, needs: str, action: str) -> None:
        self.actor = actor
        self.role = role
        self.needs = needs
        self.action = action
        super().__init__(f"{actor}: role {role} may not {action} (needs {needs})")


class PayloadTooLargeError(GenesisError):
    """A request body is larger than a limit allows (the message names the setting)."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"{setting}: {reason}")


class ObjectMissingError(StorageError, NotFoundError):
    """An object a row points at is gone from the storage (deleted behind Genesis's back)."""

    def __init__(self, uri: str, reason: str = "is missing from the storage") -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(f"{uri}: {reason}")


__all__ = [
    "AuthenticationError",
    "ExecutorError",
    "GenesisError",
    "InvalidMediaError",
    "InvalidSettingError",
    "MediaToolError",
    "ModelUnavailableError",
    "NotFoundError",
    "ObjectMissingError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RunInProgressError",
    "StageError",
    "StorageError",
    "StoreBusyError",
    "ToolNotFoundError",
    "UploadError",
]

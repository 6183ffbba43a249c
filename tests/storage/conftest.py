"""S3 settings for a data dir in a fresh bucket of the session's S3 server (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.s3server import S3Server

from genesis_pipeline.config import Settings


@pytest.fixture()
def bucket(s3: S3Server) -> str:
    return s3.bucket()


@pytest.fixture()
def s3_settings(s3: S3Server, bucket: str) -> Callable[..., Settings]:
    """``s3_settings(home, **overrides)``: settings with S3 storage in a fresh bucket."""

    def make(home: Path, **overrides: Any) -> Settings:
        return Settings(
            home=home,
            storage=f"s3://{bucket}/genesis",
            s3_endpoint_url=s3.endpoint,
            **overrides,
        )

    return make

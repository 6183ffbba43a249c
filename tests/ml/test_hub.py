"""Where model weights come from (ml/hub.py): one decision for Whisper and BLIP, local folder,
Hugging Face cache, or the hub when it may be used; one probe, bounded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from genesis_pipeline.errors import InvalidSettingError, ModelUnavailableError
from genesis_pipeline.ml import blip, hub, whisper
from genesis_pipeline.ml.device import plan_devices


@pytest.fixture()
def reachable(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The hub answers the probe (counted); HF_HUB_OFFLINE unset."""
    calls: list[int] = []

    def answers() -> bool:
        calls.append(1)
        return True

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", answers)
    return calls


def test_refusal_in_order_of_precedence(reachable: list[int], monkeypatch) -> None:
    assert hub.hub_refusal("1") == "GENESIS_OFFLINE=1"
    assert hub.hub_refusal("0") is None
    assert hub.hub_refusal("auto") is None
    assert reachable == [1]  # only "auto" asks the probe
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    assert hub.hub_refusal("auto") == "the hub did not answer within 2 s"
    for value in ("1", "true", "YES", "on"):  # as the hub client reads it
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert hub.hf_hub_offline()
        assert hub.hub_refusal("0") == "HF_HUB_OFFLINE switches hub downloads off"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not hub.hf_hub_offline()
    with pytest.raises(InvalidSettingError, match="GENESIS_OFFLINE"):
        hub.hub_refusal("sometimes")


def test_probe_goes_through_the_https_proxy(monkeypatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.local:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    assert hub.hub_address() == ("proxy.local", 3128)
    monkeypatch.setenv("no_proxy", "huggingface.co")
    assert hub.hub_address() == ("huggingface.co", 443)


def test_local_folder_and_paths(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    assert hub.local_folder("model") == (tmp_path / "model").resolve()
    assert hub.local_folder("org/name") is None
    for spec in ("/abs/model", "./model", "~/model", "a/b/c", "C:\\models\\blip"):
        assert hub.looks_like_path(spec), spec
    assert not hub.looks_like_path("Salesforce/blip-image-captioning-base")


def test_cache_root_as_the_hub_client_finds_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "huggingface_hub.constants", raising=False)
    for name in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.cache_root() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub.cache_root() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert hub.cache_root() == tmp_path / "cache"
    assert not hub.maybe_cached("org/name")
    (tmp_path / "cache" / "models--org--name").mkdir(parents=True)
    assert hub.maybe_cached("org/name")
    assert hub.maybe_cached("tiny.en")  # not an org/name id: unsure


class Fetch:
    """A model's download call, recorded; ``cached`` says what the cache holds."""

    def __init__(self, cached: bool) -> None:
        self.cached = cached
        self.calls: list[bool] = []

    def __call__(self, local_only: bool) -> Path:
        self.calls.append(local_only)
        if local_only and not self.cached:
            raise OSError("not in the cache")
        return Path("/snapshots/abc")


def test_snapshot_cache_first(reachable: list[int], monkeypatch) -> None:
    fetch = Fetch(cached=True)
    assert hub.snapshot("org/name", "1", fetch) == hub.Snapshot(Path("/snapshots/abc"))
    assert fetch.calls == [True] and not reachable  # a cache hit never probes
    fetch = Fetch(cached=False)
    assert hub.snapshot("org/name", "1", fetch) == hub.Snapshot(None, refused="GENESIS_OFFLINE=1")
    assert fetch.calls == [True]
    got = hub.snapshot("org/name", "auto", fetch)
    assert got == hub.Snapshot(Path("/snapshots/abc"), downloaded=True)
    assert fetch.calls == [True, True, False]


def test_snapshot_online_first(reachable: list[int], monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.delitem(sys.modules, "huggingface_hub.constants", raising=False)
    fetch = Fetch(cached=True)
    # Offline and nothing can be cached: the hub client is not even asked.
    assert hub.snapshot("org/name", "1", fetch, cache_first=False).refused == "GENESIS_OFFLINE=1"
    assert fetch.calls == []
    (tmp_path / "models--org--name").mkdir()
    assert hub.snapshot("org/name", "1", fetch, cache_first=False).folder is not None
    assert fetch.calls == [True]
    # Online: the latest revision, from the hub.
    assert hub.snapshot("org/name", "0", fetch, cache_first=False).downloaded
    assert fetch.calls == [True, False]


def test_whisper_and_blip_ask_the_same_module(monkeypatch, tmp_path: Path) -> None:
    """Both models' hub ids go through hub.snapshot; what they do when refused is their own."""
    asked: list[tuple[str, str, bool]] = []

    def refuse(repo_id: str, offline: str, fetch, *, cache_first: bool = True) -> hub.Snapshot:
        asked.append((repo_id, offline, cache_first))
        return hub.Snapshot(None, refused="GENESIS_OFFLINE=1")

    monkeypatch.setattr(hub, "snapshot", refuse)
    spec = whisper.resolve_whisper_model("small", offline="1")
    assert spec.fallback and "GENESIS_OFFLINE=1" in (spec.note or "")
    with pytest.raises(ModelUnavailableError, match="GENESIS_OFFLINE=1"):
        blip.captioner_identity("org/some-blip", plan_devices("cpu"), offline="1")
    assert asked == [
        ("Systran/faster-whisper-small", "1", True),
        ("org/some-blip", "1", False),
    ]

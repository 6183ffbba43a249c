"""BLIP loading and captioning, driven through the real code path with the tiny test BLIP."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from pathlib import Path

import pytest
from PIL import Image
from support.tiny_blip import build_tiny_blip, vocabulary, write_frames

from genesis_pipeline.errors import InvalidSettingError, ModelUnavailableError
from genesis_pipeline.ml import blip, hub
from genesis_pipeline.ml.blip import (
    BlipCaptioner,
    captioner_identity,
    load_blip_folder,
    load_captioner,
)
from genesis_pipeline.ml.device import DevicePlan, plan_devices

# One thread: on a shared 2-core host, torch's two spinning OpenMP threads make a tiny model
# 10-100x slower than one thread.
CPU = plan_devices("cpu", cpu_count=1)


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_blip(tmp_path_factory.mktemp("tiny_blip"))


@pytest.fixture(scope="module")
def captioner(tiny_dir: Path) -> BlipCaptioner:
    c = load_captioner(str(tiny_dir), CPU)
    assert isinstance(c, BlipCaptioner)
    return c


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[Image.Image]:
    paths = write_frames(tmp_path_factory.mktemp("frames"))
    return [Image.open(p).convert("RGB") for p in paths]


def teacher_forced_confidence(c: BlipCaptioner, image: Image.Image, text: str) -> float:
    """Mean probability of the caption's words, recomputed in one forward pass of the decoder."""
    import torch

    tok = c.processor.tokenizer
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text  # every word is one vocabulary token: the ids are exact
    bos = c.model.config.text_config.bos_token_id
    with torch.inference_mode():
        pixels = c.processor(images=[image], return_tensors="pt")["pixel_values"]
        embeds = c.model.vision_model(pixel_values=pixels)[0]
        logits = c.model.text_decoder(
            input_ids=torch.tensor([[bos, *ids]]), encoder_hidden_states=embeds
        ).logits[0, :-1]
    probs = logits.float().softmax(-1)[torch.arange(len(ids)), torch.tensor(ids)]
    return float(probs.mean())


def test_tiny_blip_is_small_and_quick(tmp_path: Path) -> None:
    # import time (seconds on a busy host) is not the builder's; BertTokenizerFast is left out
    # of transformers 5's typed exports, though importable (see support/tiny_blip.py)
    from transformers import (  # type: ignore[attr-defined]  # noqa: F401
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
    )

    t0 = time.perf_counter()
    dest = build_tiny_blip(tmp_path / "tiny")
    elapsed = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in dest.iterdir())
    assert elapsed < 5
    assert size < 3_000_000
    names = {f.name for f in dest.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "vocab.txt"} <= names
    # the same seed gives the same weights, so cache identities are stable across builds
    again = build_tiny_blip(tmp_path / "again")
    assert (dest / "model.safetensors").read_bytes() == (again / "model.safetensors").read_bytes()


def test_loads_once_per_process_on_the_planned_device(
    tiny_dir: Path, captioner: BlipCaptioner
) -> None:
    import torch

    assert load_captioner(str(tiny_dir), CPU) is captioner
    assert load_captioner(f"  {tiny_dir}  ", CPU, offline="0") is captioner
    assert captioner.device == "cpu"
    assert next(captioner.model.parameters()).dtype == torch.float32
    assert captioner.identity.startswith(f"blip:{tiny_dir.resolve()}@")
    assert captioner.identity.endswith("/float32")
    assert torch.get_num_threads() == CPU.cpu_threads
    # transformers 5 would pick the torchvision backend for "BlipImageProcessor"; we use PIL
    assert type(captioner.processor.image_processor).__name__ in (
        "BlipImageProcessorPil",
        "BlipImageProcessor",
    )
    assert "Pil" in type(captioner.processor.image_processor).__name__ or (
        not hasattr(__import__("transformers"), "BlipImageProcessorPil")
    )


def test_captions_are_vocabulary_words_with_confidences(captioner, frames) -> None:
    out = captioner.caption(frames, max_new_tokens=12, num_beams=1, prompt=None)
    assert len(out) == len(frames)
    words = set(vocabulary())
    for text, conf in out:
        assert text
        assert set(text.split()) <= words
        assert 0.0 < conf <= 1.0
    # the image decides the caption: six different test cards do not all read the same
    assert len({text for text, _ in out}) >= 3
    assert captioner.caption(frames, max_new_tokens=12, num_beams=1, prompt=None) == out


@pytest.mark.parametrize("num_beams", [1, 3])
def test_confidence_is_the_mean_probability_of_the_words(captioner, frames, num_beams) -> None:
    out = captioner.caption(frames[:3], max_new_tokens=8, num_beams=num_beams, prompt=None)
    for image, (text, conf) in zip(frames[:3], out, strict=True):
        assert conf == pytest.approx(teacher_forced_confidence(captioner, image, text), abs=1e-4)


def test_batch_equals_one_by_one(captioner, frames) -> None:
    batch = captioner.caption(frames, max_new_tokens=10, num_beams=1, prompt=None)
    single = [
        captioner.caption([f], max_new_tokens=10, num_beams=1, prompt=None)[0] for f in frames
    ]
    assert [t for t, _ in batch] == [t for t, _ in single]
    assert [c for _, c in batch] == pytest.approx([c for _, c in single], abs=1e-5)


def test_prompt_starts_the_caption(captioner, frames) -> None:
    out = captioner.caption(frames[:2], max_new_tokens=6, num_beams=1, prompt="a picture of")
    for text, conf in out:
        assert text.startswith("a picture of")
        assert 0.0 < conf <= 1.0
    assert captioner.caption([], max_new_tokens=6, num_beams=1, prompt=None) == []


def test_hub_id_not_cached_fails_fast_offline() -> None:
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as err:
        load_captioner("genesis-tests/no-such-blip", CPU, offline="1")
    assert time.perf_counter() - t0 < 3
    msg = str(err.value)
    assert "GENESIS_CAPTION_MODEL=genesis-tests/no-such-blip" in msg
    assert "GENESIS_OFFLINE=1" in msg
    assert "\n" not in msg


def test_hub_id_loads_from_the_local_cache_offline(
    tiny_dir: Path, tmp_path: Path, monkeypatch, frames, captioner
) -> None:
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--genesis-tests--tiny-blip"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    identity = captioner_identity("genesis-tests/tiny-blip", CPU, offline="1")
    assert identity == "blip:genesis-tests/tiny-blip@0123456789ab/float32"
    c = load_captioner("genesis-tests/tiny-blip", CPU, offline="1")
    assert c.identity == identity
    assert c is not captioner
    # same weights as the folder it was copied from, so the same captions
    assert c.caption(frames[:2], max_new_tokens=6, num_beams=1, prompt=None) == captioner.caption(
        frames[:2], max_new_tokens=6, num_beams=1, prompt=None
    )


def test_identity_without_loading(tiny_dir: Path, captioner, monkeypatch) -> None:
    assert captioner_identity(str(tiny_dir), CPU) == captioner.identity
    monkeypatch.setattr(blip, "load_blip_folder", lambda *a, **k: pytest.fail("loaded a model"))
    assert captioner_identity(str(tiny_dir), plan_devices("cuda", cuda_count=1)).endswith(
        "/float32" if not __import__("torch").cuda.is_available() else "/float16"
    )
    with pytest.raises(ModelUnavailableError, match="GENESIS_OFFLINE=1"):
        captioner_identity("genesis-tests/no-such-blip", CPU, offline="1")


def test_auto_offline_with_unreachable_hub_fails_fast(monkeypatch) -> None:
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="GENESIS_OFFLINE=auto"):
        load_captioner("genesis-tests/no-such-blip", CPU, offline="auto")
    assert time.perf_counter() - t0 < 3


def test_folder_without_weights(tiny_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no_weights"
    shutil.copytree(tiny_dir, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    with pytest.raises(ModelUnavailableError, match=r"GENESIS_CAPTION_MODEL=.*no weights") as err:
        load_captioner(str(folder), CPU)
    assert str(folder) in str(err.value)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("missing", "folder does not exist"),
        ("file", "is a file"),
        ("empty", "no config.json"),
        ("not_blip", "a bert model, not a BLIP"),
        ("bad_weights", "cannot load BLIP"),
    ],
)
def test_unusable_folders(tiny_dir: Path, tmp_path: Path, breakage: str, expected: str) -> None:
    folder = tmp_path / "model"
    if breakage == "file":
        folder.write_text("not a model")
    elif breakage == "empty":
        folder.mkdir()
    elif breakage != "missing":
        shutil.copytree(tiny_dir, folder)
        if breakage == "not_blip":
            cfg = json.loads((folder / "config.json").read_text())
            (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "bert"}))
        else:
            (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    with pytest.raises(ModelUnavailableError, match=expected) as err:
        load_captioner(str(folder), CPU, offline="1")
    assert str(err.value).startswith("GENESIS_CAPTION_MODEL=")
    assert "\n" not in str(err.value)


def test_empty_spec_and_bad_offline_mode(tiny_dir: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="GENESIS_CAPTION_MODEL is empty"):
        load_captioner(" ", CPU)
    with pytest.raises(InvalidSettingError, match="GENESIS_OFFLINE"):
        hub.hub_allowed("maybe")


def test_identity_follows_the_weights(tiny_dir: Path, tmp_path: Path, captioner) -> None:
    other = tmp_path / "retrained"
    shutil.copytree(tiny_dir, other)
    model = load_blip_folder(other, device="cpu", dtype="float32").model
    with __import__("torch").no_grad():
        model.text_decoder.cls.predictions.decoder.bias.add_(1.0)
    model.save_pretrained(other)
    again = load_blip_folder(other, device="cpu", dtype="float32")
    prefix = f"blip:{other.resolve()}@"
    assert again.identity.startswith(prefix)
    assert again.identity[len(prefix) :] != captioner.identity.split("@", 1)[1]


def test_safetensors_win_over_a_pytorch_pickle(tiny_dir: Path, tmp_path: Path, captioner) -> None:
    # hub BLIP repos ship both; only the file transformers loads is fingerprinted
    both = tmp_path / "both"
    shutil.copytree(tiny_dir, both)
    (both / "pytorch_model.bin").write_bytes(b"stale pickle")
    ident = captioner_identity(str(both), CPU)
    assert ident.split("@")[1] == captioner.identity.split("@")[1]


def test_cuda_plan_without_cuda_runs_on_cpu(tiny_dir: Path, captioner, caplog, monkeypatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has CUDA; test_cuda_float16 covers it")
    plan = plan_devices("cuda", cuda_count=1)
    assert (plan.device, plan.caption_dtype) == ("cuda", "float16")
    monkeypatch.setattr(blip, "_warned_no_cuda", False)
    with caplog.at_level(logging.WARNING, logger="genesis_pipeline.ml.blip"):
        c = load_captioner(str(tiny_dir), plan)
        load_captioner(str(tiny_dir), plan)
    assert c is captioner  # same placement as the CPU plan, so the same loaded model
    assert caplog.text.count("runs on the CPU in float32") == 1  # warned once per process


def test_float16_moves_weights_and_inputs(tiny_dir: Path, captioner, frames) -> None:
    import torch

    half = load_blip_folder(tiny_dir, device="cpu", dtype="float16")
    assert next(half.model.parameters()).dtype == torch.float16
    assert half.identity.endswith("/float16")
    assert half.identity.split("/")[:-1] == captioner.identity.split("/")[:-1]
    out = half.caption(frames[:2], max_new_tokens=6, num_beams=1, prompt=None)
    for text, conf in out:
        assert text
        assert 0.0 < conf <= 1.0


@pytest.mark.gpu
def test_cuda_float16(tiny_dir: Path, captioner, frames) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    plan = plan_devices("cuda")
    c = load_captioner(str(tiny_dir), plan)
    assert isinstance(c, BlipCaptioner)
    assert c.device == "cuda"
    assert next(c.model.parameters()).device.type == "cuda"
    assert next(c.model.parameters()).dtype == torch.float16
    gpu = c.caption(frames, max_new_tokens=8, num_beams=1, prompt=None)
    cpu = captioner.caption(frames, max_new_tokens=8, num_beams=1, prompt=None)
    assert sum(g[0] == p[0] for g, p in zip(gpu, cpu, strict=True)) >= len(frames) - 1
    blip.clear_captioner_cache()


def test_hub_modes(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls: list[int] = []

    def answers() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(hub, "hub_reachable", answers)
    assert hub.hub_allowed("1") is False
    assert hub.hub_allowed("0") is True
    assert hub.hub_allowed("auto") is True
    assert calls == [1]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.hub_allowed("0") is False


def test_probe_opens_a_real_connection_and_fails_fast() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert hub.probe("127.0.0.1", port)
    t0 = time.perf_counter()
    assert not hub.probe("127.0.0.1", port)  # closed now: refused at once
    assert not hub.probe("no-such-host.invalid", 443, timeout_s=1.0)
    assert time.perf_counter() - t0 < 3


def test_hf_endpoint(monkeypatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub.hf_endpoint() == ("huggingface.co", 443)
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.local:8080")
    assert hub.hf_endpoint() == ("mirror.local", 8080)
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.com")
    assert hub.hf_endpoint() == ("hf-mirror.com", 443)


def test_device_plan_sets_torch_threads(tiny_dir: Path, captioner) -> None:
    import torch

    plan = DevicePlan("cpu", "cpu", "int8", 8, "float32", 8, cpu_threads=2)
    assert load_captioner(str(tiny_dir), plan) is captioner
    assert torch.get_num_threads() == 2
    load_captioner(str(tiny_dir), CPU)
    assert torch.get_num_threads() == 1

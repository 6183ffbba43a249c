"""The captions stage: best caption per scene, batching across scenes, errors, serialisation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from support.tiny_blip import build_tiny_blip, vocabulary, write_frames

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, StageError
from genesis_pipeline.ml.blip import load_captioner
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.stages.captions import (
    VERSION,
    CaptionParams,
    CaptionResult,
    SceneCaption,
    caption_scenes,
)


class ColourCaptioner:
    """Captions an image by its mean colour; confidence = its brightness (known answers)."""

    identity = "colour-test/1"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.calls: list[dict[str, object]] = []

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        max_new_tokens: int,
        num_beams: int,
        prompt: str | None,
    ) -> list[tuple[str, float]]:
        self.batches.append(len(images))
        self.calls.append(
            {"max_new_tokens": max_new_tokens, "num_beams": num_beams, "prompt": prompt}
        )
        out = []
        for im in images:
            pixel = im.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
            assert isinstance(pixel, tuple), f"not an RGB image: {im.mode}"
            r, g, b = pixel
            name = max((r, "red"), (g, "green"), (b, "blue"))[1]
            out.append((f"{prompt or ''}{name}", (r + g + b) / 765))
        return out


def solid(path: Path, rgb: tuple[int, int, int]) -> Path:
    Image.new("RGB", (64, 36), rgb).save(path, quality=95)
    return path


@pytest.fixture(scope="module")
def tiny_captioner(tmp_path_factory: pytest.TempPathFactory):
    import torch

    before = torch.get_num_threads()
    # one thread: a tiny model on a shared 2-core host is far faster without OpenMP spinning
    yield load_captioner(
        str(build_tiny_blip(tmp_path_factory.mktemp("tiny_blip"))), plan_devices("cpu", cpu_count=1)
    )
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def frame_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_frames(tmp_path_factory.mktemp("previews"))


def test_keeps_the_most_confident_preview_per_scene(tmp_path: Path) -> None:
    dark_red = solid(tmp_path / "dark_red.jpg", (120, 10, 10))
    bright_green = solid(tmp_path / "bright_green.jpg", (90, 250, 120))
    blue = solid(tmp_path / "blue.jpg", (20, 40, 200))
    white_ish_red = solid(tmp_path / "pale_red.jpg", (250, 200, 190))
    previews = [[dark_red, bright_green], [blue], [], [white_ish_red, dark_red, blue]]
    notes: list[tuple[int, int, str]] = []
    cap = ColourCaptioner()
    result = caption_scenes(
        previews,
        cap,
        CaptionParams(batch_size=2, max_new_tokens=7, num_beams=2),
        progress=lambda d, t, n: notes.append((d, t, n)),
    )
    assert [c.text for c in result.captions] == ["green", "blue", "", "red"]
    assert [len(c.per_preview) for c in result.captions] == [2, 1, 0, 3]
    assert result.captions[0].confidence == pytest.approx((90 + 250 + 120) / 765, abs=0.01)
    assert result.captions[2] == SceneCaption("", 0.0, ())
    assert [t for t, _ in result.captions[3].per_preview] == ["red", "red", "blue"]
    # batches run across scene boundaries: 6 previews in batches of 2
    assert cap.batches == [2, 2, 2]
    assert cap.calls[0] == {"max_new_tokens": 7, "num_beams": 2, "prompt": None}
    assert [(d, t) for d, t, _ in notes] == [(0, 6), (2, 6), (4, 6), (6, 6)]
    assert result.model == "colour-test/1"
    assert VERSION == 1


def test_ties_go_to_the_first_preview(tmp_path: Path) -> None:
    a = solid(tmp_path / "a.jpg", (200, 10, 10))
    b = solid(tmp_path / "b.jpg", (200, 10, 10))
    result = caption_scenes([[a, b]], ColourCaptioner())
    assert result.captions[0].per_preview[0] == result.captions[0].per_preview[1]
    assert result.captions[0].text == "red"


def test_missing_preview_fails_before_any_captioning(tmp_path: Path) -> None:
    good = solid(tmp_path / "good.jpg", (10, 200, 10))
    missing = tmp_path / "scene_0003.jpg"
    cap = ColourCaptioner()
    with pytest.raises(InvalidMediaError, match=r"scene_0003\.jpg: preview image is missing"):
        caption_scenes([[good], [missing]], cap)
    assert cap.batches == []


@pytest.mark.parametrize(
    "content", [b"", b"not a jpeg at all", "truncated"], ids=["empty", "text", "truncated"]
)
def test_corrupt_preview_is_named(tmp_path: Path, content: bytes | str) -> None:
    bad = tmp_path / "broken.jpg"
    if content == "truncated":
        whole = solid(tmp_path / "whole.jpg", (10, 20, 30)).read_bytes()
        bad.write_bytes(whole[: len(whole) // 2])
    else:
        assert isinstance(content, bytes)
        bad.write_bytes(content)
    with pytest.raises(InvalidMediaError, match=r"broken\.jpg: not a readable image") as err:
        caption_scenes([[bad]], ColourCaptioner())
    assert err.value.path == str(bad)


def test_wrong_number_of_captions_is_a_stage_error(tmp_path: Path) -> None:
    class Short(ColourCaptioner):
        def caption(self, images, **kw):
            return super().caption(images, **kw)[:-1]

    with pytest.raises(StageError, match="captions: colour-test/1 returned 0 captions for 1"):
        caption_scenes([[solid(tmp_path / "x.jpg", (1, 2, 3))]], Short())


@pytest.mark.parametrize("field", ["batch_size", "max_new_tokens", "num_beams"])
def test_params_are_checked(field: str) -> None:
    with pytest.raises(InvalidSettingError, match=f"CaptionParams.{field}"):
        bad: dict[str, Any] = {field: 0}  # which field is known only at run time
        CaptionParams(**bad)


def test_no_scenes() -> None:
    result = caption_scenes([], ColourCaptioner())
    assert result.captions == ()


def test_tiny_blip_captions_scenes(tiny_captioner, frame_paths: list[Path]) -> None:
    scenes = [frame_paths[0:2], frame_paths[2:3], frame_paths[3:6]]
    params = CaptionParams(batch_size=4, max_new_tokens=10)
    result = caption_scenes(scenes, tiny_captioner, params)
    assert len(result.captions) == 3
    words = set(vocabulary())
    for cap in result.captions:
        assert cap.text and set(cap.text.split()) <= words
        assert 0.0 < cap.confidence <= 1.0
        assert cap.confidence == max(c for _, c in cap.per_preview)
        assert (cap.text, cap.confidence) in cap.per_preview
    assert result.model == tiny_captioner.identity
    assert result.params == params
    # the same input gives the same output
    assert caption_scenes(scenes, tiny_captioner, params) == result


def test_batching_does_not_change_captions(tiny_captioner, frame_paths: list[Path]) -> None:
    scenes = [frame_paths[0:2], frame_paths[2:3], frame_paths[3:6]]
    batched = caption_scenes(scenes, tiny_captioner, CaptionParams(batch_size=4, max_new_tokens=8))
    single = caption_scenes(scenes, tiny_captioner, CaptionParams(batch_size=1, max_new_tokens=8))
    for b, s in zip(batched.captions, single.captions, strict=True):
        assert b.text == s.text
        assert [t for t, _ in b.per_preview] == [t for t, _ in s.per_preview]
        assert [c for _, c in b.per_preview] == pytest.approx(
            [c for _, c in s.per_preview], abs=1e-5
        )


def test_json_round_trip_is_exact(tiny_captioner, frame_paths: list[Path]) -> None:
    params = CaptionParams(batch_size=3, max_new_tokens=6, num_beams=2, prompt="a picture of")
    result = caption_scenes([frame_paths[:2], [], frame_paths[2:3]], tiny_captioner, params)
    assert result.captions[0].text.startswith("a picture of")
    blob = json.dumps(serde.to_json(result))
    again = serde.from_json(CaptionResult, json.loads(blob))
    assert again == result
    assert isinstance(again.captions[0].per_preview[0], tuple)
    assert serde.to_json(again) == serde.to_json(result)

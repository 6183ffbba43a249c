"""Scene captions: caption every preview frame of every scene, keep each scene's most confident.

Pure function of the preview files, the captioner (its ``identity`` goes into the cache key) and
:class:`CaptionParams`. Previews are captioned in batches that cross scene boundaries, so a batch
is always full but for the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, StageError
from genesis_pipeline.progress import Progress, no_progress

if TYPE_CHECKING:
    from PIL import Image

    from genesis_pipeline.ml.blip import Captioner

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True, slots=True)
class CaptionParams:
    """How captions are generated.

    Attributes:
        batch_size: previews per model call (8 suits the CPU; the orchestrator passes the device
            plan's size, 32 on CUDA). Does not change the captions.
        max_new_tokens: longest caption, in word pieces (BLIP's captions are ~10).
        num_beams: 1 = greedy decoding (fastest); 3-5 = beam search (slower, a little more fluent).
        prompt: text the caption must start with (BLIP's conditional captioning, e.g.
            ``"a photograph of"``); the caption includes it. None = unconditional.
    """

    batch_size: int = 8
    max_new_tokens: int = 30
    num_beams: int = 1
    prompt: str | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_new_tokens", "num_beams"):
            if getattr(self, name) < 1:
                raise InvalidSettingError(f"CaptionParams.{name}", "must be at least 1")


@dataclass(frozen=True, slots=True)
class SceneCaption:
    """A scene's caption: the most confident of its previews' captions, and all of them.

    A scene without previews has an empty caption with confidence 0.
    """

    text: str
    confidence: float
    per_preview: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class CaptionResult:
    """One :class:`SceneCaption` per scene, in the order the scenes were given (serialised
    with :mod:`genesis_pipeline.serde`)."""

    captions: tuple[SceneCaption, ...]
    model: str
    params: CaptionParams


def caption_scenes(
    previews: Sequence[Sequence[Path]],
    captioner: Captioner,
    params: CaptionParams = CaptionParams(),
    progress: Progress = no_progress,
) -> CaptionResult:
    """Caption each scene from its preview images.

    Args:
        previews: per scene, the paths of its preview JPGs (any number, possibly none).
        captioner: a loaded :class:`~genesis_pipeline.ml.blip.Captioner`.
        params: batch size and decoding options.
        progress: called with ``(previews done, previews total, note)`` after each batch.

    Raises:
        InvalidMediaError: a preview file is missing or not a readable image (missing files are
            found before any captioning starts).
        StageError: the captioner returned a different number of captions than images.
    """
    items = [(scene, Path(p)) for scene, paths in enumerate(previews) for p in paths]
    for _, path in items:
        if not path.is_file():
            raise InvalidMediaError(path, "preview image is missing")
    per_scene: list[list[tuple[str, float]]] = [[] for _ in previews]
    total = len(items)
    progress(0, total, "captioning previews")
    done = 0
    for batch in _batches(items, params.batch_size):
        images = [_open_image(path) for _, path in batch]
        results = captioner.caption(
            images,
            max_new_tokens=params.max_new_tokens,
            num_beams=params.num_beams,
            prompt=params.prompt,
        )
        if len(results) != len(batch):
            raise StageError(
                "captions",
                f"{captioner.identity} returned {len(results)} captions for {len(batch)}",
            )
        for (scene, _), result in zip(batch, results, strict=True):
            per_scene[scene].append(result)
        done += len(batch)
        progress(done, total, f"captioned {done}/{total} previews")
    captions = tuple(_best(results) for results in per_scene)
    log.info(
        "captioned %d scenes from %d previews with %s", len(captions), total, captioner.identity
    )
    return CaptionResult(captions=captions, model=captioner.identity, params=params)


def _best(results: list[tuple[str, float]]) -> SceneCaption:
    if not results:
        return SceneCaption(text="", confidence=0.0, per_preview=())
    # max() keeps the first of equals: ties go to the earlier preview
    text, confidence = max(results, key=lambda r: r[1])
    return SceneCaption(text=text, confidence=confidence, per_preview=tuple(results))


def _batches(items: list[tuple[int, Path]], size: int) -> Iterator[list[tuple[int, Path]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _open_image(path: Path) -> Image.Image:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")  # decodes fully, so the file can close
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # OSError: unidentified
        raise InvalidMediaError(path, f"not a readable image ({exc})") from exc

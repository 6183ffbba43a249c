"""How scenes are detected and previewed: :class:`SceneParams`, checked when made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from genesis_pipeline.errors import InvalidSettingError

DETECTORS = ("content", "adaptive", "transnetv2")
DEFAULT_THRESHOLDS = {"content": 27.0, "adaptive": 3.0, "transnetv2": 0.5}
# The classical scores are capped at 255 (content_val is a mean pixel difference; adaptive_ratio
# is capped); TransNet V2's is a probability.
MAX_THRESHOLD = 255.0
MAX_PROBABILITY = 1.0
MAX_MIN_SCENE_LEN_S = 3600.0
MAX_PREVIEWS_PER_SCENE = 16


@dataclass(frozen=True, slots=True)
class SceneParams:
    """How scenes are detected and previewed.

    Attributes:
        detector: ``"adaptive"`` (the default: PySceneDetect ``AdaptiveDetector``, the HSV
            difference between adjacent frames relative to its neighbours, steady under camera
            motion), ``"content"`` (``ContentDetector``: that difference against a fixed
            threshold) or
            ``"transnetv2"`` (TransNet V2, a neural network that also finds dissolves, fades
            and wipes, with each one's extent: ``docs/scenes.md``).
        threshold: the detector's threshold; None = its default (content 27.0, adaptive 3.0,
            transnetv2 0.5). Must lie in (0, 255], for transnetv2 in (0, 1).
        min_scene_len_s: no scene shorter than this, in seconds (0 to 3600).
        downscale_width: frames are scaled to this width (never up) before detection. 256 is
            PySceneDetect's own default working width (it finds the cuts a wider frame finds,
            for less CPU: ``docs/scenes.md``).
        gradual: with ``content`` or ``adaptive``, also find dissolves, fades and wipes and drop
            flash frames (on by default: :mod:`~genesis_pipeline.stages.scenes.gradual`);
            transnetv2 finds them itself.
        previews_per_scene: JPEG previews per scene, evenly spaced inside it, away from the cuts
            (0 to 16; 0 writes none).
        preview_width: width of an upright preview (never upscaled).
        preview_quality: JPEG quality, 1 to 100.
    """

    # Chosen from benchmarks.detectors (README, "Scene detectors"): on every kind of edit it
    # scored best, with no false positive on the trap shots, at a fraction of TransNet V2's cost.
    detector: str = "adaptive"
    threshold: float | None = None
    min_scene_len_s: float = 0.6
    downscale_width: int = 256
    gradual: bool = True
    previews_per_scene: int = 1
    preview_width: int = 480
    preview_quality: int = 85

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise InvalidSettingError(
                "scenes.detector", f"must be one of {', '.join(DETECTORS)} (got {self.detector!r})"
            )
        t = self.threshold
        if self.detector == "transnetv2":
            if t is not None and not (math.isfinite(t) and 0.0 < t < MAX_PROBABILITY):
                raise InvalidSettingError(
                    "scenes.threshold", f"must be a probability in (0, 1) or None (got {t})"
                )
        elif t is not None and not (math.isfinite(t) and 0.0 < t <= MAX_THRESHOLD):
            raise InvalidSettingError(
                "scenes.threshold", f"must be in (0, {MAX_THRESHOLD:g}] or None (got {t})"
            )
        m = self.min_scene_len_s
        if not (math.isfinite(m) and 0.0 <= m <= MAX_MIN_SCENE_LEN_S):
            raise InvalidSettingError(
                "scenes.min_scene_len_s",
                f"must be between 0 and {MAX_MIN_SCENE_LEN_S:g} seconds (got {m})",
            )
        _check_int("scenes.downscale_width", self.downscale_width, 16, 7680)
        _check_int("scenes.previews_per_scene", self.previews_per_scene, 0, MAX_PREVIEWS_PER_SCENE)
        _check_int("scenes.preview_width", self.preview_width, 16, 7680)
        _check_int("scenes.preview_quality", self.preview_quality, 1, 100)

    @property
    def effective_threshold(self) -> float:
        """The threshold in use: the given one or the detector's default."""
        return DEFAULT_THRESHOLDS[self.detector] if self.threshold is None else self.threshold


def _check_int(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidSettingError(name, f"must be a whole number from {lo} to {hi} (got {value!r})")

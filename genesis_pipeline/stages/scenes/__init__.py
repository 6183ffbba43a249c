"""Scene detection: one decode of each file finds its cuts and writes each scene's previews.

:func:`detect_scenes` is the one entry point, :class:`SceneParams` its options.
"""

from __future__ import annotations

from genesis_pipeline.stages.scenes.detect import (
    VERSION,
    Scene,
    SceneList,
    SceneParams,
    confidence,
    detect_scenes,
)

__all__ = ["VERSION", "Scene", "SceneList", "SceneParams", "confidence", "detect_scenes"]

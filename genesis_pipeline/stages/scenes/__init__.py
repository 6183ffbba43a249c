"""Scene detection: one decode of each file finds its cuts and writes each scene's previews.

:func:`detect_scenes` is the one entry point, :class:`SceneParams` its options. The modules
import one way: ``params`` <- ``result`` <- ``decode`` / ``detector`` / ``previews`` <- ``detect``
<- here.
"""

from __future__ import annotations

from genesis_pipeline.stages.scenes.detect import VERSION, detect_scenes
from genesis_pipeline.stages.scenes.params import SceneParams
from genesis_pipeline.stages.scenes.result import Scene, SceneList, Transition, confidence

__all__ = [
    "VERSION",
    "Scene",
    "SceneList",
    "SceneParams",
    "Transition",
    "confidence",
    "detect_scenes",
]

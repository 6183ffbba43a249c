"""BLIP image captioning: where the weights come from, how they run, how confident a caption is.

``load_captioner(spec, plan)`` turns ``GENESIS_CAPTION_MODEL`` (a Hugging Face id or a local
folder) into a :class:`Captioner`, loaded once per process. Weights are only fetched from the hub
when the offline mode allows it; anything that stops the model from loading becomes one
:class:`ModelUnavailableError` line, which the orchestrator records as "captions skipped".
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from genesis_pipeline.errors import ModelUnavailableError
from genesis_pipeline.ml import hub
from genesis_pipeline.ml.device import DevicePlan

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

SETTING = "GENESIS_CAPTION_MODEL"
# What a captioning checkpoint needs; hub repos also hold TF/Flax weights we never fetch.
HUB_FILES = (
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
)


class Captioner(Protocol):
    """Anything that captions a batch of images (BLIP here; tests may pass their own)."""

    identity: str
    """Stable text for cache keys: model id or folder, weights fingerprint, dtype."""

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        max_new_tokens: int,
        num_beams: int,
        prompt: str | None,
    ) -> list[tuple[str, float]]:
        """``(text, confidence)`` per image, in order, computed as one batch."""
        ...


class BlipCaptioner:
    """A loaded BLIP captioning model with its processor, on one device and dtype.

    Confidence is the mean probability of the caption's generated tokens (special and padding
    tokens excluded): ~1 when every word was the model's clear choice; 0.0 for an empty caption.
    With a ``prompt`` the text starts with the prompt, as BLIP's own decoding gives it, and the
    confidence covers only the words the model added.
    """

    def __init__(self, model: Any, processor: Any, *, device: str, dtype: str, identity: str):
        import torch

        self.model = model
        self.processor = processor
        self.device = device
        self.dtype = dtype
        self.identity = identity
        self._torch_dtype = getattr(torch, dtype)
        text = model.config.text_config
        tok = processor.tokenizer
        ids = {getattr(text, f"{n}_token_id", None) for n in ("pad", "bos", "sep", "eos")}
        ids.update(tok.all_special_ids)
        self._special_ids = torch.tensor(sorted(i for i in ids if i is not None))
        # generate() on one model from several threads (app sessions) would interleave caches.
        self._lock = threading.Lock()

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        max_new_tokens: int,
        num_beams: int,
        prompt: str | None,
    ) -> list[tuple[str, float]]:
        """Caption ``images`` as one batch; see the class docstring for the confidence."""
        import torch

        if not images:
            return []
        rgb = [im if im.mode == "RGB" else im.convert("RGB") for im in images]
        texts = [prompt] * len(rgb) if prompt else None
        inputs = self.processor(images=rgb, text=texts, return_tensors="pt")
        kwargs: dict[str, Any] = {
            "pixel_values": inputs["pixel_values"].to(self.device, self._torch_dtype)
        }
        if prompt:
            kwargs["input_ids"] = inputs["input_ids"].to(self.device)
            kwargs["attention_mask"] = inputs["attention_mask"].to(self.device)
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                **kwargs,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
            )
            beams = num_beams > 1
            scores = self.model.text_decoder.compute_transition_scores(
                out.sequences,
                tuple(s.float() for s in out.scores),
                out.beam_indices if beams else None,
                # greedy scores are raw logits; beam scores are already log-probabilities
                normalize_logits=not beams,
            ).cpu()
        sequences = out.sequences.cpu()
        generated = sequences[:, sequences.shape[1] - scores.shape[1] :]
        keep = ~torch.isin(generated, self._special_ids)
        probs = torch.where(keep, scores.exp(), torch.zeros_like(scores))
        counts = keep.sum(dim=1)
        confidences = (probs.sum(dim=1) / counts.clamp(min=1)).tolist()
        # column 0 is BLIP's decoder start token, which hub tokenizers do not even know
        decoded = self.processor.tokenizer.batch_decode(sequences[:, 1:], skip_special_tokens=True)
        return [
            (text.strip(), float(conf) if n else 0.0)
            for text, conf, n in zip(decoded, confidences, counts.tolist(), strict=True)
        ]


_cache: dict[tuple[str, str], BlipCaptioner] = {}
_cache_lock = threading.Lock()


def captioner_identity(spec: str, plan: DevicePlan, offline: str = "auto") -> str:
    """The ``identity`` :func:`load_captioner` would give, without loading the model.

    Cheap enough for every run: it resolves the folder or the cached hub snapshot and
    fingerprints the weights (a local folder's hash is remembered per file size and mtime), so a
    stage-cache hit never needs the model in memory.

    Raises:
        ModelUnavailableError: as :func:`load_captioner`, for what can be told without loading.
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    return _resolve(spec, plan, offline)[0]


def planned_captioner_identity(spec: str, dtype: str, offline: str = "auto") -> str:
    """The ``identity`` a captioner loaded in ``dtype`` would have, decided without torch: for a
    host that plans the model for a worker (the Ray executor), whose own device may differ.

    Raises:
        ModelUnavailableError: as :func:`captioner_identity`.
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    folder, repo_id = _checkpoint(spec, offline)
    return _identity(folder, repo_id, dtype)


def load_captioner(spec: str, plan: DevicePlan, offline: str = "auto") -> Captioner:
    """Load the BLIP captioner named by ``spec``, once per process (later calls reuse it).

    Args:
        spec: a Hugging Face id (``Salesforce/blip-image-captioning-base``) or a local folder
            holding ``config.json``, the weights, the tokenizer and ``preprocessor_config.json``.
        plan: device and dtype: CUDA in float16 or the CPU in float32, and the CPU thread count.
            A CUDA plan with a CPU-only torch build falls back to the CPU in float32 (warned).
        offline: ``GENESIS_OFFLINE``: ``1`` uses only the local Hugging Face cache, ``0`` may
            download, ``auto`` downloads only when a 2 s probe finds the hub reachable.

    Raises:
        ModelUnavailableError: the model cannot be loaded; the message names
            ``GENESIS_CAPTION_MODEL`` and the folder or id, and says why.
        InvalidSettingError: ``offline`` is not ``auto``, ``1`` or ``0``.
    """
    _set_threads(plan.cpu_threads)
    with _cache_lock:
        identity, folder, repo_id, device, dtype = _resolve(spec, plan, offline)
        key = (identity, device)  # the identity names folder or id, weights and dtype
        if key not in _cache:
            _cache[key] = load_blip_folder(folder, device=device, dtype=dtype, repo_id=repo_id)
        return _cache[key]


def load_blip_folder(
    folder: Path, *, device: str, dtype: str, repo_id: str | None = None
) -> BlipCaptioner:
    """Load a BLIP checkpoint folder onto ``device`` in ``dtype`` (uncached; prefer
    :func:`load_captioner`).

    Args:
        folder: the checkpoint folder (a hub snapshot or the user's own).
        device: ``cpu`` or ``cuda``.
        dtype: a torch dtype name: ``float32``, ``float16`` or ``bfloat16``.
        repo_id: the hub id when ``folder`` is its snapshot (identity and messages use it).

    Raises:
        ModelUnavailableError: files are missing or unreadable, or the model is not BLIP.
    """
    spec = repo_id or str(folder)
    _check_folder(folder, spec)
    identity = _identity(folder, repo_id, dtype)
    try:
        import torch
        from transformers import AutoTokenizer, BlipForConditionalGeneration, BlipProcessor

        image_processor_cls = _pil_image_processor_class()
        model: Any = BlipForConditionalGeneration.from_pretrained(folder, local_files_only=True)
        model = model.to(device=device, dtype=getattr(torch, dtype)).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        image_processor = image_processor_cls.from_pretrained(folder, local_files_only=True)
        processor = BlipProcessor(  # type: ignore[no-untyped-call]
            image_processor=image_processor, tokenizer=tokenizer
        )
    except Exception as exc:  # any load failure is "captions unavailable", never a crash
        raise ModelUnavailableError(
            f"{SETTING}={spec}: cannot load BLIP: {_one_line(exc)}"
        ) from exc
    n_params = sum(p.numel() for p in model.parameters())
    log.info("captioner %s loaded: %.1fM parameters on %s", identity, n_params / 1e6, device)
    return BlipCaptioner(model, processor, device=device, dtype=dtype, identity=identity)


def clear_captioner_cache() -> None:
    """Forget loaded captioners (tests; freeing GPU memory)."""
    with _cache_lock:
        _cache.clear()


def _resolve(spec: str, plan: DevicePlan, offline: str) -> tuple[str, Path, str | None, str, str]:
    """``(identity, folder, repo_id, device, dtype)`` for ``spec`` under ``plan``.

    Raises:
        ModelUnavailableError: empty spec, missing folder or files, not cached offline.
        InvalidSettingError: bad ``offline`` mode.
    """
    if not spec.strip():
        raise ModelUnavailableError(f"{SETTING} is empty: set it to a BLIP HF id or folder")
    device, dtype = _placement(plan)
    folder, repo_id = _checkpoint(spec, offline)
    return _identity(folder, repo_id, dtype), folder, repo_id, device, dtype


def _checkpoint(spec: str, offline: str) -> tuple[Path, str | None]:
    """``(folder, repo_id)`` of the checkpoint ``spec`` names (repo_id None for a folder).

    Raises:
        ModelUnavailableError: empty spec, missing folder or files, not cached offline.
        InvalidSettingError: bad ``offline`` mode.
    """
    spec = spec.strip()
    if not spec:
        raise ModelUnavailableError(f"{SETTING} is empty: set it to a BLIP HF id or folder")
    folder, repo_id = _local_folder(spec), None
    if folder is None:
        folder, repo_id = _hub_snapshot(spec, offline), spec
    _check_folder(folder, repo_id or str(folder))
    return folder, repo_id


def _identity(folder: Path, repo_id: str | None, dtype: str) -> str:
    if repo_id and folder.parent.name == "snapshots":
        return f"blip:{repo_id}@{folder.name[:12]}/{dtype}"  # the hub commit pins the weights
    return f"blip:{folder}@{_weights_fingerprint(folder)}/{dtype}"


_warned_no_cuda = False


def _placement(plan: DevicePlan) -> tuple[str, str]:
    global _warned_no_cuda
    if plan.device != "cuda":
        return "cpu", plan.caption_dtype
    import torch

    if torch.cuda.is_available():
        return "cuda", plan.caption_dtype
    if not _warned_no_cuda:
        _warned_no_cuda = True
        log.warning(
            "CUDA planned but this torch build has no CUDA: BLIP runs on the CPU in float32"
        )
    return "cpu", "float32"


def _set_threads(n: int) -> None:
    import torch

    if n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _local_folder(spec: str) -> Path | None:
    """The folder ``spec`` names, or None when it is a hub id.

    Raises:
        ModelUnavailableError: ``spec`` is a path to a file, or clearly a path that does not exist.
    """
    path = hub.local_folder(spec)
    if path is not None and path.is_dir():
        return path
    if path is not None:
        raise ModelUnavailableError(f"{SETTING}={spec}: is a file, not a model folder")
    if hub.looks_like_path(spec):
        raise ModelUnavailableError(f"{SETTING}={spec}: folder does not exist")
    return None


def _hub_snapshot(repo_id: str, offline: str) -> Path:
    """The local snapshot folder of ``repo_id``, downloaded first when the hub may be used
    (:func:`genesis_pipeline.ml.hub.snapshot`: the latest revision when online).

    Raises:
        ModelUnavailableError: not cached and the hub may not or cannot be used.
    """

    def fetch(local_only: bool) -> Path:
        from huggingface_hub import snapshot_download

        try:
            files = list(HUB_FILES)
            folder = Path(
                snapshot_download(repo_id, allow_patterns=files, local_files_only=local_only)
            )
            if not local_only and not _weight_files(folder):  # older repos: PyTorch pickles
                folder = Path(snapshot_download(repo_id, allow_patterns=["pytorch_model.bin"]))
        except Exception as exc:
            if local_only:  # whatever the cache says, the snapshot is not usable from it
                raise OSError(_one_line(exc)) from exc
            reason = f"download failed: {_one_line(exc)}"
            raise ModelUnavailableError(f"{SETTING}={repo_id}: {reason}") from exc
        return folder

    found = hub.snapshot(repo_id, offline, fetch, cache_first=False)
    if found.folder is None:
        raise ModelUnavailableError(f"{SETTING}={repo_id}: {_not_cached_reason(offline)}")
    return found.folder


def _not_cached_reason(offline: str) -> str:
    why = "the hub is unreachable" if offline == "auto" else "offline"
    if hub.hf_hub_offline():
        why += ", HF_HUB_OFFLINE=1"
    return (
        f"not in the local Hugging Face cache and {why} (GENESIS_OFFLINE={offline}); "
        f"download it once online or set {SETTING} to a local folder"
    )


def _check_folder(folder: Path, spec: str) -> None:
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"{SETTING}={spec}: {folder} has no config.json")
    if not _weight_files(folder):
        raise ModelUnavailableError(
            f"{SETTING}={spec}: {folder} has no weights (model.safetensors or pytorch_model.bin)"
        )
    import json

    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"{SETTING}={spec}: {folder}/config.json unreadable: {_one_line(exc)}"
        ) from exc
    if model_type != "blip":
        raise ModelUnavailableError(
            f"{SETTING}={spec}: a {model_type or 'unknown'} model, not a BLIP captioning model"
        )


def _weight_files(folder: Path) -> list[Path]:
    """The weight files transformers will load from ``folder`` (safetensors first), or []."""
    for single, index, shards in (
        ("model.safetensors", "model.safetensors.index.json", "model-*.safetensors"),
        ("pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin"),
    ):
        if (folder / single).is_file():
            return [folder / single]
        if (folder / index).is_file():
            return [folder / index, *sorted(folder.glob(shards))]
    return []


_SHA256 = re.compile(r"[0-9a-f]{64}")


_digests: dict[tuple[str, int, int], str] = {}


def _weights_fingerprint(folder: Path) -> str:
    """16 hex digits of the weights' content hash (a hub blob's name is already its sha256)."""
    h = hashlib.sha256()
    for f in _weight_files(folder):
        real = f.resolve()
        if real.parent.name == "blobs" and _SHA256.fullmatch(real.name):
            h.update(real.name.encode())
            continue
        st = real.stat()
        memo = (str(real), st.st_size, st.st_mtime_ns)
        if memo not in _digests:
            with real.open("rb") as fh:
                _digests[memo] = hashlib.file_digest(fh, "sha256").hexdigest()
        h.update(_digests[memo].encode())
    return h.hexdigest()[:16]


def _pil_image_processor_class() -> Any:
    # transformers 5 maps "BlipImageProcessor" to the torchvision backend (torchvision is not a
    # dependency); its PIL twin is BlipImageProcessorPil. In transformers 4 the plain name is PIL.
    try:
        from transformers import BlipImageProcessorPil

        return BlipImageProcessorPil
    except ImportError:
        from transformers import BlipImageProcessor

        return BlipImageProcessor


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__

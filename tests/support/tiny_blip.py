"""A tiny, randomly initialised BLIP captioning model written like a hub checkpoint.

``build_tiny_blip(dest)`` lays out the same files as ``Salesforce/blip-image-captioning-base``
(``config.json``, ``model.safetensors``, ``preprocessor_config.json`` naming ``BlipImageProcessor``,
a WordPiece ``BertTokenizer`` whose vocabulary is ``[PAD] [UNK] [CLS] [SEP] [MASK]`` and English
words, with ``[DEC]`` as the decoder's start token), so ``load_captioner(str(dest), plan)`` runs
the real loading and generation code. The weights are seeded: the same folder every time.
Its captions are strings of real words that mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]")
_WORDS_TEXT = """
a an the of on in with and at by near under over behind next to from
man woman person people child boy girl dog cat bird horse car bus truck train boat bike
street road city building house room kitchen table chair bed window door wall floor
tree grass field beach water sky cloud sun snow mountain river park garden
red blue green yellow white black orange purple pink brown gray colorful bright dark
large small tall old young little big empty full
sitting standing walking running holding riding playing looking eating
screen sign picture pattern bars lines stripes squares circle test card image
"""
WORDS = tuple(_WORDS_TEXT.split())
IMAGE_SIZE = 32
SEED = 1234


def vocabulary() -> list[str]:
    """Tokens in id order: BERT's special tokens, ``[DEC]``, then the words (unique)."""
    return list(SPECIAL) + list(dict.fromkeys(WORDS))


def build_tiny_blip(dest: Path) -> Path:
    """Write the tiny BLIP checkpoint into ``dest`` (created) and return ``dest``."""
    import torch

    # BertTokenizerFast: transformers 5 keeps it as an alias of BertTokenizer but leaves it out
    # of its typed exports (transformers 4, also supported, has it as a class of its own).
    from transformers import (  # type: ignore[attr-defined]
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
    )

    try:  # transformers 5: the PIL-backed processor has its own name
        from transformers import BlipImageProcessorPil as BlipImageProcessor
    except ImportError:  # transformers 4: BlipImageProcessor is PIL-backed
        from transformers import BlipImageProcessor  # type: ignore[assignment]

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    ids = {tok: i for i, tok in enumerate(vocab)}
    hidden = 32
    config = BlipConfig(
        vision_config={
            "hidden_size": hidden,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": 8,
            "initializer_range": 0.5,
        },
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": hidden,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "encoder_hidden_size": hidden,
            "max_position_embeddings": 64,
            "pad_token_id": ids["[PAD]"],
            "bos_token_id": ids["[DEC]"],
            "eos_token_id": ids["[SEP]"],
            "sep_token_id": ids["[SEP]"],
            # Wider than BERT's 0.02 so the random decoder is decisive (confidences well above
            # 1/vocab) and different images lead to different words.
            "initializer_range": 0.5,
        },
        projection_dim=hidden,
        initializer_range=0.5,
    )
    torch.manual_seed(SEED)
    model = BlipForConditionalGeneration(config).eval()
    with torch.no_grad():
        # Like a trained BLIP, never predict the special tokens except [SEP] (end of caption).
        bias = model.text_decoder.cls.predictions.decoder.bias
        for tok in SPECIAL:
            if tok != "[SEP]":
                bias[ids[tok]] = -1e4
    model.save_pretrained(dest)

    tokenizer = BertTokenizerFast(vocab=ids, do_lower_case=True, bos_token="[DEC]")
    image_processor = BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    # Saved apart, as hub BLIP checkpoints are (transformers 5's processor would nest both).
    tokenizer.save_pretrained(dest)
    image_processor.save_pretrained(dest)
    (dest / "vocab.txt").write_text("\n".join(vocab) + "\n")
    _name_processor_like_the_hub(dest / "preprocessor_config.json")
    return dest


def _name_processor_like_the_hub(path: Path) -> None:
    # Hub BLIP checkpoints name "BlipImageProcessor", which transformers 5 maps to the
    # torchvision backend; keep that name so the loader's choice of the PIL backend is tested.
    if not path.is_file():
        return
    d = json.loads(path.read_text())
    d["image_processor_type"] = "BlipImageProcessor"
    path.write_text(json.dumps(d, indent=2))


FRAME_SOURCES = ("testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "smptehdbars", "testsrc")


def write_frames(dest: Path, sources: tuple[str, ...] = FRAME_SOURCES) -> list[Path]:
    """One 320x180 JPG per ffmpeg test source (``<source>.jpg``), like scene previews."""
    from genesis_pipeline.media.ffmpeg import run_ffmpeg

    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sources:
        out = dest / f"{src}.jpg"
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"{src}=size=320x180:rate=25", "-frames:v", "1", "-y", out],
            what=f"test frame {src}",
        )
        paths.append(out)
    return paths

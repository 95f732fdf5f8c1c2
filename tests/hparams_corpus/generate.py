"""Build the labelled corpus of transformer hyperparameter configs in this folder.

Every config in ``configs/`` is written by this script from a tiny original (hidden width 64,
2 layers, vocabulary 200, intermediate 128, 64 positions) and from edits of it that a person
makes by hand (heads that do not divide the width, kv heads, explicit head_dim, wrong types,
zeros, negatives, rotary settings, token ids outside the vocabulary, rates outside [0, 1],
sliding window 0, ...). Each config is then labelled with what the real library does with it:
KerasHub deserializes the file with ``keras.saving.deserialize_keras_object`` (what a preset
loader does) and runs one batch; transformers loads the dict with the config class's
``from_dict`` (what ``from_pretrained`` does), builds ``AutoModel.from_config`` and runs one
forward pass under ``torch.no_grad``. The labels go to ``manifest.json``.

Not run in CI. It needs a virtual environment outside the repository with the frameworks::

    python3 -m venv /work/venvs/hub
    /work/venvs/hub/bin/pip install torch==2.13.0        # first and alone: the local CPU wheel
    /work/venvs/hub/bin/pip install transformers keras-hub tensorflow keras
    KERAS_BACKEND=tensorflow nice -n 10 /work/venvs/hub/bin/python \\
        tests/hparams_corpus/generate.py [--only FAMILY ...] [--fresh]

Each family runs in its own subprocess and its result is cached in ``--cache`` (default
``/tmp/hparams_corpus_cache``); ``--fresh`` ignores the cache. Versions used for the committed
corpus are in README.md and in ``manifest.json["versions"]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bases import (  # noqa: E402
    CLIP_TEXT,
    CLIP_VISION,
    DEC,
    DEC_NAMES,
    DELETE,
    ENC,
    ENC_NAMES,
    HF_DEC,
    HF_DEC_NAMES,
    HF_ENC,
    HF_ENC_NAMES,
    T5_NAMES,
    T5_TINY,
    _hf,
    _kh,
)

CONFIGS = HERE / "configs"
BATCH, SEQ, SAFE_ID = 2, 8, 32

# --------------------------------------------------------------------------------------------
# Family tables. ``names`` maps roles to the family's config argument names:
# width, heads, kv, head_dim, inter, layers, vocab, rates (list), window, rotary, tokens (list),
# image (KerasHub image_shape / HF image_size). ``derives_head``: the library derives the head
# size from width // heads when no explicit head_dim is given.
# --------------------------------------------------------------------------------------------

# transformers' partial rotary takes the rotated size from its cos table, 2 * ceil(r / 2) for
# r = int(head * fraction) rotary features: an odd r rotates r + 1 features while a head has
# them, and fails when it does not (an odd head rotated whole: 15 features, a cos of 16).
ODD_HEAD_ROTARY = [
    (
        "rotary-odd-whole-head",
        "rotary",
        "hidden_size=60 with 4 heads (head size 15, odd), partial_rotary_factor=1.0: "
        "15 rotary dims, a cos table of 16",
        {"hidden_size": 60, "rope_parameters.partial_rotary_factor": 1.0},
    ),
    (
        "rotary-odd-head-partial",
        "rotary",
        "hidden_size=60 with 4 heads (head size 15), partial_rotary_factor=0.5: 7 rotary dims "
        "(odd), a cos table of 8",
        {"hidden_size": 60, "rope_parameters.partial_rotary_factor": 0.5},
    ),
]

KERAS_HUB = {
    "BertBackbone": _kh("BertBackbone", dict(ENC), dict(ENC_NAMES)),
    "RobertaBackbone": _kh("RobertaBackbone", dict(ENC), dict(ENC_NAMES)),
    "DistilBertBackbone": _kh("DistilBertBackbone", dict(ENC), dict(ENC_NAMES)),
    "AlbertBackbone": _kh(
        "AlbertBackbone",
        {**ENC, "embedding_dim": 32, "dropout": 0.0},
        dict(ENC_NAMES),
        extra_edits=[
            (
                "groups-nondiv",
                "layers",
                "num_groups=3 does not divide num_layers=2",
                {"num_groups": 3},
            ),
            ("groups-div", "layers", "num_groups=2 divides num_layers=2", {"num_groups": 2}),
        ],
    ),
    "ElectraBackbone": _kh(
        "ElectraBackbone",
        {
            "vocab_size": 200,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "embedding_dim": 32,
            "intermediate_dim": 128,
            "dropout": 0.1,
            "max_sequence_length": 64,
        },
        {**ENC_NAMES, "vocab": "vocab_size"},
    ),
    "DebertaV3Backbone": _kh("DebertaV3Backbone", {**ENC, "bucket_size": 16}, dict(ENC_NAMES)),
    "GPT2Backbone": _kh("GPT2Backbone", dict(ENC), dict(ENC_NAMES)),
    "OPTBackbone": _kh("OPTBackbone", dict(ENC), dict(ENC_NAMES)),
    "GPTNeoXBackbone": _kh(
        "GPTNeoXBackbone",
        {**ENC, "dropout": 0.0, "rotary_percentage": 0.25},
        {**ENC_NAMES, "rotary": "rotary_percentage"},
    ),
    "BloomBackbone": _kh(
        "BloomBackbone",
        {k: v for k, v in ENC.items() if k != "max_sequence_length"} | {"dropout": 0.0},
        dict(ENC_NAMES),
    ),
    "FalconBackbone": _kh(
        "FalconBackbone",
        {
            "vocabulary_size": 200,
            "num_layers": 2,
            "num_attention_heads": 4,
            "hidden_dim": 64,
            "intermediate_dim": 128,
        },
        {
            **ENC_NAMES,
            "heads": "num_attention_heads",
            "rates": ["attention_dropout_rate", "feedforward_dropout_rate"],
        },
    ),
    "LlamaBackbone": _kh("LlamaBackbone", dict(DEC), dict(DEC_NAMES)),
    "MistralBackbone": _kh(
        "MistralBackbone",
        {**DEC, "sliding_window": 16},
        {**DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
    ),
    "MixtralBackbone": _kh(
        "MixtralBackbone",
        {**DEC, "num_experts": 4, "top_k": 2, "sliding_window": 16},
        {**DEC_NAMES, "window": "sliding_window"},
    ),
    "QwenBackbone": _kh("QwenBackbone", dict(DEC), dict(DEC_NAMES)),
    "Qwen3Backbone": _kh(
        "Qwen3Backbone",
        {**DEC, "head_dim": 16},
        {**DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
    ),
    "Phi3Backbone": _kh(
        "Phi3Backbone",
        {**DEC, "max_sequence_length": 64, "pretraining_sequence_length": 64},
        dict(DEC_NAMES),
    ),
    "GemmaBackbone": _kh(
        "GemmaBackbone",
        {**DEC, "head_dim": 16},
        {**DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
    ),
    "Gemma3Backbone": _kh(
        "Gemma3Backbone",
        {
            **DEC,
            "head_dim": 16,
            "image_size": 32,
            "use_sliding_window_attention": True,
            "sliding_window_size": 16,
        },
        {**DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window_size"},
        derives_head=False,
    ),
    "T5Backbone": _kh(
        "T5Backbone",
        {k: v for k, v in ENC.items() if k != "max_sequence_length"},
        {**ENC_NAMES, "head_dim": "key_value_dim"},
    ),
    "ViTBackbone": _kh(
        "ViTBackbone",
        {
            "image_shape": [32, 32, 3],
            "patch_size": 8,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "mlp_dim": 128,
        },
        {
            "width": "hidden_dim",
            "heads": "num_heads",
            "inter": "mlp_dim",
            "layers": "num_layers",
            "rates": ["dropout_rate", "attention_dropout"],
            "image": "image_shape",
            "patch": "patch_size",
        },
    ),
    "DeiTBackbone": _kh(
        "DeiTBackbone",
        {
            "image_shape": [32, 32, 3],
            "patch_size": 8,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "intermediate_dim": 128,
        },
        {
            "width": "hidden_dim",
            "heads": "num_heads",
            "inter": "intermediate_dim",
            "layers": "num_layers",
            "rates": ["dropout_rate", "attention_dropout"],
            "image": "image_shape",
            "patch": "patch_size",
        },
    ),
    "WhisperBackbone": _kh(
        "WhisperBackbone",
        {
            "vocabulary_size": 200,
            "num_layers": 2,
            "num_heads": 4,
            "hidden_dim": 64,
            "intermediate_dim": 128,
            "num_mels": 16,
            "max_encoder_sequence_length": 32,
            "max_decoder_sequence_length": 32,
        },
        dict(ENC_NAMES),
    ),
}

TRANSFORMERS = {
    "bert": _hf("bert", dict(HF_ENC), dict(HF_ENC_NAMES)),
    "roberta": _hf(
        "roberta",
        {
            **HF_ENC,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
            "max_position_embeddings": 66,
        },
        {**HF_ENC_NAMES, "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"]},
    ),
    "distilbert": _hf(
        "distilbert",
        {
            "vocab_size": 200,
            "dim": 64,
            "n_layers": 2,
            "n_heads": 4,
            "hidden_dim": 128,
            "max_position_embeddings": 64,
            "pad_token_id": 0,
        },
        {
            "width": "dim",
            "heads": "n_heads",
            "inter": "hidden_dim",
            "layers": "n_layers",
            "vocab": "vocab_size",
            "rates": ["dropout", "attention_dropout"],
            "tokens": ["pad_token_id"],
        },
    ),
    "albert": _hf("albert", {**HF_ENC, "embedding_size": 32}, dict(HF_ENC_NAMES)),
    "electra": _hf("electra", {**HF_ENC, "embedding_size": 32}, dict(HF_ENC_NAMES)),
    "deberta-v2": _hf(
        "deberta-v2",
        {
            **HF_ENC,
            "relative_attention": True,
            "position_buckets": 16,
            "pos_att_type": ["p2c", "c2p"],
            "max_relative_positions": -1,
        },
        dict(HF_ENC_NAMES),
    ),
    "gpt2": _hf(
        "gpt2",
        {
            "vocab_size": 200,
            "n_embd": 64,
            "n_layer": 2,
            "n_head": 4,
            "n_inner": 128,
            "n_positions": 64,
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
        {
            "width": "n_embd",
            "heads": "n_head",
            "inter": "n_inner",
            "layers": "n_layer",
            "vocab": "vocab_size",
            "rates": ["attn_pdrop", "resid_pdrop", "embd_pdrop"],
            "tokens": ["bos_token_id", "eos_token_id"],
        },
    ),
    "gpt_neox": _hf(
        "gpt_neox",
        {**{k: v for k, v in HF_DEC.items() if k != "num_key_value_heads"}, "rotary_pct": 0.25},
        {
            **{k: v for k, v in HF_DEC_NAMES.items() if k != "kv"},
            "rotary": "rope_parameters.partial_rotary_factor",
            "rates": ["attention_dropout", "hidden_dropout"],
        },
        extra_edits=ODD_HEAD_ROTARY,
    ),
    "opt": _hf(
        "opt",
        {
            "vocab_size": 200,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "ffn_dim": 128,
            "max_position_embeddings": 64,
            "word_embed_proj_dim": 64,
            "pad_token_id": 1,
            "bos_token_id": 2,
            "eos_token_id": 2,
        },
        {**HF_DEC_NAMES, "inter": "ffn_dim", "rates": ["dropout", "attention_dropout"]}
        | {"kv": None},
    ),
    "bloom": _hf(
        "bloom",
        {
            "vocab_size": 200,
            "hidden_size": 64,
            "n_layer": 2,
            "n_head": 4,
            "pad_token_id": 3,
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
        {
            "width": "hidden_size",
            "heads": "n_head",
            "layers": "n_layer",
            "vocab": "vocab_size",
            "rates": ["attention_dropout", "hidden_dropout"],
            "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"],
        },
    ),
    "falcon": _hf(
        "falcon",
        {
            "vocab_size": 200,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_kv_heads": 2,
            "new_decoder_architecture": True,
            "max_position_embeddings": 64,
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
        {
            "width": "hidden_size",
            "heads": "num_attention_heads",
            "kv": "num_kv_heads",
            "layers": "num_hidden_layers",
            "vocab": "vocab_size",
            "inter": "ffn_hidden_size",
            "rates": ["attention_dropout", "hidden_dropout"],
            "tokens": ["bos_token_id", "eos_token_id"],
        },
    ),
    "llama": _hf("llama", dict(HF_DEC), {**HF_DEC_NAMES, "head_dim": "head_dim"}),
    "mistral": _hf(
        "mistral",
        {**HF_DEC, "sliding_window": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
    ),
    "mixtral": _hf(
        "mixtral",
        {**HF_DEC, "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
    ),
    "qwen2": _hf("qwen2", dict(HF_DEC), {**HF_DEC_NAMES, "window": "sliding_window"}),
    "qwen3": _hf(
        "qwen3",
        {**HF_DEC, "head_dim": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        derives_head=False,
    ),
    "gemma": _hf(
        "gemma",
        {**HF_DEC, "head_dim": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
    ),
    "gemma2": _hf(
        "gemma2",
        {**HF_DEC, "head_dim": 16, "sliding_window": 16},
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        derives_head=False,
    ),
    "phi3": _hf(
        "phi3",
        {**HF_DEC, "original_max_position_embeddings": 64},
        {
            **HF_DEC_NAMES,
            "rotary": "rope_parameters.partial_rotary_factor",
            "window": "sliding_window",
        },
        extra_edits=ODD_HEAD_ROTARY,
    ),
    "t5": _hf(
        "t5",
        dict(T5_TINY),
        dict(T5_NAMES),
        derives_head=False,
        seq2seq=True,
        extra_edits=[
            (
                "ffn-proj-unknown",
                "type",
                'feed_forward_proj="gated-foo" (unknown activation)',
                {"feed_forward_proj": "gated-foo"},
            ),
            (
                "ffn-proj-gated",
                "type",
                'feed_forward_proj="gated-gelu" (3 FFN matrices)',
                {"feed_forward_proj": "gated-gelu"},
            ),
        ],
    ),
    "vit": _hf(
        "vit",
        {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "image_size": 32,
            "patch_size": 8,
            "num_channels": 3,
        },
        {
            "width": "hidden_size",
            "heads": "num_attention_heads",
            "inter": "intermediate_size",
            "layers": "num_hidden_layers",
            "rates": ["hidden_dropout_prob", "attention_probs_dropout_prob"],
            "image": "image_size",
            "patch": "patch_size",
        },
    ),
    "whisper": _hf(
        "whisper",
        {
            "vocab_size": 200,
            "num_mel_bins": 16,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "d_model": 64,
            "encoder_ffn_dim": 128,
            "decoder_ffn_dim": 128,
            "max_source_positions": 16,
            "max_target_positions": 32,
            "pad_token_id": 1,
            "bos_token_id": 2,
            "eos_token_id": 2,
            "decoder_start_token_id": 3,
            "suppress_tokens": None,
            "begin_suppress_tokens": None,
        },
        {
            "width": "d_model",
            "heads": "encoder_attention_heads",
            "inter": "encoder_ffn_dim",
            "layers": "encoder_layers",
            "vocab": "vocab_size",
            "rates": ["dropout", "attention_dropout"],
            "tokens": ["pad_token_id", "eos_token_id", "decoder_start_token_id"],
        },
        seq2seq=True,
    ),
    "llava": _hf(
        "llava",
        {
            "text_config": {"model_type": "llama", **HF_DEC, "hidden_size": 64},
            "vision_config": dict(CLIP_VISION),
            "image_token_index": 150,
            "vision_feature_layer": -2,
            "projector_hidden_act": "gelu",
        },
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "kv": "text_config.num_key_value_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["image_token_index", "text_config.pad_token_id"],
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
        },
    ),
    "clip": _hf(
        "clip",
        {"text_config": dict(CLIP_TEXT), "vision_config": dict(CLIP_VISION), "projection_dim": 32},
        {
            "width": "text_config.hidden_size",
            "heads": "text_config.num_attention_heads",
            "inter": "text_config.intermediate_size",
            "layers": "text_config.num_hidden_layers",
            "vocab": "text_config.vocab_size",
            "tokens": ["text_config.eos_token_id"],
            "vision_width": "vision_config.hidden_size",
            "vision_heads": "vision_config.num_attention_heads",
            "rates": ["text_config.attention_dropout"],
        },
    ),
}


# The families added by group: each spec_<group>.py holds TRANSFORMERS and KERAS_HUB tables.
SPEC_GROUPS = ("spec_dense", "spec_moe", "spec_multimodal", "spec_encoders")
for _group in SPEC_GROUPS:
    _module = __import__(_group)
    for _table, _more in ((KERAS_HUB, _module.KERAS_HUB), (TRANSFORMERS, _module.TRANSFORMERS)):
        assert not set(_table) & set(_more), (_group, set(_table) & set(_more))
        _table.update(_more)
    # Edits a group adds to a family of another table (the moe group's edits of Mixtral).
    for _name, _edits in getattr(_module, "EXTRA_EDITS", {}).items():
        _spec = TRANSFORMERS.get(_name) or KERAS_HUB[_name]
        _spec["extra_edits"] = [*_spec.get("extra_edits", []), *_edits]


# --------------------------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------------------------


def _get(d, path):
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _set(d, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        d = d.setdefault(part, {})
    if value == DELETE:
        d.pop(parts[-1], None)
    else:
        d[parts[-1]] = value


def make_edits(spec, cfg, library):
    """Edits a person makes, as (slug, kind, description, patch, extra) tuples."""
    n = spec["names"]
    width, heads = _get(cfg, n["width"]), _get(cfg, n["heads"])
    out = []

    def add(slug, kind, desc, patch, **extra):
        out.append((slug, kind, desc, patch, extra))

    add(
        "heads-nondiv",
        "num-heads",
        f"{n['heads']}=6 does not divide {n['width']}={width}",
        {n["heads"]: 6},
    )
    add(
        "heads-div",
        "num-heads",
        f"{n['heads']}=8 divides {n['width']}={width}",
        {n["heads"]: 8} | ({n["kv"]: 8} if n.get("kv") else {}),
    )
    add(
        "width-nondiv",
        "hidden-size",
        f"{n['width']}=66 is not a multiple of {n['heads']}={heads}",
        {n["width"]: 66},
    )
    add(
        "width-div",
        "hidden-size",
        f"{n['width']}=96 is a multiple of {n['heads']}={heads}",
        {n["width"]: 96},
    )
    if n.get("kv"):
        add("kv-divides", "kv-heads", f"{n['kv']}=1 divides {n['heads']}={heads}", {n["kv"]: 1})
        add(
            "kv-nondiv",
            "kv-heads",
            f"{n['kv']}=3 does not divide {n['heads']}={heads}",
            {n["kv"]: 3},
        )
        add("kv-zero", "zero", f"{n['kv']}=0", {n["kv"]: 0})
        add("kv-more", "kv-heads", f"{n['kv']}=8 is more than {n['heads']}={heads}", {n["kv"]: 8})
    if n.get("head_dim"):
        hd = width // heads
        add(
            "head-dim-consistent",
            "head-dim",
            f"explicit {n['head_dim']}={hd} = {n['width']}/{n['heads']}",
            {n["head_dim"]: hd},
        )
        add(
            "head-dim-inconsistent",
            "head-dim",
            f"explicit {n['head_dim']}=24, {n['heads']}*24 != {n['width']}={width}",
            {n["head_dim"]: 24},
        )
        add(
            "head-dim-odd",
            "head-dim",
            f"explicit {n['head_dim']}=15 (odd: rotary halves it)",
            {n["head_dim"]: 15},
        )
    if library == "transformers" and n.get("head_dim") and spec.get("derives_head", True):
        add(
            "heads-nondiv-no-head-dim",
            "num-heads",
            f"{n['heads']}=6 with the {n['head_dim']} key removed (as in older hub files): "
            f"the head size is derived from {n['width']}={width}",
            {n["heads"]: 6, n["head_dim"]: DELETE},
        )
    add("type-str", "type", f'{n["heads"]}="4" (a string)', {n["heads"]: "4"})
    add("type-float", "type", f"{n['width']}=64.0 (a float)", {n["width"]: float(width)})
    add("type-bool", "type", f"{n['layers']}=true (a bool)", {n["layers"]: True})
    add("layers-zero", "zero", f"{n['layers']}=0", {n["layers"]: 0})
    add("layers-negative", "negative", f"{n['layers']}=-1", {n["layers"]: -1})
    add("heads-zero", "zero", f"{n['heads']}=0", {n["heads"]: 0})
    if n.get("inter"):
        add("inter-negative", "negative", f"{n['inter']}=-1", {n["inter"]: -1})
    add("width-negative", "negative", f"{n['width']}=-64", {n["width"]: -64})
    for rate in n.get("rates", [])[:1]:
        add("rate-above-one", "rate", f"{rate}=1.5", {rate: 1.5})
        add("rate-negative", "rate", f"{rate}=-0.1", {rate: -0.1})
    if n.get("vocab"):
        add(
            "vocab-small",
            "vocab",
            f"{n['vocab']}=20: ids >= 20 are outside (second batch feeds id 31)",
            {n["vocab"]: 20},
            feed_id=31,
        )
        add("vocab-zero", "zero", f"{n['vocab']}=0", {n["vocab"]: 0})
    if n.get("window"):
        add("window-zero", "window", f"{n['window']}=0", {n["window"]: 0})
        add("window-negative", "window", f"{n['window']}=-1", {n["window"]: -1})
    if n.get("rotary"):
        # head size 16: 0.3 * 16 = 4.8, 0.1 * 16 = 1.6 (odd after flooring), 1.5 > 1
        add(
            "rotary-frac", "rotary", f"{n['rotary']}=0.3: 4.8 rotary dims of 16", {n["rotary"]: 0.3}
        )
        add(
            "rotary-odd",
            "rotary",
            f"{n['rotary']}=0.1875: 3 rotary dims of 16 (odd)",
            {n["rotary"]: 0.1875},
        )
        add("rotary-above-one", "rotary", f"{n['rotary']}=1.5", {n["rotary"]: 1.5})
    vocab = _get(cfg, n["vocab"]) if n.get("vocab") else None
    for tok in n.get("tokens", []):
        add(
            f"{tok.replace('.', '-')}-outside",
            "token-id",
            f"{tok}={vocab + 50} is outside {n['vocab']}={vocab}",
            {tok: vocab + 50},
            feed_id=vocab + 50,
        )
        add(f"{tok.replace('.', '-')}-negative", "token-id", f"{tok}=-1", {tok: -1}, feed_id=-1)
    if n.get("image"):
        img = _get(cfg, n["image"])
        new = [30, 30, 3] if isinstance(img, list) else 30
        add(
            "image-nondiv-patch",
            "image-size",
            f"{n['image']}={new}: not a multiple of {n['patch']}=8",
            {n["image"]: new},
        )
        add("patch-zero", "zero", f"{n['patch']}=0", {n["patch"]: 0})
    for slug, kind, desc, patch in spec.get("extra_edits", []):
        add(slug, kind, desc, patch)
    if n.get("vision_heads"):
        add(
            "vision-heads-nondiv",
            "num-heads",
            f"{n['vision_heads']}=5 does not divide {n['vision_width']}=32",
            {n["vision_heads"]: 5},
        )
    return out


# --------------------------------------------------------------------------------------------
# Evaluation helpers
# --------------------------------------------------------------------------------------------


class Timeout(Exception):
    pass


def _alarm(_sig, _frame):
    raise Timeout("timed out after 120 s")


def first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def detail(exc):
    """The first lines of the message and of its causes: the first line alone is often a
    wrapper ('Exception encountered when calling ...', 'Class validation error ...')."""
    parts, seen = [], 0
    while exc is not None and seen < 3:
        text = re.sub(r"\x1b\[[0-9;]*m|\[[0-9;]*m", "", str(exc))
        if "Exception encountered:" in text:
            # keras' deserialization wrapper: the real error is at the end of the message
            parts.append(f"{type(exc).__name__}: could not be deserialized")
            text = text.rsplit("Exception encountered:", 1)[1]
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        parts.append(f"{type(exc).__name__}: " + " | ".join(lines[:4]))
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return " <- ".join(parts)[:800]


def fail(res, exc, stage):
    res["error"], res["error_stage"], res["error_detail"] = first_line(exc), stage, detail(exc)


def geometry(spec, cfg):
    if spec.get("geometry"):
        return spec["geometry"](cfg)
    n = spec["names"]
    width, heads = _get(cfg, n["width"]), _get(cfg, n["heads"])
    kv = _get(cfg, n["kv"]) if n.get("kv") else None
    hd = _get(cfg, n["head_dim"]) if n.get("head_dim") else None
    g = {
        "hidden_width": width,
        "heads": heads,
        "kv_heads": kv if kv is not None else heads,
        "head_size": hd if hd is not None else width // heads,
        "layers": _get(cfg, n["layers"]),
    }
    return g


def floor_info(spec, cfg):
    n = spec["names"]
    width, heads = _get(cfg, n["width"]), _get(cfg, n["heads"])
    hd = _get(cfg, n["head_dim"]) if n.get("head_dim") else None
    if hd is not None or not spec.get("derives_head", True):
        return None
    if not (isinstance(width, int) and isinstance(heads, int)) or heads <= 0:
        return None
    if isinstance(width, bool) or isinstance(heads, bool) or width <= 0 or width % heads == 0:
        return None
    return {
        "width": width,
        "heads": heads,
        "head_size": width // heads,
        "projection": heads * (width // heads),
    }


# --------------------------------------------------------------------------------------------
# KerasHub worker
# --------------------------------------------------------------------------------------------


def kh_inputs(model, feed_id=None):
    import numpy as np

    single = not isinstance(model.input, dict)
    inputs = {model.input.name: model.input} if single else model.input
    batch = {}
    for name, spec in inputs.items():
        shape = [BATCH] + [d if d is not None else SEQ for d in spec.shape[1:]]
        if "features" in name:
            shape[1] = 16
            batch[name] = np.random.RandomState(0).rand(*shape).astype("float32")
        elif "image" in name or single:
            batch[name] = np.random.RandomState(0).rand(*shape).astype("float32")
        elif "padding_mask" in name:
            batch[name] = np.ones(shape, "int32")
        elif "segment" in name:
            batch[name] = np.zeros(shape, "int32")
        else:
            ids = (np.arange(np.prod(shape)).reshape(shape) % (SAFE_ID - 1) + 1).astype("int32")
            if feed_id is not None:
                ids[0, 1] = feed_id
            batch[name] = ids
    return next(iter(batch.values())) if single else batch


def finite(out):
    import numpy as np

    leaves = (
        out.values() if isinstance(out, dict) else out if isinstance(out, list | tuple) else [out]
    )
    vals = []
    for leaf in leaves:
        if leaf is None or not hasattr(leaf, "shape"):
            continue
        arr = leaf.detach().numpy() if hasattr(leaf, "detach") else np.asarray(leaf)
        if arr.dtype.kind == "f":
            vals.append(bool(np.isfinite(arr).all()))
    return all(vals) if vals else None


def kh_query_shape(model):
    for w in model.weights:
        path = getattr(w, "path", w.name)
        if ("query" in path or "q_proj" in path) and "kernel" in path and "vision" not in path:
            return list(w.shape)
    return None


def kh_evaluate(file_dict, feed_id=None, run_task=False, inputs=None):
    import keras

    res = {"builds": False, "runs": False, "error": None, "error_stage": None, "params": None}
    signal.alarm(120)
    try:
        try:
            model = keras.saving.deserialize_keras_object(copy.deepcopy(file_dict))
            res["builds"] = True
            res["params"] = int(model.count_params())
            res["query_weight_shape"] = kh_query_shape(
                model.backbone if hasattr(model, "backbone") else model
            )
        except Exception as exc:  # noqa: BLE001
            fail(res, exc, "build")
            return res
        try:
            net = model.backbone if run_task else model
            # The spec's inputs hook writes what the preprocessor would (images and the
            # indices of their tokens), where the generic batch cannot.
            make = inputs or kh_inputs
            batch = make(net)
            out = model(batch)
            res["runs"] = True
            res["output_finite"] = finite(out)
        except Exception as exc:  # noqa: BLE001
            fail(res, exc, "run")
            return res
        if feed_id is not None:
            try:
                model(make(net, feed_id))
                res["token_id_fails"] = False
            except Exception as exc:  # noqa: BLE001
                res["token_id_fails"] = True
                res["token_id_error"] = detail(exc)
    except Timeout as exc:
        res["error"], res["error_stage"] = first_line(exc), res["error_stage"] or "timeout"
    finally:
        signal.alarm(0)
    return res


def kh_family(family, spec, outdir):
    import keras
    import keras_hub

    cls = getattr(keras_hub.models, spec["cls"])
    # A backbone that nests other Keras objects (encoders) is built by the spec's hook.
    backbone = spec["build"](keras_hub) if spec.get("build") else cls(**spec["base"])
    original = keras.saving.serialize_keras_object(backbone)
    del backbone
    entries = []
    stem = family.replace("Backbone", "").lower()
    items = [(None, None, "original tiny config", {}, {})]
    items += make_edits(spec, original["config"], "keras_hub")
    for slug, kind, desc, patch, extra in items:
        d = copy.deepcopy(original)
        for k, v in patch.items():
            _set(d["config"], k, v)
        name = f"{stem}.json" if slug is None else f"{stem}__{slug}.json"
        (outdir / name).write_text(json.dumps(d, indent=2) + "\n")
        res = kh_evaluate(d, feed_id=extra.get("feed_id"), inputs=spec.get("inputs"))
        entry = {
            "file": f"configs/kerashub/{name}",
            "library": "keras_hub",
            "family": family,
            "edit": kind,
            "description": desc,
            "patch": patch,
            **res,
        }
        fl = floor_info(spec, d["config"])
        entry["silent_floor"] = bool(fl and res["runs"])
        if entry["silent_floor"]:
            entry["silent_floor_detail"] = {
                **fl,
                "query_weight_shape": res.get("query_weight_shape"),
            }
        if slug is None and res["builds"]:
            entry["geometry"] = geometry(spec, d["config"])
        entries.append(entry)
        print(family, slug, res["builds"], res["runs"], res["error"], flush=True)
    return entries


def kh_extras(outdir):
    """Task models holding a backbone, preset folders and a .keras archive."""
    import keras
    import keras_hub

    entries = []
    tasks = [
        ("gpt2_causal_lm", "GPT2CausalLM", "GPT2Backbone", KERAS_HUB["GPT2Backbone"]),
        ("llama_causal_lm", "LlamaCausalLM", "LlamaBackbone", KERAS_HUB["LlamaBackbone"]),
    ]
    for stem, task_name, family, spec in tasks:
        backbone = getattr(keras_hub.models, spec["cls"])(**spec["base"])
        task = getattr(keras_hub.models, task_name)(backbone=backbone, preprocessor=None)
        original = keras.saving.serialize_keras_object(task)
        n = spec["names"]
        for slug, kind, desc, patch in [
            (None, None, f"{task_name} with preprocessor=None, backbone nested", {}),
            (
                "backbone-heads-nondiv",
                "num-heads",
                f"backbone {n['heads']}=6 does not divide {n['width']}=64",
                {n["heads"]: 6},
            ),
            (
                "backbone-width-nondiv",
                "hidden-size",
                f"backbone {n['width']}=66 not a multiple of {n['heads']}=4",
                {n["width"]: 66},
            ),
        ]:
            d = copy.deepcopy(original)
            for k, v in patch.items():
                _set(d["config"]["backbone"]["config"], k, v)
            name = f"{stem}.json" if slug is None else f"{stem}__{slug}.json"
            (outdir / name).write_text(json.dumps(d, indent=2) + "\n")
            res = kh_evaluate(d, run_task=True)
            entry = {
                "file": f"configs/kerashub/{name}",
                "library": "keras_hub",
                "family": task_name,
                "backbone_family": family,
                "edit": kind,
                "description": desc,
                "patch": {f"backbone.config.{k}": v for k, v in patch.items()},
                **res,
            }
            fl = floor_info(spec, d["config"]["backbone"]["config"])
            entry["silent_floor"] = bool(fl and res["runs"])
            if entry["silent_floor"]:
                entry["silent_floor_detail"] = {
                    **fl,
                    "query_weight_shape": res.get("query_weight_shape"),
                }
            if slug is None and res["builds"]:
                entry["geometry"] = geometry(spec, d["config"]["backbone"]["config"])
            entries.append(entry)
            print(task_name, slug, res["builds"], res["runs"], res["error"], flush=True)

    presets = CONFIGS / "presets"
    for pname, family in [("llama_tiny", "LlamaBackbone"), ("bert_tiny", "BertBackbone")]:
        spec = KERAS_HUB[family]
        backbone = getattr(keras_hub.models, spec["cls"])(**spec["base"])
        with tempfile.TemporaryDirectory() as tmp:
            backbone.save_to_preset(tmp)
            dest = presets / pname
            dest.mkdir(parents=True, exist_ok=True)
            kept = []
            for f in sorted(os.listdir(tmp)):
                if f.endswith(".json") and "tokenizer" not in f:
                    shutil.copy(Path(tmp) / f, dest / f)
                    kept.append(f)
        cfg = json.loads((presets / pname / "config.json").read_text())
        res = kh_evaluate(cfg)
        entries.append(
            {
                "file": f"configs/presets/{pname}/config.json",
                "library": "keras_hub",
                "family": family,
                "edit": None,
                "description": f"preset folder from save_to_preset (kept {kept}; weights dropped)",
                "patch": {},
                **res,
                "silent_floor": False,
                "geometry": geometry(spec, cfg["config"]),
            }
        )

    tiny = {
        "vocabulary_size": 50,
        "num_layers": 2,
        "num_heads": 2,
        "hidden_dim": 16,
        "intermediate_dim": 32,
        "max_sequence_length": 16,
    }
    backbone = keras_hub.models.BertBackbone(**tiny)
    path = CONFIGS / "kerashub" / "bert_tiny.keras"
    backbone.save(path)
    size = path.stat().st_size
    if size >= 300_000:
        path.unlink()
    else:
        res = {"builds": False, "runs": False, "error": None, "error_stage": None}
        try:
            model = keras.saving.load_model(path)
            res.update(builds=True, params=int(model.count_params()))
            model(kh_inputs(model))
            res["runs"] = True
        except Exception as exc:  # noqa: BLE001
            res["error"] = first_line(exc)
        entries.append(
            {
                "file": "configs/kerashub/bert_tiny.keras",
                "library": "keras_hub",
                "family": "BertBackbone",
                "edit": None,
                "description": f".keras archive of a BertBackbone ({size} bytes: "
                "config.json, metadata.json, model.weights.h5 zipped)",
                "patch": {},
                **res,
                "silent_floor": False,
                "geometry": {
                    "hidden_width": 16,
                    "heads": 2,
                    "kv_heads": 2,
                    "head_size": 8,
                    "layers": 2,
                },
            }
        )
    return entries


# --------------------------------------------------------------------------------------------
# transformers worker
# --------------------------------------------------------------------------------------------


_WARN_SINK: list = []


class _Sink(logging.Handler):
    def emit(self, record):
        if _WARN_SINK and record.levelno >= logging.WARNING:
            line = record.getMessage().strip().splitlines()[0][:300]
            if line not in _WARN_SINK[0]:
                _WARN_SINK[0].append(line)


def hf_query_shape(model):
    keys = (
        "q_proj.weight",
        "query.weight",
        "q_lin.weight",
        "query_key_value.weight",
        "c_attn.weight",
        ".q.weight",
        "query_proj.weight",
        "qkv_proj.weight",
    )
    for name, p in model.named_parameters():
        if any(name.endswith(k) for k in keys) and "vision" not in name:
            return [name, list(p.shape)]
    return None


def hf_inputs(spec, config, feed_id=None):
    import torch

    mt = spec["model_type"]
    ids = (torch.arange(BATCH * SEQ).reshape(BATCH, SEQ) % (SAFE_ID - 1) + 1).long()
    if feed_id is not None:
        ids[0, 1] = feed_id
    if spec.get("inputs"):
        return spec["inputs"](config, ids)
    if mt == "vit":
        size = config.image_size if isinstance(config.image_size, int) else 32
        return {"pixel_values": torch.rand(BATCH, 3, size, size)}
    if mt == "whisper":
        frames = 2 * config.max_source_positions
        return {
            "input_features": torch.rand(BATCH, config.num_mel_bins, frames),
            "decoder_input_ids": ids,
        }
    if mt == "t5":
        return {"input_ids": ids, "decoder_input_ids": ids}
    if mt == "clip":
        return {"input_ids": ids, "pixel_values": torch.rand(BATCH, 3, 32, 32)}
    return {"input_ids": ids}


def hf_forward(spec, model, inputs):
    """One forward pass: ``model(**inputs)``, or the spec's ``forward(model, inputs)`` hook
    (a family whose forward needs more than its inputs, e.g. a known library bug)."""
    if spec.get("forward"):
        return spec["forward"](model, inputs)
    return model(**inputs)


def hf_evaluate(spec, d, feed_id=None):
    import torch
    from transformers import AutoModel
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    res = {
        "builds": False,
        "runs": False,
        "error": None,
        "error_stage": None,
        "params": None,
        "model_class": None,
    }
    res["warnings"] = captured = []
    _WARN_SINK[:] = [captured]
    signal.alarm(120)
    try:
        try:
            config = CONFIG_MAPPING[d["model_type"]].from_dict(copy.deepcopy(d))
        except Exception as exc:  # noqa: BLE001
            fail(res, exc, "config")
            return res
        try:
            torch.manual_seed(0)
            model = AutoModel.from_config(config)
            model.eval()
            res["builds"] = True
            res["model_class"] = type(model).__name__
            res["params"] = int(model.num_parameters())
            res["query_weight_shape"] = hf_query_shape(model)
        except Exception as exc:  # noqa: BLE001
            fail(res, exc, "build")
            return res
        try:
            with torch.no_grad():
                out = hf_forward(spec, model, hf_inputs(spec, config))
            res["runs"] = True
            res["output_finite"] = (
                None
                if out is None
                else finite(
                    {k: v for k, v in out.items() if hasattr(v, "shape")}
                    if hasattr(out, "items")
                    else out
                )
            )
        except Exception as exc:  # noqa: BLE001
            fail(res, exc, "run")
            return res
        if feed_id is not None:
            try:
                with torch.no_grad():
                    hf_forward(spec, model, hf_inputs(spec, config, feed_id))
                res["token_id_fails"] = False
            except Exception as exc:  # noqa: BLE001
                res["token_id_fails"] = True
                res["token_id_error"] = detail(exc)
    except Timeout as exc:
        res["error"], res["error_stage"] = first_line(exc), res["error_stage"] or "timeout"
    finally:
        signal.alarm(0)
    return res


def hf_original_dict(spec):
    from transformers import AutoConfig

    base = copy.deepcopy(spec["base"])
    mt = spec["model_type"]
    # Nested configs (text_config, vision_config, ...) are config objects of their own type.
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    for key, value in list(base.items()):
        if isinstance(value, dict) and isinstance(value.get("model_type"), str):
            value = dict(value)
            base[key] = CONFIG_MAPPING[value.pop("model_type")](**value)
    config = AutoConfig.for_model(mt, **base)
    return json.loads(config.to_json_string(use_diff=False))


def hf_family(family, spec, outdir):
    original = hf_original_dict(spec)
    entries = []
    stem = family.replace("-", "_")
    items = [(None, None, "original tiny config", {}, {})]
    items += make_edits(spec, original, "transformers")
    for slug, kind, desc, patch, extra in items:
        d = copy.deepcopy(original)
        for k, v in patch.items():
            _set(d, k, v)
        name = f"{stem}.json" if slug is None else f"{stem}__{slug}.json"
        (outdir / name).write_text(json.dumps(d, indent=2, sort_keys=True) + "\n")
        res = hf_evaluate(spec, d, feed_id=extra.get("feed_id"))
        entry = {
            "file": f"configs/hf/{name}",
            "library": "transformers",
            "family": family,
            "edit": kind,
            "description": desc,
            "patch": patch,
            **res,
        }
        fl = floor_info(spec, d)
        entry["silent_floor"] = bool(fl and res["runs"])
        if entry["silent_floor"]:
            entry["silent_floor_detail"] = {
                **fl,
                "query_weight_shape": res.get("query_weight_shape"),
            }
        if slug is None and res["builds"]:
            entry["geometry"] = geometry(spec, d)
        entries.append(entry)
        print(family, slug, res["builds"], res["runs"], res["error"], flush=True)
    return entries


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def versions():
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    for pkg in (
        "keras-hub",
        "keras",
        "tensorflow",
        "transformers",
        "torch",
        "numpy",
        "huggingface-hub",
    ):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            out[pkg] = None
    out["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    return out


def worker(library, family, cache_file):
    signal.signal(signal.SIGALRM, _alarm)
    if library == "keras_hub":
        outdir = CONFIGS / "kerashub"
        outdir.mkdir(parents=True, exist_ok=True)
        if family == "_extras":
            entries = kh_extras(outdir)
        else:
            entries = kh_family(family, KERAS_HUB[family], outdir)
    else:
        import transformers

        transformers.logging.get_logger("transformers").addHandler(_Sink())
        outdir = CONFIGS / "hf"
        outdir.mkdir(parents=True, exist_ok=True)
        entries = hf_family(family, TRANSFORMERS[family], outdir)
    Path(cache_file).write_text(json.dumps(entries, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="family names to (re)build")
    ap.add_argument("--fresh", action="store_true", help="ignore cached results")
    ap.add_argument("--cache", default="/tmp/hparams_corpus_cache")
    ap.add_argument(
        "--worker", nargs=3, metavar=("LIBRARY", "FAMILY", "OUT"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if args.worker:
        worker(*args.worker)
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [("keras_hub", f) for f in [*KERAS_HUB, "_extras"]]
    jobs += [("transformers", f) for f in TRANSFORMERS]
    # Families not rebuilt and not cached keep their entries from the committed manifest.
    committed = {}
    if (HERE / "manifest.json").exists():
        for e in json.loads((HERE / "manifest.json").read_text())["entries"]:
            extra = e["library"] == "keras_hub" and (
                e["family"] not in KERAS_HUB
                or not e["file"].startswith("configs/kerashub/")
                or e["file"].endswith(".keras")
            )
            key = "_extras" if extra else e["family"]
            committed.setdefault((e["library"], key), []).append(e)
    entries = []
    for library, family in jobs:
        out = cache / f"{library}__{family}.json"
        selected = not args.only or family in args.only
        if not out.exists() and (library, family) in committed and not selected:
            out.write_text(json.dumps(committed[(library, family)], indent=1))
        if selected and (args.fresh or args.only or not out.exists()):
            print(f"== {library} {family}", flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", library, family, str(out)], check=False
            )
            if proc.returncode != 0:
                print(f"!! worker failed for {family} ({proc.returncode})", flush=True)
                continue
        if out.exists():
            entries.extend(json.loads(out.read_text()))
    manifest = {
        "generated_by": "tests/hparams_corpus/generate.py",
        "versions": versions(),
        "hf_config_serialization": "config.to_json_string(use_diff=False), i.e. to_dict()",
        "kerashub_build": "keras.saving.deserialize_keras_object(file)",
        "hf_build": "CONFIG_MAPPING[model_type].from_dict(file) then AutoModel.from_config",
        "entries": entries,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_outcomes(entries)
    print(f"{len(entries)} entries", flush=True)


def outcome(e):
    if e["runs"]:
        out = "runs"
        if e.get("silent_floor"):
            d = e["silent_floor_detail"]
            out += f" (floor {d['width']}/{d['heads']}->{d['head_size']})"
        if e.get("token_id_fails") is not None:
            out += "; id fails" if e["token_id_fails"] else "; id runs"
        return out
    return f"{e['error_stage']}: {e['error']}".replace("|", "/")[:140]


def write_outcomes(entries):
    """Rewrite the observed-outcome tables between the markers in FAMILIES.md."""
    path = HERE / "FAMILIES.md"
    if not path.exists():
        return
    text = path.read_text()
    start, end = "<!-- outcomes:start -->", "<!-- outcomes:end -->"
    if start not in text or end not in text:
        return
    lines = [
        "",
        "Generated by generate.py from manifest.json; `id fails`: a second batch holding the",
        "out-of-range id raised (`token_id_fails`).",
        "",
    ]
    families = {}
    for e in entries:
        families.setdefault((e["library"], e["family"]), []).append(e)
    for (library, family), group in families.items():
        lines += [
            f"#### {library} {family}",
            "",
            "| file | edit | outcome |",
            "| --- | --- | --- |",
        ]
        for e in group:
            name = e["file"].split("/")[-1]
            lines.append(f"| {name} | {e['edit'] or 'original'} | {outcome(e)} |")
        lines.append("")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)

"""kmha-lint on multimodal transformers configs (the ``multimodal`` family group): counts of
published configs as transformers 5.24.0 counts them (``AutoModel.from_config`` on the meta
device, ``num_parameters()``), hub files in their older flat spellings, and the checks that
join a container's text and vision configs.

The configs are the published ``config.json`` files, trimmed to the keys that matter; the
expected counts were taken from transformers itself. Where a container's text model belongs
to another group (gemma3_text, llama4_text), the test counts what this group adds: every
unit but the text config, which equals transformers' total minus its text model's.
"""

from __future__ import annotations

import copy

import pytest
from kmha_lint import hparams
from kmha_lint.hparams import huggingface

QWEN2_VL_7B = {  # flat: the text keys at the top level, vision_config without model_type
    "model_type": "qwen2_vl",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 32768,
    "vocab_size": 152064,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "sliding_window": 32768,
    "use_sliding_window": False,
    "tie_word_embeddings": False,
    "vision_config": {
        "depth": 32,
        "embed_dim": 1280,
        "mlp_ratio": 4,
        "num_heads": 16,
        "in_chans": 3,
        "hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    },
}
QWEN25_VL_3B = {
    "model_type": "qwen2_5_vl",
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_attention_heads": 16,
    "num_hidden_layers": 36,
    "num_key_value_heads": 2,
    "max_position_embeddings": 128000,
    "vocab_size": 151936,
    "image_token_id": 151655,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True,
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "temporal_patch_size": 2,
    },
}
MISTRAL_SMALL_31 = {
    "model_type": "mistral3",
    "image_token_index": 10,
    "multimodal_projector_bias": False,
    "spatial_merge_size": 2,
    "vision_feature_layer": -1,
    "text_config": {
        "model_type": "mistral",
        "head_dim": 128,
        "hidden_size": 5120,
        "intermediate_size": 32768,
        "max_position_embeddings": 131072,
        "num_attention_heads": 32,
        "num_hidden_layers": 40,
        "num_key_value_heads": 8,
        "sliding_window": None,
        "vocab_size": 131072,
    },
    "vision_config": {
        "model_type": "pixtral",
        "head_dim": 64,
        "hidden_size": 1024,
        "image_size": 1540,
        "intermediate_size": 4096,
        "num_attention_heads": 16,
        "num_hidden_layers": 24,
        "patch_size": 14,
    },
}
PALIGEMMA_3B = {
    "model_type": "paligemma",
    "image_token_index": 257152,
    "projection_dim": 2048,
    "hidden_size": 2048,
    "vocab_size": 257216,
    "text_config": {
        "model_type": "gemma",
        "hidden_size": 2048,
        "intermediate_size": 16384,
        "num_attention_heads": 8,
        "num_hidden_layers": 18,
        "num_key_value_heads": 1,
        "vocab_size": 257216,
    },
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
        "vision_use_head": False,
    },
}
SIGLIP_BASE = {
    "model_type": "siglip",
    "text_config": {
        "model_type": "siglip_text_model",
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "vocab_size": 32000,
    },
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": 768,
        "image_size": 224,
        "intermediate_size": 3072,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "patch_size": 16,
    },
}
IDEFICS3_8B = {  # vision_config written with the container's model_type
    "model_type": "idefics3",
    "image_token_id": 128257,
    "scale_factor": 2,
    "text_config": {
        "model_type": "llama",
        "head_dim": 128,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "pad_token_id": 128002,
        "vocab_size": 128259,
    },
    "vision_config": {
        "model_type": "idefics3",
        "hidden_size": 1152,
        "image_size": 364,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
    },
}
LLAVA_NEXT_MISTRAL_7B = {
    "model_type": "llava_next",
    "image_token_index": 32000,
    "text_config": {
        "model_type": "mistral",
        "intermediate_size": 14336,
        "max_position_embeddings": 32768,
        "num_key_value_heads": 8,
        "sliding_window": None,
        "vocab_size": 32064,
    },
    "vision_config": {
        "model_type": "clip_vision_model",
        "hidden_size": 1024,
        "image_size": 336,
        "intermediate_size": 4096,
        "num_attention_heads": 16,
        "num_hidden_layers": 24,
        "patch_size": 14,
        "projection_dim": 768,
    },
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
}
GEMMA3_4B = {
    "model_type": "gemma3",
    "mm_tokens_per_image": 256,
    "image_token_index": 262144,
    "text_config": {
        "model_type": "gemma3_text",
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "num_hidden_layers": 34,
        "sliding_window": 1024,
    },
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": 1152,
        "image_size": 896,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
        "vision_use_head": False,
    },
}
LLAMA4_SCOUT = {
    "model_type": "llama4",
    "image_token_index": 200092,
    "tie_word_embeddings": False,
    "text_config": {
        "model_type": "llama4_text",
        "head_dim": 128,
        "hidden_size": 5120,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 16384,
        "num_attention_heads": 40,
        "num_hidden_layers": 48,
        "num_key_value_heads": 8,
        "num_local_experts": 16,
        "vocab_size": 202048,
    },
    "vision_config": {
        "model_type": "llama4_vision_model",
        "hidden_size": 1408,
        "image_size": 336,
        "intermediate_size": 5632,
        "num_attention_heads": 16,
        "num_hidden_layers": 34,
        "patch_size": 14,
        "pixel_shuffle_ratio": 0.5,
        "projector_input_dim": 4096,
        "projector_output_dim": 4096,
        "vision_output_dim": 4096,
    },
}


# Devstral-Small-2: Mistral 3 with a ministral3 text config (published with transformers 5).
DEVSTRAL_SMALL_2 = {
    **MISTRAL_SMALL_31,
    "text_config": {
        **MISTRAL_SMALL_31["text_config"],
        "model_type": "ministral3",
        "max_position_embeddings": 393216,
        "rope_parameters": {
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "factor": 48.0,
            "llama_4_scaling_beta": 0.1,
            "mscale": 1.0,
            "mscale_all_dim": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_theta": 100000000.0,
            "rope_type": "yarn",
            "type": "yarn",
        },
    },
}


VOXTRAL_MINI_3B = {
    "model_type": "voxtral",
    "audio_token_id": 24,
    "hidden_size": 3072,
    "vocab_size": 131072,
    "audio_config": {
        "model_type": "voxtral_encoder",
        "head_dim": 64,
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "max_source_positions": 1500,
        "num_attention_heads": 20,
        "num_hidden_layers": 32,
        "num_key_value_heads": 20,
        "num_mel_bins": 128,
        "vocab_size": 51866,
    },
    "text_config": {
        "model_type": "llama",
        "head_dim": 128,
        "hidden_size": 3072,
        "intermediate_size": 8192,
        "max_position_embeddings": 131072,
        "num_attention_heads": 32,
        "num_hidden_layers": 30,
        "num_key_value_heads": 8,
        "vocab_size": 131072,
    },
}


LLAVA_15_7B = {  # the text_config leaves Llama's defaults out (4096 wide, 32 layers)
    "model_type": "llava",
    "image_token_index": 32000,
    "pad_token_id": 32001,
    "text_config": {"model_type": "llama", "max_position_embeddings": 4096, "vocab_size": 32064},
    "vision_config": {
        "model_type": "clip_vision_model",
        "hidden_size": 1024,
        "image_size": 336,
        "intermediate_size": 4096,
        "num_attention_heads": 16,
        "num_hidden_layers": 24,
        "patch_size": 14,
        "projection_dim": 768,
    },
    "vision_feature_layer": -2,
}


LFM2_TEXT_12B = {  # LFM2-1.2B (hub spelling: block_ff_dim, full_attn_idxs)
    "model_type": "lfm2",
    "block_auto_adjust_ff_dim": True,
    "block_ff_dim": 12288,
    "block_ffn_dim_multiplier": 1.0,
    "block_multiple_of": 256,
    "conv_L_cache": 3,
    "conv_bias": False,
    "full_attn_idxs": [2, 5, 8, 10, 12, 14],
    "hidden_size": 2048,
    "max_position_embeddings": 128000,
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "pad_token_id": 0,
    "vocab_size": 65536,
}
LFM25_VL_16B = {
    "model_type": "lfm2_vl",
    "downsample_factor": 2,
    "image_token_id": 396,
    "projector_bias": True,
    "projector_hidden_size": 2048,
    "projector_use_layernorm": False,
    "text_config": {
        **{k: v for k, v in LFM2_TEXT_12B.items() if k not in ("block_ff_dim", "full_attn_idxs")},
        "intermediate_size": 12288,
        "layer_types": ["conv", "conv", "full_attention"] * 2
        + ["conv", "conv", "full_attention", "conv"]
        + ["full_attention", "conv"] * 3,
    },
    "vision_config": {
        "model_type": "siglip2_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "num_patches": 256,
        "patch_size": 16,
        "vision_use_head": False,
    },
}


def _counts(config: dict) -> dict[str, int | None]:
    return {
        unit.pointer: unit.family.params(unit.values) if unit.family.params else None
        for unit in hparams.units(config)
    }


def _errors(config: dict) -> list[str]:
    return [
        f"{issue.rule.code} {issue.pointer}"
        for issue in hparams.check(config)
        if issue.rule.severity == "error"
    ]


def _edit(config: dict, path: str, value: object) -> dict:
    edited = copy.deepcopy(config)
    node = edited
    *parents, last = path.split("/")
    for part in parents:
        node = node[part]
    node[last] = value
    return edited


@pytest.mark.parametrize(
    "config, expected",
    [
        (QWEN2_VL_7B, 7_746_378_240),
        (QWEN25_VL_3B, 3_754_622_976),
        (MISTRAL_SMALL_31, 23_340_272_640),
        (DEVSTRAL_SMALL_2, 23_340_272_640),
        (PALIGEMMA_3B, 2_923_466_480),
        (SIGLIP_BASE, 203_155_970),
        (IDEFICS3_8B, 7_936_737_520),
        (LLAVA_NEXT_MISTRAL_7B, 7_435_413_504),
        (VOXTRAL_MINI_3B, 4_273_617_920),
        (LLAVA_15_7B, 6_932_092_928),
        (LFM2_TEXT_12B, 1_170_340_608),
        (LFM25_VL_16B, 1_596_625_904),
    ],
)
def test_published_multimodal_configs_are_clean_and_counted(config, expected):
    assert _errors(config) == []
    counts = _counts(config)
    assert None not in counts.values(), counts
    assert sum(counts.values()) == expected


@pytest.mark.parametrize(
    "config, total, text_model",
    [
        (GEMMA3_4B, 4_300_079_472, 3_880_263_168),  # Gemma3TextModel
        (LLAMA4_SCOUT, 108_641_793_536, 106_735_375_360),  # Llama4TextModel
    ],
)
def test_containers_count_all_but_their_text_model(config, total, text_model):
    counts = _counts(config)
    rest = {pointer: n for pointer, n in counts.items() if pointer != "/text_config"}
    assert None not in rest.values(), rest
    assert sum(rest.values()) == total - text_model


@pytest.mark.parametrize(
    "model_type, expected",
    [
        ("siglip", 203_155_970),
        ("siglip2", 203_202_050),
        ("siglip_vision_model", 92_884_224),
        ("siglip2_vision_model", 92_930_304),
        ("paligemma", 2_910_390_528),  # the sub-configs' init_kwargs
        ("qwen2_vl", 72_136_254_464),
        ("qwen2_5_vl", 74_543_520_512),
        ("mistral3", 23_340_272_640),  # the sub-configs' init_kwargs
        ("pixtral", 403_489_792),
        ("llava_next", 6_931_834_880),  # the vision config's init_kwargs
        ("idefics3", 6_778_613_760),
        ("phi4_multimodal", 4_693_672_384),
        ("ministral3", 7_952_683_008),
        ("llava", 6_931_830_784),  # the vision config's init_kwargs
        ("voxtral", 4_273_617_920),  # the text config's init_kwargs
        ("lfm2", 2_705_497_600),
        ("lfm2_vl", 2_812_857_088),
        ("blip", 224_726_017),
    ],
)
def test_a_config_of_defaults_counts_as_the_config_class_builds_it(model_type, expected):
    """Only a model_type: every size is the configuration class's default (and a container's
    absent sub-config is built from its own defaults, not the sub-family's)."""
    assert sum(_counts({"model_type": model_type}).values()) == expected


@pytest.mark.parametrize(
    "model_type, pointer",
    [
        ("llama4", ""),  # vision_output_dim 7680 against projector_output_dim 4096
        ("idefics3", ""),  # a 7x7 grid (224 // 32) regrouped by 2
        ("qwen2_vl", ""),  # a merger of 3584 for a text width of 8192
        ("gemma3", ""),  # 16 tokens a side for a 14x14 grid
    ],
)
def test_library_defaults_that_disagree_are_a_warning_where_the_config_is_absent(
    model_type, pointer
):
    """These containers' defaults disagree with their vision config class's defaults: a file
    without a vision_config builds, and only its image path fails (a warning); the same sizes
    written in a vision_config are an error. (Defaults point at the config object.)"""
    issues = hparams.check({"model_type": model_type})
    assert not [i for i in issues if i.rule.severity == "error"]
    assert ("KMHA403", pointer) in {(i.rule.code, i.pointer) for i in issues}


def test_voxtral_merges_its_text_defaults_under_a_written_text_config():
    """VoxtralConfig reads ``{**init_kwargs, **text_config}``: a text_config of one key is
    Voxtral-Mini's text model, not Llama's defaults."""
    partial = {**VOXTRAL_MINI_3B, "text_config": {"model_type": "llama", "hidden_size": 3072}}
    assert sum(_counts(partial).values()) == 4_273_617_920
    assert _errors({**VOXTRAL_MINI_3B, "audio_token_id": None}) == ["KMHA402 /audio_token_id"]


def test_flat_hub_files_are_read_as_the_nested_ones():
    """A flat Qwen2-VL file counts as its nested spelling, and its top-level text keys are
    checked with the text family (a head count that does not divide the width)."""
    nested = {
        key: value
        for key, value in QWEN2_VL_7B.items()
        if key in ("model_type", "image_token_id", "vision_config")
    }
    nested["text_config"] = {
        "model_type": "qwen2_vl_text",
        **{k: v for k, v in QWEN2_VL_7B.items() if k not in nested},
    }
    nested["vision_config"] = {**QWEN2_VL_7B["vision_config"], "model_type": "qwen2_vl_vision"}
    assert sum(_counts(nested).values()) == sum(_counts(QWEN2_VL_7B).values())
    assert _errors(_edit(QWEN2_VL_7B, "num_attention_heads", 24)) == [
        "KMHA404 /num_attention_heads"
    ]


def test_container_model_type_in_vision_config_is_the_vision_tower():
    renamed = _edit(QWEN25_VL_3B, "vision_config/model_type", "qwen2_5_vl")
    (_, vision) = hparams.units(renamed)
    assert vision.family.name == "qwen2_5_vl_vision"
    assert sum(_counts(renamed).values()) == sum(_counts(QWEN25_VL_3B).values())
    (_, _, tower) = hparams.units(IDEFICS3_8B)
    assert tower.family.name == "idefics3_vision"


@pytest.mark.parametrize(
    "config, path, value, pointer",
    [
        # M-RoPE sections must add up to half a head (128 / 2 = 64).
        (
            QWEN2_VL_7B,
            "rope_scaling",
            {"mrope_section": [16, 24, 16]},
            "/rope_scaling/mrope_section",
        ),
        # Qwen2.5-VL windows: 28 // 2 // 14 = 1; 27 // 2 // 14 = 0 merged patches (checked
        # although this vision_config has no model_type).
        (QWEN25_VL_3B, "vision_config/window_size", 27, "/vision_config/window_size"),
        # The merger writes the text width.
        (QWEN25_VL_3B, "vision_config/out_hidden_size", 3584, "/vision_config/out_hidden_size"),
        # Gemma 3: 64x64 patches pooled to 16x16 = 256 tokens; 196 is 14x14.
        (GEMMA3_4B, "mm_tokens_per_image", 196, "/mm_tokens_per_image"),
        # PaliGemma's projector writes projection_dim features in place of text embeddings.
        (PALIGEMMA_3B, "projection_dim", 1024, "/projection_dim"),
        # Pixtral's rotary table follows the written head_dim, the attention the width.
        (MISTRAL_SMALL_31, "vision_config/num_attention_heads", 8, "/vision_config/head_dim"),
        # Mistral 3 normalises one layer's width before the merger.
        (MISTRAL_SMALL_31, "vision_feature_layer", [-1, -2], "/vision_feature_layer"),
        # Idefics3 regroups the 26x26 grid in 3x3 blocks.
        (IDEFICS3_8B, "scale_factor", 3, "/scale_factor"),
        # SigLIP compares a 768-wide text embedding with a 1024-wide image embedding.
        (SIGLIP_BASE, "vision_config/hidden_size", 1024, "/text_config/hidden_size"),
        # Llama 4's adapter: 1408 / 0.5^2 = 5632 features into its first Linear.
        (LLAMA4_SCOUT, "vision_config/intermediate_size", 4096, "/vision_config/intermediate_size"),
        # An image token id outside the text vocabulary fails where it is embedded as is.
        (LLAVA_NEXT_MISTRAL_7B, "image_token_index", 32064, "/image_token_index"),
    ],
)
def test_cross_config_errors_point_at_the_key(config, path, value, pointer):
    assert _errors(config) == []
    errors = _errors(_edit(config, path, value))
    assert any(error.endswith(" " + pointer) for error in errors), errors


def test_image_token_outside_the_vocabulary_is_a_warning_where_it_is_swapped():
    """Gemma 3 and PaliGemma swap image placeholders at or above the vocabulary for 0."""
    edited = _edit(PALIGEMMA_3B, "image_token_index", 300000)
    codes = {(i.rule.code, i.rule.severity, i.pointer) for i in hparams.check(edited)}
    assert ("KMHA408", "warning", "/image_token_index") in codes
    assert _errors(edited) == []
    assert _errors(_edit(PALIGEMMA_3B, "image_token_index", -1)) == ["KMHA402 /image_token_index"]


def test_every_family_of_the_group_is_counted():
    from kmha_lint.hparams.families import multimodal

    names = {family.name for family in multimodal.FAMILIES}
    assert {
        "siglip",
        "siglip_vision_model",
        "siglip_text_model",
        "siglip2",
        "gemma3",
        "paligemma",
        "qwen2_vl",
        "qwen2_5_vl",
        "mistral3",
        "pixtral",
        "llava_next",
        "idefics3",
        "llama4",
        "phi4_multimodal",
        "ministral3",
        "voxtral",
        "voxtral_encoder",
        "lfm2",
        "lfm2_vl",
        "blip",
        "blip_text_model",
        "blip_vision_model",
        "PaliGemmaBackbone",
        "SigLIPBackbone",
    } <= names
    assert all(family.params is not None for family in multimodal.FAMILIES)
    assert all(huggingface.FAMILIES.get(f.name, f) is f for f in multimodal.FAMILIES)

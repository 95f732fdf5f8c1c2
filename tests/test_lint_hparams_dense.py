"""The dense group's families (lint/hparams/families/dense.py): hub-shaped config.json files
(the keys and legacy spellings published files carry: rope_theta, rope_scaling,
partial_rotary_factor at the top level, sliding_window_pattern) are clean and counted as
transformers 5.24.0 counts them (AutoModel.from_config(config).num_parameters(), the base
model, on the meta device), and each family-specific check points at the argument.

tests/test_lint_hparams_agreement.py checks the same families against the generated corpus.
"""

from __future__ import annotations

import copy

import pytest
from kmha_lint import hparams
from kmha_lint.hparams import huggingface, kerashub

HUB = {
    "gemma-3-1b": (
        {
            "architectures": ["Gemma3ForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "attn_logit_softcapping": None,
            "bos_token_id": 2,
            "cache_implementation": "hybrid",
            "eos_token_id": [1, 106],
            "final_logit_softcapping": None,
            "head_dim": 256,
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": 1152,
            "initializer_range": 0.02,
            "intermediate_size": 6912,
            "max_position_embeddings": 32768,
            "model_type": "gemma3_text",
            "num_attention_heads": 4,
            "num_hidden_layers": 26,
            "num_key_value_heads": 1,
            "pad_token_id": 0,
            "query_pre_attn_scalar": 256,
            "rms_norm_eps": 1e-06,
            "rope_local_base_freq": 10000,
            "rope_scaling": None,
            "rope_theta": 1000000,
            "sliding_window": 512,
            "sliding_window_pattern": 6,
            "torch_dtype": "bfloat16",
            "transformers_version": "4.50.0.dev0",
            "use_cache": True,
            "vocab_size": 262144,
        },
        999885952,
    ),
    "phi-2": (
        {
            "architectures": ["PhiForCausalLM"],
            "attention_dropout": 0.0,
            "bos_token_id": 50256,
            "embd_pdrop": 0.0,
            "eos_token_id": 50256,
            "hidden_act": "gelu_new",
            "hidden_size": 2560,
            "initializer_range": 0.02,
            "intermediate_size": 10240,
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 2048,
            "model_type": "phi",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 32,
            "partial_rotary_factor": 0.4,
            "qk_layernorm": False,
            "resid_pdrop": 0.1,
            "rope_scaling": None,
            "rope_theta": 10000.0,
            "tie_word_embeddings": False,
            "torch_dtype": "float16",
            "use_cache": True,
            "vocab_size": 51200,
        },
        2648560640,
    ),
    "olmo-1b-hf": (
        {
            "attention_bias": False,
            "attention_dropout": 0.0,
            "clip_qkv": None,
            "eos_token_id": 50279,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "max_position_embeddings": 2048,
            "model_type": "olmo",
            "num_attention_heads": 16,
            "num_hidden_layers": 16,
            "num_key_value_heads": 16,
            "pad_token_id": 1,
            "rope_scaling": None,
            "rope_theta": 10000.0,
            "tie_word_embeddings": True,
            "vocab_size": 50304,
        },
        1176764416,
    ),
    "olmo-2-1b": (
        {
            "attention_bias": False,
            "attention_dropout": 0.0,
            "eos_token_id": 100257,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "max_position_embeddings": 4096,
            "model_type": "olmo2",
            "num_attention_heads": 16,
            "num_hidden_layers": 16,
            "num_key_value_heads": 16,
            "pad_token_id": 100277,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 500000,
            "tie_word_embeddings": False,
            "vocab_size": 100352,
        },
        1279395840,
    ),
    "olmo-3-7b": (
        {
            "attention_bias": False,
            "eos_token_id": 100257,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "layer_types": [
                "sliding_attention",
                "sliding_attention",
                "sliding_attention",
                "full_attention",
            ]
            * 8,
            "max_position_embeddings": 65536,
            "model_type": "olmo3",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 32,
            "pad_token_id": 100277,
            "rms_norm_eps": 1e-06,
            "rope_scaling": {
                "attention_factor": 1.2079441541679836,
                "beta_fast": 32,
                "beta_slow": 1,
                "factor": 8.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "yarn",
            },
            "rope_theta": 500000,
            "sliding_window": 4096,
            "vocab_size": 100278,
        },
        6887272448,
    ),
    "granite-3.0-2b": (
        {
            "attention_bias": False,
            "attention_dropout": 0.1,
            "attention_multiplier": 0.015625,
            "bos_token_id": 0,
            "embedding_multiplier": 12.0,
            "eos_token_id": 0,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "logits_scaling": 8.0,
            "max_position_embeddings": 4096,
            "mlp_bias": False,
            "model_type": "granite",
            "num_attention_heads": 32,
            "num_hidden_layers": 40,
            "num_key_value_heads": 8,
            "pad_token_id": 0,
            "residual_multiplier": 0.22,
            "rms_norm_eps": 1e-05,
            "rope_scaling": None,
            "rope_theta": 10000.0,
            "tie_word_embeddings": True,
            "vocab_size": 49155,
        },
        2533531648,
    ),
    "smollm3-3b": (
        {
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": None,
            "eos_token_id": 128012,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 11008,
            "max_position_embeddings": 65536,
            "max_window_layers": 28,
            "mlp_bias": False,
            "model_type": "smollm3",
            "no_rope_layer_interval": 4,
            "no_rope_layers": [1, 1, 1, 0] * 9,
            "num_attention_heads": 16,
            "num_hidden_layers": 36,
            "num_key_value_heads": 4,
            "pad_token_id": 128004,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 5000000.0,
            "sliding_window": None,
            "tie_word_embeddings": True,
            "use_sliding_window": False,
            "vocab_size": 128256,
        },
        3075098624,
    ),
    "stablelm-2-1_6b": (
        {
            "bos_token_id": 100257,
            "eos_token_id": 100257,
            "hidden_act": "silu",
            "hidden_dropout": 0.0,
            "hidden_size": 2048,
            "initializer_range": 0.02,
            "intermediate_size": 5632,
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 4096,
            "model_type": "stablelm",
            "num_attention_heads": 32,
            "num_hidden_layers": 24,
            "num_key_value_heads": 32,
            "partial_rotary_factor": 0.25,
            "qk_layernorm": False,
            "rope_scaling": None,
            "rope_theta": 10000,
            "tie_word_embeddings": False,
            "use_cache": True,
            "use_parallel_residual": False,
            "use_qkv_bias": True,
            "vocab_size": 100352,
        },
        1438994432,
    ),
    "stablelm-2-12b": (
        {
            "bos_token_id": 100257,
            "eos_token_id": 100257,
            "hidden_size": 5120,
            "intermediate_size": 13824,
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 4096,
            "model_type": "stablelm",
            "num_attention_heads": 32,
            "num_hidden_layers": 40,
            "num_key_value_heads": 8,
            "partial_rotary_factor": 0.25,
            "qk_layernorm": True,
            "rope_theta": 10000,
            "use_parallel_residual": True,
            "use_qkv_bias": False,
            "vocab_size": 100352,
        },
        11629383680,
    ),
    "starcoder2-3b": (
        {
            "attention_dropout": 0.1,
            "bos_token_id": 0,
            "embedding_dropout": 0.1,
            "eos_token_id": 0,
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_size": 3072,
            "intermediate_size": 12288,
            "max_position_embeddings": 16384,
            "model_type": "starcoder2",
            "norm_epsilon": 1e-05,
            "num_attention_heads": 24,
            "num_hidden_layers": 30,
            "num_key_value_heads": 2,
            "residual_dropout": 0.1,
            "rope_theta": 999999.4420358813,
            "sliding_window": 4096,
            "use_bias": True,
            "use_cache": True,
            "vocab_size": 49152,
        },
        3030371328,
    ),
    "command-r": (
        {
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": 5,
            "eos_token_id": 255001,
            "hidden_act": "silu",
            "hidden_size": 8192,
            "intermediate_size": 22528,
            "layer_norm_eps": 1e-05,
            "logit_scale": 0.0625,
            "max_position_embeddings": 8192,
            "model_type": "cohere",
            "num_attention_heads": 64,
            "num_hidden_layers": 40,
            "num_key_value_heads": 64,
            "pad_token_id": 0,
            "rope_theta": 8000000.0,
            "use_qk_norm": False,
            "vocab_size": 256000,
        },
        34980831232,
    ),
    "command-r-plus": (
        {
            "hidden_size": 12288,
            "intermediate_size": 33792,
            "logit_scale": 0.8333333333333334,
            "model_type": "cohere",
            "num_attention_heads": 96,
            "num_hidden_layers": 64,
            "num_key_value_heads": 8,
            "rope_theta": 75000000.0,
            "use_qk_norm": True,
            "vocab_size": 256000,
        },
        103810674688,
    ),
    "command-r7b": (
        {
            "attention_bias": False,
            "bos_token_id": 5,
            "eos_token_id": 255001,
            "head_dim": 128,
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "layer_norm_eps": 1e-05,
            "logit_scale": 0.25,
            "max_position_embeddings": 8192,
            "model_type": "cohere2",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "num_key_value_heads": 8,
            "order_of_interleaved_layers": "local_attn_first",
            "pad_token_id": 0,
            "rope_theta": 50000,
            "sliding_window": 4096,
            "sliding_window_pattern": 4,
            "use_cache": True,
            "vocab_size": 256000,
        },
        8028033024,
    ),
    "gpt-j-6b": (
        {
            "activation_function": "gelu_new",
            "attn_pdrop": 0.0,
            "bos_token_id": 50256,
            "embd_pdrop": 0.0,
            "eos_token_id": 50256,
            "gradient_checkpointing": False,
            "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05,
            "model_type": "gptj",
            "n_embd": 4096,
            "n_head": 16,
            "n_inner": None,
            "n_layer": 28,
            "n_positions": 2048,
            "resid_pdrop": 0.0,
            "rotary": True,
            "rotary_dim": 64,
            "scale_attn_weights": True,
            "tie_word_embeddings": False,
            "vocab_size": 50400,
        },
        5844393984,
    ),
    "codegen-350M": (
        {
            "activation_function": "gelu_new",
            "attn_pdrop": 0.0,
            "bos_token_id": 1,
            "embd_pdrop": 0.0,
            "eos_token_id": 50256,
            "model_type": "codegen",
            "n_ctx": 2048,
            "n_embd": 1024,
            "n_head": 16,
            "n_inner": None,
            "n_layer": 20,
            "n_positions": 2048,
            "resid_pdrop": 0.0,
            "rotary_dim": 32,
            "tie_word_embeddings": False,
            "vocab_size": 51200,
        },
        304232448,
    ),
    "mpt-7b": (
        {
            "attn_config": {
                "alibi": True,
                "alibi_bias_max": 8,
                "attn_impl": "torch",
                "attn_pdrop": 0,
                "attn_type": "multihead_attention",
                "attn_uses_sequence_id": False,
                "clip_qkv": None,
                "prefix_lm": False,
                "qk_ln": False,
                "softmax_scale": None,
            },
            "d_model": 4096,
            "emb_pdrop": 0,
            "embedding_fraction": 1.0,
            "expansion_ratio": 4,
            "init_device": "cpu",
            "learned_pos_emb": True,
            "logit_scale": None,
            "max_seq_len": 2048,
            "model_type": "mpt",
            "n_heads": 32,
            "n_layers": 32,
            "no_bias": True,
            "norm_type": "low_precision_layernorm",
            "resid_pdrop": 0,
            "tokenizer_name": "EleutherAI/gpt-neox-20b",
            "use_cache": False,
            "verbose": 0,
            "vocab_size": 50432,
        },
        6649286656,
    ),
    "exaone-4-1.2b": (
        {
            "attention_dropout": 0.0,
            "bos_token_id": 1,
            "eos_token_id": 361,
            "head_dim": 64,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 4096,
            "layer_types": ["full_attention"] * 30,
            "max_position_embeddings": 65536,
            "model_type": "exaone4",
            "num_attention_heads": 32,
            "num_hidden_layers": 30,
            "num_key_value_heads": 8,
            "pad_token_id": 0,
            "rms_norm_eps": 1e-05,
            "rope_scaling": {
                "factor": 16.0,
                "high_freq_factor": 4.0,
                "low_freq_factor": 1.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3",
            },
            "rope_theta": 1000000,
            "sliding_window": None,
            "sliding_window_pattern": None,
            "tie_word_embeddings": True,
            "vocab_size": 102400,
        },
        1279391488,
    ),
    "exaone-4-32b": (
        {
            "head_dim": 128,
            "hidden_size": 5120,
            "intermediate_size": 27392,
            "layer_types": [
                "sliding_attention",
                "sliding_attention",
                "sliding_attention",
                "full_attention",
            ]
            * 16,
            "max_position_embeddings": 131072,
            "model_type": "exaone4",
            "num_attention_heads": 40,
            "num_hidden_layers": 64,
            "num_key_value_heads": 8,
            "rope_theta": 1000000,
            "sliding_window": 4096,
            "sliding_window_pattern": "LLLG",
            "vocab_size": 102400,
        },
        31478928384,
    ),
}


def _found(document: object) -> list[tuple[str, str]]:
    return sorted((issue.code, issue.pointer) for issue in hparams.check(document))


def _count(document: dict) -> int | None:
    (unit,) = hparams.units(document)
    return unit.family.params(unit.values)


def test_the_dense_families_are_modelled_with_a_count():
    transformers = {
        "gemma3_text",
        "phi",
        "olmo",
        "olmo2",
        "olmo3",
        "granite",
        "smollm3",
        "stablelm",
        "starcoder2",
        "cohere",
        "cohere2",
        "exaone4",
        "gptj",
        "codegen",
        "mpt",
    }
    for name in transformers:
        family = huggingface.FAMILIES[name]
        assert family.modelled and family.params is not None, name
    for name in ("Llama3Backbone", "SmolLM3Backbone"):
        family = kerashub.FAMILIES[name]
        assert family.modelled and family.params is not None, name


@pytest.mark.parametrize("name", sorted(HUB))
def test_hub_configs_are_clean_and_counted(name):
    config, expected = HUB[name]
    assert _found(config) == []
    assert _count(config) == expected


def _tiny(model_type: str, **changes) -> dict:
    config = {
        "model_type": model_type,
        "vocab_size": 200,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
    }
    config.update(changes)
    return {k: v for k, v in config.items() if v is not ...}


def test_layer_types_must_name_one_known_kind_per_layer():
    two = ["sliding_attention", "full_attention"]
    assert _found(_tiny("olmo3", layer_types=two)) == []
    assert _found(_tiny("olmo3", layer_types=[*two, "full_attention"])) == [
        ("KMHA402", "/layer_types")
    ]
    assert _found(_tiny("cohere2", layer_types=["local_attention", "full_attention"])) == [
        ("KMHA402", "/layer_types")
    ]
    # A layer count the written list does not match fails when the config is read.
    assert ("KMHA402", "/layer_types") in _found(
        _tiny("exaone4", layer_types=two, num_hidden_layers=3)
    )
    # Without the list, the config class derives it from the count.
    assert _found(_tiny("exaone4", num_hidden_layers=3)) == []


def test_window_patterns_that_cannot_derive_layer_types():
    assert _found(_tiny("gemma3_text", head_dim=16, sliding_window_pattern=0)) == [
        ("KMHA402", "/sliding_window_pattern")
    ]
    # EXAONE 4: a null window sets the pattern to 0, and (i + 1) % 0 fails.
    (issue,) = hparams.check(_tiny("exaone4", sliding_window=None))
    assert (issue.code, issue.pointer) == ("KMHA402", "/sliding_window")
    assert "sliding_window_pattern is 0 when sliding_window is null" in issue.message
    two = ["full_attention", "full_attention"]
    assert _found(_tiny("exaone4", sliding_window=None, layer_types=two)) == []


def test_negative_layer_counts_fail_and_empty_stacks_build():
    codes = dict((code, pointer) for code, pointer in _found(_tiny("granite", num_hidden_layers=0)))
    assert codes == {"KMHA403": "/num_hidden_layers"}
    assert _found(_tiny("granite", num_hidden_layers=-1)) == [("KMHA402", "/num_hidden_layers")]
    # The model transformers builds before failing has every weight but the layers.
    assert _count(_tiny("granite", num_hidden_layers=-1)) == 200 * 64 + 64
    # MPT's stack is a plain loop: a negative count builds and runs (a warning).
    mpt = {"model_type": "mpt", "vocab_size": 200, "d_model": 64, "n_heads": 4, "n_layers": -1}
    assert _found(mpt) == [("KMHA403", "/n_layers")]


def test_gptj_rotary_dim_even_and_within_the_head():
    gptj = {"model_type": "gptj", "vocab_size": 200, "n_embd": 64, "n_head": 4, "n_layer": 2}
    assert _found({**gptj, "rotary_dim": 8}) == []
    assert _found({**gptj, "rotary_dim": 16}) == []
    assert _found({**gptj, "rotary_dim": 3}) == [("KMHA407", "/rotary_dim")]
    assert _found({**gptj, "rotary_dim": 32}) == [("KMHA402", "/rotary_dim")]
    assert _found({**gptj, "rotary_dim": 0}) == [("KMHA402", "/rotary_dim")]
    assert _found({**gptj, "rotary_dim": None}) == [("KMHA401", "/rotary_dim")]
    # Absent: the default 64 is wider than heads of 16; the finding names the key.
    (issue,) = hparams.check(gptj)
    assert (issue.code, issue.pointer, issue.at_key) == ("KMHA402", "", True)
    assert "`rotary_dim`" in issue.message and "the 16 features of a head" in issue.message
    assert _found({**gptj, "n_head": 1}) == []


def test_partial_rotary_defaults_per_family():
    # phi rotates half of each head by default: heads of 10 -> 5 features, odd.
    assert ("KMHA407", "/num_attention_heads") in _found(_tiny("phi", num_attention_heads=6))
    # stablelm rotates a quarter and must divide: 64 / 6 fails first.
    assert _found(_tiny("stablelm", num_attention_heads=6, num_key_value_heads=6)) == [
        ("KMHA404", "/num_attention_heads")
    ]


def test_stablelm_rotary_table_reads_a_written_head_dim():
    assert _found(_tiny("stablelm", head_dim=16)) == []
    (issue,) = hparams.check(_tiny("stablelm", head_dim=24))
    assert (issue.code, issue.pointer) == ("KMHA402", "/head_dim")
    assert "6 rotary features against 4" in issue.message


def test_smollm3_no_rope_layers_cover_every_layer():
    assert _found(_tiny("smollm3", no_rope_layers=[1, 0])) == []
    assert _found(_tiny("smollm3", no_rope_layers=[1])) == [("KMHA402", "/no_rope_layers")]


def test_mpt_attn_pdrop_is_an_integer():
    mpt = {"model_type": "mpt", "vocab_size": 200, "d_model": 64, "n_heads": 4, "n_layers": 2}
    assert _found({**mpt, "attn_config": {"attn_pdrop": 0}}) == []
    assert _found({**mpt, "attn_config": {"attn_pdrop": 0.1}}) == [
        ("KMHA401", "/attn_config/attn_pdrop")
    ]
    # The MLP is 4 * d_model whatever expansion_ratio says.
    assert (
        _count({**mpt, "expansion_ratio": 2})
        == _count(mpt)
        == 200 * 64 + 2 * (12 * 64 * 64 + 2 * 64) + 64
    )


def test_cohere2_written_head_dim_wins_over_the_derived_one():
    written = _tiny("cohere2", num_attention_heads=6, num_key_value_heads=6, head_dim=16)
    assert _found(written) == []
    derived = _tiny("cohere2", num_attention_heads=6, num_key_value_heads=6)
    assert _found(derived) == [("KMHA405", "/num_attention_heads")]


SMOLLM3_KH = {
    "module": "keras_hub.src.models.smollm3.smollm3_backbone",
    "class_name": "SmolLM3Backbone",
    "config": {
        "vocabulary_size": 200,
        "hidden_dim": 64,
        "intermediate_dim": 128,
        "num_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "rope_layer_enabled_list": [True, False],
        "layer_types": ["full_attention", "full_attention"],
        "mlp_bias": False,
        "layer_norm_epsilon": 1e-6,
        "max_position_embeddings": 64,
        "rope_theta": 10000.0,
        "partial_rotary_factor": 1.0,
    },
    "registered_name": "keras_hub>SmolLM3Backbone",
}


def _kh(**changes) -> dict:
    edited = copy.deepcopy(SMOLLM3_KH)
    edited["config"].update(changes)
    for key in [k for k, v in changes.items() if v is ...]:
        del edited["config"][key]
    return edited


def test_kerashub_smollm3():
    assert _found(SMOLLM3_KH) == []
    # count_params() of the backbone, rotary inv_freq weights (8 per layer) included.
    assert _count(SMOLLM3_KH) == 86864
    assert _found(_kh(partial_rotary_factor=0.5)) == [("KMHA402", "/config/partial_rotary_factor")]
    assert _found(_kh(layer_types=["full_attention"])) == [("KMHA402", "/config/layer_types")]
    assert _found(_kh(rope_layer_enabled_list=[True])) == []
    assert _found(_kh(rope_theta=...)) == [("KMHA410", "/config")]
    assert _found(_kh(num_attention_heads=6)) == [("KMHA405", "/config/num_attention_heads")]


def test_null_where_the_library_needs_a_number():
    # int fields (not optional) in the config class
    for family in ("stablelm", "starcoder2", "exaone4"):
        assert _found(_tiny(family, num_key_value_heads=None)) == [
            ("KMHA401", "/num_key_value_heads")
        ], family
    # optional ones mean "as many as the query heads"
    assert _found(_tiny("smollm3", num_key_value_heads=None)) == []
    assert _count(_tiny("smollm3", num_key_value_heads=None)) == _count(
        _tiny("smollm3", num_key_value_heads=4)
    )
    # getattr(config, "head_dim", hidden_size // heads) returns a written null ...
    for family in ("olmo", "phi", "granite", "cohere"):
        assert _found(_tiny(family, head_dim=None)) == [("KMHA401", "/head_dim")], family
    # ... where starcoder2 writes `getattr(...) or hidden_size // heads`.
    assert _found(_tiny("starcoder2", head_dim=None)) == []
    # Window patterns: any non-positive or non-integer value fails without layer_types.
    assert _found(_tiny("cohere2", sliding_window_pattern=None)) == [
        ("KMHA402", "/sliding_window_pattern")
    ]
    assert _found(_tiny("exaone4", sliding_window_pattern="LLLG")) == [
        ("KMHA402", "/sliding_window_pattern")
    ]
    two = ["full_attention", "sliding_attention"]
    assert _found(_tiny("exaone4", sliding_window_pattern="LLLG", layer_types=two)) == []


def test_max_positions_do_not_size_the_rotary_tables():
    # transformers computes rotary angles for the positions fed: 0 and -1 build and run.
    for value in (0, -1):
        assert _found(_tiny("olmo", max_position_embeddings=value)) == [
            ("KMHA403", "/max_position_embeddings")
        ]
    # GPT-J's sinusoid table is sized by n_positions: an empty one fails at the first batch.
    gptj = {"model_type": "gptj", "vocab_size": 200, "n_embd": 64, "n_head": 4, "n_layer": 2}
    assert _found({**gptj, "rotary_dim": 8, "n_positions": 0}) == [("KMHA402", "/n_positions")]

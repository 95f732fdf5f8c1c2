"""The moe group's families (lint/hparams/families/moe.py): expert checks, multi-head latent
attention, hybrid stacks and KerasHub's MoE backbones, by hand-written configs whose
behaviour the corpus (tests/hparams_corpus/, labelled by the libraries) shows; here the
findings' content: code, severity, pointer and what the message names.
"""

from __future__ import annotations

import copy

from kmha_lint import geometry, hparams
from kmha_lint.hparams import rules as hrules
from kmha_lint.summary import summarize_document

QWEN3_MOE = {
    "model_type": "qwen3_moe",
    "vocab_size": 200,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "intermediate_size": 128,
    "moe_intermediate_size": 32,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "max_position_embeddings": 64,
}

DEEPSEEK_V3 = {
    "model_type": "deepseek_v3",
    "vocab_size": 200,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 128,
    "moe_intermediate_size": 32,
    "n_routed_experts": 4,
    "n_shared_experts": 1,
    "num_experts_per_tok": 2,
    "n_group": 2,
    "topk_group": 1,
    "first_k_dense_replace": 1,
    "q_lora_rank": 24,
    "kv_lora_rank": 16,
    "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 8,
    "v_head_dim": 8,
    "max_position_embeddings": 64,
}

KH_QWEN_MOE = {
    "module": "keras_hub.src.models.qwen_moe.qwen_moe_backbone",
    "class_name": "QwenMoeBackbone",
    "config": {
        "vocabulary_size": 200,
        "num_layers": 2,
        "num_query_heads": 4,
        "num_key_value_heads": 2,
        "hidden_dim": 64,
        "intermediate_dim": 128,
        "moe_intermediate_dim": 32,
        "shared_expert_intermediate_dim": 48,
        "num_experts": 4,
        "top_k": 2,
        "decoder_sparse_step": 1,
        "mlp_only_layers": [],
    },
    "registered_name": "keras_hub>QwenMoeBackbone",
}


def _with(document: dict, **changes) -> dict:
    edited = copy.deepcopy(document)
    target = edited["config"] if "config" in edited else edited
    target.update(changes)
    return edited


def _issues(document: dict):
    return hparams.check(document)


def test_clean_configs_are_silent():
    for document in (QWEN3_MOE, DEEPSEEK_V3, KH_QWEN_MOE):
        assert _issues(document) == [], document.get("model_type") or document["class_name"]


def test_top_k_above_the_experts_is_an_error_and_zero_a_warning():
    (issue,) = _issues(_with(QWEN3_MOE, num_experts_per_tok=5))
    assert issue.rule is hrules.HPARAM_OUT_OF_RANGE and issue.severity == "error"
    assert issue.pointer == "/num_experts_per_tok"
    assert "5 experts per token, more than the 4 experts" in issue.message
    (issue,) = _issues(_with(QWEN3_MOE, num_experts_per_tok=0))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.severity == "warning"


def test_no_experts_makes_qwen_moe_dense_and_the_top_k_moot():
    # Qwen3MoeDecoderLayer: `num_experts > 0` or a dense MLP; the router is never built.
    (issue,) = _issues(_with(QWEN3_MOE, num_experts=0))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.pointer == "/num_experts"


def test_the_expert_kernel_needs_rows_of_16_bytes():
    (issue,) = _issues(_with(QWEN3_MOE, moe_intermediate_size=30))
    assert issue.severity == "error" and issue.pointer == "/moe_intermediate_size"
    assert "multiple of 4" in issue.message and "grouped_mm" in issue.message


def test_a_size_no_layer_uses_is_a_warning():
    # Every layer is sparse: the dense intermediate size is never built.
    (issue,) = _issues(_with(QWEN3_MOE, intermediate_size=-1))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.pointer == "/intermediate_size"
    # One dense layer (mlp_only_layers) uses it: the same value is an error.
    codes = {i.code for i in _issues(_with(QWEN3_MOE, intermediate_size=-1, mlp_only_layers=[0]))}
    assert codes == {"KMHA402"}


def test_mla_key_value_heads_must_equal_the_heads():
    (issue,) = _issues(_with(DEEPSEEK_V3, num_key_value_heads=2))
    assert issue.rule is hrules.KEY_VALUE_HEADS and issue.pointer == "/num_key_value_heads"
    assert "repeats them num_attention_heads // num_key_value_heads = 2 times" in issue.message
    # More key/value heads than heads repeat the keys 0 times, which runs.
    assert _issues(_with(DEEPSEEK_V3, num_key_value_heads=8)) == []


def test_mla_rotary_part_is_even_and_matches_a_written_head_dim():
    (issue,) = _issues(_with(DEEPSEEK_V3, qk_rope_head_dim=7))
    assert issue.rule is hrules.ROTARY_ODD and issue.pointer == "/qk_rope_head_dim"
    (issue,) = _issues(_with(DEEPSEEK_V3, head_dim=8, qk_rope_head_dim=16))
    assert issue.rule is hrules.HPARAM_OUT_OF_RANGE and issue.pointer == "/head_dim"
    assert "built for `head_dim`=8 features, but qk_rope_head_dim=16" in issue.message


def test_mla_geometry_and_count():
    summary = summarize_document(DEEPSEEK_V3, "deepseek_v3.json")
    assert summary.geometry["head_size"] == 8 + 8  # qk_nope_head_dim + qk_rope_head_dim
    assert summary.geometry["kv_heads"] == 4
    d, h, q, kv, nope, rope, v = 64, 4, 24, 16, 8, 8, 8
    attention = d * q + q + q * h * (nope + rope)  # q_a_proj, q_a_layernorm, q_b_proj
    attention += d * (kv + rope) + kv + kv * h * (nope + v)  # kv_a_proj_with_mqa, norm, kv_b
    attention += h * v * d  # o_proj
    dense, experts, shared = 3 * d * 128, 4 * d + 4 * 3 * d * 32, 3 * d * 32
    layers = 2 * (attention + 2 * d) + dense + experts + shared
    assert summary.total_params == 200 * d + layers + d


def test_mla_projection_params_without_a_query_rank():
    direct = geometry.mla_projection_params(
        64,
        4,
        q_lora_rank=None,
        kv_lora_rank=16,
        qk_nope_head_dim=8,
        qk_rope_head_dim=8,
        v_head_dim=8,
    )
    assert direct == 64 * 4 * 16 + (64 * 24 + 16 + 16 * 4 * 16) + 4 * 8 * 64
    biased = geometry.mla_projection_params(
        64,
        4,
        q_lora_rank=None,
        kv_lora_rank=16,
        qk_nope_head_dim=8,
        qk_rope_head_dim=8,
        v_head_dim=8,
        bias=True,
    )
    assert biased - direct == 24 + 64  # kv_a_proj_with_mqa's and o_proj's biases


def test_first_dense_layers_covering_the_stack_is_a_warning():
    (issue,) = _issues(_with(DEEPSEEK_V3, first_k_dense_replace=5))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.pointer == "/first_k_dense_replace"
    assert "dense model" in issue.message


def test_group_limited_routing_needs_even_groups():
    (issue,) = _issues(_with(DEEPSEEK_V3, n_group=3))
    assert issue.severity == "error" and issue.pointer == "/n_group"
    (issue,) = _issues(_with(DEEPSEEK_V3, topk_group=3))
    assert issue.severity == "error" and issue.pointer == "/topk_group"


def test_kerashub_qwen_moe_builds_every_layer_as_layer_zero():
    (issue,) = _issues(_with(KH_QWEN_MOE, decoder_sparse_step=2))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.severity == "warning"
    assert issue.pointer == "/config/decoder_sparse_step"
    assert "every layer is a dense MLP, not the 1 sparse layers of 2" in issue.message
    # The count follows what KerasHub builds: two dense layers.
    dense = summarize_document(_with(KH_QWEN_MOE, decoder_sparse_step=2), "x.json")
    sparse = summarize_document(KH_QWEN_MOE, "x.json")
    per_layer = (4 * 64 + 4 * 3 * 64 * 32 + 3 * 64 * 48 + 64) - 3 * 64 * 128
    assert sparse.total_params - dense.total_params == 2 * per_layer


def test_a_stack_without_full_attention_fails():
    document = {
        "model_type": "qwen3_5_text",
        "num_hidden_layers": 2,
        "layer_types": ["linear_attention", "linear_attention"],
    }
    (issue,) = _issues(document)
    assert issue.severity == "error" and issue.pointer == "/layer_types"


def test_deepseek_keys_transformers_does_not_read():
    (issue,) = _issues(_with(DEEPSEEK_V3, moe_layer_freq=2))
    assert issue.rule is hrules.HPARAM_DEGENERATE and issue.pointer == "/moe_layer_freq"
    assert _issues(_with(DEEPSEEK_V3, moe_layer_freq=1)) == []
    v2 = _with(DEEPSEEK_V3, model_type="deepseek_v2", topk_method="noaux_tc")
    del v2["n_group"], v2["topk_group"]
    (issue,) = _issues(v2)
    assert issue.severity == "error" and issue.pointer == "/topk_method"

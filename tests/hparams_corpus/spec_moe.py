"""Corpus tables of the ``moe`` group (see lint/hparams/families/__init__.py): tiny originals
and their argument names, per library; ``generate.py`` merges them."""

from bases import DEC, DEC_NAMES, DELETE, HF_DEC, HF_DEC_NAMES, _hf, _kh


def moe_edits(experts, top_k, expert_width=None, *, count):
    """Edits a person makes to a mixture of experts: a top-k above the expert count, zero
    experts, zero top-k, an expert width of the wrong type or zero."""
    edits = [
        (
            "topk-more",
            "experts",
            f"{top_k}={count + 1} is more than {experts}={count}",
            {top_k: count + 1},
        ),
        ("topk-equal", "experts", f"{top_k}={count} = {experts}", {top_k: count}),
        ("topk-zero", "zero", f"{top_k}=0", {top_k: 0}),
        ("experts-zero", "zero", f"{experts}=0", {experts: 0}),
        ("experts-one", "experts", f"{experts}=1, {top_k}=1", {experts: 1, top_k: 1}),
        ("experts-float", "type", f"{experts}={float(count)} (a float)", {experts: float(count)}),
    ]
    if expert_width:
        edits += [
            ("expert-width-zero", "zero", f"{expert_width}=0", {expert_width: 0}),
            (
                "expert-width-30",
                "experts",
                f"{expert_width}=30 (even, not a multiple of 4)",
                {expert_width: 30},
            ),
            ("expert-width-float", "type", f"{expert_width}=32.0 (a float)", {expert_width: 32.0}),
            ("expert-width-str", "type", f'{expert_width}="32" (a string)', {expert_width: "32"}),
        ]
    return edits


def sparse_step_edits():
    """Qwen-MoE's choice of sparse layers: decoder_sparse_step and mlp_only_layers."""
    return [
        ("sparse-step-two", "experts", "decoder_sparse_step=2", {"decoder_sparse_step": 2}),
        ("sparse-step-zero", "zero", "decoder_sparse_step=0", {"decoder_sparse_step": 0}),
        ("sparse-step-three", "experts", "decoder_sparse_step=3", {"decoder_sparse_step": 3}),
        ("mlp-only-first", "experts", "mlp_only_layers=[0]", {"mlp_only_layers": [0]}),
        ("mlp-only-outside", "experts", "mlp_only_layers=[5]", {"mlp_only_layers": [5]}),
    ]


def mla_edits():
    """Multi-head latent attention: LoRA ranks, nope/rope/value head sizes."""
    return [
        ("q-lora-null", "mla", "q_lora_rank=null (plain q_proj)", {"q_lora_rank": None}),
        ("q-lora-zero", "zero", "q_lora_rank=0", {"q_lora_rank": 0}),
        ("kv-lora-zero", "zero", "kv_lora_rank=0", {"kv_lora_rank": 0}),
        ("kv-lora-null", "mla", "kv_lora_rank=null", {"kv_lora_rank": None}),
        ("kv-lora-odd", "mla", "kv_lora_rank=15 (odd)", {"kv_lora_rank": 15}),
        ("q-lora-odd", "mla", "q_lora_rank=23 (odd)", {"q_lora_rank": 23}),
        ("kv-lora-float", "type", "kv_lora_rank=16.0 (a float)", {"kv_lora_rank": 16.0}),
        ("rope-odd", "rotary", "qk_rope_head_dim=7 (odd)", {"qk_rope_head_dim": 7}),
        ("rope-odd-small", "rotary", "qk_rope_head_dim=3 (odd, <= 4)", {"qk_rope_head_dim": 3}),
        ("rope-zero", "zero", "qk_rope_head_dim=0", {"qk_rope_head_dim": 0}),
        ("rope-wide", "mla", "qk_rope_head_dim=16", {"qk_rope_head_dim": 16}),
        ("nope-zero", "zero", "qk_nope_head_dim=0", {"qk_nope_head_dim": 0}),
        ("nope-odd", "mla", "qk_nope_head_dim=5", {"qk_nope_head_dim": 5}),
        ("v-head-wide", "mla", "v_head_dim=24 (not the qk head size)", {"v_head_dim": 24}),
        ("v-head-zero", "zero", "v_head_dim=0", {"v_head_dim": 0}),
        ("v-head-null", "mla", "v_head_dim=null", {"v_head_dim": None}),
        (
            "shared-zero",
            "experts",
            "n_shared_experts=0 (no shared expert)",
            {"n_shared_experts": 0},
        ),
        ("shared-two", "experts", "n_shared_experts=2", {"n_shared_experts": 2}),
        (
            "dense-first-all",
            "experts",
            "first_k_dense_replace=2 = num_hidden_layers (no MoE layer)",
            {"first_k_dense_replace": 2},
        ),
        (
            "dense-first-more",
            "experts",
            "first_k_dense_replace=5 > num_hidden_layers=2",
            {"first_k_dense_replace": 5},
        ),
        ("dense-first-zero", "experts", "first_k_dense_replace=0", {"first_k_dense_replace": 0}),
        (
            "dense-first-negative",
            "negative",
            "first_k_dense_replace=-1",
            {"first_k_dense_replace": -1},
        ),
        ("attention-bias", "mla", "attention_bias=true", {"attention_bias": True}),
        ("layer-freq-two", "experts", "moe_layer_freq=2 (not read)", {"moe_layer_freq": 2}),
    ]


def _grouped_edits():
    return [
        ("topk-group-more", "experts", "topk_group=3 > n_group=2", {"topk_group": 3}),
        ("n-group-nondiv", "experts", "n_group=3 does not divide 4 experts", {"n_group": 3}),
        ("n-group-zero", "zero", "n_group=0", {"n_group": 0}),
        (
            "n-group-all",
            "experts",
            "n_group=4: one expert per group (top-2 within a group)",
            {"n_group": 4, "topk_group": 2},
        ),
    ]


_MLA = {
    "kv_lora_rank": 16,
    "q_lora_rank": 24,
    "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 8,
    "v_head_dim": 8,
    "moe_intermediate_size": 32,
    "n_routed_experts": 4,
    "n_shared_experts": 1,
    "num_experts_per_tok": 2,
    "first_k_dense_replace": 1,
    "num_key_value_heads": 4,
}
_MLA_NAMES = {**HF_DEC_NAMES}


def _mla_geometry(cfg):
    return {
        "hidden_width": cfg["hidden_size"],
        "heads": cfg["num_attention_heads"],
        # The keys are projected for every head (kv_b_proj): num_key_value_heads is unused.
        "kv_heads": cfg["num_attention_heads"],
        "head_size": cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"],
        "layers": cfg["num_hidden_layers"],
    }


MAMBA = {
    "vocab_size": 200,
    "hidden_size": 64,
    "state_size": 8,
    "num_hidden_layers": 2,
    "expand": 2,
    "conv_kernel": 4,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
MAMBA_NAMES = {
    "width": "hidden_size",
    "heads": "state_size",
    "inter": "intermediate_size",
    "layers": "num_hidden_layers",
    "vocab": "vocab_size",
    "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"],
}
MAMBA_SPEC = {
    "derives_head": False,
    "geometry": lambda cfg: None,
    "extra_edits": [
        ("expand-zero", "zero", "expand=0", {"expand": 0}),
        ("expand-three", "mamba", "expand=3 (intermediate_size as written)", {"expand": 3}),
        (
            "expand-three-unwritten",
            "mamba",
            "expand=3 with intermediate_size removed",
            {"expand": 3, "intermediate_size": DELETE},
        ),
        ("conv-zero", "zero", "conv_kernel=0", {"conv_kernel": 0}),
        ("conv-one", "mamba", "conv_kernel=1", {"conv_kernel": 1}),
        ("dt-rank-auto", "mamba", 'time_step_rank="auto"', {"time_step_rank": "auto"}),
        ("dt-rank-three", "mamba", "time_step_rank=3", {"time_step_rank": 3}),
        ("dt-rank-zero", "zero", "time_step_rank=0", {"time_step_rank": 0}),
        ("dt-rank-str", "type", 'time_step_rank="3"', {"time_step_rank": "3"}),
        ("use-bias", "mamba", "use_bias=true", {"use_bias": True}),
        ("conv-bias-off", "mamba", "use_conv_bias=false", {"use_conv_bias": False}),
        (
            "width-div-unwritten",
            "hidden-size",
            "hidden_size=96 with intermediate_size and time_step_rank removed",
            {"hidden_size": 96, "intermediate_size": DELETE, "time_step_rank": DELETE},
        ),
    ],
}

QWEN3_5_TEXT = {
    **HF_DEC,
    "head_dim": 16,
    "linear_num_key_heads": 2,
    "linear_num_value_heads": 4,
    "linear_key_head_dim": 16,
    "linear_value_head_dim": 16,
    "full_attention_interval": 2,
}
QWEN3_5_VISION = {
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 4,
    "patch_size": 8,
    "temporal_patch_size": 2,
    "spatial_merge_size": 2,
    "out_hidden_size": 64,
    "num_position_embeddings": 16,
}
QWEN3_5_NAMES = {
    "width": "text_config.hidden_size",
    "heads": "text_config.num_attention_heads",
    "kv": "text_config.num_key_value_heads",
    "head_dim": "text_config.head_dim",
    "inter": "text_config.intermediate_size",
    "layers": "text_config.num_hidden_layers",
    "vocab": "text_config.vocab_size",
    "rotary": "text_config.rope_parameters.partial_rotary_factor",
    "tokens": ["text_config.pad_token_id", "text_config.eos_token_id"],
}
QWEN3_5_EDITS = [
    (
        "linear-heads-nondiv",
        "kv-heads",
        "linear_num_value_heads=3 is not a multiple of linear_num_key_heads=2",
        {"text_config.linear_num_value_heads": 3},
    ),
    (
        "linear-heads-equal",
        "kv-heads",
        "linear_num_value_heads=2 = linear_num_key_heads",
        {"text_config.linear_num_value_heads": 2},
    ),
    (
        "linear-key-heads-zero",
        "zero",
        "linear_num_key_heads=0",
        {"text_config.linear_num_key_heads": 0},
    ),
    ("conv-zero", "zero", "linear_conv_kernel_dim=0", {"text_config.linear_conv_kernel_dim": 0}),
    ("conv-one", "mla", "linear_conv_kernel_dim=1", {"text_config.linear_conv_kernel_dim": 1}),
    (
        "all-linear",
        "layers",
        "layer_types all linear_attention",
        {"text_config.layer_types": ["linear_attention", "linear_attention"]},
    ),
    (
        "all-full",
        "layers",
        "layer_types all full_attention",
        {"text_config.layer_types": ["full_attention", "full_attention"]},
    ),
    (
        "layer-types-short",
        "layers",
        "layer_types of one entry for 2 layers",
        {"text_config.layer_types": ["full_attention"]},
    ),
    ("attention-bias", "type", "attention_bias=true", {"text_config.attention_bias": True}),
    ("vision-depth-zero", "zero", "vision depth=0", {"vision_config.depth": 0}),
    (
        "vision-merge-one",
        "image-size",
        "vision spatial_merge_size=1",
        {"vision_config.spatial_merge_size": 1},
    ),
]


def _qwen3_5_geometry(cfg):
    text = cfg["text_config"]
    return {
        "hidden_width": text["hidden_size"],
        "heads": text["num_attention_heads"],
        "kv_heads": text["num_key_value_heads"],
        "head_size": text["head_dim"],
        "layers": text["num_hidden_layers"],
    }


KH_QWEN3_5 = {
    "head_dim": 16,
    "layer_types": ["linear_attention", "full_attention"],
    "linear_num_key_heads": 2,
    "linear_num_value_heads": 4,
    "linear_key_head_dim": 16,
    "linear_value_head_dim": 16,
}
KH_QWEN3_5_EDITS = [
    (
        "linear-heads-nondiv",
        "kv-heads",
        "linear_num_value_heads=3 is not a multiple of linear_num_key_heads=2",
        {"linear_num_value_heads": 3},
    ),
    ("conv-zero", "zero", "linear_conv_kernel_dim=0", {"linear_conv_kernel_dim": 0}),
    (
        "all-linear",
        "layers",
        "layer_types all linear_attention",
        {"layer_types": ["linear_attention", "linear_attention"]},
    ),
    (
        "layer-types-short",
        "layers",
        "layer_types of one entry for 2 layers",
        {"layer_types": ["full_attention"]},
    ),
    (
        "layer-types-null",
        "layers",
        "layer_types=null (every 4th layer full attention)",
        {"layer_types": None},
    ),
    ("rotary-odd", "rotary", "partial_rotary_factor=0.1875", {"partial_rotary_factor": 0.1875}),
    ("rotary-half", "rotary", "partial_rotary_factor=0.5", {"partial_rotary_factor": 0.5}),
    ("tie-embeddings", "type", "tie_word_embeddings=true", {"tie_word_embeddings": True}),
]
KERAS_HUB: dict = {
    "Qwen3MoeBackbone": _kh(
        "Qwen3MoeBackbone",
        {**DEC, "head_dim": 16, "moe_intermediate_dim": 32, "num_experts": 4, "top_k": 2},
        {**DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window_size"},
        extra_edits=[
            *moe_edits("num_experts", "top_k", "moe_intermediate_dim", count=4),
            *sparse_step_edits(),
            ("head-dim-null", "head-dim", "head_dim=null (H // n)", {"head_dim": None}),
            ("head-dim-zero", "zero", "head_dim=0 (H // n)", {"head_dim": 0}),
            ("tie-embeddings", "type", "tie_word_embeddings=true", {"tie_word_embeddings": True}),
        ],
    ),
    "QwenMoeBackbone": _kh(
        "QwenMoeBackbone",
        {
            **DEC,
            "moe_intermediate_dim": 32,
            "shared_expert_intermediate_dim": 48,
            "num_experts": 4,
            "top_k": 2,
        },
        {**DEC_NAMES, "window": "sliding_window_size"},
        extra_edits=[
            *moe_edits("num_experts", "top_k", "moe_intermediate_dim", count=4),
            *sparse_step_edits(),
            (
                "shared-width-zero",
                "zero",
                "shared_expert_intermediate_dim=0",
                {"shared_expert_intermediate_dim": 0},
            ),
            ("tie-embeddings", "type", "tie_word_embeddings=true", {"tie_word_embeddings": True}),
        ],
    ),
    "Qwen3_5Backbone": _kh(
        "Qwen3_5Backbone",
        {**DEC, **KH_QWEN3_5},
        {**DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
        extra_edits=KH_QWEN3_5_EDITS,
    ),
    "Qwen3_5MoeBackbone": _kh(
        "Qwen3_5MoeBackbone",
        {
            **{k: v for k, v in DEC.items() if k != "intermediate_dim"},
            **KH_QWEN3_5,
            "moe_intermediate_dim": 32,
            "shared_expert_intermediate_size": 48,
            "num_experts": 4,
            "top_k": 2,
        },
        {**DEC_NAMES, "head_dim": "head_dim", "inter": "moe_intermediate_dim"},
        derives_head=False,
        extra_edits=[
            *KH_QWEN3_5_EDITS,
            *moe_edits("num_experts", "top_k", "shared_expert_intermediate_size", count=4),
        ],
    ),
    "GptOssBackbone": _kh(
        "GptOssBackbone",
        {**DEC, "intermediate_dim": 32, "num_experts": 4, "top_k": 2, "sliding_window": 16},
        {**DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        extra_edits=[
            *moe_edits("num_experts", "top_k", "intermediate_dim", count=4),
            ("head-dim-set", "head-dim", "head_dim=16", {"head_dim": 16}),
        ],
    ),
}
TRANSFORMERS: dict = {
    "qwen3_moe": _hf(
        "qwen3_moe",
        {
            **HF_DEC,
            "head_dim": 16,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
        },
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        extra_edits=[
            *moe_edits(
                "num_local_experts", "num_experts_per_tok", "moe_intermediate_size", count=4
            ),
            (
                "experts-published-spelling",
                "experts",
                "num_experts=2 (as published) without num_local_experts (as written)",
                {"num_experts": 2, "num_local_experts": DELETE},
            ),
            (
                "experts-both-spellings",
                "experts",
                "num_experts=0 beside num_local_experts=4",
                {"num_experts": 0},
            ),
            *sparse_step_edits(),
            ("norm-topk", "experts", "norm_topk_prob=true", {"norm_topk_prob": True}),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            (
                "sliding-on-window-zero",
                "window",
                "use_sliding_window=true, sliding_window=0",
                {"use_sliding_window": True, "sliding_window": 0},
            ),
        ],
    ),
    "deepseek_v3": _hf(
        "deepseek_v3",
        {**HF_DEC, **_MLA, "n_group": 2, "topk_group": 1},
        dict(_MLA_NAMES),
        derives_head=False,
        geometry=_mla_geometry,
        extra_edits=[
            *moe_edits("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            *mla_edits(),
            *_grouped_edits(),
        ],
    ),
    "deepseek_v2": _hf(
        "deepseek_v2",
        {**HF_DEC, **_MLA},
        dict(_MLA_NAMES),
        derives_head=False,
        geometry=_mla_geometry,
        extra_edits=[
            *moe_edits("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            *mla_edits(),
            (
                "group-limited",
                "experts",
                'topk_method="group_limited_greedy", n_group=2, topk_group=1',
                {"topk_method": "group_limited_greedy", "n_group": 2, "topk_group": 1},
            ),
            (
                "group-limited-no-groups",
                "experts",
                'topk_method="group_limited_greedy" without n_group',
                {"topk_method": "group_limited_greedy"},
            ),
            ("mlp-bias", "mla", "mlp_bias=true", {"mlp_bias": True}),
            (
                "topk-method-unknown",
                "experts",
                'topk_method="noaux_tc" (a V3 method)',
                {"topk_method": "noaux_tc"},
            ),
            ("topk-null", "experts", "num_experts_per_tok=null", {"num_experts_per_tok": None}),
        ],
    ),
    "deepseek_v32": _hf(
        "deepseek_v32",
        {
            **HF_DEC,
            **_MLA,
            "n_group": 2,
            "topk_group": 1,
            "index_n_heads": 2,
            "index_head_dim": 16,
            "index_topk": 4,
        },
        dict(_MLA_NAMES),
        derives_head=False,
        geometry=_mla_geometry,
        extra_edits=[
            *moe_edits("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            *mla_edits(),
            *_grouped_edits(),
            ("index-heads-zero", "zero", "index_n_heads=0", {"index_n_heads": 0}),
            ("index-head-odd", "mla", "index_head_dim=15", {"index_head_dim": 15}),
            (
                "index-head-small",
                "mla",
                "index_head_dim=4 (below qk_rope_head_dim=8)",
                {"index_head_dim": 4},
            ),
            ("index-topk-one", "mla", "index_topk=1", {"index_topk": 1}),
            ("index-topk-zero", "zero", "index_topk=0", {"index_topk": 0}),
            (
                "mlp-types-all-sparse",
                "experts",
                'mlp_layer_types=["sparse", "sparse"]',
                {"mlp_layer_types": ["sparse", "sparse"]},
            ),
            (
                "mlp-types-short",
                "layers",
                'mlp_layer_types=["dense"] for 2 layers',
                {"mlp_layer_types": ["dense"]},
            ),
        ],
    ),
    "glm_moe_dsa": _hf(
        "glm_moe_dsa",
        {
            **HF_DEC,
            **_MLA,
            "n_group": 2,
            "topk_group": 1,
            "index_n_heads": 2,
            "index_head_dim": 16,
            "index_topk": 4,
        },
        dict(_MLA_NAMES),
        derives_head=False,
        geometry=_mla_geometry,
        extra_edits=[
            *moe_edits("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            ("q-lora-null", "mla", "q_lora_rank=null", {"q_lora_rank": None}),
            ("rope-odd", "rotary", "qk_rope_head_dim=7 (odd)", {"qk_rope_head_dim": 7}),
            ("kv-lora-zero", "zero", "kv_lora_rank=0", {"kv_lora_rank": 0}),
            ("v-head-wide", "mla", "v_head_dim=24", {"v_head_dim": 24}),
            (
                "indexer-shared",
                "mla",
                'indexer_types=["full", "shared"]',
                {"indexer_types": ["full", "shared"]},
            ),
            (
                "indexer-short",
                "layers",
                'indexer_types=["full"] for 2 layers',
                {"indexer_types": ["full"]},
            ),
            (
                "indexer-pattern-unwritten",
                "mla",
                'index_topk_pattern="FS" with indexer_types removed',
                {"index_topk_pattern": "FS", "indexer_types": DELETE},
            ),
            (
                "index-head-small",
                "mla",
                "index_head_dim=4 (below qk_rope_head_dim=8)",
                {"index_head_dim": 4},
            ),
            *_grouped_edits(),
        ],
    ),
    "minimax_m2": _hf(
        "minimax_m2",
        {
            **HF_DEC,
            "head_dim": 16,
            "intermediate_size": 32,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "rotary_dim": 8,
        },
        {**HF_DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
        extra_edits=[
            *moe_edits("num_local_experts", "num_experts_per_tok", "intermediate_size", count=4),
            ("rotary-dim-odd", "rotary", "rotary_dim=7 (odd)", {"rotary_dim": 7}),
            (
                "rotary-dim-odd-unwritten",
                "rotary",
                "rotary_dim=7 with the written partial_rotary_factor removed (as published)",
                {"rotary_dim": 7, "rope_parameters.partial_rotary_factor": DELETE},
            ),
            (
                "rotary-dim-wide-unwritten",
                "rotary",
                "rotary_dim=24 with the written partial_rotary_factor removed",
                {"rotary_dim": 24, "rope_parameters.partial_rotary_factor": DELETE},
            ),
            ("rotary-dim-full", "rotary", "rotary_dim=16 (whole head)", {"rotary_dim": 16}),
            (
                "rotary-dim-wide",
                "rotary",
                "rotary_dim=24 (wider than the head)",
                {"rotary_dim": 24},
            ),
        ],
    ),
    "nemotron_h": _hf(
        "nemotron_h",
        {
            **HF_DEC,
            "head_dim": 16,
            "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp"],
            "mamba_num_heads": 4,
            "mamba_head_dim": 16,
            "n_groups": 2,
            "ssm_state_size": 8,
            "chunk_size": 8,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "moe_shared_expert_intermediate_size": 48,
            # The default (0.0, inf) is written as {"__float__": "Infinity"}, which from_dict
            # does not read back.
            "time_step_limit": [0.0, 100.0],
        },
        {**HF_DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
        geometry=lambda cfg: {
            "hidden_width": cfg["hidden_size"],
            "heads": cfg["num_attention_heads"],
            "kv_heads": cfg["num_key_value_heads"],
            "head_size": cfg["head_dim"],
        },
        extra_edits=[
            *moe_edits("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            (
                "pattern-unwritten",
                "layers",
                'hybrid_override_pattern="M*E" with layers_block_type removed',
                {"hybrid_override_pattern": "M*E", "layers_block_type": DELETE},
            ),
            (
                "blocks-no-attention",
                "layers",
                "layers_block_type without a full_attention block",
                {"layers_block_type": ["linear_attention", "moe"]},
            ),
            ("latent", "experts", "moe_latent_size=32", {"moe_latent_size": 32}),
            ("mamba-groups-nondiv", "kv-heads", "n_groups=3", {"n_groups": 3}),
            ("mamba-heads-zero", "zero", "mamba_num_heads=0", {"mamba_num_heads": 0}),
            ("state-zero", "zero", "ssm_state_size=0", {"ssm_state_size": 0}),
            ("conv-zero", "zero", "conv_kernel=0", {"conv_kernel": 0}),
            ("use-bias", "mamba", "use_bias=true", {"use_bias": True}),
            ("mlp-bias", "mamba", "mlp_bias=true", {"mlp_bias": True}),
            ("chunk-odd", "mamba", "chunk_size=5", {"chunk_size": 5}),
        ],
    ),
    "qwen2_moe": _hf(
        "qwen2_moe",
        {
            **HF_DEC,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "shared_expert_intermediate_size": 48,
        },
        {**HF_DEC_NAMES, "window": "sliding_window"},
        extra_edits=[
            *moe_edits("num_experts", "num_experts_per_tok", "moe_intermediate_size", count=4),
            *sparse_step_edits(),
            (
                "shared-width-zero",
                "zero",
                "shared_expert_intermediate_size=0",
                {"shared_expert_intermediate_size": 0},
            ),
            ("qkv-bias-off", "type", "qkv_bias=false", {"qkv_bias": False}),
            (
                "sliding-on-window-zero",
                "window",
                "use_sliding_window=true, sliding_window=0",
                {"use_sliding_window": True, "sliding_window": 0},
            ),
        ],
    ),
    "gpt_oss": _hf(
        "gpt_oss",
        {
            **HF_DEC,
            "head_dim": 16,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "sliding_window": 16,
            "intermediate_size": 32,
        },
        {**HF_DEC_NAMES, "head_dim": "head_dim", "window": "sliding_window"},
        derives_head=False,
        extra_edits=[
            *moe_edits("num_local_experts", "num_experts_per_tok", count=4),
            ("inter-odd", "experts", "intermediate_size=33 (odd)", {"intermediate_size": 33}),
            ("inter-two-mod", "experts", "intermediate_size=30", {"intermediate_size": 30}),
            ("attention-bias-off", "type", "attention_bias=false", {"attention_bias": False}),
            (
                "layer-types-full",
                "window",
                "layer_types all full_attention",
                {"layer_types": ["full_attention", "full_attention"]},
            ),
            (
                "layer-types-short",
                "layers",
                "layer_types of one entry for 2 layers",
                {"layer_types": ["sliding_attention"]},
            ),
        ],
    ),
    "llama4_text": _hf(
        "llama4_text",
        {
            **HF_DEC,
            "head_dim": 16,
            "intermediate_size": 32,
            "intermediate_size_mlp": 128,
            "num_local_experts": 4,
            "num_experts_per_tok": 1,
            "attention_chunk_size": 16,
        },
        {**HF_DEC_NAMES, "head_dim": "head_dim"},
        derives_head=False,
        extra_edits=[
            *moe_edits("num_local_experts", "num_experts_per_tok", count=4),
            (
                "moe-layers-none",
                "experts",
                "moe_layers=[] (every layer dense)",
                {"moe_layers": []},
            ),
            (
                "moe-layers-second",
                "experts",
                "moe_layers=[1]",
                {"moe_layers": [1]},
            ),
            (
                "moe-layers-outside",
                "experts",
                "moe_layers=[5] (no such layer)",
                {"moe_layers": [5]},
            ),
            (
                "moe-step-two-unwritten",
                "experts",
                "interleave_moe_layer_step=2 with moe_layers removed",
                {"interleave_moe_layer_step": 2, "moe_layers": DELETE},
            ),
            (
                "dense-width-zero",
                "zero",
                "intermediate_size_mlp=0 (dense layers)",
                {"intermediate_size_mlp": 0},
            ),
            (
                "dense-width-unused",
                "zero",
                "intermediate_size_mlp=-1 while every layer is a mixture",
                {"intermediate_size_mlp": -1},
            ),
            ("qk-norm-off", "type", "use_qk_norm=false", {"use_qk_norm": False}),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            (
                "no-rope-short",
                "layers",
                "no_rope_layers=[1] for 2 layers",
                {"no_rope_layers": [1]},
            ),
            (
                "layers-more-written-lists",
                "layers",
                "num_hidden_layers=3 with the 2-layer lists as written",
                {"num_hidden_layers": 3},
            ),
        ],
    ),
    "phimoe": _hf(
        "phimoe",
        {**HF_DEC, "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": 16},
        {**HF_DEC_NAMES, "window": "sliding_window"},
        extra_edits=[
            *moe_edits("num_local_experts", "num_experts_per_tok", "intermediate_size", count=4),
            ("topk-one", "experts", "num_experts_per_tok=1", {"num_experts_per_tok": 1}),
            ("topk-three", "experts", "num_experts_per_tok=3", {"num_experts_per_tok": 3}),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("window-null", "window", "sliding_window=null", {"sliding_window": None}),
        ],
    ),
    "granitemoe": _hf(
        "granitemoe",
        {**HF_DEC, "num_local_experts": 4, "num_experts_per_tok": 2},
        dict(HF_DEC_NAMES),
        extra_edits=[
            *moe_edits("num_local_experts", "num_experts_per_tok", "intermediate_size", count=4),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("topk-null", "experts", "num_experts_per_tok=null", {"num_experts_per_tok": None}),
            ("experts-null", "experts", "num_local_experts=null", {"num_local_experts": None}),
        ],
    ),
    "qwen3_5": _hf(
        "qwen3_5",
        {
            "text_config": {"model_type": "qwen3_5_text", **QWEN3_5_TEXT},
            "vision_config": {"model_type": "qwen3_5_vision", **QWEN3_5_VISION},
        },
        dict(QWEN3_5_NAMES),
        derives_head=False,
        geometry=_qwen3_5_geometry,
        extra_edits=QWEN3_5_EDITS,
    ),
    "qwen3_5_moe": _hf(
        "qwen3_5_moe",
        {
            "text_config": {
                "model_type": "qwen3_5_moe_text",
                **QWEN3_5_TEXT,
                "num_experts": 4,
                "num_experts_per_tok": 2,
                "moe_intermediate_size": 32,
                "shared_expert_intermediate_size": 48,
            },
            "vision_config": {"model_type": "qwen3_5_moe_vision", **QWEN3_5_VISION},
        },
        {**QWEN3_5_NAMES, "inter": "text_config.moe_intermediate_size"},
        derives_head=False,
        geometry=_qwen3_5_geometry,
        extra_edits=[
            *QWEN3_5_EDITS,
            *moe_edits(
                "text_config.num_experts",
                "text_config.num_experts_per_tok",
                "text_config.shared_expert_intermediate_size",
                count=4,
            ),
        ],
    ),
    "mamba": _hf("mamba", dict(MAMBA), dict(MAMBA_NAMES), **MAMBA_SPEC),
    "falcon_mamba": _hf("falcon_mamba", dict(MAMBA), dict(MAMBA_NAMES), **MAMBA_SPEC),
    "jamba": _hf(
        "jamba",
        {
            **HF_DEC,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "expert_layer_period": 2,
            "expert_layer_offset": 1,
            "attn_layer_period": 2,
            "attn_layer_offset": 1,
            "mamba_d_state": 8,
            "mamba_d_conv": 4,
            "mamba_expand": 2,
            "use_mamba_kernels": False,
        },
        dict(HF_DEC_NAMES),
        extra_edits=[
            *moe_edits("num_experts", "num_experts_per_tok", "intermediate_size", count=4),
            (
                "attn-offset-period",
                "layers",
                "attn_layer_offset=2 = attn_layer_period",
                {"attn_layer_offset": 2},
            ),
            (
                "expert-offset-period",
                "experts",
                "expert_layer_offset=3 > expert_layer_period=2",
                {"expert_layer_offset": 3},
            ),
            (
                "attn-every-layer",
                "layers",
                "attn_layer_period=1, attn_layer_offset=0 (every layer attention)",
                {"attn_layer_period": 1, "attn_layer_offset": 0},
            ),
            (
                "attn-none",
                "layers",
                "attn_layer_period=4, attn_layer_offset=3 (no attention layer of 2)",
                {"attn_layer_period": 4, "attn_layer_offset": 3},
            ),
            (
                "experts-every-layer",
                "experts",
                "expert_layer_period=1, expert_layer_offset=0",
                {"expert_layer_period": 1, "expert_layer_offset": 0},
            ),
            ("attn-period-zero", "zero", "attn_layer_period=0", {"attn_layer_period": 0}),
            ("d-state-zero", "zero", "mamba_d_state=0", {"mamba_d_state": 0}),
            ("expand-zero", "zero", "mamba_expand=0", {"mamba_expand": 0}),
            ("d-conv-one", "mamba", "mamba_d_conv=1", {"mamba_d_conv": 1}),
            ("dt-rank-auto", "mamba", 'mamba_dt_rank="auto"', {"mamba_dt_rank": "auto"}),
            ("dt-rank-three", "mamba", "mamba_dt_rank=3", {"mamba_dt_rank": 3}),
            ("proj-bias", "mamba", "mamba_proj_bias=true", {"mamba_proj_bias": True}),
            ("conv-bias-off", "mamba", "mamba_conv_bias=false", {"mamba_conv_bias": False}),
        ],
    ),
}

# Edits of families defined in generate.py's own tables (Mixtral): the expert edits without
# the expert width (there it is the model's intermediate size, edited already).
EXTRA_EDITS = {
    "mixtral": moe_edits("num_local_experts", "num_experts_per_tok", count=4),
    "MixtralBackbone": moe_edits("num_experts", "top_k", count=4),
}

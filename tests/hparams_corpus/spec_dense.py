"""Corpus tables of the ``dense`` group (see lint/hparams/families/__init__.py): tiny originals
and their argument names, per library; ``generate.py`` merges them."""

from bases import DEC, DEC_NAMES, DELETE, HF_DEC, HF_DEC_NAMES, _hf, _kh

_ROPE = "rope_parameters.partial_rotary_factor"
_WINDOWED = {**HF_DEC, "sliding_window": 16}
_WINDOW_NAMES = {**HF_DEC_NAMES, "window": "sliding_window"}


def _layer_types_edits(pattern_key: str | None = "sliding_window_pattern") -> list:
    """Hybrid sliding/full attention: the per-layer list and the older pattern integer."""
    edits = [
        (
            "layer-types-longer",
            "layers",
            "layer_types lists 3 layers for num_hidden_layers=2",
            {"layer_types": ["sliding_attention", "sliding_attention", "full_attention"]},
        ),
        (
            "layer-types-unknown",
            "type",
            'layer_types holds "local_attention", not an attention kind the library knows',
            {"layer_types": ["local_attention", "full_attention"]},
        ),
        (
            "layer-types-removed-layers-3",
            "layers",
            "layer_types removed and num_hidden_layers=3: the library derives the list",
            {"layer_types": DELETE, "num_hidden_layers": 3},
        ),
        (
            "layers-3",
            "layers",
            "num_hidden_layers=3 with the written 2-entry layer_types",
            {"num_hidden_layers": 3},
        ),
    ]
    if pattern_key:
        edits.append(
            (
                "window-pattern-1",
                "window",
                f"layer_types removed, {pattern_key}=1",
                {"layer_types": DELETE, pattern_key: 1},
            )
        )
    return edits


def _defaults_only(*keys: str) -> tuple:
    """The optional keys removed: the config class's defaults apply (the sizes and the token
    ids of the tiny original stay, so that the model stays tiny and its ids in the
    vocabulary)."""
    return (
        "defaults-only",
        "type",
        "optional keys removed (" + ", ".join(keys) + "): the config class's defaults",
        {key: DELETE for key in keys},
    )


def _max_positions_edits(key: str = "max_position_embeddings") -> list:
    """A position table size of 0 or -1 (rotary decoders compute their tables for the
    positions fed, so whether it matters is the family's)."""
    return [
        ("max-positions-zero", "zero", f"{key}=0", {key: 0}),
        ("max-positions-negative", "negative", f"{key}=-1", {key: -1}),
    ]


def _null(*keys: str) -> list:
    """Keys written as null: a default for some families, a failure for others."""
    return [(f"{key.replace('_', '-')}-null", "type", f"{key}=null", {key: None}) for key in keys]


_HEAD_DIM_REMOVED = (
    "head-dim-removed-width-66",
    "hidden-size",
    "head_dim removed and hidden_size=66: the head size is derived again",
    {"head_dim": DELETE, "hidden_size": 66},
)


def _rotary_dim_edits() -> list:
    """GPT-J and CodeGen rotate the first `rotary_dim` features of each head (16 here)."""
    return [
        ("rotary-dim-odd", "rotary", "rotary_dim=3 (odd)", {"rotary_dim": 3}),
        ("rotary-dim-head", "rotary", "rotary_dim=16, the whole head", {"rotary_dim": 16}),
        ("rotary-dim-above-head", "rotary", "rotary_dim=32 > head size 16", {"rotary_dim": 32}),
        ("rotary-dim-null", "rotary", "rotary_dim=null", {"rotary_dim": None}),
        ("rotary-dim-zero", "rotary", "rotary_dim=0", {"rotary_dim": 0}),
        ("rotary-dim-negative", "rotary", "rotary_dim=-2", {"rotary_dim": -2}),
        ("inter-null", "hidden-size", "n_inner=null (4 * n_embd)", {"n_inner": None}),
        (
            "defaults-only",
            "rotary",
            "rotary_dim, n_inner and the rates removed: rotary_dim is 64, wider than a head of 16",
            {
                k: DELETE
                for k in ("rotary_dim", "n_inner", "resid_pdrop", "embd_pdrop", "attn_pdrop")
            },
        ),
        (
            "defaults-head-64",
            "rotary",
            "rotary_dim removed (64) with n_head=1: heads of 64",
            {"rotary_dim": DELETE, "n_head": 1},
        ),
    ]


_GPTJ = {
    "vocab_size": 200,
    "n_embd": 64,
    "n_layer": 2,
    "n_head": 4,
    "n_inner": 128,
    "n_positions": 64,
    "rotary_dim": 8,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}
_GPTJ_NAMES = {
    "width": "n_embd",
    "heads": "n_head",
    "inter": "n_inner",
    "layers": "n_layer",
    "vocab": "vocab_size",
    "rates": ["resid_pdrop", "attn_pdrop", "embd_pdrop"],
    "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"],
}

TRANSFORMERS: dict = {
    "gemma3_text": _hf(
        "gemma3_text",
        {**_WINDOWED, "head_dim": 16},
        {**_WINDOW_NAMES, "head_dim": "head_dim"},
        derives_head=False,
        extra_edits=[
            *_max_positions_edits(),
            *_null("head_dim", "num_key_value_heads", "sliding_window_pattern"),
            *_layer_types_edits(),
            (
                "bidirectional",
                "window",
                "use_bidirectional_attention=true (the window becomes 16 // 2 + 1)",
                {"use_bidirectional_attention": True},
            ),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            (
                "defaults-only",
                "type",
                "only model_type and the sizes: every other key from the config class",
                {
                    k: DELETE
                    for k in (
                        "head_dim",
                        "sliding_window",
                        "layer_types",
                        "rope_parameters",
                        "pad_token_id",
                        "bos_token_id",
                        "eos_token_id",
                        "tie_word_embeddings",
                        "attention_bias",
                        "query_pre_attn_scalar",
                    )
                },
            ),
        ],
    ),
    "phi": _hf(
        "phi",
        dict(HF_DEC),
        {**HF_DEC_NAMES, "rotary": _ROPE, "rates": ["resid_pdrop", "attention_dropout"]},
        extra_edits=[
            *_max_positions_edits(),
            *_null("head_dim", "num_key_value_heads"),
            _defaults_only(
                "rope_parameters",
                "qk_layernorm",
                "resid_pdrop",
                "embd_pdrop",
                "tie_word_embeddings",
                "layer_norm_eps",
                "hidden_act",
            ),
            ("qk-layernorm", "type", "qk_layernorm=true", {"qk_layernorm": True}),
            (
                "qk-layernorm-kv-1",
                "kv-heads",
                "qk_layernorm=true, num_key_value_heads=1",
                {"qk_layernorm": True, "num_key_value_heads": 1},
            ),
            ("rotary-removed", "rotary", "rope_parameters removed", {"rope_parameters": DELETE}),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "olmo": _hf(
        "olmo",
        dict(HF_DEC),
        dict(HF_DEC_NAMES),
        extra_edits=[
            *_max_positions_edits(),
            *_null("head_dim", "num_key_value_heads"),
            _defaults_only("attention_bias", "clip_qkv", "rope_parameters", "tie_word_embeddings"),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("clip-qkv", "type", "clip_qkv=8.0", {"clip_qkv": 8.0}),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "olmo2": _hf(
        "olmo2",
        dict(HF_DEC),
        dict(HF_DEC_NAMES),
        extra_edits=[
            _defaults_only(
                "attention_bias", "rope_parameters", "rms_norm_eps", "tie_word_embeddings"
            ),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            (
                "attention-bias-kv-1",
                "kv-heads",
                "attention_bias=true, num_key_value_heads=1",
                {"attention_bias": True, "num_key_value_heads": 1},
            ),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "olmo3": _hf(
        "olmo3",
        dict(_WINDOWED),
        dict(_WINDOW_NAMES),
        extra_edits=[
            _defaults_only("attention_bias", "rope_parameters", "layer_types", "sliding_window"),
            *_layer_types_edits(None),
            (
                "attention-bias-kv-1",
                "kv-heads",
                "attention_bias=true, num_key_value_heads=1",
                {"attention_bias": True, "num_key_value_heads": 1},
            ),
        ],
    ),
    "granite": _hf(
        "granite",
        dict(HF_DEC),
        dict(HF_DEC_NAMES),
        extra_edits=[
            _defaults_only(
                "attention_bias",
                "mlp_bias",
                "embedding_multiplier",
                "residual_multiplier",
                "attention_multiplier",
                "logits_scaling",
                "rope_parameters",
            ),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("mlp-bias", "type", "mlp_bias=true", {"mlp_bias": True}),
            ("multipliers", "type", "embedding_multiplier=12.0", {"embedding_multiplier": 12.0}),
        ],
    ),
    "smollm3": _hf(
        "smollm3",
        dict(HF_DEC),
        {**HF_DEC_NAMES, "window": "sliding_window"},
        extra_edits=[
            *_null("num_key_value_heads"),
            _defaults_only(
                "attention_bias",
                "mlp_bias",
                "layer_types",
                "no_rope_layers",
                "no_rope_layer_interval",
                "sliding_window",
                "use_sliding_window",
                "tie_word_embeddings",
                "rope_parameters",
            ),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("mlp-bias", "type", "mlp_bias=true", {"mlp_bias": True}),
            (
                "sliding",
                "window",
                "use_sliding_window=true, sliding_window=4, layer_types removed",
                {"use_sliding_window": True, "sliding_window": 4, "layer_types": DELETE},
            ),
            (
                "no-rope-short",
                "layers",
                "no_rope_layers lists 1 layer for num_hidden_layers=2",
                {"no_rope_layers": [1]},
            ),
            *_layer_types_edits(None)[:2],
        ],
    ),
    "stablelm": _hf(
        "stablelm",
        dict(HF_DEC),
        {**HF_DEC_NAMES, "rotary": _ROPE, "rates": ["hidden_dropout", "attention_dropout"]},
        extra_edits=[
            *_null("head_dim", "num_key_value_heads"),
            _defaults_only(
                "use_qkv_bias",
                "qk_layernorm",
                "use_parallel_residual",
                "rope_parameters",
                "layer_norm_eps",
                "hidden_dropout",
            ),
            ("qkv-bias", "type", "use_qkv_bias=true", {"use_qkv_bias": True}),
            ("qk-layernorm", "type", "qk_layernorm=true", {"qk_layernorm": True}),
            (
                "qk-layernorm-kv-1",
                "kv-heads",
                "qk_layernorm=true, num_key_value_heads=1",
                {"qk_layernorm": True, "num_key_value_heads": 1},
            ),
            (
                "parallel",
                "type",
                "use_parallel_residual=true",
                {"use_parallel_residual": True},
            ),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "starcoder2": _hf(
        "starcoder2",
        dict(_WINDOWED),
        dict(_WINDOW_NAMES),
        extra_edits=[
            *_null("head_dim", "num_key_value_heads"),
            _defaults_only(
                "use_bias",
                "sliding_window",
                "rope_parameters",
                "norm_epsilon",
                "residual_dropout",
                "embedding_dropout",
                "tie_word_embeddings",
            ),
            ("no-bias", "type", "use_bias=false", {"use_bias": False}),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "cohere": _hf(
        "cohere",
        dict(HF_DEC),
        dict(HF_DEC_NAMES),
        extra_edits=[
            _defaults_only(
                "use_qk_norm",
                "attention_bias",
                "logit_scale",
                "layer_norm_eps",
                "rope_parameters",
                "tie_word_embeddings",
            ),
            ("qk-norm", "type", "use_qk_norm=true", {"use_qk_norm": True}),
            (
                "qk-norm-kv-1",
                "kv-heads",
                "use_qk_norm=true, num_key_value_heads=1",
                {"use_qk_norm": True, "num_key_value_heads": 1},
            ),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
        ],
    ),
    "cohere2": _hf(
        "cohere2",
        dict(_WINDOWED),
        {**_WINDOW_NAMES, "head_dim": "head_dim"},
        extra_edits=[
            *_null("head_dim", "sliding_window_pattern"),
            _defaults_only(
                "head_dim",
                "layer_types",
                "sliding_window",
                "attention_bias",
                "rope_parameters",
                "logit_scale",
            ),
            *_layer_types_edits(),
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            _HEAD_DIM_REMOVED,
        ],
    ),
    "exaone4": _hf(
        "exaone4",
        dict(_WINDOWED),
        dict(_WINDOW_NAMES),
        extra_edits=[
            *_null("head_dim", "num_key_value_heads"),
            _defaults_only(
                "layer_types",
                "sliding_window",
                "sliding_window_pattern",
                "rope_parameters",
                "tie_word_embeddings",
            ),
            *_layer_types_edits(),
            (
                "window-pattern-string",
                "type",
                'layer_types removed, sliding_window_pattern="LLLG" (as published files write it)',
                {"layer_types": DELETE, "sliding_window_pattern": "LLLG"},
            ),
            (
                "window-null",
                "window",
                "sliding_window=null, layer_types removed (every layer full attention)",
                {"sliding_window": None, "layer_types": DELETE},
            ),
            ("head-dim-explicit", "head-dim", "head_dim=24 (not a field)", {"head_dim": 24}),
        ],
    ),
    "gptj": _hf("gptj", dict(_GPTJ), dict(_GPTJ_NAMES), extra_edits=_rotary_dim_edits()),
    "codegen": _hf(
        "codegen",
        {**_GPTJ, "n_ctx": 64},
        dict(_GPTJ_NAMES),
        extra_edits=_rotary_dim_edits(),
    ),
    "mpt": _hf(
        "mpt",
        {
            "vocab_size": 200,
            "d_model": 64,
            "n_layers": 2,
            "n_heads": 4,
            "expansion_ratio": 2,
            "max_seq_len": 64,
        },
        {
            "width": "d_model",
            "heads": "n_heads",
            "layers": "n_layers",
            "vocab": "vocab_size",
            "rates": ["resid_pdrop", "emb_pdrop"],
            "tokens": ["pad_token_id", "bos_token_id", "eos_token_id"],
        },
        extra_edits=[
            _defaults_only(
                "expansion_ratio",
                "attn_config",
                "no_bias",
                "learned_pos_emb",
                "norm_type",
                "resid_pdrop",
                "emb_pdrop",
                "tie_word_embeddings",
            ),
            ("expansion-8", "hidden-size", "expansion_ratio=8", {"expansion_ratio": 8}),
            ("bias", "type", "no_bias=false", {"no_bias": False}),
            ("no-learned-pos", "type", "learned_pos_emb=false", {"learned_pos_emb": False}),
            ("alibi-off", "type", "attn_config.alibi=false", {"attn_config.alibi": False}),
            ("qk-ln", "type", "attn_config.qk_ln=true", {"attn_config.qk_ln": True}),
            ("seq-len-zero", "zero", "max_seq_len=0", {"max_seq_len": 0}),
            (
                "attn-pdrop-above-one",
                "rate",
                "attn_config.attn_pdrop=1.5",
                {"attn_config.attn_pdrop": 1.5},
            ),
        ],
    ),
}

KERAS_HUB: dict = {
    "Llama3Backbone": _kh("Llama3Backbone", dict(DEC), dict(DEC_NAMES)),
    "SmolLM3Backbone": _kh(
        "SmolLM3Backbone",
        {
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
        {
            **DEC_NAMES,
            "heads": "num_attention_heads",
            "rates": ["attention_dropout"],
            "rotary": "partial_rotary_factor",
        },
        extra_edits=[
            ("attention-bias", "type", "attention_bias=true", {"attention_bias": True}),
            ("mlp-bias", "type", "mlp_bias=true", {"mlp_bias": True}),
            (
                "layer-types-short",
                "layers",
                "layer_types lists 1 layer for num_layers=2",
                {"layer_types": ["full_attention"]},
            ),
            (
                "layer-types-sliding",
                "window",
                'layer_types ["sliding_attention", "full_attention"]',
                {"layer_types": ["sliding_attention", "full_attention"]},
            ),
            (
                "rope-list-short",
                "layers",
                "rope_layer_enabled_list lists 1 layer for num_layers=2",
                {"rope_layer_enabled_list": [True]},
            ),
            ("layers-3", "layers", "num_layers=3 with 2 layer_types", {"num_layers": 3}),
        ],
    ),
}


# The same edits of the first rotary decoders (generate.py's table).
EXTRA_EDITS = {
    name: _max_positions_edits()
    for name in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3")
}

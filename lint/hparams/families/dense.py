"""The ``dense`` group (see ``families/__init__.py``): entries and their formulas.

Decoder-only language models with one attention stack, read from transformers 5.24.0
(``transformers/models/<family>/configuration_*.py`` and ``modeling_*.py``) and keras-hub
0.32.0. What each library does with each argument is in tests/hparams_corpus/FAMILIES.md;
the counts are ``AutoModel.from_config(config).num_parameters()`` (the base model: no LM
head, so tied or not, the token embedding is counted once).
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint.hparams.builders import hf_decoder
from kmha_lint.hparams.params import (
    _attention,
    _counted,
    _flag,
    _gated,
    _hf_decoder,
    _hf_head_dim,
    _int,
    _layers,
    _ln,
    _mlp,
    _opt_int,
)
from kmha_lint.hparams.spec import EXPLICIT, FLOORS, Family, Unit

# ------------------------------------------------------------------------------------------
# Shared checks
# ------------------------------------------------------------------------------------------

# PreTrainedConfig.validate_layer_type (configuration_utils.py): ALLOWED_ATTN_LAYER_TYPES.
HF_ATTENTION_LAYER_TYPES = frozenset(
    {
        "full_attention",
        "sliding_attention",
        "chunked_attention",
        "window_attention",
        "indexed_attention",
        "compressed_sparse_attention",
        "heavily_compressed_attention",
        "minimax_m3_sparse",
        "conv",
        "moe",
        "hybrid",
        "hybrid_sliding",
        "linear_attention",
        "mamba",
        "attention",
    }
)


def hf_layer_types(pattern_key: str | None = None, pattern_default: int | None = None):
    """A check of ``layer_types`` (one attention kind per layer), as
    ``PreTrainedConfig.validate_layer_type`` reads it when the config is loaded: known kinds,
    one per layer. Without ``layer_types`` the config class derives it from the layer count
    and, where the family has one, the older pattern integer (every ``pattern``-th layer full
    attention: ``(i + 1) % pattern``, so 0 fails)."""

    def check(unit: Unit, report) -> None:
        from kmha_lint.hparams import rules
        from kmha_lint.hparams.checks import _show, is_int

        values = unit.values
        layers = values["num_hidden_layers"]
        counted = is_int(layers) and "num_hidden_layers" not in report.bad
        if not values.has("layer_types") or values["layer_types"] is None:
            if pattern_key is None or not values.has(pattern_key):
                return
            pattern = values[pattern_key]
            if is_int(pattern) and pattern > 0 or not counted or layers <= 0:
                return
            if pattern is None and pattern_default is None:
                return
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                pattern_key,
                "the config class derives layer_types from it (every n-th layer full "
                "attention) and fails without a positive integer",
                "a positive integer",
                _show(pattern),
                f"set `{pattern_key}` to the distance between full-attention layers, or write "
                "`layer_types`",
            )
            return
        kinds = values["layer_types"]
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                "layer_types",
                "wrong type",
                "a list of attention kinds, one per layer",
                _show(kinds),
                'write `layer_types` as a list such as ["sliding_attention", "full_attention"]',
            )
            return
        unknown = sorted({k for k in kinds if k not in HF_ATTENTION_LAYER_TYPES})
        if unknown:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "layer_types",
                f"unknown attention kind {unknown[0]!r} (the config class rejects it)",
                '"full_attention" or "sliding_attention"',
                repr(unknown[0]),
                "use the attention kinds the library knows",
            )
            return
        if counted and layers != len(kinds):
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "layer_types",
                f"layer_types names {len(kinds)} layers for num_hidden_layers={layers} (the "
                "config class requires one entry per layer)",
                f"a list of {layers} entries" if layers >= 0 else "a non-negative layer count",
                f"{len(kinds)} entries",
                "make `layer_types` and `num_hidden_layers` agree (or remove `layer_types` and "
                "let the library derive it)",
            )

    return check


# ------------------------------------------------------------------------------------------
# Formulas (transformers): AutoModel.from_config(config).num_parameters()
# ------------------------------------------------------------------------------------------


def _bias(v, key: str = "attention_bias") -> bool:
    return _flag(v, key, False)


@_counted
def hf_llama_like(v) -> int:
    """Granite and SmolLM3: Llama's layer (q/k/v/o with ``attention_bias``, gated MLP with
    ``mlp_bias``, two RMSNorms), final RMSNorm."""
    bias = _bias(v)
    return _hf_decoder(
        v, k=_hf_head_dim(v), qkv_bias=bias, o_bias=bias, mlp_bias=_bias(v, "mlp_bias")
    )


def gemma3_text_params(v) -> int:
    """Gemma3TextModel: Gemma's layer with q/k RMSNorms of ``head_dim`` and four RMSNorms
    around attention and MLP. For the gemma3 container's text_config too."""
    k = _hf_head_dim(v, 256)
    bias = _bias(v)
    return _hf_decoder(v, k=k, qkv_bias=bias, o_bias=bias, norms=4, layer_extra=2 * k)


hf_gemma3_text = _counted(gemma3_text_params)


@_counted
def hf_phi(v) -> int:
    """PhiModel: parallel block (one LayerNorm with bias), q/k/v/dense with biases, fc1/fc2
    with biases, optional per-head q/k LayerNorms of ``hidden_size // heads``, final
    LayerNorm."""
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    norms = 2 * _ln(d // h) if _flag(v, "qk_layernorm", False) else 0
    return (
        _hf_decoder(
            v,
            k=_hf_head_dim(v),
            qkv_bias=True,
            o_bias=True,
            norms=0,
            layer_extra=_ln(d) + norms,
            ffn=lambda d_, i: _mlp(d_, i),
        )
        + d
    )  # final LayerNorm's bias (the weight is in _hf_decoder)


def _qk_norm_width(v, k: int) -> int:
    """Olmo2/Olmo3 normalise the whole q and k projections: (heads + kv heads) * head_dim."""
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    return (h + kv) * k


@_counted
def hf_olmo(v) -> int:
    """OlmoModel: LayerNorms without weights (``OlmoLayerNorm``), q/k/v/o with
    ``attention_bias``, gated MLP."""
    bias = _bias(v)
    d = _int(v, "hidden_size")
    return _hf_decoder(v, k=_hf_head_dim(v), qkv_bias=bias, o_bias=bias, norms=0) - d


@_counted
def hf_olmo2(v) -> int:
    """Olmo2Model and Olmo3Model: q/k RMSNorms over the whole projections, post-attention and
    post-feedforward RMSNorms, final RMSNorm."""
    k = _hf_head_dim(v)
    bias = _bias(v)
    return _hf_decoder(v, k=k, qkv_bias=bias, o_bias=bias, layer_extra=_qk_norm_width(v, k))


@_counted
def hf_stablelm(v) -> int:
    """StableLmModel: q/k/v with ``use_qkv_bias``, o_proj hidden->hidden without bias,
    LayerNorms with bias (no post-attention one with ``use_parallel_residual``), per-head
    q/k LayerNorms without bias when ``qk_layernorm``."""
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    k = d // h
    kv = _opt_int(v, "num_key_value_heads") or h
    i = _int(v, "intermediate_size")
    attention = _attention(d, h, k, kv, qkv_bias=_flag(v, "use_qkv_bias", False), out_bias=False)
    attention += d * d - h * k * d  # o_proj is built on hidden_size, not heads * head_dim
    if _flag(v, "qk_layernorm", False):
        attention += (h + kv) * k
    norms = 1 if _flag(v, "use_parallel_residual", False) else 2
    layer = attention + norms * _ln(d) + _gated(d, i)
    return _int(v, "vocab_size", 0) * d + _layers(v, "num_hidden_layers") * layer + _ln(d)


@_counted
def hf_starcoder2(v) -> int:
    """Starcoder2Model: q/k/v/o and c_fc/c_proj with ``use_bias``, LayerNorms with bias."""
    bias = _flag(v, "use_bias", True)
    d = _int(v, "hidden_size")
    body = _hf_decoder(
        v,
        k=_hf_head_dim(v),
        qkv_bias=bias,
        o_bias=bias,
        norms=0,
        layer_extra=2 * _ln(d),
        ffn=lambda d_, i: _mlp(d_, i, bias=bias),
    )
    return body + d  # the final LayerNorm's bias


@_counted
def hf_cohere(v) -> int:
    """CohereModel and Cohere2Model: parallel block with one LayerNorm without bias, q/k/v/o
    with ``attention_bias``, gated MLP; cohere's ``use_qk_norm`` adds per-head q/k norms."""
    k = _hf_head_dim(v)
    bias = _bias(v)
    extra = _qk_norm_width(v, k) if _flag(v, "use_qk_norm", False) else 0
    return _hf_decoder(v, k=k, qkv_bias=bias, o_bias=bias, norms=1, layer_extra=extra)


@_counted
def hf_cohere2(v) -> int:
    """Cohere2Config.__post_init__ sets head_dim = hidden_size // heads, then the file's own
    keys are applied: a written head_dim wins."""
    bias = _bias(v)
    return _hf_decoder(v, k=_hf_head_dim(v), qkv_bias=bias, o_bias=bias, norms=1)


@_counted
def hf_exaone4(v) -> int:
    """Exaone4Model: no biases, q/k RMSNorms of head_dim, post-attention and post-feedforward
    RMSNorms."""
    k = _hf_head_dim(v)
    return _hf_decoder(v, k=k, qkv_bias=False, layer_extra=2 * k)


@_counted
def hf_gptj(v) -> int:
    """GPTJModel and CodeGenModel: parallel block with one LayerNorm, q/k/v/out without bias
    (CodeGen fuses q/k/v), fc_in/fc_out with bias (``n_inner`` or 4 * n_embd)."""
    d = _int(v, "n_embd")
    _int(v, "n_head")
    i = _opt_int(v, "n_inner") or 4 * d
    layer = _ln(d) + 4 * d * d + _mlp(d, i)
    return _int(v, "vocab_size", 0) * d + _layers(v, "n_layer") * layer + _ln(d)


@_counted
def hf_mpt(v) -> int:
    """MptModel: LayerNorms without bias, fused Wqkv and out_proj without bias, an MLP of
    4 * d_model (``expansion_ratio`` and ``no_bias`` are not read by the modeling code)."""
    d = _int(v, "d_model")
    _int(v, "n_heads")
    layer = 2 * d + 4 * d * d + 2 * d * 4 * d
    return _int(v, "vocab_size", 0) * d + _layers(v, "n_layers") * layer + d


# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------


def _decoder(name, title, *, params_fn, derived=FLOORS, attention=None, family=None, **defaults):
    """A transformers decoder entry (``hf_decoder``'s names: hidden_size,
    num_attention_heads, num_key_value_heads, head_dim, rope_parameters), with changes to its
    attention and to the family's other fields."""
    entry = hf_decoder(name, title, derived=derived, params_fn=params_fn, **defaults)
    changes = dict(family or {})
    changes["attention"] = tuple(
        replace(a, rotary_above_one_fails=True, **(attention or {})) for a in entry.attention
    )
    return replace(entry, **changes)


# Layer counts: an empty stack (0) builds; a negative count fails when the layers are
# counted ("__len__() should return >= 0"), or when layer_types is checked against it.
_NEGATIVE_LAYERS_FAIL = {
    "strict_layers": True,
    "zero_ok": frozenset({"num_hidden_layers"}),
}
# A written layer_types must have one entry per layer: zero and negative counts fail too.
_LAYER_TYPES = {"strict_layers": True}
# The sliding-window mask breaks with a window of zero or less.
_WINDOW = {"windows": ("sliding_window",), "strict_windows": True}
_TOKENS_DEFAULT = {"pad_token_id": None, "bos_token_id": None, "eos_token_id": None}

FAMILIES: tuple[Family, ...] = (
    _decoder(
        "gemma3_text",
        "Gemma 3 (text)",
        derived=EXPLICIT,
        params_fn=hf_gemma3_text,
        attention={"divisible_even_with_head_dim": True},
        family={**_LAYER_TYPES, **_WINDOW, "extra": (hf_layer_types("sliding_window_pattern", 6),)},
        head_dim_default=256,
        vocab_size=262_208,
        hidden_size=2304,
        intermediate_size=9216,
        num_hidden_layers=26,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=131_072,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        sliding_window=4096,
    ),
    _decoder(
        "phi",
        "Phi (1, 1.5, 2)",
        params_fn=hf_phi,
        attention={"rotary_fraction_default": 0.5},
        family={
            **_NEGATIVE_LAYERS_FAIL,
            "rates": ("resid_pdrop", "embd_pdrop", "attention_dropout"),
        },
        vocab_size=51200,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=24,
        num_attention_heads=32,
        max_position_embeddings=2048,
        pad_token_id=None,
        bos_token_id=1,
        eos_token_id=2,
    ),
)

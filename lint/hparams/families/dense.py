"""The ``dense`` group (see ``families/__init__.py``): entries and their formulas.

Decoder-only language models with one attention stack, read from transformers 5.24.0
(``transformers/models/<family>/configuration_*.py`` and ``modeling_*.py``) and keras-hub
0.32.0. What each library does with each argument is in tests/hparams_corpus/FAMILIES.md;
the counts are ``AutoModel.from_config(config).num_parameters()`` (the base model: no LM
head, so tied or not, the token embedding is counted once).
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint.geometry import floored_head_size
from kmha_lint.hparams.builders import hf_decoder, hf_family, kh_family, kh_gqa
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
    _Unknown,
    kh_llama,
)
from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit

# ------------------------------------------------------------------------------------------
# Shared checks
# ------------------------------------------------------------------------------------------

# PreTrainedConfig.validate_layer_type (configuration_utils.py): ALLOWED_ATTN_LAYER_TYPES,
# and the legacy names remap_legacy_layer_types renames first (_LEGACY_LAYER_TYPE_REMAP).
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
        "reference_sliding_attention",
        "linear_attention",
        # legacy names
        "mamba",
        "attention",
        "deepseek_sparse_attention",
        "qwen_sparse_attention",
    }
)


def hf_layer_types(pattern_key: str | None = None, *, off_without_window: bool = False):
    """A check of ``layer_types`` (one attention kind per layer), as
    ``PreTrainedConfig.validate_layer_type`` reads it when the config is loaded: known kinds,
    one per layer. Without ``layer_types`` the config class derives it from the layer count
    and, where the family has one, the older pattern integer (every ``pattern``-th layer full
    attention: ``(i + 1) % pattern``, so 0 or null fails; EXAONE 4 sets it to 0 when
    ``sliding_window`` is null: ``off_without_window``)."""

    def check(unit: Unit, report) -> None:
        from kmha_lint.hparams import rules
        from kmha_lint.hparams.checks import _show, is_int

        values = unit.values
        layers = values["num_hidden_layers"]
        counted = is_int(layers) and "num_hidden_layers" not in report.bad
        if not values.has("layer_types") or values["layer_types"] is None:
            if pattern_key is None or not counted or layers <= 0:
                return
            key, pattern = pattern_key, values[pattern_key]
            if (
                off_without_window
                and values.has("sliding_window")
                and values["sliding_window"] is None
            ):
                key, pattern = "sliding_window", 0
            if (is_int(pattern) and pattern > 0) or (key == pattern_key and not values.has(key)):
                return
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                f"without `layer_types` the config class derives it with `(i + 1) % "
                f"{pattern_key}`"
                + (
                    f" ({pattern_key} is 0 when sliding_window is null)"
                    if key != pattern_key
                    else ""
                )
                + ", which fails",
                f"a positive integer {pattern_key}"
                if key == pattern_key
                else "a sliding window (or a written layer_types)",
                _show(values[key]),
                "write `layer_types` (one attention kind per layer)"
                + (f", or set `{pattern_key}` >= 1" if key == pattern_key else ", or set a window"),
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


def not_null(*keys: str):
    """A check that these keys are not written as null: the config class declares them
    ``int`` (not optional), or the modeling code reads ``getattr(config, "head_dim", ...)``,
    which returns the null and fails on it."""

    def check(unit: Unit, report) -> None:
        from kmha_lint.hparams import rules

        for key in keys:
            if unit.values.has(key) and unit.values[key] is None:
                report.add(
                    rules.HPARAM_WRONG_TYPE,
                    key,
                    "null, where the library needs a number (it fails when the config is read "
                    "or the model is built)",
                    "a positive integer",
                    "None (null)",
                    f"write `{key}` as a whole number, or remove it to get the default",
                )

    return check


def _check_rotary_dim(unit: Unit, report) -> None:
    """GPT-J and CodeGen rotate the first ``rotary_dim`` features of each head with a sin/cos
    table of ``rotary_dim`` features: it must be even and at most the head size (0 fails at
    the first batch, a negative value when the table is built, null when the config is
    read)."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show, head_size, is_int

    values, key = unit.values, "rotary_dim"
    value = values[key]  # the config class's default (64) when the key is absent
    if not is_int(value):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "wrong type (the config class takes an integer)",
            "a positive even integer",
            _show(value),
            "write `rotary_dim` as a whole number, e.g. 64",
        )
        return
    size = head_size(report, unit.family.attention[0])
    if value <= 0 or (size is not None and value > size):
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "the rotary table has `rotary_dim` features, and the library applies it to "
            + ("no feature" if value <= 0 else f"the {size} features of a head")
            + "; the shapes do not match",
            f"an even integer in [2, {size}]" if size else "a positive even integer",
            str(value),
            "set `rotary_dim` to the number of features of each head to rotate",
        )
    elif value % 2:
        report.add(
            rules.ROTARY_ODD,
            key,
            "an odd rotary dimension: the sin/cos table covers pairs of features, one more "
            "than the slice it is applied to",
            "an even integer",
            str(value),
            f"use rotary_dim={value - 1} or {value + 1}",
        )


def _check_rotary_head_dim(unit: Unit, report) -> None:
    """StableLM's attention uses hidden_size // heads, but its rotary table reads a written
    ``head_dim``: the two rotated sizes must agree."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _positive, is_int

    values = unit.values
    written = values["head_dim"] if values.has("head_dim") else None
    width = _positive(report, "hidden_size")
    heads = _positive(report, "num_attention_heads")
    if not is_int(written) or written <= 0 or not width or not heads:
        return
    fraction = values["rope_parameters.partial_rotary_factor"]
    if not isinstance(fraction, int | float) or isinstance(fraction, bool):
        fraction = values.get("partial_rotary_factor", 0.25)
    if not isinstance(fraction, int | float) or isinstance(fraction, bool):
        return
    size = floored_head_size(width, heads)[0]
    if int(written * fraction) != int(size * fraction):
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "head_dim",
            f"the attention uses heads of hidden_size // num_attention_heads = {size}, but the "
            f"rotary table is built for head_dim={written}: {int(written * fraction)} rotary "
            f"features against {int(size * fraction)}, which fails at the first batch",
            f"head_dim={size} or no head_dim",
            str(written),
            "remove `head_dim` (the library derives it)",
        )


def _check_no_rope_layers(unit: Unit, report) -> None:
    """SmolLM3 reads ``no_rope_layers[i]`` for every layer: a shorter list fails."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import is_int

    values = unit.values
    flags, layers = values["no_rope_layers"], values["num_hidden_layers"]
    if not isinstance(flags, list) or not is_int(layers) or "num_hidden_layers" in report.bad:
        return
    if len(flags) < layers:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "no_rope_layers",
            f"no_rope_layers has {len(flags)} entries for num_hidden_layers={layers}; every "
            "layer reads its own (IndexError when the model is built)",
            f"{layers} entries",
            f"{len(flags)} entries",
            "give `no_rope_layers` one 0/1 flag per layer, or remove it",
        )


def _check_mpt_attn_pdrop(unit: Unit, report) -> None:
    """MptAttentionConfig declares ``attn_pdrop: int``: a fraction such as 0.1 fails when the
    config is read, and a negative value when nn.Dropout is built."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show, is_int

    key = "attn_config.attn_pdrop"
    if not unit.values.has(key):
        return
    value = unit.values[key]
    if not is_int(value):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "wrong type (MptAttentionConfig declares it an integer: a fraction is rejected)",
            "0 (or 1)",
            _show(value),
            "write `attn_pdrop` as 0",
        )
    elif value < 0 or value > 1:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "a dropout rate outside [0, 1]",
            "0 (or 1)",
            str(value),
            "write `attn_pdrop` as 0",
        )


def _check_kh_smollm3(unit: Unit, report) -> None:
    """KerasHub SmolLM3: every layer reads ``layer_types[i]`` (a shorter list fails when the
    backbone is built), and the rotary table of ``int(head * partial_rotary_factor)`` features
    is applied to whole heads, so any other size fails at the first batch."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import head_size, is_int, is_number

    values = unit.values
    kinds, layers = values["layer_types"], values["num_layers"]
    if isinstance(kinds, list) and is_int(layers) and "num_layers" not in report.bad:
        if len(kinds) < layers:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "layer_types",
                f"layer_types names {len(kinds)} layers for num_layers={layers}; each layer "
                "reads its own entry (IndexError when the backbone is built)",
                f"at least {layers} entries",
                f"{len(kinds)} entries",
                "give `layer_types` one entry per layer",
            )
    key = "partial_rotary_factor"
    fraction, size = values[key], head_size(report, unit.family.attention[0])
    if key in report.bad or not is_number(fraction) or size is None:
        return
    if int(size * fraction) != size:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            f"the rotary table has int({size} * {fraction}) = {int(size * fraction)} features "
            f"and is applied to whole heads of {size}: KerasHub's SmolLM3 has no partial rotary",
            "1.0",
            str(fraction),
            "set `partial_rotary_factor` to 1.0",
        )


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
    norms = 2 * _ln(floored_head_size(d, h)[0]) if _flag(v, "qk_layernorm", False) else 0
    body = _hf_decoder(
        v,
        k=_hf_head_dim(v),
        qkv_bias=True,
        o_bias=True,
        norms=0,
        layer_extra=_ln(d) + norms,
        ffn=lambda d_, i: _mlp(d_, i),
    )
    return body + d  # the final LayerNorm's bias (_hf_decoder counts its weight)


def _qk_norm_width(v, k: int) -> int:
    """q and k norm weights over every head: (heads + kv heads) * head_dim (Olmo2/Olmo3 norm
    the whole projections, Cohere each head; the weights are as many)."""
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
    k = floored_head_size(d, h)[0]
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
    """CohereModel: parallel block with one LayerNorm without bias, q/k/v/o with
    ``attention_bias``, gated MLP; ``use_qk_norm`` adds per-head q/k norms ((n + k) * d)."""
    k = _hf_head_dim(v)
    bias = _bias(v)
    extra = _qk_norm_width(v, k) if _flag(v, "use_qk_norm", False) else 0
    return _hf_decoder(v, k=k, qkv_bias=bias, o_bias=bias, norms=1, layer_extra=extra)


@_counted
def hf_cohere2(v) -> int:
    """Cohere2Model: cohere's layer without q/k norms. Cohere2Config.__post_init__ sets
    head_dim = hidden_size // heads, then the file's own keys are applied: a written head_dim
    wins."""
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
# Formulas (KerasHub): count_params() of the backbone
# ------------------------------------------------------------------------------------------


@_counted
def kh_smollm3(v) -> int:
    """SmolLM3Backbone: tied token embedding, q/k/v with ``attention_bias`` on heads of
    hidden_dim // heads, o_proj without bias, gated MLP with ``mlp_bias``, two RMSNorms, and in
    every layer a rotary ``inv_freq`` weight of ceil(int(head * factor) / 2) entries (counted
    by count_params as a non-trainable weight)."""
    d, h = _int(v, "hidden_dim"), _int(v, "num_attention_heads")
    kv, i = _int(v, "num_key_value_heads"), _int(v, "intermediate_dim")
    k = floored_head_size(d, h)[0]
    fraction = v.get("partial_rotary_factor")
    if not isinstance(fraction, int | float) or isinstance(fraction, bool):
        raise _Unknown("partial_rotary_factor")
    rotary = max(int(k * fraction), 0)
    attention = _attention(d, h, k, kv, qkv_bias=_flag(v, "attention_bias", False), out_bias=False)
    mlp = _gated(d, i) + ((2 * i + d) if _flag(v, "mlp_bias", False) else 0)
    layer = attention + mlp + 2 * d + (rotary + 1) // 2
    return _int(v, "vocabulary_size") * d + _layers(v, "num_layers") * layer + d


# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------


def _decoder(
    name,
    title,
    *,
    params_fn,
    derived=FLOORS,
    attention=None,
    family=None,
    null_fails=("head_dim",),
    **defaults,
):
    """A transformers decoder entry (``hf_decoder``'s names: hidden_size,
    num_attention_heads, num_key_value_heads, head_dim, rope_parameters), with changes to its
    attention and to the family's other fields. ``null_fails``: keys the library cannot take
    as null (most read ``getattr(config, "head_dim", hidden_size // heads)``, which returns a
    written null)."""
    entry = hf_decoder(name, title, derived=derived, params_fn=params_fn, **defaults)
    changes = dict(family or {})
    changes["attention"] = tuple(
        replace(a, rotary_above_one_fails=True, **(attention or {})) for a in entry.attention
    )
    if null_fails:
        changes["extra"] = (*changes.get("extra", ()), not_null(*null_fails))
    # The rotary tables are computed for the positions fed, not max_position_embeddings:
    # 0 or -1 builds and runs (a warning).
    for field in ("zero_ok", "negative_ok"):
        changes[field] = changes.get(field, frozenset()) | {"max_position_embeddings"}
    return replace(entry, **changes)


# Layer counts: an empty stack (0) builds; a negative count fails when the layers are
# counted ("__len__() should return >= 0"), or when layer_types is checked against it.
_NEGATIVE_LAYERS_FAIL = {
    "strict_layers": True,
    "zero_ok": frozenset({"num_hidden_layers"}),
}
# The sliding-window mask breaks with a window of zero or less.
_WINDOW = {"windows": ("sliding_window",), "strict_windows": True}
_OLMO = {
    "vocab_size": 50304,
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "max_position_embeddings": 2048,
    "pad_token_id": 1,
    "bos_token_id": None,
    "eos_token_id": 50279,
}
_COHERE = {
    "vocab_size": 256000,
    "hidden_size": 8192,
    "intermediate_size": 22528,
    "num_hidden_layers": 40,
    "num_attention_heads": 64,
    "max_position_embeddings": 8192,
    "pad_token_id": 0,
    "bos_token_id": 5,
    "eos_token_id": 255001,
}
_GPTJ_DEFAULTS = {
    "vocab_size": 50400,
    "n_positions": 2048,
    "n_embd": 4096,
    "n_layer": 28,
    "n_head": 16,
    "n_inner": None,
    "rotary_dim": 64,
    "bos_token_id": 50256,
    "eos_token_id": 50256,
}


def _gptj_like(name: str, title: str, **defaults) -> Family:
    """GPT-J and CodeGen: n_embd / n_head / n_layer, checked divisibility ("embed_dim must be
    divisible by num_attention_heads"), rotary_dim, no padding_idx."""
    return hf_family(
        name,
        title,
        (Attention("n_embd", "n_head", derived=DIVISIBLE),),
        layers=("n_layer",),
        sizes=("vocab_size", "n_positions", "n_inner"),
        rates=("resid_pdrop", "embd_pdrop", "attn_pdrop"),
        rates_unchecked=frozenset({"attn_pdrop"}),
        defaults={**_GPTJ_DEFAULTS, **defaults},
        params=hf_gptj,
        extra=(_check_rotary_dim,),
        **_NEGATIVE_LAYERS_FAIL | {"zero_ok": frozenset({"n_layer"})},
    )


FAMILIES: tuple[Family, ...] = (
    _decoder(
        "gemma3_text",
        "Gemma 3 (text)",
        derived=EXPLICIT,
        null_fails=("head_dim", "num_key_value_heads"),
        params_fn=hf_gemma3_text,
        attention={"divisible_even_with_head_dim": True},
        family={
            **_NEGATIVE_LAYERS_FAIL,
            **_WINDOW,
            "extra": (hf_layer_types("sliding_window_pattern"),),
        },
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
    _decoder("olmo", "OLMo", params_fn=hf_olmo, family=_NEGATIVE_LAYERS_FAIL, **_OLMO),
    _decoder("olmo2", "OLMo 2", params_fn=hf_olmo2, family=_NEGATIVE_LAYERS_FAIL, **_OLMO),
    _decoder(
        "olmo3",
        "OLMo 3",
        params_fn=hf_olmo2,
        family={**_NEGATIVE_LAYERS_FAIL, **_WINDOW, "extra": (hf_layer_types(),)},
        **_OLMO,
        sliding_window=4096,
    ),
    _decoder(
        "granite",
        "Granite",
        params_fn=hf_llama_like,
        family=_NEGATIVE_LAYERS_FAIL,
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        max_position_embeddings=2048,
        pad_token_id=None,
        bos_token_id=1,
        eos_token_id=2,
    ),
    _decoder(
        "smollm3",
        "SmolLM3",
        params_fn=hf_llama_like,
        family={
            **_NEGATIVE_LAYERS_FAIL,
            # The window only counts with use_sliding_window (off by default).
            "windows": ("sliding_window",),
            "extra": (hf_layer_types(), _check_no_rope_layers),
        },
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=11008,
        num_hidden_layers=36,
        num_attention_heads=16,
        num_key_value_heads=4,
        max_position_embeddings=32768,
        pad_token_id=128004,
        bos_token_id=128000,
        eos_token_id=128001,
    ),
    _decoder(
        "stablelm",
        "StableLM",
        derived=DIVISIBLE,
        null_fails=("num_key_value_heads",),
        params_fn=hf_stablelm,
        # The attention ignores head_dim (hidden_size // heads); only the rotary table reads it.
        attention={"head_dim": None, "rotary_fraction_default": 0.25},
        family={
            **_NEGATIVE_LAYERS_FAIL,
            "rates": ("hidden_dropout", "attention_dropout"),
            "extra": (_check_rotary_head_dim,),
        },
        vocab_size=50304,
        hidden_size=2560,
        intermediate_size=6912,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        pad_token_id=None,
        bos_token_id=0,
        eos_token_id=0,
    ),
    _decoder(
        "starcoder2",
        "StarCoder2",
        params_fn=hf_starcoder2,
        null_fails=("num_key_value_heads",),
        family={
            **_NEGATIVE_LAYERS_FAIL,
            **_WINDOW,
            "rates": ("attention_dropout", "residual_dropout", "embedding_dropout"),
            "rates_unchecked": frozenset(
                {"attention_dropout", "residual_dropout", "embedding_dropout"}
            ),
        },
        vocab_size=49152,
        hidden_size=3072,
        intermediate_size=12288,
        num_hidden_layers=30,
        num_attention_heads=24,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=None,
        bos_token_id=50256,
        eos_token_id=50256,
    ),
    _decoder("cohere", "Command R", params_fn=hf_cohere, family=_NEGATIVE_LAYERS_FAIL, **_COHERE),
    _decoder(
        "cohere2",
        "Command R7B / A",
        params_fn=hf_cohere2,
        family={
            **_NEGATIVE_LAYERS_FAIL,
            **_WINDOW,
            "extra": (hf_layer_types("sliding_window_pattern"),),
        },
        **_COHERE,
        sliding_window=4096,
    ),
    _decoder(
        "exaone4",
        "EXAONE 4",
        params_fn=hf_exaone4,
        null_fails=("head_dim", "num_key_value_heads"),
        family={
            **_NEGATIVE_LAYERS_FAIL,
            **_WINDOW,
            "extra": (hf_layer_types("sliding_window_pattern", off_without_window=True),),
        },
        vocab_size=102400,
        hidden_size=4096,
        intermediate_size=16384,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=2048,
        pad_token_id=None,
        bos_token_id=0,
        eos_token_id=2,
        sliding_window=4096,
        sliding_window_pattern=4,
    ),
    _gptj_like("gptj", "GPT-J"),
    # n_ctx is read by the config class only (the rotary table is sized by n_positions).
    _gptj_like("codegen", "CodeGen", n_ctx=2048),
    hf_family(
        "mpt",
        "MPT",
        (Attention("d_model", "n_heads", derived=DIVISIBLE),),
        layers=("n_layers",),
        sizes=("vocab_size", "max_seq_len"),
        # Read by the config class only: the modeling code uses attn_config.attn_pdrop.
        rates=("resid_pdrop", "emb_pdrop"),
        rates_unchecked=frozenset({"resid_pdrop", "emb_pdrop"}),
        defaults={
            "d_model": 2048,
            "n_heads": 16,
            "n_layers": 24,
            "max_seq_len": 2048,
            "vocab_size": 50368,
        },
        params=hf_mpt,
        extra=(_check_mpt_attn_pdrop,),
    ),
    # KerasHub
    # Llama3Backbone subclasses LlamaBackbone without changing a weight or an argument.
    kh_family(
        "Llama3Backbone",
        "Llama 3",
        kh_gqa(),
        required=(
            "vocabulary_size",
            "num_layers",
            "num_query_heads",
            "hidden_dim",
            "intermediate_dim",
            "num_key_value_heads",
        ),
        sizes=("vocabulary_size", "intermediate_dim"),
        defaults={"dropout": 0, "tie_word_embeddings": False},
        params=kh_llama,
    ),
    kh_family(
        "SmolLM3Backbone",
        "SmolLM3",
        (
            Attention(
                width="hidden_dim",
                heads="num_attention_heads",
                kv_heads="num_key_value_heads",
                derived=FLOORS,
                rotary=True,
                rotary_fraction="partial_rotary_factor",
                rotary_above_one_fails=True,
            ),
        ),
        # Every constructor argument is required.
        required=(
            "vocabulary_size",
            "hidden_dim",
            "intermediate_dim",
            "num_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "attention_bias",
            "attention_dropout",
            "rope_layer_enabled_list",
            "layer_types",
            "mlp_bias",
            "layer_norm_epsilon",
            "max_position_embeddings",
            "rope_theta",
            "partial_rotary_factor",
        ),
        sizes=("vocabulary_size", "intermediate_dim", "max_position_embeddings"),
        rates=("attention_dropout",),
        rates_unchecked=frozenset({"attention_dropout"}),
        params=kh_smollm3,
        extra=(_check_kh_smollm3,),
    ),
)

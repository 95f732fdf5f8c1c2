"""The ``encoders`` group (see ``families/__init__.py``): encoder-only and encoder-decoder
text models and vision encoders, each a :class:`~kmha_lint.hparams.spec.Family` entry beside
its parameter-count formula.

Read from transformers 5.24.0 (``transformers/models/<family>/configuration_*.py`` and
``modeling_*.py``) and keras-hub 0.32.0 (``keras_hub/src/models/<family>/``); the corpus
(``tests/hparams_corpus``, ``spec_encoders.py``) labels every edge case. Formulas count what
``AutoModel.from_config(config).num_parameters()`` counts (the base model: ``BartModel``,
``MT5Model``, ``Dinov2Model``, ...; shared embeddings once) and what KerasHub's
``backbone.count_params()`` counts (non-trainable weights included).
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint.geometry import is_int
from kmha_lint.hparams.builders import (
    HF_TOKENS,
    check_image,
    hf_bert_like,
    hf_family,
    hf_t5_like,
    kh_family,
)
from kmha_lint.hparams.builders import kh_mha as _mha
from kmha_lint.hparams.params import (
    _attention,
    _counted,
    _flag,
    _hf_bert_layer,
    _int,
    _kh_encoder_layer,
    _layers,
    _ln,
    _mlp,
    _pair,
    _Unknown,
    hf_t5,
    kh_roberta,
)
from kmha_lint.hparams.spec import DIVISIBLE, FLOORS, Attention, Family, Unit

# ------------------------------------------------------------------------------------------
# Shared helpers of this group.
# ------------------------------------------------------------------------------------------


class _Clamped:
    """A view of a unit's values where the named layer counts read as the library builds
    them (negative -> 0), so that a formula of params.py counts an empty stack."""

    def __init__(self, values, keys: tuple[str, ...], overrides: dict | None = None):
        self.values, self.keys, self.overrides = values, keys, overrides or {}

    def get(self, key: str, default=None):
        value = self.overrides[key] if key in self.overrides else self.values.get(key, default)
        if key in self.keys and is_int(value) and value < 0:
            return 0
        return value

    def __getitem__(self, key: str):
        return self.get(key)


def _clamped(function, *keys: str):
    """``function`` (a params.py formula) counting negative layer counts as empty stacks."""

    def count(v):
        return function(_Clamped(v, keys))

    count.__name__, count.__doc__ = function.__name__, function.__doc__
    return count


def hf_mt5(v) -> int | None:
    """T5's formula (``params.hf_t5``) as MT5Config reads the depths: ``__post_init__`` copies
    ``num_layers`` into a null ``num_decoder_layers`` before the attribute_map names
    (``num_hidden_layers``) are applied, so the decoder keeps the file's ``num_layers`` (or
    8) when only ``num_hidden_layers`` is given; negative depths build empty stacks."""
    decoder = v.get("num_decoder_layers")
    if decoder is None:
        decoder = v.config.get("num_layers", v.defaults["num_layers"])
    return hf_t5(_Clamped(v, ("num_layers", "num_decoder_layers"), {"num_decoder_layers": decoder}))


def _cast(v, key: str) -> int:
    """An integer argument KerasHub passes through int() first (``str_ok``/``float_ok``)."""
    value = v.get(key)
    if isinstance(value, str | float):
        try:
            value = int(value)
        except ValueError:
            raise _Unknown(key) from None
    if is_int(value) and value >= 1:
        return int(value)
    raise _Unknown(key)


def _check_position_padding(unit: Unit, report) -> None:
    """RoBERTa-style position tables are ``nn.Embedding(max_position_embeddings, H,
    padding_idx=pad_token_id)``: PyTorch refuses a pad id outside the position table too."""
    from kmha_lint.hparams import rules

    pad, positions = unit.values["pad_token_id"], unit.values["max_position_embeddings"]
    if {"pad_token_id", "max_position_embeddings"} & report.bad:
        return
    if not (is_int(pad) and is_int(positions)) or positions <= 0:
        return
    if -positions <= pad < positions:
        return
    report.add(
        rules.PADDING_ID_OUT_OF_VOCABULARY,
        "pad_token_id",
        "the pad token id is also the padding index of the position table "
        "(nn.Embedding(max_position_embeddings, hidden_size, padding_idx=pad_token_id)), and "
        "it is outside that table (PyTorch refuses it when the model is built)",
        f"an id in [0, {positions}) (max_position_embeddings={positions})",
        str(pad),
        "set `pad_token_id` to the tokenizer's pad id (1 for RoBERTa tokenizers), or raise "
        "`max_position_embeddings` above it",
    )


def _check_cross_attention(unit: Unit, report) -> None:
    """BERT-style layers raise when cross-attention is asked for in an encoder."""
    from kmha_lint.hparams import rules

    if unit.values["add_cross_attention"] is True and unit.values["is_decoder"] is not True:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "add_cross_attention",
            'cross-attention in a model that is not a decoder (the layer raises "should be '
            'used as a decoder model if cross attention is added" when the model is built)',
            "false, or true together with is_decoder=true",
            "true (is_decoder is not true)",
            "set `add_cross_attention` to false, or `is_decoder` to true",
        )


def _check_decoder_padding(unit: Unit, report) -> None:
    """Marian's decoder token table has decoder_vocab_size rows (`decoder_vocab_size or
    vocab_size`) and pad_token_id as its padding_idx."""
    from kmha_lint.hparams import rules

    pad, rows = unit.values["pad_token_id"], unit.values["decoder_vocab_size"]
    if {"pad_token_id", "decoder_vocab_size", "vocab_size"} & report.bad:
        return
    if not (is_int(pad) and is_int(rows)) or rows <= 0:
        return  # null or 0: the decoder uses vocab_size (checked with the vocabulary)
    if -rows <= pad < rows:
        return
    report.add(
        rules.PADDING_ID_OUT_OF_VOCABULARY,
        "pad_token_id",
        "the pad token id is the padding index of the decoder's token table too "
        "(nn.Embedding(decoder_vocab_size, d_model, padding_idx=pad_token_id)), and it is "
        "outside that table (PyTorch refuses it when the model is built)",
        f"an id in [0, {rows}) (decoder_vocab_size={rows})",
        str(pad),
        "set `pad_token_id` below `decoder_vocab_size`, or raise `decoder_vocab_size`",
    )


def _check_feed_forward_proj(unit: Unit, report) -> None:
    """T5-style configs check the format of feed_forward_proj when they are read:
    `ACT` or `gated-ACT` (the activation name itself is looked up only when building)."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show

    value = unit.values["feed_forward_proj"]
    if not unit.values.has("feed_forward_proj"):
        return
    if not isinstance(value, str):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            "feed_forward_proj",
            "wrong type",
            'a string such as "gated-gelu" or "relu"',
            _show(value),
            "write `feed_forward_proj` as a string",
        )
        return
    parts = value.split("-")
    if (len(parts) > 1 and parts[0] != "gated") or len(parts) > 2:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "feed_forward_proj",
            "not an activation of the form `ACT` or `gated-ACT` (the config class raises "
            "when it is read)",
            '"gated-gelu", "relu" or another `gated-ACT` / `ACT`',
            repr(value),
            'use "gated-gelu" (mT5, T5 v1.1) or "relu" (T5)',
        )


def _check_global_every(unit: Unit, report) -> None:
    """ModernBERT derives layer_types from global_attn_every_n_layers (`i % n`) when the
    config has no layer_types: 0 divides by zero when the config is read."""
    from kmha_lint.geometry import is_number
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show

    if unit.values["layer_types"] is not None or not unit.values.has("global_attn_every_n_layers"):
        return
    value = unit.values["global_attn_every_n_layers"]
    if not is_number(value):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            "global_attn_every_n_layers",
            "wrong type",
            "a positive integer",
            _show(value),
            "write `global_attn_every_n_layers` as a whole number",
        )
    elif value == 0:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "global_attn_every_n_layers",
            "zero: the config class computes `layer % global_attn_every_n_layers` for "
            "layer_types and divides by zero",
            "a positive integer (1: every layer global)",
            "0",
            "set `global_attn_every_n_layers` >= 1 (ModernBERT uses 3)",
        )


def _check_dropout_module_when_positive(key: str):
    """A rate the library wraps as `nn.Dropout(p) if p > 0 else nn.Identity()`: above 1 it
    fails when the model is built, at or below 0 it builds and drops nothing."""

    def check(unit: Unit, report) -> None:
        from kmha_lint.geometry import is_number
        from kmha_lint.hparams import rules
        from kmha_lint.hparams.checks import _show

        if not unit.values.has(key):
            return
        value = unit.values[key]
        fix = f"set `{key}` to a fraction, e.g. 0.1 (0 disables it)"
        if not is_number(value):
            report.add(
                rules.HPARAM_WRONG_TYPE, key, "wrong type", "a number in [0, 1]", _show(value), fix
            )
        elif value > 1:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                "a rate or probability above 1 (nn.Dropout refuses it when the model is built)",
                "a number in [0, 1]",
                str(value),
                fix,
            )
        elif value < 0 or value == 1:
            report.add(
                rules.HPARAM_DEGENERATE,
                key,
                "a negative rate (the library then drops nothing)"
                if value < 0
                else "a rate of 1 drops every unit during training",
                "a number in [0, 1)",
                str(value),
                fix,
            )

    check.__name__ = f"check_{key}"
    return check


def _check_square_grid(unit: Unit, report) -> None:
    """Dinov2 interpolates its position table as a square grid of sqrt(patches) rows, so a
    patch grid whose count is not a perfect square fails at the first batch."""
    from math import isqrt

    from kmha_lint.hparams import rules

    if {"image_size", "patch_size"} & report.bad:
        return
    try:
        (ih, iw), (ph, pw) = _pair(unit.values["image_size"]), _pair(unit.values["patch_size"])
    except _Unknown:
        return
    patches = (ih // ph) * (iw // pw)
    if isqrt(patches) ** 2 == patches:
        return
    report.add(
        rules.HPARAM_OUT_OF_RANGE,
        "image_size",
        f"a patch grid of {ih // ph} x {iw // pw} = {patches} patches; Dinov2 reshapes its "
        "position table into a square sqrt(patches) grid when it interpolates it, which fails "
        "at the first batch",
        "an image_size whose patch grid has a square number of patches (a square image)",
        str(unit.values["image_size"]),
        "use a square `image_size` (as every published DINOv2 config does)",
    )


# ------------------------------------------------------------------------------------------
# transformers
# ------------------------------------------------------------------------------------------


@_counted
def hf_xlm_roberta(v) -> int:
    """XLMRobertaModel (RoBERTa's modeling): word, position and token type embeddings, BERT
    layers (a cross-attention block more with is_decoder and add_cross_attention), pooler."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    h = _int(v, "num_attention_heads")
    emb = (_int(v, "vocab_size") + _int(v, "max_position_embeddings")) * d
    emb += _int(v, "type_vocab_size", 0) * d + _ln(d)
    layer = _hf_bert_layer(d, i, h)
    if _flag(v, "add_cross_attention", False) and _flag(v, "is_decoder", False):
        a = h * (d // h)
        layer += 3 * (d * a + a) + d * d + d + _ln(d)
    return emb + _layers(v, "num_hidden_layers") * layer + d * d + d


def _seq2seq(v, *, offset: int, embedding_norms: bool, final_norms: bool, embeddings: int) -> int:
    """BART-style encoder-decoders (bart, mbart, marian): learned or sinusoidal position
    tables of max_position_embeddings + offset rows in each stack, biased q/k/v/out
    projections of d_model, post- or pre-LayerNorms."""
    d = _int(v, "d_model")
    _int(v, "encoder_attention_heads")
    _int(v, "decoder_attention_heads")
    attention = 4 * (d * d + d)
    encoder = attention + 2 * _ln(d) + _mlp(d, _int(v, "encoder_ffn_dim"))
    decoder = 2 * attention + 3 * _ln(d) + _mlp(d, _int(v, "decoder_ffn_dim"))
    positions = 2 * (_int(v, "max_position_embeddings", 0) + offset) * d
    norms = 2 * _ln(d) * (int(embedding_norms) + int(final_norms))
    layers = _layers(v, "encoder_layers") * encoder + _layers(v, "decoder_layers") * decoder
    return embeddings + positions + norms + layers


def _bart_embeddings(v) -> int:
    """``shared`` and the two stacks' embed_tokens: tied into one with tie_word_embeddings
    (the default), three tables without."""
    table = _int(v, "vocab_size") * _int(v, "d_model")
    return table * (1 if _flag(v, "tie_word_embeddings", True) else 3)


@_counted
def hf_bart(v) -> int:
    return _seq2seq(
        v, offset=2, embedding_norms=True, final_norms=False, embeddings=_bart_embeddings(v)
    )


@_counted
def hf_mbart(v) -> int:
    """As BART, plus a final LayerNorm after each stack (pre-norm layers)."""
    return _seq2seq(
        v, offset=2, embedding_norms=True, final_norms=True, embeddings=_bart_embeddings(v)
    )


@_counted
def hf_marian(v) -> int:
    """Sinusoidal position tables (frozen nn.Embedding parameters: num_parameters counts
    them), no embedding or final LayerNorm; the decoder's token table has
    decoder_vocab_size rows (default vocab_size). With share_encoder_decoder_embeddings
    (default) MarianModel also holds ``shared``, tied to both stacks' tables only under
    tie_word_embeddings."""
    d, vocab = _int(v, "d_model"), _int(v, "vocab_size")
    # MarianConfig: `decoder_vocab_size or vocab_size` (0 and null mean the same).
    decoder_vocab = (_int(v, "decoder_vocab_size") if v.get("decoder_vocab_size") else 0) or vocab
    tables = vocab * d + decoder_vocab * d
    if _flag(v, "share_encoder_decoder_embeddings", True):
        if _flag(v, "tie_word_embeddings", True):
            if decoder_vocab != vocab:
                raise _Unknown("decoder_vocab_size")  # a tied table of another shape
            tables = vocab * d
        else:
            tables += vocab * d
    return _seq2seq(v, offset=0, embedding_norms=False, final_norms=False, embeddings=tables)


@_counted
def hf_modernbert(v) -> int:
    """ModernBertModel: token embedding and its LayerNorm (bias only with norm_bias), fused
    Wqkv and Wo (attention_bias), GLU MLP Wi (hidden -> 2 * intermediate) and Wo (mlp_bias),
    an attention LayerNorm in every layer but the first, a final LayerNorm."""
    d, i, h = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_attention_heads")
    k = d // h
    norm = d * (2 if _flag(v, "norm_bias", False) else 1)
    attention_bias, mlp_bias = _flag(v, "attention_bias", False), _flag(v, "mlp_bias", False)
    attention = d * 3 * h * k + d * d + ((3 * h * k + d) if attention_bias else 0)
    mlp = d * 2 * i + i * d + ((2 * i + d) if mlp_bias else 0)
    layers = _layers(v, "num_hidden_layers")
    body = layers * (attention + mlp + norm) + max(layers - 1, 0) * norm
    return _int(v, "vocab_size") * d + norm + body + norm


@_counted
def hf_mpnet(v) -> int:
    """MPNetModel: word and position embeddings (no token types), BERT-style layers, one
    relative attention bias table (buckets x heads) in the encoder, a pooler."""
    d, i, h = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_attention_heads")
    emb = (_int(v, "vocab_size") + _int(v, "max_position_embeddings")) * d + _ln(d)
    buckets = _int(v, "relative_attention_num_buckets", 0) * h
    layers = _layers(v, "num_hidden_layers") * _hf_bert_layer(d, i, h)
    return emb + layers + buckets + d * d + d


def _dinov2_mlp(d: int, m: int, swiglu: bool) -> int:
    if swiglu:
        hidden = (int(m * 2 / 3) + 7) // 8 * 8
        return 2 * (d * hidden + hidden) + hidden * d + d
    return _mlp(d, m)


@_counted
def hf_dinov2(v) -> int:
    """Dinov2Model: class token, mask token (use_mask_token), position table of patches + 1,
    patch convolution; layers with two LayerNorms, q/k/v (qkv_bias) of heads * head_dim
    (head_dim, else hidden_size // heads: floored), biased output, two layer scales and an MLP
    of int(hidden_size * mlp_ratio) (SwiGLU with use_swiglu_ffn); a final LayerNorm."""
    d, h, c = _int(v, "hidden_size"), _int(v, "num_attention_heads"), _int(v, "num_channels")
    k = _int(v, "head_dim") if v.get("head_dim") is not None else d // h
    a = h * k
    (ih, iw), (ph, pw) = _pair(v.get("image_size")), _pair(v.get("patch_size"))
    patches = (ih // ph) * (iw // pw)
    emb = d + (d if _flag(v, "use_mask_token", True) else 0) + (patches + 1) * d
    emb += c * ph * pw * d + d
    attention = 3 * (d * a + (a if _flag(v, "qkv_bias", True) else 0)) + a * d + d
    m = int(d * _int(v, "mlp_ratio", 0))
    mlp = _dinov2_mlp(d, m, _flag(v, "use_swiglu_ffn", False))
    layer = 2 * _ln(d) + attention + 2 * d + mlp
    return emb + _layers(v, "num_hidden_layers") * layer + _ln(d)


_SEQ2SEQ_RATES = (
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "encoder_layerdrop",
    "decoder_layerdrop",
    "classifier_dropout",
)
# attribute_map of BartConfig, MBartConfig and MarianConfig.
_SEQ2SEQ_ALIASES = {
    "d_model": "hidden_size",
    "encoder_attention_heads": "num_attention_heads",
    "encoder_layers": "num_hidden_layers",
}
_SEQ2SEQ_TOKENS = (
    *HF_TOKENS,
    "decoder_start_token_id",
    "forced_bos_token_id",
    "forced_eos_token_id",
)


def _hf_seq2seq(name, title, *, params_fn, extra_sizes=(), extra=(), zero_valid=(), **defaults):
    """bart, mbart, marian: one d_model, an encoder and a decoder attention stack, each
    checking ``embed_dim must be divisible by num_heads`` when the model is built."""
    return hf_family(
        name,
        title,
        (
            Attention("d_model", "encoder_attention_heads", derived=DIVISIBLE),
            Attention("d_model", "decoder_attention_heads", derived=DIVISIBLE),
        ),
        layers=("encoder_layers", "decoder_layers"),
        sizes=(
            "vocab_size",
            "encoder_ffn_dim",
            "decoder_ffn_dim",
            "max_position_embeddings",
            *extra_sizes,
        ),
        rates=_SEQ2SEQ_RATES,
        # Attention dropout reaches the attention function only while training, layerdrop
        # is compared with a random draw only while training.
        rates_unchecked=frozenset({"attention_dropout", "encoder_layerdrop", "decoder_layerdrop"}),
        negative_layers_fail=frozenset({"decoder_layers"}),
        token_ids=_SEQ2SEQ_TOKENS,
        padding_id="pad_token_id",
        defaults={
            "max_position_embeddings": 1024,
            "encoder_layers": 12,
            "encoder_ffn_dim": 4096,
            "encoder_attention_heads": 16,
            "decoder_layers": 12,
            "decoder_ffn_dim": 4096,
            "decoder_attention_heads": 16,
            "d_model": 1024,
            "tie_word_embeddings": True,
            **defaults,
        },
        params=params_fn,
        extra=tuple(extra),
        zero_valid=frozenset(zero_valid),
        aliases=_SEQ2SEQ_ALIASES,
    )


_HF = (
    replace(
        hf_bert_like(
            "xlm-roberta",
            "XLM-RoBERTa",
            params_fn=hf_xlm_roberta,
            vocab_size=30522,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            is_decoder=False,
            add_cross_attention=False,
        ),
        extra=(_check_position_padding, _check_cross_attention),
    ),
    _hf_seq2seq(
        "bart",
        "BART",
        params_fn=hf_bart,
        vocab_size=50265,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
    ),
    _hf_seq2seq(
        "mbart",
        "mBART",
        params_fn=hf_mbart,
        vocab_size=50265,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        forced_eos_token_id=2,
    ),
    _hf_seq2seq(
        "marian",
        "Marian",
        params_fn=hf_marian,
        extra_sizes=("decoder_vocab_size",),
        extra=(_check_decoder_padding,),
        zero_valid=("decoder_vocab_size",),
        vocab_size=58101,
        decoder_vocab_size=None,
        pad_token_id=58100,
        eos_token_id=0,
        decoder_start_token_id=58100,
        forced_eos_token_id=0,
        share_encoder_decoder_embeddings=True,
    ),
    hf_t5_like(
        "mt5",
        "mT5",
        params_fn=hf_mt5,
        defaults={
            "vocab_size": 250112,
            "d_ff": 1024,
            "num_layers": 8,
            "num_heads": 6,
            "relative_attention_max_distance": 128,
            "feed_forward_proj": "gated-gelu",
            "pad_token_id": 0,
            "eos_token_id": 1,
            "decoder_start_token_id": 0,
        },
        extra=(_check_feed_forward_proj,),
        # MT5Config.attribute_map
        aliases={
            "d_model": "hidden_size",
            "num_heads": "num_attention_heads",
            "num_layers": "num_hidden_layers",
            "d_kv": "head_dim",
        },
    ),
    hf_family(
        "modernbert",
        "ModernBERT",
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE, rotary=True),),
        sizes=("vocab_size", "intermediate_size", "max_position_embeddings"),
        windows=("local_attention",),
        rates=("embedding_dropout", "mlp_dropout", "classifier_dropout"),
        token_ids=(*HF_TOKENS, "cls_token_id", "sep_token_id"),
        padding_id="pad_token_id",
        defaults={
            "vocab_size": 50368,
            "hidden_size": 768,
            "intermediate_size": 1152,
            "num_hidden_layers": 22,
            "num_attention_heads": 12,
            "max_position_embeddings": 8192,
            "local_attention": 128,
            "pad_token_id": 50283,
            "eos_token_id": 50282,
            "bos_token_id": 50281,
            "cls_token_id": 50281,
            "sep_token_id": 50282,
            "layer_types": None,
        },
        # layer_types (written by to_dict) must have num_hidden_layers entries.
        strict_layers=True,
        params=hf_modernbert,
        extra=(_check_global_every, _check_dropout_module_when_positive("attention_dropout")),
    ),
    hf_family(
        "mpnet",
        "MPNet",
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=(
            "vocab_size",
            "intermediate_size",
            "max_position_embeddings",
            "relative_attention_num_buckets",
        ),
        rates=("hidden_dropout_prob", "attention_probs_dropout_prob"),
        defaults={
            "vocab_size": 30527,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "max_position_embeddings": 512,
            "relative_attention_num_buckets": 32,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        params=hf_mpnet,
    ),
    hf_family(
        "dinov2",
        "DINOv2",
        (Attention("hidden_size", "num_attention_heads", head_dim="head_dim", derived=FLOORS),),
        sizes=("num_channels", "mlp_ratio"),
        rates=("hidden_dropout_prob", "attention_probs_dropout_prob", "drop_path_rate"),
        # Attention dropout reaches the attention function and drop path runs only while
        # training.
        rates_unchecked=frozenset({"attention_probs_dropout_prob", "drop_path_rate"}),
        # to_dict writes out_features for the stages of num_hidden_layers: other counts fail
        # when the config is read.
        strict_layers=True,
        # nn.Linear(hidden_size, 0): builds and runs.
        zero_ok=frozenset({"mlp_ratio"}),
        vocab=None,
        token_ids=(),
        defaults={
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "mlp_ratio": 4,
            "image_size": 224,
            "patch_size": 14,
            "num_channels": 3,
            "qkv_bias": True,
            "use_swiglu_ffn": False,
            "use_mask_token": True,
        },
        params=hf_dinov2,
        extra=(check_image, _check_square_grid),
    ),
)


# ------------------------------------------------------------------------------------------
# KerasHub
# ------------------------------------------------------------------------------------------

_KH_ENCODER = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim")
_KH_TEXT = ("vocabulary_size", "intermediate_dim", "max_sequence_length")


@_counted
def kh_bart(v) -> int:
    """BartBackbone: one tied token embedding, an encoder and a decoder position table of
    max_sequence_length rows, two embedding LayerNorms, TransformerEncoder layers and
    TransformerDecoder layers (a cross-attention block and its LayerNorm more)."""
    d, h, i = _int(v, "hidden_dim"), _int(v, "num_heads"), _int(v, "intermediate_dim")
    k = d // h
    encoder = _kh_encoder_layer(d, h, i)
    decoder = encoder + _attention(d, h, k, qkv_bias=True, out_bias=True) + _ln(d)
    emb = _int(v, "vocabulary_size") * d + 2 * _int(v, "max_sequence_length") * d + 2 * _ln(d)
    return emb + _layers(v, "num_layers") * (encoder + decoder)


def _kh_square(v, key: str) -> tuple[int, int, int]:
    shape = v.get(key)
    if not (isinstance(shape, list) and len(shape) == 3 and all(is_int(s) for s in shape)):
        raise _Unknown(key)
    if v.get("data_format") == "channels_first":
        c, hh, ww = shape
    else:
        hh, ww, c = shape
    if min(hh, ww, c) <= 0:
        raise _Unknown(key)
    return hh, ww, c


@_counted
def kh_dinov2(v) -> int:
    """DINOV2Backbone: class, mask (use_mask_token) and register tokens, the patch
    convolution, two position tables (the non-trainable one sized by
    position_embedding_shape, the interpolated one by image_shape: count_params counts both),
    layers of two LayerNorms, keras MultiHeadAttention (key_dim hidden_dim // num_heads), two
    layer scales and an MLP or SwiGLU FFN; a final LayerNorm."""
    d, h, i = _int(v, "hidden_dim"), _cast(v, "num_heads"), _cast(v, "intermediate_dim")
    p = _int(v, "patch_size")
    hh, ww, c = _kh_square(v, "image_shape")
    ph, pw, _ = _kh_square(v, "position_embedding_shape")
    registers = _int(v, "num_register_tokens", 0)
    emb = d + (d if _flag(v, "use_mask_token", True) else 0) + registers * d
    emb += p * p * c * d + d
    emb += ((ph // p) * (pw // p) + 1) * d + ((hh // p) * (ww // p) + 1) * d
    k = d // h
    attention = _attention(d, h, k, qkv_bias=True, out_bias=True)
    if _flag(v, "use_swiglu_ffn", False):
        hidden = (int(i * 2 / 3) + 7) // 8 * 8
        mlp = d * 2 * hidden + 2 * hidden + hidden * d + d
    else:
        mlp = _mlp(d, i)
    layer = 2 * _ln(d) + attention + 2 * d + mlp
    layers = v.get("num_layers")
    layers = (
        _layers(v, "num_layers") if not isinstance(layers, str | float) else _cast(v, "num_layers")
    )
    return emb + layers * layer + _ln(d)


def _check_dinov2_image(unit: Unit, report) -> None:
    """DINOV2Backbone raises unless the image (and position table) height equals the width."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show

    for key in ("image_shape", "position_embedding_shape"):
        shape = unit.values[key]
        if not (isinstance(shape, list) and len(shape) == 3 and all(is_int(s) for s in shape)):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                "wrong type",
                "a [height, width, channels] list of positive integers",
                _show(shape),
                f"write `{key}` as three whole numbers",
            )
            continue
        first = unit.values["data_format"] == "channels_first"
        height, width = (shape[1], shape[2]) if first else (shape[0], shape[1])
        if key == "image_shape" and height != width:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                "the image height and width differ (`DINOV2Backbone` expects the height and "
                "width to be the same, and raises when it is created)",
                "a square image shape",
                str(shape),
                "use the same height and width",
            )


_KH = (
    kh_family(
        "XLMRobertaBackbone",
        "XLM-RoBERTa",
        _mha(),
        required=_KH_ENCODER,
        sizes=_KH_TEXT,
        defaults={"max_sequence_length": 512, "dropout": 0.1},
        params=_clamped(kh_roberta, "num_layers"),
    ),
    kh_family(
        "BartBackbone",
        "BART",
        _mha(),
        required=_KH_ENCODER,
        sizes=_KH_TEXT,
        defaults={"max_sequence_length": 1024, "dropout": 0.1},
        params=kh_bart,
    ),
    kh_family(
        "DINOV2Backbone",
        "DINOv2",
        _mha(),
        required=("patch_size", "num_layers", "hidden_dim", "num_heads", "intermediate_dim"),
        sizes=("intermediate_dim", "patch_size", "num_register_tokens"),
        rates=("dropout_rate", "drop_path_rate"),
        zero_valid=frozenset({"num_register_tokens"}),
        # DINOV2Encoder and DINOV2Attention read these with int() first.
        str_ok=frozenset({"num_layers", "num_heads", "intermediate_dim"}),
        float_ok=frozenset({"num_layers", "num_heads", "intermediate_dim"}),
        defaults={
            "num_register_tokens": 0,
            "use_mask_token": True,
            "use_swiglu_ffn": False,
            "dropout_rate": 0.0,
            "drop_path_rate": 0.0,
            "image_shape": [224, 224, 3],
            "position_embedding_shape": [518, 518, 3],
        },
        params=kh_dinov2,
        extra=(_check_dinov2_image,),
    ),
)

FAMILIES: tuple[Family, ...] = _HF + _KH

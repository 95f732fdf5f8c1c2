"""Parameter counts, per family, from the config alone: what KerasHub's ``count_params()``
and transformers' ``num_parameters()`` report for the model the config builds (the KerasHub
backbone; transformers' ``AutoModel``, the base model without a task head).

Each function takes the unit's :class:`~kmha_lint.hparams.spec.Values` and returns the
count, or None when a value it needs is missing or not a usable number. The head size is
the one the library uses: explicit where the family takes one, else ``width // heads``
(floored, as the libraries do).
"""

from __future__ import annotations

from kmha_lint.geometry import is_int


class _Unknown(Exception):
    pass


def _int(v, key: str, minimum: int = 1) -> int:
    value = v.get(key)
    if (is_int(value) or isinstance(value, bool)) and value >= minimum:  # KerasHub: True is 1
        return int(value)
    raise _Unknown(key)


def _layers(v, key: str) -> int:
    """A layer count: the libraries build ``range(n)`` layers, none for zero or less (a
    negative count builds as zero where the library builds at all)."""
    value = v.get(key)
    if is_int(value) or isinstance(value, bool):  # KerasHub: True is 1
        return max(int(value), 0)
    raise _Unknown(key)


def _opt_int(v, key: str) -> int | None:
    value = v.get(key)
    if value is None:
        return None
    return _int(v, key)


def _flag(v, key: str, default: bool) -> bool:
    value = v.get(key)
    return default if value is None else bool(value)


def _counted(function):
    def wrapper(v) -> int | None:
        try:
            return function(v)
        except (_Unknown, ZeroDivisionError):
            return None

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _ln(d: int) -> int:
    return 2 * d


def _attention(
    d: int,
    h: int,
    k: int,
    kv: int | None = None,
    *,
    qkv_bias: bool,
    out_bias: bool,
    key_bias: bool = True,
) -> int:
    """q, k, v and output projections of d features into h query and kv key/value heads."""
    kv = h if kv is None else kv
    total = d * h * k + 2 * d * kv * k + h * k * d
    if qkv_bias:
        total += h * k + (kv * k if key_bias else 0) + kv * k
    if out_bias:
        total += d
    return total


def _mlp(d: int, i: int, bias: bool = True) -> int:
    return 2 * d * i + ((i + d) if bias else 0)


def _gated(d: int, i: int) -> int:
    return 3 * d * i


# ------------------------------------------------------------------------------------------
# KerasHub (keras-hub 0.32.0): the weights each backbone creates.
# ------------------------------------------------------------------------------------------


def _kh_encoder_layer(d: int, h: int, i: int) -> int:
    """keras_hub TransformerEncoder (and TransformerDecoder without cross-attention)."""
    return _attention(d, h, d // h, qkv_bias=True, out_bias=True) + 2 * _ln(d) + _mlp(d, i)


def _kh_text(v):
    return _int(v, "hidden_dim"), _int(v, "num_heads"), _int(v, "intermediate_dim")


@_counted
def kh_bert(v) -> int:
    d, h, i = _kh_text(v)
    emb = (_int(v, "vocabulary_size") + _int(v, "max_sequence_length")) * d
    emb += _int(v, "num_segments") * d + _ln(d)
    return emb + _layers(v, "num_layers") * _kh_encoder_layer(d, h, i) + d * d + d


@_counted
def kh_roberta(v) -> int:
    d, h, i = _kh_text(v)
    emb = (_int(v, "vocabulary_size") + _int(v, "max_sequence_length")) * d + _ln(d)
    return emb + _layers(v, "num_layers") * _kh_encoder_layer(d, h, i)


def _kh_factorized_embedding(v, vocab_key: str) -> tuple[int, int]:
    d, e = _int(v, "hidden_dim"), _int(v, "embedding_dim")
    emb = (_int(v, vocab_key) + _int(v, "max_sequence_length") + _int(v, "num_segments")) * e
    return d, emb + _ln(e)


@_counted
def kh_albert(v) -> int:
    d, emb = _kh_factorized_embedding(v, "vocabulary_size")
    e, h, i = _int(v, "embedding_dim"), _int(v, "num_heads"), _int(v, "intermediate_dim")
    groups = _int(v, "num_groups")
    # Each group's layers are built when first called: never when num_layers < num_groups.
    called = _layers(v, "num_layers") // groups > 0
    shared = groups * _int(v, "num_inner_repetitions") if called else 0
    return emb + e * d + d + shared * _kh_encoder_layer(d, h, i) + d * d + d


@_counted
def kh_electra(v) -> int:
    d, emb = _kh_factorized_embedding(v, "vocab_size")
    e, h, i = _int(v, "embedding_dim"), _int(v, "num_heads"), _int(v, "intermediate_dim")
    projection = e * d + d if e != d else 0
    layers = _layers(v, "num_layers") * _kh_encoder_layer(d, h, i)
    return emb + projection + layers + d * d + d


@_counted
def kh_deberta_v3(v) -> int:
    d, h, i = _kh_text(v)
    k = d // h
    emb = _int(v, "vocabulary_size") * d + _ln(d) + 2 * _int(v, "bucket_size") * d + _ln(d)
    attention = 3 * (d * h * k + h * k) + d * d + d  # output Dense built on hidden_dim
    return emb + _layers(v, "num_layers") * (attention + 2 * _ln(d) + _mlp(d, i))


@_counted
def kh_gpt2(v) -> int:
    """GPT-2 and OPT: token and position embeddings, decoder blocks, a final LayerNorm."""
    d, h, i = _kh_text(v)
    emb = (_int(v, "vocabulary_size") + _int(v, "max_sequence_length")) * d
    return emb + _layers(v, "num_layers") * _kh_encoder_layer(d, h, i) + _ln(d)


@_counted
def kh_gpt_neox(v) -> int:
    d, h, i = _kh_text(v)
    k = d // h
    attention = d * h * 3 * k + h * 3 * k + d * d + d  # output Dense built on hidden_dim
    layer = attention + 2 * _ln(d) + _mlp(d, i)
    return _int(v, "vocabulary_size") * d + _layers(v, "num_layers") * layer + _ln(d)


def _kh_bloom_like(v, heads_key: str) -> tuple[int, int]:
    d, h, i = _int(v, "hidden_dim"), _int(v, heads_key), _int(v, "intermediate_dim")
    k = d // h
    # The output projection is a Dense built on hidden_dim features.
    layer = 3 * (d * h * k + h * k) + d * d + d + 2 * _ln(d) + _mlp(d, i)
    return d, _int(v, "vocabulary_size") * d + _layers(v, "num_layers") * layer + _ln(d)


@_counted
def kh_bloom(v) -> int:
    d, total = _kh_bloom_like(v, "num_heads")
    return total + _ln(d)  # the embedding LayerNorm


@_counted
def kh_falcon(v) -> int:
    return _kh_bloom_like(v, "num_attention_heads")[1]


def _kh_decoder(
    v, *, head_dim: int | None, tied: bool, layer_extra: int = 0, qkv_bias: bool = False, mlp=None
) -> int:
    # Zero query heads build (and fail at the first batch) where the head size is explicit.
    d, h = _int(v, "hidden_dim"), _int(v, "num_query_heads", 0 if head_dim else 1)
    kv, i = _int(v, "num_key_value_heads"), _int(v, "intermediate_dim")
    k = head_dim if head_dim is not None else d // h
    attention = _attention(d, h, k, kv, qkv_bias=qkv_bias, out_bias=False)
    ffn = mlp(d, i) if mlp is not None else _gated(d, i)
    layer = attention + 2 * d + ffn + layer_extra
    embeddings = _int(v, "vocabulary_size") * d * (1 if tied else 2)
    return embeddings + _layers(v, "num_layers") * layer + d


@_counted
def kh_llama(v) -> int:
    """Llama, Mistral and Phi-3: untied (unless tie_word_embeddings), no biases, gated MLP."""
    return _kh_decoder(
        v, head_dim=_opt_int(v, "head_dim"), tied=_flag(v, "tie_word_embeddings", False)
    )


@_counted
def kh_mixtral(v) -> int:
    experts = _int(v, "num_experts")
    d = _int(v, "hidden_dim")
    return _kh_decoder(
        v, head_dim=None, tied=False, mlp=lambda d_, i: d * experts + experts * _gated(d_, i)
    )


@_counted
def kh_qwen(v) -> int:
    return _kh_decoder(v, head_dim=None, tied=_flag(v, "tie_word_embeddings", True), qkv_bias=True)


@_counted
def kh_qwen3(v) -> int:
    k = _opt_int(v, "head_dim") if v.get("head_dim") != 0 else None
    k = k or _int(v, "hidden_dim") // _int(v, "num_query_heads")
    return _kh_decoder(v, head_dim=k, tied=_flag(v, "tie_word_embeddings", True), layer_extra=2 * k)


def _gemma_norms(v) -> int:
    d = _int(v, "hidden_dim")
    return d * (_flag(v, "use_post_ffw_norm", False) + _flag(v, "use_post_attention_norm", False))


@_counted
def kh_gemma(v) -> int:
    return _kh_decoder(
        v,
        head_dim=_int(v, "head_dim"),
        tied=True,
        layer_extra=_gemma_norms(v),
        mlp=lambda d, i: _gated(d, i // 2),
    )


@_counted
def kh_gemma3(v) -> int | None:
    if v.get("vision_encoder") is not None:
        # With a vision encoder: the multimodal group's formula (encoder and decoder).
        from kmha_lint.hparams.families.multimodal import kh_gemma3_with_vision

        count = kh_gemma3_with_vision(v)
        if count is None:
            raise _Unknown("vision_encoder")
        return count
    k = _int(v, "head_dim")
    return _kh_decoder(v, head_dim=k, tied=True, layer_extra=2 * k + _gemma_norms(v))


@_counted
def kh_t5(v) -> int:
    d, h, i = _kh_text(v)
    k = _opt_int(v, "key_value_dim") or d // h
    attention = 4 * d * h * k
    ffn = _gated(d, i) if _flag(v, "use_gated_activation", True) else 2 * d * i
    layers = _layers(v, "num_layers")
    buckets = 32 * h if layers else 0
    encoder = layers * (attention + 2 * d + ffn) + buckets + d
    decoder = layers * (2 * attention + 3 * d + ffn) + buckets + d
    embeddings = (
        _int(v, "vocabulary_size") * d * (1 if _flag(v, "tie_embedding_weights", True) else 2)
    )
    return embeddings + encoder + decoder


def _patches(v) -> tuple[int, int]:
    shape, patch = v.get("image_shape"), v.get("patch_size")
    ph, pw = _pair(patch)
    if not (isinstance(shape, list) and len(shape) == 3):
        raise _Unknown("image_shape")
    if v.get("data_format") == "channels_first":
        c, hh, ww = shape
    else:
        hh, ww, c = shape
    for size in (hh, ww, c):
        if not (isinstance(size, int) and size > 0):
            raise _Unknown("image_shape")
    return (hh // ph) * (ww // pw), ph * pw * c


def _kh_vision_layer(v, inter_key: str, mha_bias: bool, mlp_bias: bool) -> int:
    d, h, m = _int(v, "hidden_dim"), _int(v, "num_heads"), _int(v, inter_key)
    attention = _attention(d, h, d // h, qkv_bias=mha_bias, out_bias=mha_bias)
    return attention + 2 * _ln(d) + _mlp(d, m, bias=mlp_bias)


@_counted
def kh_vit(v) -> int:
    d = _int(v, "hidden_dim")
    patches, patch_in = _patches(v)
    cls = _flag(v, "use_class_token", True)
    emb = patch_in * d + (d if _flag(v, "use_patch_bias", True) else 0)
    emb += (d if cls else 0) + (patches + cls) * d
    layer = _kh_vision_layer(
        v, "mlp_dim", _flag(v, "use_mha_bias", True), _flag(v, "use_mlp_bias", True)
    )
    return emb + _layers(v, "num_layers") * layer + _ln(d)


@_counted
def kh_deit(v) -> int:
    d = _int(v, "hidden_dim")
    patches, patch_in = _patches(v)
    emb = patch_in * d + d + 2 * d + (patches + 2) * d
    layer = _kh_vision_layer(v, "intermediate_dim", _flag(v, "use_mha_bias", True), True)
    return emb + _layers(v, "num_layers") * layer + _ln(d)


@_counted
def kh_whisper(v) -> int:
    d, h, i = _kh_text(v)
    k = d // h
    mels, layers = _int(v, "num_mels"), _layers(v, "num_layers")
    attention = _attention(d, h, k, qkv_bias=True, key_bias=False, out_bias=True)
    encoder = 3 * mels * d + d + 3 * d * d + d + (_int(v, "max_encoder_sequence_length") // 2) * d
    encoder += layers * (attention + 2 * _ln(d) + _mlp(d, i)) + _ln(d)
    decoder = (_int(v, "vocabulary_size") + _int(v, "max_decoder_sequence_length")) * d
    decoder += layers * (2 * attention + 3 * _ln(d) + _mlp(d, i)) + _ln(d)
    return encoder + decoder


# ------------------------------------------------------------------------------------------
# transformers (5.24.0): AutoModel.from_config(config).num_parameters(), the base model.
# ------------------------------------------------------------------------------------------


def _hf_bert_layer(d: int, i: int, h: int | None = None) -> int:
    """q, k, v project to heads * (d // heads) features (all_head_size); the output
    projection is hidden_size to hidden_size."""
    a = d if h is None else h * (d // h)
    return 3 * (d * a + a) + d * d + d + 2 * _ln(d) + _mlp(d, i)


@_counted
def hf_bert(v) -> int:
    """BERT and RoBERTa: word, position and token type embeddings, layers, a pooler."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    emb = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * d
    emb += _int(v, "type_vocab_size", 0) * d + _ln(d)
    return emb + _layers(v, "num_hidden_layers") * _hf_bert_layer(d, i) + d * d + d


def _hf_factorized(v) -> tuple[int, int, int]:
    d, e, i = _int(v, "hidden_size"), _int(v, "embedding_size"), _int(v, "intermediate_size")
    emb = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * e
    emb += _int(v, "type_vocab_size", 0) * e + _ln(e)
    return d, i, emb


@_counted
def hf_albert(v) -> int:
    d, i, emb = _hf_factorized(v)
    e = _int(v, "embedding_size")
    shared = _int(v, "num_hidden_groups") * _int(v, "inner_group_num")
    layer = _hf_bert_layer(d, i, _int(v, "num_attention_heads"))
    return emb + e * d + d + shared * layer + d * d + d


@_counted
def hf_electra(v) -> int:
    d, i, emb = _hf_factorized(v)
    e = _int(v, "embedding_size")
    projection = e * d + d if e != d else 0
    layer = _hf_bert_layer(d, i, _int(v, "num_attention_heads"))
    return emb + projection + _layers(v, "num_hidden_layers") * layer


@_counted
def hf_deberta_v2(v) -> int:
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    emb = _int(v, "vocab_size", 0) * d + _ln(d)
    if _flag(v, "position_biased_input", True):
        emb += _int(v, "max_position_embeddings") * d
    emb += _int(v, "type_vocab_size", 0) * d
    embedding_size = v.get("embedding_size")
    if embedding_size not in (None, d):
        raise _Unknown("embedding_size")
    total = emb + _layers(v, "num_hidden_layers") * _hf_bert_layer(d, i)
    if _flag(v, "relative_attention", False):
        buckets = v.get("position_buckets", -1)
        buckets = buckets if isinstance(buckets, int) and buckets > 0 else None
        if buckets is None:
            most = v.get("max_relative_positions", -1)
            most = most if isinstance(most, int) and most >= 1 else None
            buckets = most or _int(v, "max_position_embeddings")
        total += 2 * buckets * d
        norm = v.get("norm_rel_ebd", "none")
        if isinstance(norm, str) and "layer_norm" in [x.strip() for x in norm.lower().split("|")]:
            total += _ln(d)
        if not _flag(v, "share_att_key", False):
            kinds = v.get("pos_att_type") or []
            kinds = [kinds] if isinstance(kinds, str) else kinds
            layers = _layers(v, "num_hidden_layers")
            if "c2p" in kinds:
                total += layers * (d * d + d)
            if "p2c" in kinds:
                total += layers * (d * d + d)
    if _int(v, "conv_kernel_size", 0) if v.get("conv_kernel_size") else 0:
        raise _Unknown("conv_kernel_size")
    return total


@_counted
def hf_distilbert(v) -> int:
    d, i = _int(v, "dim"), _int(v, "hidden_dim")
    _int(v, "n_heads")
    emb = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * d + _ln(d)
    return emb + _layers(v, "n_layers") * _hf_bert_layer(d, i)


@_counted
def hf_gpt2(v) -> int:
    d = _int(v, "n_embd")
    _int(v, "n_head")
    i = _opt_int(v, "n_inner") or 4 * d
    layer = 2 * _ln(d) + d * 3 * d + 3 * d + d * d + d + _mlp(d, i)
    emb = (_int(v, "vocab_size", 0) + _int(v, "n_positions")) * d
    return emb + _layers(v, "n_layer") * layer + _ln(d)


@_counted
def hf_gpt_neox(v) -> int:
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    bias = _flag(v, "attention_bias", True)
    attention = d * 3 * d + d * d + ((3 * d + d) if bias else 0)
    layer = 2 * _ln(d) + attention + _mlp(d, i)
    return _int(v, "vocab_size", 0) * d + _layers(v, "num_hidden_layers") * layer + _ln(d)


@_counted
def hf_opt(v) -> int:
    d, f = _int(v, "hidden_size"), _int(v, "ffn_dim")
    _int(v, "num_attention_heads")
    w = _opt_int(v, "word_embed_proj_dim") or d
    bias = _flag(v, "enable_bias", True)
    affine = _flag(v, "layer_norm_elementwise_affine", True)
    ln = _ln(d) if affine else 0
    attention = 4 * d * d + (4 * d if bias else 0)
    layer = attention + 2 * ln + _mlp(d, f, bias=bias)
    total = _int(v, "vocab_size", 0) * w + (_int(v, "max_position_embeddings") + 2) * d
    if w != d:
        total += 2 * w * d
    if _flag(v, "do_layer_norm_before", True) and not _flag(v, "_remove_final_layer_norm", False):
        total += ln
    return total + _layers(v, "num_hidden_layers") * layer


@_counted
def hf_bloom(v) -> int:
    d = _int(v, "hidden_size")
    _int(v, "n_head")
    layer = 2 * _ln(d) + d * 3 * d + 3 * d + d * d + d + _mlp(d, 4 * d)
    return _int(v, "vocab_size", 0) * d + _ln(d) + _layers(v, "n_layer") * layer + _ln(d)


@_counted
def hf_falcon(v) -> int:
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    k = d // h
    bias = _flag(v, "bias", False)
    new = _flag(v, "new_decoder_architecture", False)
    if new:
        kv = v.get("num_kv_heads")
        kv = h if kv is None else _int(v, "num_kv_heads", 0)
        qkv = (h + 2 * kv) * k
    elif _flag(v, "multi_query", True):
        qkv = d + 2 * k
    else:
        qkv = 3 * d
    f = _opt_int(v, "ffn_hidden_size") or 4 * d
    attention = d * qkv + d * d + ((qkv + d) if bias else 0)
    if new:
        norms = v.get("num_ln_in_parallel_attn")
        norms = 2 if norms is None else norms
        norms = norms if norms in (1, 2) else 2
    else:
        norms = 1 if _flag(v, "parallel_attn", True) else 2
    layer = norms * _ln(d) + attention + _mlp(d, f, bias=bias)
    return _int(v, "vocab_size", 0) * d + _layers(v, "num_hidden_layers") * layer + _ln(d)


def _hf_head_dim(v, explicit_default=None) -> int:
    head_dim = v.get("head_dim")
    if head_dim is not None:
        return _int(v, "head_dim")
    if explicit_default is not None:
        return explicit_default
    return _int(v, "hidden_size") // _int(v, "num_attention_heads")


def _hf_decoder(
    v,
    *,
    k: int,
    qkv_bias: bool,
    o_bias: bool = False,
    mlp_bias: bool = False,
    norms: int = 2,
    layer_extra: int = 0,
    ffn=None,
) -> int:
    # Zero query heads build (and fail at the first batch) where head_dim is explicit.
    explicit = v.get("head_dim") is not None
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads", 0 if explicit else 1)
    kv = _opt_int(v, "num_key_value_heads") or h
    i = _int(v, "intermediate_size")
    attention = _attention(d, h, k, kv, qkv_bias=qkv_bias, out_bias=o_bias)
    mlp = ffn(d, i) if ffn is not None else _gated(d, i) + ((2 * i + d) if mlp_bias else 0)
    layer = attention + norms * d + mlp + layer_extra
    return _int(v, "vocab_size", 0) * d + _layers(v, "num_hidden_layers") * layer + d


@_counted
def hf_llama(v) -> int:
    """Llama and Mistral (mistral has no bias arguments: both default to false)."""
    bias = _flag(v, "attention_bias", False)
    return _hf_decoder(
        v, k=_hf_head_dim(v), qkv_bias=bias, o_bias=bias, mlp_bias=_flag(v, "mlp_bias", False)
    )


@_counted
def hf_mixtral(v) -> int:
    experts = _int(v, "num_local_experts", 0)  # zero experts build (and fail at the top-k)
    return _hf_decoder(
        v, k=_hf_head_dim(v), qkv_bias=False, ffn=lambda d, i: d * experts + experts * _gated(d, i)
    )


@_counted
def hf_qwen2(v) -> int:
    return _hf_decoder(v, k=_hf_head_dim(v), qkv_bias=True)


@_counted
def hf_qwen3(v) -> int:
    k = _hf_head_dim(v, 128)
    bias = _flag(v, "attention_bias", False)
    return _hf_decoder(v, k=k, qkv_bias=bias, o_bias=bias, layer_extra=2 * k)


@_counted
def hf_gemma(v) -> int:
    bias = _flag(v, "attention_bias", False)
    return _hf_decoder(v, k=_hf_head_dim(v, 256), qkv_bias=bias, o_bias=bias)


@_counted
def hf_gemma2(v) -> int:
    bias = _flag(v, "attention_bias", False)
    return _hf_decoder(v, k=_hf_head_dim(v, 256), qkv_bias=bias, o_bias=bias, norms=4)


@_counted
def hf_phi3(v) -> int:
    return _hf_decoder(v, k=_hf_head_dim(v), qkv_bias=False)


@_counted
def hf_t5(v) -> int:
    d, h, k, f = _int(v, "d_model"), _int(v, "num_heads"), _int(v, "d_kv"), _int(v, "d_ff")
    # T5Config derives is_gated_act from feed_forward_proj, but a config.json that writes
    # is_gated_act (to_dict does) sets it afterwards: the written value wins.
    gated = v.get("is_gated_act")
    if not isinstance(gated, bool):
        proj = v.get("feed_forward_proj") or "relu"
        gated = isinstance(proj, str) and proj.startswith("gated-")
    ffn = (3 if gated else 2) * d * f
    attention = 4 * d * h * k
    buckets = _int(v, "relative_attention_num_buckets") * h
    encoder_layers = _layers(v, "num_layers")
    decoder_layers = v.get("num_decoder_layers")
    decoder_layers = encoder_layers if decoder_layers is None else _layers(v, "num_decoder_layers")
    encoder = encoder_layers * (attention + 2 * d + ffn) + (buckets if encoder_layers else 0) + d
    decoder = decoder_layers * (2 * attention + 3 * d + ffn) + (buckets if decoder_layers else 0)
    return _int(v, "vocab_size", 0) * d + encoder + decoder + d


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, value
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value)
    ):
        return value[0], value[1]
    raise _Unknown("size")


@_counted
def hf_vit(v) -> int:
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    h = _int(v, "num_attention_heads")
    head_dim = v.get("head_dim")
    a = h * (_int(v, "head_dim") if head_dim is not None else d // h)  # all_head_size
    (ih, iw), (ph, pw) = _pair(v.get("image_size")), _pair(v.get("patch_size"))
    patches = (ih // ph) * (iw // pw)
    bias = _flag(v, "qkv_bias", True)
    attention = 3 * d * a + (3 * a if bias else 0) + a * d + d
    layer = attention + 2 * _ln(d) + _mlp(d, i)
    emb = d + (patches + 1) * d + c * ph * pw * d + d
    pooler_out = _opt_int(v, "pooler_output_size") or d
    return emb + _layers(v, "num_hidden_layers") * layer + _ln(d) + d * pooler_out + pooler_out


@_counted
def hf_whisper(v) -> int:
    d = _int(v, "d_model")
    _int(v, "encoder_attention_heads")
    _int(v, "decoder_attention_heads")
    attention = 4 * d * d + 3 * d  # k_proj has no bias
    encoder_ffn, decoder_ffn = _int(v, "encoder_ffn_dim"), _int(v, "decoder_ffn_dim")
    encoder = 3 * _int(v, "num_mel_bins") * d + d + 3 * d * d + d
    encoder += _int(v, "max_source_positions") * d
    encoder += _layers(v, "encoder_layers") * (attention + 2 * _ln(d) + _mlp(d, encoder_ffn))
    encoder += _ln(d)
    decoder = (_int(v, "vocab_size", 0) + _int(v, "max_target_positions")) * d
    decoder += _layers(v, "decoder_layers") * (2 * attention + 3 * _ln(d) + _mlp(d, decoder_ffn))
    decoder += _ln(d)
    return encoder + decoder


def _hf_clip_layer(d: int, i: int) -> int:
    return 4 * (d * d + d) + 2 * _ln(d) + _mlp(d, i)


@_counted
def hf_clip_text(v) -> int:
    """CLIPTextTransformer (inside CLIPModel): embeddings, layers, final LayerNorm."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    emb = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * d
    return emb + _layers(v, "num_hidden_layers") * _hf_clip_layer(d, i) + _ln(d)


@_counted
def hf_clip_vision(v) -> int:
    """CLIPVisionModel: class embedding, patch convolution (no bias), positions, pre- and
    post-LayerNorm around the layers."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    _int(v, "num_attention_heads")
    (ih, iw), (ph, pw) = _pair(v.get("image_size")), _pair(v.get("patch_size"))
    patches = (ih // ph) * (iw // pw)
    emb = d + c * ph * pw * d + (patches + 1) * d
    return emb + _ln(d) + _layers(v, "num_hidden_layers") * _hf_clip_layer(d, i) + _ln(d)


@_counted
def hf_clip(v) -> int:
    """CLIPModel's own weights: the two projections and logit_scale (the text and vision
    models are counted with their own configs)."""
    p = _int(v, "projection_dim")
    return (_int(v, "text_config.hidden_size") + _int(v, "vision_config.hidden_size")) * p + 1


@_counted
def hf_llava(v) -> int:
    """LlavaModel's own weights: the two-layer projector from the vision width to the text
    width (the vision tower and language model are counted with their own configs); the
    multimodal group's formula, which also reads absent widths from the configs' defaults."""
    from kmha_lint.hparams.families.multimodal import hf_llava as count

    total = count(v)
    if total is None:
        raise _Unknown("llava")
    return total

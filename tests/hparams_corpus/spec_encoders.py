"""Corpus tables of the ``encoders`` group (see lint/hparams/families/__init__.py): tiny originals
and their argument names, per library; ``generate.py`` merges them."""

from bases import DELETE, ENC, ENC_NAMES, HF_ENC, HF_ENC_NAMES, T5_NAMES, T5_TINY, _hf, _kh


def _seq2seq_inputs(config, ids):
    """Encoder ids and decoder ids given (as T5 and Whisper are run): the decoder start id is
    then not fed, so a start id outside the vocabulary is a token-id edit like the others."""
    return {"input_ids": ids, "decoder_input_ids": ids}


def _image_inputs(config, ids):
    import torch

    size = config.image_size
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    return {"pixel_values": torch.rand(2, config.num_channels, height, width)}


# --------------------------------------------------------------------------------------------
# transformers
# --------------------------------------------------------------------------------------------

_ROBERTA_TOKENS = {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
_TOKEN_NAMES = ["pad_token_id", "bos_token_id", "eos_token_id"]

_SEQ2SEQ = {
    "vocab_size": 200,
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
    "max_position_embeddings": 64,
}
_SEQ2SEQ_NAMES = {
    "width": "d_model",
    "heads": "encoder_attention_heads",
    "inter": "encoder_ffn_dim",
    "layers": "encoder_layers",
    "vocab": "vocab_size",
    "rates": ["dropout", "attention_dropout"],
}
_SEQ2SEQ_EDITS = [
    (
        "decoder-heads-nondiv",
        "num-heads",
        "decoder_attention_heads=6 does not divide d_model=64",
        {"decoder_attention_heads": 6},
    ),
    ("decoder-layers-zero", "zero", "decoder_layers=0", {"decoder_layers": 0}),
    ("decoder-layers-negative", "negative", "decoder_layers=-1", {"decoder_layers": -1}),
    ("decoder-ffn-negative", "negative", "decoder_ffn_dim=-1", {"decoder_ffn_dim": -1}),
    (
        "untied",
        "type",
        "tie_word_embeddings=false: separate encoder and decoder token tables",
        {"tie_word_embeddings": False},
    ),
    ("scale-embedding", "type", "scale_embedding=true", {"scale_embedding": True}),
    ("positions-zero", "zero", "max_position_embeddings=0", {"max_position_embeddings": 0}),
    (
        "attention-dropout-above-one",
        "rate",
        "attention_dropout=1.5 (passed to attention only while training)",
        {"attention_dropout": 1.5},
    ),
    (
        "activation-dropout-above-one",
        "rate",
        "activation_dropout=1.5 (functional dropout)",
        {"activation_dropout": 1.5},
    ),
    (
        "layerdrop-above-one",
        "rate",
        "encoder_layerdrop=1.5 (compared with a random draw while training)",
        {"encoder_layerdrop": 1.5},
    ),
    (
        "alias-layers",
        "layers",
        "num_hidden_layers=1 beside encoder_layers=2 (attribute_map: the alias is applied last)",
        {"num_hidden_layers": 1},
    ),
    (
        "alias-width",
        "hidden-size",
        "hidden_size=96 beside d_model=64 (attribute_map)",
        {"hidden_size": 96},
    ),
    (
        "forced-eos-outside",
        "token-id",
        "forced_eos_token_id=250 is outside vocab_size=200",
        {"forced_eos_token_id": 250},
    ),
]

TRANSFORMERS: dict = {
    "xlm-roberta": _hf(
        "xlm-roberta",
        {**HF_ENC, **_ROBERTA_TOKENS, "max_position_embeddings": 66},
        {**HF_ENC_NAMES, "tokens": _TOKEN_NAMES},
        extra_edits=[
            (
                "pad-beyond-positions",
                "token-id",
                "pad_token_id=100: inside vocab_size=200, outside max_position_embeddings=66 "
                "(the position table's padding_idx)",
                {"pad_token_id": 100},
            ),
            (
                "cross-attention-decoder",
                "type",
                "is_decoder=true, add_cross_attention=true (a cross-attention block per layer)",
                {"is_decoder": True, "add_cross_attention": True},
            ),
            (
                "cross-attention-encoder",
                "type",
                "add_cross_attention=true without is_decoder",
                {"add_cross_attention": True},
            ),
            ("type-vocab-zero", "zero", "type_vocab_size=0", {"type_vocab_size": 0}),
        ],
    ),
    "bart": _hf(
        "bart",
        {
            **_SEQ2SEQ,
            **_ROBERTA_TOKENS,
            "decoder_start_token_id": 2,
            "forced_eos_token_id": 2,
        },
        {**_SEQ2SEQ_NAMES, "tokens": [*_TOKEN_NAMES, "decoder_start_token_id"]},
        inputs=_seq2seq_inputs,
        seq2seq=True,
        extra_edits=_SEQ2SEQ_EDITS,
    ),
    "mbart": _hf(
        "mbart",
        {**_SEQ2SEQ, **_ROBERTA_TOKENS, "forced_eos_token_id": 2},
        {**_SEQ2SEQ_NAMES, "tokens": _TOKEN_NAMES},
        inputs=_seq2seq_inputs,
        seq2seq=True,
        extra_edits=_SEQ2SEQ_EDITS,
    ),
    "marian": _hf(
        "marian",
        {
            **_SEQ2SEQ,
            "pad_token_id": 199,
            "eos_token_id": 0,
            "decoder_start_token_id": 199,
            "forced_eos_token_id": 0,
        },
        {**_SEQ2SEQ_NAMES, "tokens": ["pad_token_id", "eos_token_id", "decoder_start_token_id"]},
        inputs=_seq2seq_inputs,
        seq2seq=True,
        extra_edits=[
            *_SEQ2SEQ_EDITS,
            (
                "unshared",
                "type",
                "share_encoder_decoder_embeddings=false: no `shared` table",
                {"share_encoder_decoder_embeddings": False},
            ),
            (
                "unshared-decoder-vocab",
                "vocab",
                "share_encoder_decoder_embeddings=false, decoder_vocab_size=150",
                {"share_encoder_decoder_embeddings": False, "decoder_vocab_size": 150},
            ),
            (
                "shared-decoder-vocab",
                "vocab",
                "decoder_vocab_size=150 while the tables are shared and tied",
                {"decoder_vocab_size": 150},
            ),
            (
                "decoder-vocab-zero",
                "zero",
                "decoder_vocab_size=0",
                {"decoder_vocab_size": 0},
            ),
        ],
    ),
    "mt5": _hf(
        "mt5",
        dict(T5_TINY),
        dict(T5_NAMES),
        derives_head=False,
        seq2seq=True,
        inputs=_seq2seq_inputs,
        extra_edits=[
            (
                "relu-ffn",
                "type",
                'feed_forward_proj="relu" with is_gated_act and dense_act_fn removed '
                "(2 FFN matrices)",
                {"feed_forward_proj": "relu", "is_gated_act": DELETE, "dense_act_fn": DELETE},
            ),
            (
                "ffn-proj-only",
                "type",
                'feed_forward_proj="relu" only: the written is_gated_act=true wins',
                {"feed_forward_proj": "relu"},
            ),
            (
                "ffn-proj-unknown",
                "type",
                'feed_forward_proj="gated-gelu-x" (three parts)',
                {"feed_forward_proj": "gated-gelu-x"},
            ),
            (
                "untied",
                "type",
                "tie_word_embeddings=false (MT5Config forces true)",
                {"tie_word_embeddings": False},
            ),
            (
                "decoder-layers-other",
                "layers",
                "num_decoder_layers=3 (encoder 2)",
                {"num_decoder_layers": 3},
            ),
            ("decoder-layers-zero", "zero", "num_decoder_layers=0", {"num_decoder_layers": 0}),
            (
                "alias-layers",
                "layers",
                "num_hidden_layers=1, num_decoder_layers removed: the decoder keeps num_layers=2",
                {"num_hidden_layers": 1, "num_decoder_layers": DELETE},
            ),
            (
                "alias-head-dim",
                "head-dim",
                "head_dim=8 beside d_kv=16 (attribute_map)",
                {"head_dim": 8},
            ),
        ],
    ),
    "modernbert": _hf(
        "modernbert",
        {
            **HF_ENC,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "cls_token_id": 1,
            "sep_token_id": 2,
            "local_attention": 16,
        },
        {
            **HF_ENC_NAMES,
            "rates": ["attention_dropout", "embedding_dropout", "mlp_dropout"],
            "window": "local_attention",
            "tokens": [*_TOKEN_NAMES, "cls_token_id", "sep_token_id"],
        },
        extra_edits=[
            (
                "head-odd",
                "rotary",
                "hidden_size=60: heads of 15 (odd: rotary halves them)",
                {"hidden_size": 60},
            ),
            (
                "attention-dropout-negative",
                "rate",
                "attention_dropout=-0.1 (nn.Identity unless above 0)",
                {"attention_dropout": -0.1},
            ),
            (
                "embedding-dropout-negative",
                "rate",
                "embedding_dropout=-0.1",
                {"embedding_dropout": -0.1},
            ),
            (
                "local-attention-odd",
                "window",
                "local_attention=15 (half window 7)",
                {"local_attention": 15},
            ),
            (
                "biases",
                "type",
                "norm_bias, attention_bias and mlp_bias true",
                {"norm_bias": True, "attention_bias": True, "mlp_bias": True},
            ),
            (
                "layers-three-derived",
                "layers",
                "num_hidden_layers=3 with layer_types removed (derived from "
                "global_attn_every_n_layers)",
                {"num_hidden_layers": 3, "layer_types": DELETE},
            ),
            (
                "global-every-zero",
                "zero",
                "global_attn_every_n_layers=0 with layer_types removed",
                {"global_attn_every_n_layers": 0, "layer_types": DELETE},
            ),
            (
                "layers-zero-derived",
                "zero",
                "num_hidden_layers=0 with layer_types removed",
                {"num_hidden_layers": 0, "layer_types": DELETE},
            ),
            (
                "layers-negative-derived",
                "negative",
                "num_hidden_layers=-1 with layer_types removed",
                {"num_hidden_layers": -1, "layer_types": DELETE},
            ),
        ],
    ),
    "mpnet": _hf(
        "mpnet",
        {
            **{k: v for k, v in HF_ENC.items() if k != "pad_token_id"},
            **_ROBERTA_TOKENS,
            "max_position_embeddings": 66,
            "relative_attention_num_buckets": 32,
        },
        {**HF_ENC_NAMES, "tokens": _TOKEN_NAMES},
        extra_edits=[
            (
                "buckets-zero",
                "zero",
                "relative_attention_num_buckets=0",
                {"relative_attention_num_buckets": 0},
            ),
        ],
    ),
    "dinov2": _hf(
        "dinov2",
        {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "mlp_ratio": 2,
            "image_size": 32,
            "patch_size": 8,
            "num_channels": 3,
        },
        {
            "width": "hidden_size",
            "heads": "num_attention_heads",
            "inter": "mlp_ratio",
            "layers": "num_hidden_layers",
            "rates": ["hidden_dropout_prob", "attention_probs_dropout_prob"],
            "image": "image_size",
            "patch": "patch_size",
        },
        inputs=_image_inputs,
        extra_edits=[
            ("swiglu", "type", "use_swiglu_ffn=true", {"use_swiglu_ffn": True}),
            ("no-mask-token", "type", "use_mask_token=false", {"use_mask_token": False}),
            ("no-qkv-bias", "type", "qkv_bias=false", {"qkv_bias": False}),
            ("mlp-ratio-zero", "zero", "mlp_ratio=0", {"mlp_ratio": 0}),
            ("mlp-ratio-float", "type", "mlp_ratio=2.5", {"mlp_ratio": 2.5}),
            ("image-pair", "image-size", "image_size=[32, 48]", {"image_size": [32, 48]}),
            ("head-dim", "head-dim", "head_dim=8 (a key the config class keeps)", {"head_dim": 8}),
            ("drop-path-above-one", "rate", "drop_path_rate=1.5", {"drop_path_rate": 1.5}),
            (
                "attention-dropout-above-one",
                "rate",
                "attention_probs_dropout_prob=1.5 (passed to attention only while training)",
                {"attention_probs_dropout_prob": 1.5},
            ),
            (
                "image-grid-square",
                "image-size",
                "image_size=[32, 32] (a pair)",
                {"image_size": [32, 32]},
            ),
        ],
    ),
}

# --------------------------------------------------------------------------------------------
# KerasHub
# --------------------------------------------------------------------------------------------

KERAS_HUB: dict = {
    "XLMRobertaBackbone": _kh("XLMRobertaBackbone", dict(ENC), dict(ENC_NAMES)),
    "BartBackbone": _kh("BartBackbone", dict(ENC), dict(ENC_NAMES)),
    "DINOV2Backbone": _kh(
        "DINOV2Backbone",
        {
            "patch_size": 8,
            "num_layers": 2,
            "hidden_dim": 64,
            "num_heads": 4,
            "intermediate_dim": 128,
            "image_shape": [32, 32, 3],
            "position_embedding_shape": [32, 32, 3],
        },
        {
            "width": "hidden_dim",
            "heads": "num_heads",
            "inter": "intermediate_dim",
            "layers": "num_layers",
            "rates": ["dropout_rate", "drop_path_rate"],
            "image": "image_shape",
            "patch": "patch_size",
        },
        extra_edits=[
            ("swiglu", "type", "use_swiglu_ffn=true", {"use_swiglu_ffn": True}),
            ("registers", "type", "num_register_tokens=4", {"num_register_tokens": 4}),
            ("no-mask-token", "type", "use_mask_token=false", {"use_mask_token": False}),
            (
                "image-not-square",
                "image-size",
                "image_shape=[32, 48, 3] (height != width)",
                {"image_shape": [32, 48, 3]},
            ),
            (
                "positions-larger",
                "image-size",
                "position_embedding_shape=[64, 64, 3] (interpolated to the image)",
                {"position_embedding_shape": [64, 64, 3]},
            ),
        ],
    ),
}

"""kmha-lint on the ``encoders`` group (lint/hparams/families/encoders.py): encoder-only and
encoder-decoder text models and vision encoders of transformers 5.24.0 and keras-hub 0.32.0.

Expected counts were produced by the libraries: transformers' ``num_parameters()`` of
``AutoModel.from_config`` built on the meta device, KerasHub's ``count_params()`` of the
backbone built from the same arguments. The corpus (tests/hparams_corpus, spec_encoders.py)
labels the edge cases; here each family-specific check is shown on a config written by hand.
"""

from __future__ import annotations

import copy

import pytest
from kmha_lint import hparams

# config.json files with the keys and values of the published checkpoints named.
XLM_ROBERTA_BASE = {
    "model_type": "xlm-roberta",
    "architectures": ["XLMRobertaForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "position_embedding_type": "absolute",
    "type_vocab_size": 1,
    "vocab_size": 250002,
}
BART_LARGE = {
    "model_type": "bart",
    "activation_dropout": 0.1,
    "activation_function": "gelu",
    "attention_dropout": 0.1,
    "bos_token_id": 0,
    "classifier_dropout": 0.0,
    "d_model": 1024,
    "decoder_attention_heads": 16,
    "decoder_ffn_dim": 4096,
    "decoder_layerdrop": 0.0,
    "decoder_layers": 12,
    "decoder_start_token_id": 2,
    "dropout": 0.1,
    "encoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "encoder_layerdrop": 0.0,
    "encoder_layers": 12,
    "eos_token_id": 2,
    "forced_eos_token_id": 2,
    "is_encoder_decoder": True,
    "max_position_embeddings": 1024,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "scale_embedding": False,
    "vocab_size": 50265,
}
MBART_LARGE_CC25 = {
    "model_type": "mbart",
    "activation_function": "gelu",
    "bos_token_id": 0,
    "d_model": 1024,
    "decoder_attention_heads": 16,
    "decoder_ffn_dim": 4096,
    "decoder_layers": 12,
    "dropout": 0.1,
    "encoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "encoder_layers": 12,
    "eos_token_id": 2,
    "max_position_embeddings": 1024,
    "pad_token_id": 1,
    "scale_embedding": True,
    "vocab_size": 250027,
}
OPUS_MT_EN_DE = {
    "model_type": "marian",
    "activation_function": "swish",
    "bad_words_ids": [[58100]],
    "d_model": 512,
    "decoder_attention_heads": 8,
    "decoder_ffn_dim": 2048,
    "decoder_layers": 6,
    "decoder_start_token_id": 58100,
    "decoder_vocab_size": 58101,
    "encoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "encoder_layers": 6,
    "eos_token_id": 0,
    "forced_eos_token_id": 0,
    "max_position_embeddings": 512,
    "pad_token_id": 58100,
    "scale_embedding": True,
    "share_encoder_decoder_embeddings": True,
    "static_position_embeddings": True,
    "vocab_size": 58101,
}
MT5_SMALL = {
    "model_type": "mt5",
    "d_ff": 1024,
    "d_kv": 64,
    "d_model": 512,
    "decoder_start_token_id": 0,
    "dropout_rate": 0.1,
    "eos_token_id": 1,
    "feed_forward_proj": "gated-gelu",
    "num_decoder_layers": 8,
    "num_heads": 6,
    "num_layers": 8,
    "pad_token_id": 0,
    "relative_attention_num_buckets": 32,
    "tie_word_embeddings": False,
    "vocab_size": 250112,
}
MODERNBERT_BASE = {
    "model_type": "modernbert",
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 50281,
    "cls_token_id": 50281,
    "embedding_dropout": 0.0,
    "eos_token_id": 50282,
    "global_attn_every_n_layers": 3,
    "global_rope_theta": 160000.0,
    "hidden_size": 768,
    "intermediate_size": 1152,
    "local_attention": 128,
    "local_rope_theta": 10000.0,
    "max_position_embeddings": 8192,
    "mlp_bias": False,
    "mlp_dropout": 0.0,
    "norm_bias": False,
    "num_attention_heads": 12,
    "num_hidden_layers": 22,
    "pad_token_id": 50283,
    "sep_token_id": 50282,
    "vocab_size": 50368,
}
MPNET_BASE = {
    "model_type": "mpnet",
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "max_position_embeddings": 514,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "relative_attention_num_buckets": 32,
    "vocab_size": 30527,
}
DINOV2_BASE = {
    "model_type": "dinov2",
    "hidden_size": 768,
    "image_size": 518,
    "layerscale_value": 1.0,
    "mlp_ratio": 4,
    "num_attention_heads": 12,
    "num_channels": 3,
    "num_hidden_layers": 12,
    "patch_size": 14,
    "qkv_bias": True,
    "use_swiglu_ffn": False,
}
DINOV2_GIANT = {
    "model_type": "dinov2",
    "hidden_size": 1536,
    "image_size": 518,
    "mlp_ratio": 4,
    "num_attention_heads": 24,
    "num_hidden_layers": 40,
    "patch_size": 14,
    "use_swiglu_ffn": True,
}


@pytest.mark.parametrize(
    "config, expected",
    [
        (XLM_ROBERTA_BASE, 278_043_648),
        (BART_LARGE, 406_291_456),
        (MBART_LARGE_CC25, 610_851_840),
        (OPUS_MT_EN_DE, 74_410_496),  # the sinusoidal tables are (frozen) parameters
        (MT5_SMALL, 172_119_424),  # MT5Model: `shared` once, tie_word_embeddings forced true
        (MODERNBERT_BASE, 149_014_272),
        (MPNET_BASE, 109_486_464),
        (DINOV2_BASE, 86_580_480),
        (DINOV2_GIANT, 1_136_480_768),  # SwiGLU feed-forward
    ],
)
def test_published_configs_are_clean_and_counted(config, expected):
    assert hparams.check(config) == []
    (unit,) = hparams.units(config)
    assert unit.family.params(unit.values) == expected


def _backbone(class_name: str, module: str, **config) -> dict:
    return {
        "module": f"keras_hub.src.models.{module}",
        "class_name": class_name,
        "config": {"name": "backbone", "trainable": True, **config},
        "registered_name": f"keras_hub>{class_name}",
    }


BART_BASE_EN = _backbone(
    "BartBackbone",
    "bart.bart_backbone",
    vocabulary_size=50265,
    num_layers=6,
    num_heads=12,
    hidden_dim=768,
    intermediate_dim=3072,
    dropout=0.1,
    max_sequence_length=1024,
)
XLM_ROBERTA_BASE_MULTI = _backbone(
    "XLMRobertaBackbone",
    "xlm_roberta.xlm_roberta_backbone",
    vocabulary_size=250002,
    num_layers=12,
    num_heads=12,
    hidden_dim=768,
    intermediate_dim=3072,
    dropout=0.1,
    max_sequence_length=512,
)
DINOV2_SMALL = _backbone(
    "DINOV2Backbone",
    "dinov2.dinov2_backbone",
    patch_size=14,
    num_layers=12,
    hidden_dim=384,
    num_heads=6,
    intermediate_dim=1536,
    image_shape=[224, 224, 3],
    position_embedding_shape=[518, 518, 3],
)


@pytest.mark.parametrize(
    "document, expected",
    [
        (BART_BASE_EN, 139_417_344),
        (XLM_ROBERTA_BASE_MULTI, 277_450_752),
        # Both position tables count: 37 * 37 + 1 rows (518 / 14) and 16 * 16 + 1 (224 / 14).
        (DINOV2_SMALL, 22_155_264),
    ],
)
def test_kerashub_backbones_are_counted(document, expected):
    assert hparams.check(document) == []
    (unit,) = hparams.units(document)
    assert unit.family.params(unit.values) == expected


def test_kerashub_dinov2_swiglu_and_registers():
    document = copy.deepcopy(DINOV2_SMALL)
    document["config"].update(num_layers=4, num_register_tokens=4, use_swiglu_ffn=True)
    (unit,) = hparams.units(document)
    assert unit.family.params(unit.values) == 7_956_992


def _codes(config: dict) -> list[tuple[str, str, str]]:
    return sorted((i.rule.code, i.rule.severity, i.pointer) for i in hparams.check(config))


def _with(config: dict, **changes) -> dict:
    return {**copy.deepcopy(config), **changes}


def test_bart_decoder_layers_negative_fails_but_zero_builds():
    # transformers builds range(-1) for both stacks; the decoder fails at the first batch.
    assert _codes(_with(BART_LARGE, decoder_layers=-1)) == [("KMHA402", "error", "/decoder_layers")]
    assert _codes(_with(BART_LARGE, decoder_layers=0)) == [
        ("KMHA403", "warning", "/decoder_layers")
    ]
    # (BART_LARGE also writes num_hidden_layers, the attribute_map name of encoder_layers,
    # which the config class applies last: that is the value the encoder is built with.)
    assert _codes(_with(BART_LARGE, num_hidden_layers=-1)) == [
        ("KMHA403", "warning", "/num_hidden_layers")
    ]


def test_attribute_map_names_win():
    # BartConfig reads num_hidden_layers into encoder_layers after the field itself.
    assert _codes(_with(BART_LARGE, encoder_layers=-1)) == []
    (unit,) = hparams.units(_with(BART_LARGE, num_hidden_layers=6))
    assert unit.family.params(unit.values) == 330_714_112
    # MT5Config copies num_layers into a null num_decoder_layers before num_hidden_layers is
    # applied: 4 encoder layers, 8 decoder layers.
    (unit,) = hparams.units(_with(MT5_SMALL, num_hidden_layers=4, num_decoder_layers=None))
    assert unit.family.params(unit.values) == 162_678_144


def test_bart_checks_both_stacks_and_rates_used_only_in_training():
    assert _codes(_with(BART_LARGE, decoder_attention_heads=12)) == [
        ("KMHA404", "error", "/decoder_attention_heads")
    ]
    # attention dropout and layerdrop are not used in inference: the model runs.
    assert _codes(_with(BART_LARGE, attention_dropout=1.5, encoder_layerdrop=1.5)) == [
        ("KMHA403", "warning", "/attention_dropout"),
        ("KMHA403", "warning", "/encoder_layerdrop"),
    ]
    assert _codes(_with(BART_LARGE, activation_dropout=1.5)) == [
        ("KMHA402", "error", "/activation_dropout")
    ]


def test_bart_untied_embeddings_are_three_tables():
    (unit,) = hparams.units(_with(BART_LARGE, tie_word_embeddings=False))
    assert unit.family.params(unit.values) == 406_291_456 + 2 * 50265 * 1024


def test_marian_pad_id_must_fit_the_decoder_table():
    assert _codes(_with(OPUS_MT_EN_DE, decoder_vocab_size=30000)) == [
        ("KMHA409", "error", "/pad_token_id")
    ]
    # 0 means "the encoder vocabulary" (decoder_vocab_size or vocab_size).
    zero = _with(OPUS_MT_EN_DE, decoder_vocab_size=0)
    assert _codes(zero) == []
    (unit,) = hparams.units(zero)
    assert unit.family.params(unit.values) == 74_410_496


def test_marian_unshared_tables():
    config = _with(
        OPUS_MT_EN_DE,
        share_encoder_decoder_embeddings=False,
        decoder_vocab_size=30000,
        pad_token_id=29999,
        decoder_start_token_id=29999,
    )
    (unit,) = hparams.units(config)
    assert unit.family.params(unit.values) == 74_410_496 + 30000 * 512


def test_xlm_roberta_pad_id_is_the_position_padding_index():
    assert _codes(_with(XLM_ROBERTA_BASE, pad_token_id=600)) == [
        ("KMHA409", "error", "/pad_token_id")
    ]
    assert _codes(_with(XLM_ROBERTA_BASE, add_cross_attention=True)) == [
        ("KMHA402", "error", "/add_cross_attention")
    ]
    decoder = _with(XLM_ROBERTA_BASE, add_cross_attention=True, is_decoder=True)
    assert _codes(decoder) == []
    (unit,) = hparams.units(decoder)
    assert unit.family.params(unit.values) == 278_043_648 + 12 * (4 * (768 * 768 + 768) + 2 * 768)


def test_mt5_feed_forward_proj_format_and_relu():
    assert _codes(_with(MT5_SMALL, feed_forward_proj="gated-gelu-new")) == [
        ("KMHA402", "error", "/feed_forward_proj")
    ]
    (unit,) = hparams.units(_with(MT5_SMALL, feed_forward_proj="relu"))
    # one FFN matrix less per layer: 8 encoder and 8 decoder layers of 512 x 1024
    assert unit.family.params(unit.values) == 172_119_424 - 16 * 512 * 1024


def test_modernbert_layer_types_and_global_attention():
    assert _codes(_with(MODERNBERT_BASE, global_attn_every_n_layers=0)) == [
        ("KMHA402", "error", "/global_attn_every_n_layers")
    ]
    written = _with(MODERNBERT_BASE, layer_types=["full_attention"] * 22)
    assert _codes(_with(written, global_attn_every_n_layers=0)) == []
    assert _codes(_with(written, num_hidden_layers=0)) == [
        ("KMHA402", "error", "/num_hidden_layers")
    ]
    # nn.Dropout only when attention_dropout > 0
    assert _codes(_with(MODERNBERT_BASE, attention_dropout=-0.1)) == [
        ("KMHA403", "warning", "/attention_dropout")
    ]
    assert _codes(_with(MODERNBERT_BASE, attention_dropout=1.5)) == [
        ("KMHA402", "error", "/attention_dropout")
    ]
    # heads of 15: rotary over the whole head fails at the first batch
    assert _codes(_with(MODERNBERT_BASE, hidden_size=180)) == [
        ("KMHA407", "error", "/num_attention_heads")
    ]


def test_dinov2_floors_and_needs_a_square_patch_grid():
    assert _codes(_with(DINOV2_BASE, num_attention_heads=10)) == [
        ("KMHA405", "warning", "/num_attention_heads")
    ]
    assert _codes(_with(DINOV2_BASE, image_size=[518, 364])) == [
        ("KMHA402", "error", "/image_size")
    ]
    assert _codes(_with(DINOV2_BASE, mlp_ratio=0)) == [("KMHA403", "warning", "/mlp_ratio")]


def test_kerashub_dinov2_reads_head_counts_with_int():
    text = copy.deepcopy(DINOV2_SMALL)
    text["config"]["num_heads"] = "6"
    assert _codes(text) == [("KMHA403", "warning", "/config/num_heads")]
    (unit,) = hparams.units(text)
    assert unit.family.params(unit.values) == 22_155_264
    wide = copy.deepcopy(DINOV2_SMALL)
    wide["config"]["image_shape"] = [224, 280, 3]
    assert _codes(wide) == [("KMHA402", "error", "/config/image_shape")]

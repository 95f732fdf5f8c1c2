"""Hugging Face transformers: recognising config.json (a ``model_type`` key, with nested
``text_config``/``vision_config``/``audio_config`` and ``encoder``/``decoder`` configs), and one
:class:`~kmha_lint.hparams.spec.Family` per ``model_type``, read from
``transformers/models/<family>/configuration_*.py`` and ``modeling_*.py``.

Facts from the library's code (transformers 5.24.0) that drive the tables:

- Config fields are strict dataclass fields: an ``int`` field given ``8.0`` or ``"8"`` fails
  when the config is read; ``float | int`` rates accept both.
- Checked divisibility: bert, roberta, albert, electra (BertSelfAttention-style checks, or
  the output projection assuming ``hidden_size``), deberta-v2, gpt2, opt, bloom, falcon,
  whisper ("embed_dim must be divisible by num_heads"), gpt_neox, llama and gemma2
  (``validate_architecture``: "The hidden size (H) is not a multiple of the number of
  attention heads (N)", llama and gemma2 even with an explicit ``head_dim``), vit.
- Floored silently: mistral, mixtral, qwen2 and phi3 use ``head_dim`` when given, else
  ``hidden_size // num_attention_heads``.
- Explicit head size: qwen3 (``head_dim``, default 128), gemma and gemma2 (default 256), t5
  (``d_kv``; ``inner_dim = num_heads * d_kv`` need not equal ``d_model``).
- Token embeddings built with ``padding_idx=pad_token_id`` (PyTorch rejects an id outside
  the vocabulary): bert, roberta, distilbert, albert, electra, deberta-v2, opt, llama,
  mistral, mixtral, qwen2, qwen3, gemma, gemma2, phi3, whisper. Other token ids only log a
  warning (``validate_token_ids``).
- Rotary: int(head_dim * partial_rotary_factor) features rotated (``rope_parameters``;
  gpt_neox's legacy ``rotary_pct``, default 0.25; phi3's ``partial_rotary_factor``).
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint.hparams import params
from kmha_lint.hparams.builders import HF_ROPE as _ROPE
from kmha_lint.hparams.builders import HF_TOKENS as _TOKENS
from kmha_lint.hparams.builders import check_image as _check_image
from kmha_lint.hparams.builders import hf_bert_like as _bert_like
from kmha_lint.hparams.builders import hf_decoder as _decoder
from kmha_lint.hparams.builders import hf_family as _family
from kmha_lint.hparams.builders import hf_t5_like as _t5_like
from kmha_lint.hparams.families.moe import mixtral_experts as _mixtral_experts
from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit

LIBRARY = "transformers"
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _bert_like("bert", "BERT", params_fn=params.hf_bert, pad_token_id=0),
        _bert_like(
            "roberta", "RoBERTa", params_fn=params.hf_bert, vocab_size=50265, pad_token_id=1
        ),
        _bert_like(
            "albert",
            "ALBERT",
            factorized=True,
            params_fn=params.hf_albert,
            extra_sizes=("num_hidden_groups", "inner_group_num"),
            vocab_size=30000,
            embedding_size=128,
            hidden_size=4096,
            num_attention_heads=64,
            intermediate_size=16384,
            num_hidden_groups=1,
            inner_group_num=1,
            pad_token_id=0,
        ),
        _bert_like(
            "electra",
            "ELECTRA",
            factorized=True,
            params_fn=params.hf_electra,
            embedding_size=128,
            hidden_size=256,
            num_attention_heads=4,
            intermediate_size=1024,
            pad_token_id=0,
        ),
        _bert_like(
            "deberta-v2",
            "DeBERTa-v2",
            params_fn=params.hf_deberta_v2,
            vocab_size=128100,
            hidden_size=1536,
            num_hidden_layers=24,
            num_attention_heads=24,
            intermediate_size=6144,
            type_vocab_size=0,
            pad_token_id=0,
        ),
        _family(
            "distilbert",
            "DistilBERT",
            (Attention("dim", "n_heads", derived=DIVISIBLE),),
            layers=("n_layers",),
            sizes=("vocab_size", "hidden_dim", "max_position_embeddings"),
            rates=("dropout", "attention_dropout", "qa_dropout", "seq_classif_dropout"),
            padding_id="pad_token_id",
            defaults={
                "vocab_size": 30522,
                "dim": 768,
                "n_layers": 6,
                "n_heads": 12,
                "hidden_dim": 3072,
                "max_position_embeddings": 512,
                "pad_token_id": 0,
            },
            params=params.hf_distilbert,
        ),
        _family(
            "gpt2",
            "GPT-2",
            (Attention("n_embd", "n_head", derived=DIVISIBLE),),
            layers=("n_layer",),
            sizes=("vocab_size", "n_positions", "n_inner"),
            rates=("attn_pdrop", "resid_pdrop", "embd_pdrop", "summary_first_dropout"),
            defaults={
                "vocab_size": 50257,
                "n_positions": 1024,
                "n_embd": 768,
                "n_layer": 12,
                "n_head": 12,
                "n_inner": None,
            },
            params=params.hf_gpt2,
        ),
        _family(
            "gpt_neox",
            "GPT-NeoX",
            (
                Attention(
                    "hidden_size",
                    "num_attention_heads",
                    derived=DIVISIBLE,
                    rotary=True,
                    rotary_fraction=("rope_parameters.partial_rotary_factor", "rotary_pct"),
                    rotary_fraction_default=0.25,
                ),
            ),
            sizes=("vocab_size", "intermediate_size", "max_position_embeddings"),
            rates=("attention_dropout", "hidden_dropout", "classifier_dropout"),
            defaults={
                "vocab_size": 50432,
                "hidden_size": 6144,
                "num_hidden_layers": 44,
                "num_attention_heads": 64,
                "intermediate_size": 24576,
                "max_position_embeddings": 2048,
            },
            params=params.hf_gpt_neox,
        ),
        _family(
            "opt",
            "OPT",
            (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
            sizes=("vocab_size", "ffn_dim", "max_position_embeddings", "word_embed_proj_dim"),
            rates=("dropout", "attention_dropout", "layerdrop"),
            padding_id="pad_token_id",
            defaults={
                "vocab_size": 50272,
                "hidden_size": 768,
                "num_hidden_layers": 12,
                "ffn_dim": 3072,
                "max_position_embeddings": 2048,
                "word_embed_proj_dim": None,
                "num_attention_heads": 12,
                "pad_token_id": 1,
            },
            params=params.hf_opt,
        ),
        _family(
            "bloom",
            "Bloom",
            (Attention("hidden_size", "n_head", derived=DIVISIBLE),),
            layers=("n_layer",),
            sizes=("vocab_size",),
            rates=("hidden_dropout", "attention_dropout"),
            defaults={"vocab_size": 250880, "hidden_size": 64, "n_layer": 2, "n_head": 8},
            params=params.hf_bloom,
        ),
        _family(
            "falcon",
            "Falcon",
            (
                Attention(
                    "hidden_size",
                    "num_attention_heads",
                    kv_heads="num_kv_heads",
                    derived=DIVISIBLE,
                    kv_when="new_decoder_architecture",
                    rotary=True,
                    rotary_fraction=_ROPE,
                    rotary_unless="alibi",
                ),
            ),
            sizes=("vocab_size", "ffn_hidden_size", "max_position_embeddings"),
            rates=("hidden_dropout", "attention_dropout"),
            defaults={
                "vocab_size": 65024,
                "hidden_size": 4544,
                "num_hidden_layers": 32,
                "num_attention_heads": 71,
                "num_kv_heads": None,
                "ffn_hidden_size": None,
                "max_position_embeddings": 2048,
                "alibi": False,
                "new_decoder_architecture": False,
                "multi_query": True,
                "parallel_attn": True,
                "bias": False,
                "num_ln_in_parallel_attn": None,
            },
            params=params.hf_falcon,
        ),
        _decoder(
            "llama",
            "Llama",
            derived=DIVISIBLE,
            divisible_even_with_head_dim=True,
            params_fn=params.hf_llama,
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            max_position_embeddings=2048,
        ),
        _decoder(
            "mistral",
            "Mistral",
            derived=FLOORS,
            windows=("sliding_window",),
            params_fn=params.hf_llama,
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=4096 * 32,
        ),
        _decoder(
            "mixtral",
            "Mixtral",
            derived=FLOORS,
            windows=("sliding_window",),
            extra_sizes=("num_local_experts", "num_experts_per_tok"),
            params_fn=params.hf_mixtral,
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=4096 * 32,
            num_local_experts=8,
            num_experts_per_tok=2,
        ),
        _decoder(
            "qwen2",
            "Qwen2",
            derived=FLOORS,
            windows=("sliding_window",),
            params_fn=params.hf_qwen2,
            vocab_size=151936,
            hidden_size=4096,
            intermediate_size=22016,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=32768,
        ),
        _decoder(
            "qwen3",
            "Qwen3",
            derived=EXPLICIT,
            head_dim_default=128,
            windows=("sliding_window",),
            params_fn=params.hf_qwen3,
            vocab_size=151936,
            hidden_size=4096,
            intermediate_size=22016,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=32768,
        ),
        _decoder(
            "gemma",
            "Gemma",
            derived=EXPLICIT,
            head_dim_default=256,
            params_fn=params.hf_gemma,
            vocab_size=256000,
            hidden_size=3072,
            intermediate_size=24576,
            num_hidden_layers=28,
            num_attention_heads=16,
            num_key_value_heads=16,
            max_position_embeddings=8192,
            pad_token_id=0,
        ),
        _decoder(
            "gemma2",
            "Gemma 2",
            derived=EXPLICIT,
            head_dim_default=256,
            divisible_even_with_head_dim=True,
            windows=("sliding_window",),
            params_fn=params.hf_gemma2,
            vocab_size=256000,
            hidden_size=2304,
            intermediate_size=9216,
            num_hidden_layers=26,
            num_attention_heads=8,
            num_key_value_heads=4,
            max_position_embeddings=8192,
            pad_token_id=0,
        ),
        _decoder(
            "phi3",
            "Phi-3",
            derived=FLOORS,
            windows=("sliding_window",),
            extra_sizes=("original_max_position_embeddings",),
            params_fn=params.hf_phi3,
            vocab_size=32064,
            hidden_size=3072,
            intermediate_size=8192,
            num_hidden_layers=32,
            num_attention_heads=32,
            max_position_embeddings=4096,
            pad_token_id=32000,
        ),
        _t5_like(
            "t5",
            "T5",
            params_fn=params.hf_t5,
            defaults={
                "vocab_size": 32128,
                "d_ff": 2048,
                "num_layers": 6,
                "num_heads": 8,
                "feed_forward_proj": "relu",
            },
        ),
        _family(
            "vit",
            "ViT",
            (Attention("hidden_size", "num_attention_heads", head_dim="head_dim", derived=FLOORS),),
            sizes=("intermediate_size", "num_channels", "encoder_stride"),
            rates=("hidden_dropout_prob", "attention_probs_dropout_prob"),
            vocab=None,
            token_ids=(),
            defaults={
                "hidden_size": 768,
                "num_hidden_layers": 12,
                "num_attention_heads": 12,
                "intermediate_size": 3072,
                "image_size": 224,
                "patch_size": 16,
                "num_channels": 3,
                "qkv_bias": True,
            },
            params=params.hf_vit,
            extra=(_check_image,),
        ),
        _family(
            "whisper",
            "Whisper",
            (
                Attention("d_model", "encoder_attention_heads", derived=DIVISIBLE),
                Attention("d_model", "decoder_attention_heads", derived=DIVISIBLE),
            ),
            layers=("encoder_layers", "decoder_layers"),
            sizes=(
                "vocab_size",
                "num_mel_bins",
                "encoder_ffn_dim",
                "decoder_ffn_dim",
                "max_source_positions",
                "max_target_positions",
            ),
            rates=(
                "dropout",
                "attention_dropout",
                "activation_dropout",
                "encoder_layerdrop",
                "decoder_layerdrop",
                "mask_time_prob",
                "mask_feature_prob",
            ),
            token_ids=(*_TOKENS, "decoder_start_token_id"),
            padding_id="pad_token_id",
            defaults={
                "vocab_size": 51865,
                "num_mel_bins": 80,
                "encoder_layers": 4,
                "encoder_attention_heads": 6,
                "decoder_layers": 4,
                "decoder_attention_heads": 6,
                "decoder_ffn_dim": 1536,
                "encoder_ffn_dim": 1536,
                "d_model": 384,
                "max_source_positions": 1500,
                "max_target_positions": 448,
                "pad_token_id": 50256,
            },
            params=params.hf_whisper,
        ),
        _family(
            "clip_text_model",
            "CLIP text",
            (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
            sizes=("vocab_size", "intermediate_size", "max_position_embeddings"),
            rates=("attention_dropout", "dropout"),
            defaults={
                "vocab_size": 49408,
                "hidden_size": 512,
                "intermediate_size": 2048,
                "num_hidden_layers": 12,
                "num_attention_heads": 8,
                "max_position_embeddings": 77,
            },
            params=params.hf_clip_text,
        ),
        _family(
            "clip_vision_model",
            "CLIP vision",
            (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
            sizes=("intermediate_size", "num_channels"),
            rates=("attention_dropout", "dropout"),
            vocab=None,
            token_ids=(),
            defaults={
                "hidden_size": 768,
                "intermediate_size": 3072,
                "num_hidden_layers": 12,
                "num_attention_heads": 12,
                "num_channels": 3,
                "image_size": 224,
                "patch_size": 32,
            },
            params=params.hf_clip_vision,
            extra=(_check_image,),
        ),
        # Containers: their text and vision configs are checked with their own families.
        _family(
            "clip",
            "CLIP",
            (),
            layers=(),
            vocab=None,
            token_ids=(),
            sizes=("projection_dim",),
            defaults={
                "projection_dim": 512,
                "text_config.model_type": "clip_text_model",
                "vision_config.model_type": "clip_vision_model",
            },
            params=params.hf_clip,
        ),
        _family(
            "llava",
            "LLaVA",
            (),
            layers=(),
            vocab="text_config.vocab_size",
            token_ids=("image_token_index",),
            # LlavaConfig builds a text_config dict without a model_type as llama, and a
            # vision_config dict as clip_vision_model.
            defaults={
                "image_token_index": 32000,
                "text_config.model_type": "llama",
                "vision_config.model_type": "clip_vision_model",
            },
            params=params.hf_llava,
        ),
    )
}


def _tune(name: str, *, attention: dict | None = None, **changes) -> None:
    """What the corpus showed each library does with edge values, per family (data)."""
    family = FAMILIES[name]
    if attention:
        changes["attention"] = tuple(replace(a, **attention) for a in family.attention)
    FAMILIES[name] = replace(family, **changes)


for _name in FAMILIES:
    # A rotary fraction above 1 asks for more rotary features than a head has.
    if any(a.rotary for a in FAMILIES[_name].attention):
        _tune(_name, attention={"rotary_above_one_fails": True})
# Partial rotary that takes the rotated size from the cos table: odd sizes are rounded up.
_tune(
    "gpt_neox",
    attention={"rotary_odd_fails": False},
    rates_unchecked=frozenset({"attention_dropout"}),
)
_tune(
    "phi3",
    attention={"rotary_odd_fails": False},
    rates=("attention_dropout", "resid_pdrop", "embd_pdrop"),
)
# The sliding-window mask breaks with a window of zero or less.
for _name in ("mistral", "mixtral", "gemma2", "phi3"):
    _tune(_name, strict_windows=True)
# layer_types is validated against num_hidden_layers when the config is read.
for _name in ("qwen2", "qwen3", "gemma2"):
    _tune(_name, strict_layers=True)
# The decoders fail on a batch with a negative layer count (transformers 5.24: the cache's
# __len__ is the layer count, "__len__() should return >= 0"); zero runs an empty stack.
_DECODERS = ("gpt2", "gpt_neox", "opt", "bloom", "falcon", "llama", "mistral", "mixtral", "gemma")
for _name in (*_DECODERS, "phi3"):
    _tune(_name, negative_layers_fail=frozenset(FAMILIES[_name].layers))
# Rotary decoders compute their tables for the positions fed, not max_position_embeddings:
# 0 or -1 builds and runs (a warning, as in the dense group's families).
for _name in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3"):
    _tune(
        _name,
        zero_ok=FAMILIES[_name].zero_ok | {"max_position_embeddings"},
        negative_ok=FAMILIES[_name].negative_ok | {"max_position_embeddings"},
    )
# CLIP's attention dropout is functional: not range-checked in inference.
for _name in ("clip_text_model", "clip_vision_model"):
    _tune(_name, rates_unchecked=frozenset({"attention_dropout"}))
# DeBERTa-v2's default has no token type embedding at all.
# (and its encoder has no output without a layer).
_tune("deberta-v2", zero_valid=frozenset({"type_vocab_size"}), strict_layers=True)


# Mixtral's experts: the top-k and grouped_mm checks of the moe group.
FAMILIES["mixtral"] = _mixtral_experts(FAMILIES["mixtral"])


# The families added by group (a family is its entry and its formula, in one module).
def _merge_groups() -> None:
    from kmha_lint.hparams.families import of_library

    for family in of_library(LIBRARY):
        assert family.name not in FAMILIES, f"{family.name} is defined twice"
        FAMILIES[family.name] = family


_merge_groups()

# Spellings of model_type that name the same family.
ALIASES = {"deberta_v2": "deberta-v2", "gpt-neox": "gpt_neox"}
# A nested config's model_type that its container reads as another (Qwen2-VL's and
# Idefics3's hub files write the container's model_type in vision_config; the config class
# renames it or builds its vision config class whatever the key says).
NESTED_ALIASES = {
    ("vision_config", "qwen2_vl"): "qwen2_vl_vision",
    ("vision_config", "qwen2_5_vl"): "qwen2_5_vl_vision",
    ("vision_config", "idefics3"): "idefics3_vision",
    # A family that behaves differently inside its container (used when it is defined).
    ("text_config", "gemma3_text"): "gemma3_text (in gemma3)",
}


def _nested_defaults() -> dict:
    """Defaults a container merges under a nested config that is written (VoxtralConfig:
    ``{**init_kwargs, **text_config}``), keyed by (container model_type, key)."""
    from kmha_lint.hparams.families import multimodal

    return dict(multimodal.NESTED_DEFAULTS)


NESTED_DEFAULTS = _nested_defaults()


def nested_defaults(model_type: object) -> dict:
    """The defaults of the family a nested config's ``model_type`` names ({} when none is
    modelled): what the library fills in when it builds the nested config class."""
    if not isinstance(model_type, str):
        return {}
    family = FAMILIES.get(ALIASES.get(model_type, model_type))
    return family.defaults if family is not None else {}


def _generic_for(config: dict, model_type: str) -> Family:
    """The names that mean the same in every transformers config (PreTrainedConfig and the
    families' common spellings): what a family we do not model is checked for."""
    attention: tuple[Attention, ...] = ()
    if "num_attention_heads" in config and "num_key_value_heads" in config:
        attention = (
            Attention(
                "hidden_size",
                "num_attention_heads",
                kv_heads="num_key_value_heads",
                head_dim="head_dim",
                derived=EXPLICIT,
            ),
        )
    return Family(
        name=model_type,
        library=LIBRARY,
        title="",
        attention=attention,
        sizes=(
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_attention_heads",
            "num_key_value_heads",
            "head_dim",
            "max_position_embeddings",
        ),
        layers=("num_hidden_layers",),
        vocab="vocab_size",
        token_ids=(*_TOKENS, "decoder_start_token_id"),
        modelled=False,
        defaults={},
    )


def is_document(document: object) -> bool:
    return isinstance(document, dict) and isinstance(document.get("model_type"), str)


_NESTED = ("text_config", "vision_config", "audio_config", "encoder", "decoder")


def units(document: dict) -> list[Unit]:
    found: list[Unit] = []
    _collect(document, "", "", found, depth=0)
    return found


def _collect(
    config: dict, pointer: str, where: str, found: list[Unit], depth: int, parent: str = ""
) -> None:
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type:
        name = NESTED_ALIASES.get((where, model_type))
        if name not in FAMILIES:
            name = ALIASES.get(model_type, model_type)
        family = FAMILIES.get(name) or _generic_for(config, model_type)
        overrides = NESTED_DEFAULTS.get((parent, where))
        if overrides and family.modelled:
            family = replace(family, defaults={**family.defaults, **overrides})
        label = f"{model_type} (transformers{', ' + where if where else ''})"
        found.append(Unit(family, config, pointer, label, pointer + "/model_type"))
    if depth >= 3:
        return
    for key in _NESTED:
        nested = config.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("model_type"), str):
            _collect(nested, f"{pointer}/{key}", key, found, depth + 1, str(model_type))

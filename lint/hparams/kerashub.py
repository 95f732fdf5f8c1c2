"""KerasHub: recognising serialized backbones (and the task models that hold one), and one
:class:`~kmha_lint.hparams.spec.Family` per backbone class, read from
``keras_hub/src/models/<family>/*_backbone.py`` and the attention layers they use.

Facts from the library's code (keras-hub 0.32.0) that drive the tables:

- BERT, RoBERTa, DistilBERT, ALBERT, ELECTRA, GPT-2, OPT and Whisper build keras_hub's
  TransformerEncoder / TransformerDecoder, which set ``key_dim = int(hidden_dim //
  num_heads)``: a head count that does not divide the width is floored silently; ViT, DeiT,
  T5 (``key_value_dim or hidden_dim // num_heads``), GPT-NeoX, Falcon, Llama, Mistral,
  Mixtral, Qwen and Phi-3 floor the same way in their own attention layers.
- Bloom checks: "`hidden_dim` must be divisible by num_heads".
- Gemma, Gemma 3 and Qwen3 take an explicit ``head_dim``.
- Grouped-query families repeat key/value heads ``num_query_heads // num_key_value_heads``
  times; a remainder fails at the first batch.
- Rotary embeddings (Llama, Mistral, Mixtral, Qwen, Qwen3, Phi-3, Gemma, GPT-NeoX with
  ``rotary_percentage``) rotate feature pairs: the rotated size must be even.
"""

from __future__ import annotations

from kmha_lint.hparams import params
from kmha_lint.hparams.builders import kh_family as _family
from kmha_lint.hparams.builders import kh_gqa as _gqa
from kmha_lint.hparams.builders import kh_mha as _mha
from kmha_lint.hparams.families.moe import mixtral_experts as _mixtral_experts
from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit

LIBRARY = "keras_hub"


_ENCODER = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim")
_DECODER = (
    "vocabulary_size",
    "num_layers",
    "num_query_heads",
    "hidden_dim",
    "intermediate_dim",
    "num_key_value_heads",
)
_TEXT = ("vocabulary_size", "intermediate_dim", "max_sequence_length")


def _check_albert_groups(unit: Unit, report) -> None:
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import is_int

    layers, groups = unit.values["num_layers"], unit.values["num_groups"]
    if "num_layers" in report.bad or "num_groups" in report.bad:
        return
    if is_int(layers) and is_int(groups) and groups > 0 and layers > 0 and layers % groups:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "num_groups",
            "`num_layers` must be divisible by `num_groups` (ALBERT shares one layer per group)",
            f"a divisor of num_layers={layers}",
            str(groups),
            "use a num_groups that divides num_layers",
        )


def _check_gemma3_vision(unit: Unit, report) -> None:
    """Gemma3Backbone's vision_encoder (the multimodal group's check)."""
    from kmha_lint.hparams.families.multimodal import check_kh_gemma3_vision

    check_kh_gemma3_vision(unit, report)


def _check_image_patches(unit: Unit, report) -> None:
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show, is_int

    shape, patch = unit.values["image_shape"], unit.values["patch_size"]
    # patch_size is an int or a (height, width) pair (what get_config writes).
    pair = patch if isinstance(patch, list) else [patch, patch]
    if len(pair) != 2 or not all(is_int(p) for p in pair):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            "patch_size",
            "wrong type",
            "a positive integer, or a [height, width] pair of them",
            _show(patch),
            "write `patch_size` as a whole number or a pair of them",
        )
        return
    if any(p <= 0 for p in pair):
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "patch_size",
            "out of range",
            "positive integers",
            str(patch),
            "set `patch_size` >= 1",
        )
        return
    if not (isinstance(shape, list) and len(shape) == 3 and all(is_int(s) for s in shape)):
        return
    channels_first = unit.values["data_format"] == "channels_first"
    height, width = (shape[1], shape[2]) if channels_first else (shape[0], shape[1])
    for axis, size, patch in (("height", height, pair[0]), ("width", width, pair[1])):
        if size % patch:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "patch_size",
                f"the image {axis} {size} is not divisible by patch_size (the backbone "
                "raises when it is created)",
                f"a divisor of {size}",
                str(patch),
                "choose a patch_size that divides the image height and width",
            )
            return


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _family(
            "BertBackbone",
            "BERT",
            _mha(),
            required=_ENCODER,
            sizes=(*_TEXT, "num_segments"),
            defaults={"max_sequence_length": 512, "num_segments": 2, "dropout": 0.1},
            params=params.kh_bert,
        ),
        _family(
            "RobertaBackbone",
            "RoBERTa",
            _mha(),
            required=_ENCODER,
            sizes=_TEXT,
            defaults={"max_sequence_length": 512, "dropout": 0.1},
            params=params.kh_roberta,
        ),
        _family(
            "DistilBertBackbone",
            "DistilBERT",
            _mha(),
            required=_ENCODER,
            sizes=_TEXT,
            defaults={"max_sequence_length": 512, "dropout": 0.1},
            params=params.kh_roberta,
        ),
        _family(
            "AlbertBackbone",
            "ALBERT",
            _mha(),
            required=(*_ENCODER, "embedding_dim"),
            sizes=(*_TEXT, "embedding_dim", "num_groups", "num_inner_repetitions", "num_segments"),
            defaults={
                "num_groups": 1,
                "num_inner_repetitions": 1,
                "dropout": 0.0,
                "max_sequence_length": 512,
                "num_segments": 2,
            },
            params=params.kh_albert,
            extra=(_check_albert_groups,),
        ),
        _family(
            "ElectraBackbone",
            "ELECTRA",
            _mha(),
            required=(
                "vocab_size",
                "num_layers",
                "num_heads",
                "hidden_dim",
                "embedding_dim",
                "intermediate_dim",
            ),
            sizes=(
                "vocab_size",
                "intermediate_dim",
                "max_sequence_length",
                "embedding_dim",
                "num_segments",
            ),
            vocab="vocab_size",
            defaults={"max_sequence_length": 512, "num_segments": 2, "dropout": 0.1},
            params=params.kh_electra,
        ),
        _family(
            "DebertaV3Backbone",
            "DeBERTaV3",
            _mha(derived=DIVISIBLE),
            required=_ENCODER,
            sizes=(*_TEXT, "bucket_size"),
            defaults={"max_sequence_length": 512, "bucket_size": 256, "dropout": 0.1},
            params=params.kh_deberta_v3,
        ),
        _family(
            "GPT2Backbone",
            "GPT-2",
            _mha(),
            required=_ENCODER,
            sizes=_TEXT,
            defaults={"max_sequence_length": 1024, "dropout": 0.1},
            params=params.kh_gpt2,
        ),
        _family(
            "OPTBackbone",
            "OPT",
            _mha(),
            required=_ENCODER,
            sizes=_TEXT,
            defaults={"max_sequence_length": 2048, "dropout": 0.1},
            params=params.kh_gpt2,
        ),
        _family(
            "GPTNeoXBackbone",
            "GPT-NeoX",
            _mha(
                derived=DIVISIBLE,
                rotary=True,
                rotary_fraction="rotary_percentage",
                rotary_fraction_default=0.25,
            ),
            required=_ENCODER,
            sizes=_TEXT,
            defaults={"max_sequence_length": 512, "dropout": 0.0, "rotary_percentage": 0.25},
            params=params.kh_gpt_neox,
        ),
        _family(
            "BloomBackbone",
            "Bloom",
            (Attention(width="hidden_dim", heads="num_heads", derived=DIVISIBLE),),
            required=_ENCODER,
            sizes=("vocabulary_size", "intermediate_dim"),
            defaults={"dropout": 0.0},
            params=params.kh_bloom,
        ),
        _family(
            "FalconBackbone",
            "Falcon",
            _mha(heads="num_attention_heads", derived=DIVISIBLE),
            required=(
                "vocabulary_size",
                "num_layers",
                "num_attention_heads",
                "hidden_dim",
                "intermediate_dim",
            ),
            sizes=("vocabulary_size", "intermediate_dim"),
            rates=("attention_dropout_rate", "feedforward_dropout_rate"),
            defaults={"attention_dropout_rate": 0, "feedforward_dropout_rate": 0},
            params=params.kh_falcon,
        ),
        _family(
            "LlamaBackbone",
            "Llama",
            _gqa(),
            required=_DECODER,
            sizes=("vocabulary_size", "intermediate_dim"),
            defaults={"dropout": 0, "tie_word_embeddings": False},
            params=params.kh_llama,
        ),
        _family(
            "MistralBackbone",
            "Mistral",
            _gqa(head_dim="head_dim"),
            required=_DECODER,
            sizes=("vocabulary_size", "intermediate_dim"),
            windows=("sliding_window",),
            defaults={"dropout": 0, "sliding_window": 512, "head_dim": None},
            params=params.kh_llama,
        ),
        _family(
            "MixtralBackbone",
            "Mixtral",
            _gqa(),
            required=(*_DECODER, "num_experts"),
            sizes=("vocabulary_size", "intermediate_dim", "num_experts", "top_k"),
            windows=("sliding_window",),
            defaults={"dropout": 0, "sliding_window": 512, "top_k": 2},
            params=params.kh_mixtral,
        ),
        _family(
            "QwenBackbone",
            "Qwen2",
            _gqa(),
            required=_DECODER,
            sizes=("vocabulary_size", "intermediate_dim"),
            windows=("sliding_window_size",),
            defaults={"dropout": 0, "tie_word_embeddings": True, "sliding_window_size": 32768},
            params=params.kh_qwen,
        ),
        _family(
            "Qwen3Backbone",
            "Qwen3",
            _gqa(head_dim="head_dim"),
            required=(*_DECODER, "head_dim"),
            sizes=("vocabulary_size", "intermediate_dim"),
            windows=("sliding_window_size",),
            defaults={"dropout": 0.0, "tie_word_embeddings": True, "sliding_window_size": 32768},
            # Qwen3Attention.build: `if not self.head_dim: head_dim = hidden_dim // heads`.
            zero_valid=frozenset({"head_dim"}),
            params=params.kh_qwen3,
        ),
        _family(
            "Phi3Backbone",
            "Phi-3",
            _gqa(),
            required=_DECODER,
            sizes=(
                "vocabulary_size",
                "intermediate_dim",
                "max_sequence_length",
                "pretraining_sequence_length",
            ),
            defaults={
                "dropout": 0.0,
                "max_sequence_length": 4096,
                "pretraining_sequence_length": 4096,
            },
            params=params.kh_llama,
        ),
        _family(
            "GemmaBackbone",
            "Gemma",
            _gqa(head_dim="head_dim"),
            required=(*_DECODER, "head_dim"),
            sizes=("vocabulary_size", "intermediate_dim"),
            windows=("sliding_window_size",),
            defaults={"dropout": 0, "sliding_window_size": 4096},
            strict_layers=True,
            params=params.kh_gemma,
        ),
        _family(
            "Gemma3Backbone",
            "Gemma 3",
            _gqa(head_dim="head_dim"),
            required=(*_DECODER, "head_dim", "image_size"),
            sizes=("vocabulary_size", "intermediate_dim", "image_size"),
            windows=("sliding_window_size",),
            defaults={"dropout": 0, "sliding_window_size": 1024},
            strict_layers=True,
            params=params.kh_gemma3,
            extra=(_check_gemma3_vision,),
        ),
        _family(
            "T5Backbone",
            "T5",
            (
                Attention(
                    width="hidden_dim",
                    heads="num_heads",
                    head_dim="key_value_dim",
                    derived=FLOORS,
                ),
            ),
            required=_ENCODER,
            sizes=("vocabulary_size", "intermediate_dim"),
            defaults={"dropout": 0.1, "key_value_dim": None, "tie_embedding_weights": True},
            params=params.kh_t5,
        ),
        _family(
            "ViTBackbone",
            "ViT",
            _mha(),
            required=(
                "image_shape",
                "patch_size",
                "num_layers",
                "num_heads",
                "hidden_dim",
                "mlp_dim",
            ),
            sizes=("mlp_dim",),
            rates=("dropout_rate", "attention_dropout"),
            defaults={"dropout_rate": 0.0, "attention_dropout": 0.0},
            params=params.kh_vit,
            extra=(_check_image_patches,),
        ),
        _family(
            "DeiTBackbone",
            "DeiT",
            _mha(),
            required=(
                "image_shape",
                "patch_size",
                "num_layers",
                "num_heads",
                "hidden_dim",
                "intermediate_dim",
            ),
            sizes=("intermediate_dim",),
            rates=("dropout_rate", "attention_dropout"),
            defaults={"dropout_rate": 0.0, "attention_dropout": 0.0},
            params=params.kh_deit,
            extra=(_check_image_patches,),
        ),
        _family(
            "WhisperBackbone",
            "Whisper",
            _mha(),
            required=_ENCODER,
            sizes=(
                "vocabulary_size",
                "intermediate_dim",
                "num_mels",
                "max_encoder_sequence_length",
                "max_decoder_sequence_length",
            ),
            defaults={
                "num_mels": 80,
                "dropout": 0.0,
                "max_encoder_sequence_length": 3000,
                "max_decoder_sequence_length": 448,
            },
            params=params.kh_whisper,
        ),
    )
}
for _name, _f in list(FAMILIES.items()):
    if _f.vocab is None and "vocabulary_size" in _f.sizes:
        FAMILIES[_name] = Family(**{**_f.__dict__, "vocab": "vocabulary_size"})

# Mixtral's experts: the top-k check of the moe group.
FAMILIES["MixtralBackbone"] = _mixtral_experts(FAMILIES["MixtralBackbone"])


def _merge_groups() -> None:
    from kmha_lint.hparams.families import of_library

    for family in of_library(LIBRARY):
        assert family.name not in FAMILIES, f"{family.name} is defined twice"
        if family.vocab is None and "vocabulary_size" in family.sizes:
            family = Family(**{**family.__dict__, "vocab": "vocabulary_size"})
        FAMILIES[family.name] = family


_merge_groups()

# Names that mean the same in (nearly) every KerasHub backbone: what a family we do not
# model is checked for.
GENERIC = Family(
    name="",
    library=LIBRARY,
    title="",
    attention=(),
    sizes=(
        "vocabulary_size",
        "hidden_dim",
        "intermediate_dim",
        "num_heads",
        "num_query_heads",
        "num_key_value_heads",
        "head_dim",
    ),
    layers=("num_layers",),
    rates=("dropout",),
    modelled=False,
    defaults={},
)


def _generic_for(config: dict) -> Family:
    heads = next((k for k in ("num_query_heads", "num_heads") if k in config), None)
    attention = ()
    if heads and "num_key_value_heads" in config:
        # Only the grouped-query rule holds for every family.
        attention = (
            Attention(
                width="hidden_dim",
                heads=heads,
                kv_heads="num_key_value_heads",
                derived=EXPLICIT,
                head_dim="head_dim",
            ),
        )
    return Family(**{**GENERIC.__dict__, "attention": attention})


def is_keras_hub_object(document: object) -> bool:
    if not isinstance(document, dict):
        return False
    registered, module = document.get("registered_name"), document.get("module")
    return (
        isinstance(document.get("class_name"), str)
        and isinstance(document.get("config"), dict)
        and (
            (isinstance(registered, str) and registered.startswith("keras_hub>"))
            or (isinstance(module, str) and module.split(".")[0] == "keras_hub")
        )
    )


def is_preset_metadata(document: object) -> bool:
    """A KerasHub preset's metadata.json (beside its config.json)."""
    return (
        isinstance(document, dict)
        and "keras_hub_version" in document
        and ("keras_version" in document or "parameter_count" in document)
    )


def is_document(document: object) -> bool:
    return is_keras_hub_object(document) or is_preset_metadata(document)


def units(document: object) -> list[Unit]:
    """The backbones in a KerasHub document: the document itself, or the `backbone` of a
    task model (a CausalLM, a classifier), found through nested `config.backbone`."""
    found: list[Unit] = []
    _collect(document, "", found, depth=0)
    return found


def _collect(entry: object, pointer: str, found: list[Unit], depth: int) -> None:
    if depth > 4 or not is_keras_hub_object(entry):
        return
    class_name, config = entry["class_name"], entry["config"]
    backbone = config.get("backbone")
    if is_keras_hub_object(backbone):
        _collect(backbone, pointer + "/config/backbone", found, depth + 1)
        return
    if not class_name.endswith("Backbone"):
        return  # a preprocessor, tokenizer or image converter: nothing to check
    family = FAMILIES.get(class_name) or _generic_for(config)
    label = f"{class_name} (KerasHub)"
    found.append(Unit(family, config, pointer + "/config", label, pointer + "/class_name"))

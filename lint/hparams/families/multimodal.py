"""The ``multimodal`` group (see ``families/__init__.py``): vision towers and the containers
that join a vision tower to a language model, each an entry plus its parameter-count formula.

A container's text and vision configs are units of their own (``huggingface.units``
descends into ``text_config`` / ``vision_config``): each is checked with its own family and
counted by its own formula, and the container's formula counts only what the container adds
(projector, pooling norms, logit scales). A nested config written without a ``model_type``
(older hub files: Qwen2-VL's ``vision_config``, a text model's keys at the top level) is no
unit: the container counts it then, with the family the library would build for it, looked
up in the family table at count time.

Read from transformers 5.24.0 (``transformers/models/<family>/configuration_*.py`` and
``modeling_*.py``); each family's facts are in tests/hparams_corpus/FAMILIES.md.
"""

from __future__ import annotations

from kmha_lint.geometry import is_int
from kmha_lint.hparams.builders import check_image, hf_family
from kmha_lint.hparams.params import (
    _counted,
    _flag,
    _hf_clip_layer,
    _int,
    _ln,
    _mlp,
    _opt_int,
    _Unknown,
)
from kmha_lint.hparams.spec import DIVISIBLE, Attention, Family, Unit, Values

# ------------------------------------------------------------------------------------------
# Shared pieces
# ------------------------------------------------------------------------------------------


def _layers(v, key: str) -> int:
    """A layer count as the library builds it: ``range(n)`` is empty for n <= 0."""
    return max(_int(v, key, minimum=-(2**62)), 0)


def _sub(v, key: str) -> dict | None:
    value = v.get(key)
    return value if isinstance(value, dict) else None


def _nested_count(v, key: str, model_type: str, absent: dict | None = None) -> int:
    """The weights of the sub-model at ``key`` when it is not a unit of its own (no
    ``model_type`` written): counted with the family the library builds for it
    (``model_type``, the container's default), from its keys and that family's defaults.
    ``absent``: the values the container passes when the key is missing altogether
    (PaliGemma's ``init_kwargs``; they do not apply to a config that is written)."""
    config = _sub(v, key)
    if config is not None and isinstance(config.get("model_type"), str):
        return 0  # a unit of its own: counted with its family
    from kmha_lint.hparams import huggingface

    family = huggingface.FAMILIES.get(model_type)
    if family is None or family.params is None:
        raise _Unknown(key)
    if config is None:
        config = dict(absent or {})
    count = family.params(Values(config, family.defaults))
    if count is None:
        raise _Unknown(key)
    return count


def _check_square_sizes(unit: Unit, report) -> None:
    """SigLIP-style embeddings compute ``(image_size // patch_size) ** 2`` positions: a
    [height, width] pair, which the config class accepts, fails when the model is built."""
    from kmha_lint.hparams import rules

    for key in ("image_size", "patch_size"):
        value = unit.values.get(key)
        if isinstance(value, list) and key not in report.bad:
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                f"a [height, width] pair, which the config accepts but {unit.family.title}'s "
                "embeddings divide as a single number (image_size // patch_size); building "
                "the model fails",
                "a positive integer",
                str(value),
                f"write `{key}` as one whole number (square images)",
            )
            report.bad.add(key)


# ------------------------------------------------------------------------------------------
# SigLIP (siglip/modeling_siglip.py): SiglipVisionModel, SiglipTextModel, SiglipModel
# ------------------------------------------------------------------------------------------


def _siglip_vision_tower(v, head_key: str = "vision_use_head", head_default: bool = True) -> int:
    """SiglipVisionModel: a patch convolution with bias, (image // patch)**2 positions,
    CLIP-style layers, a post LayerNorm, and the attention-pooling head when
    ``vision_use_head`` (a probe, torch's MultiheadAttention, a LayerNorm and an MLP)."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    _int(v, "num_attention_heads")
    image, patch = _int(v, "image_size"), _int(v, "patch_size")
    grid = image // patch
    total = c * patch * patch * d + d + grid * grid * d
    total += _layers(v, "num_hidden_layers") * _hf_clip_layer(d, i) + _ln(d)
    if _flag(v, head_key, head_default):
        total += d + 4 * (d * d + d) + _ln(d) + _mlp(d, i)
    return total


@_counted
def hf_siglip_vision(v) -> int:
    return _siglip_vision_tower(v)


@_counted
def hf_siglip_text(v) -> int:
    """SiglipTextModel: token and position embeddings, layers, a final LayerNorm and the
    head projecting the last token to ``projection_size`` (default: the width)."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    p = _opt_int(v, "projection_size") or d
    emb = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * d
    return emb + _layers(v, "num_hidden_layers") * _hf_clip_layer(d, i) + _ln(d) + d * p + p


@_counted
def hf_siglip(v) -> int:
    """SiglipModel's own weights: logit_scale and logit_bias."""
    return (
        2
        + _nested_count(v, "text_config", "siglip_text_model")
        + _nested_count(v, "vision_config", "siglip_vision_model")
    )


def _check_siglip_pair(unit: Unit, report) -> None:
    """SiglipModel compares text and image embeddings: the text head's projection_size
    (default: the text width) must equal the vision width, and the vision tower needs its
    pooling head (``vision_use_head``) to give an image embedding at all."""
    from kmha_lint.hparams import rules

    values = unit.values
    text, vision = _sub(values, "text_config") or {}, _sub(values, "vision_config") or {}
    width = text.get("hidden_size", 768)
    projection = text.get("projection_size")
    projection = width if projection is None else projection
    vision_width = vision.get("hidden_size", 768)
    if is_int(projection) and is_int(vision_width) and projection > 0 and vision_width > 0:
        if projection != vision_width:
            key = (
                "text_config.projection_size"
                if "projection_size" in text
                else "text_config.hidden_size"
            )
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                "the text embedding and the image embedding have different sizes; "
                "SiglipModel multiplies them (logits), which fails at the first batch",
                f"text projection_size = vision_config.hidden_size ({vision_width})",
                str(projection),
                f"set text_config.projection_size to {vision_width}",
            )
    if vision.get("vision_use_head", True) is False:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "vision_config.vision_use_head",
            "SiglipModel pools each image with the vision tower's head; without it the "
            "image embedding is None and the first batch fails",
            "true (or no key)",
            "false",
            "remove `vision_use_head` from vision_config, or use the vision tower alone",
        )


_SIGLIP_VISION_DEFAULTS = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "num_channels": 3,
    "image_size": 224,
    "patch_size": 16,
    "vision_use_head": True,
}


def _vision_family(name, title, defaults, params, *, extra=(), sizes=(), **rest):
    return hf_family(
        name,
        title,
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=("intermediate_size", "num_channels", *sizes),
        rates=("attention_dropout",),
        rates_unchecked=frozenset({"attention_dropout"}),
        vocab=None,
        token_ids=(),
        defaults=defaults,
        params=params,
        extra=(check_image, *extra),
        **rest,
    )


SIGLIP = (
    _vision_family(
        "siglip_vision_model",
        "SigLIP vision",
        _SIGLIP_VISION_DEFAULTS,
        hf_siglip_vision,
        extra=(_check_square_sizes,),
    ),
    hf_family(
        "siglip_text_model",
        "SigLIP text",
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=("vocab_size", "intermediate_size", "max_position_embeddings", "projection_size"),
        rates=("attention_dropout",),
        rates_unchecked=frozenset({"attention_dropout"}),
        defaults={
            "vocab_size": 32000,
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "max_position_embeddings": 64,
            "projection_size": None,
        },
        params=hf_siglip_text,
    ),
    hf_family(
        "siglip",
        "SigLIP",
        (),
        layers=(),
        vocab=None,
        token_ids=(),
        params=hf_siglip,
        extra=(_check_siglip_pair,),
    ),
)


# ------------------------------------------------------------------------------------------
# Gemma 3 (gemma3/modeling_gemma3.py): Gemma3Model = SigLIP tower + projector + Gemma3TextModel
# ------------------------------------------------------------------------------------------


def _drop(report, key: str, rule) -> None:
    """Withdraw the shared check's finding on ``key`` where a family's own check words it
    (with the library's severity) instead."""
    pointer = report.unit.pointer_of(key)
    report.issues[:] = [i for i in report.issues if not (i.rule is rule and i.pointer == pointer)]


def _check_image_token(unit: Unit, report, *, replaced_when_outside: bool) -> None:
    """The image token id: negative ids cannot be embedded (the first batch with an image
    fails); an id at or above the text vocabulary is either swapped for 0 before the
    embedding (Gemma 3, PaliGemma: a warning) or fails when fed."""
    from kmha_lint.hparams import rules

    key = unit.family.token_ids[0]
    value, vocab = unit.values.get(key), unit.values.get(unit.family.vocab)
    if not is_int(value) or key in report.bad:
        return
    if value < 0:
        _drop(report, key, rules.TOKEN_ID_OUT_OF_VOCABULARY)
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "a negative image token id: the image placeholders in input_ids cannot be "
            "embedded, so every batch with an image fails",
            "an id in [0, vocab_size)",
            str(value),
            f"set `{key}` to the tokenizer's image token id",
        )
    elif is_int(vocab) and vocab > 0 and value >= vocab and not replaced_when_outside:
        _drop(report, key, rules.TOKEN_ID_OUT_OF_VOCABULARY)
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "the image token id is outside the text vocabulary: the image placeholders in "
            "input_ids cannot be embedded, so every batch with an image fails",
            f"an id in [0, {vocab}) (text_config.vocab_size={vocab})",
            str(value),
            f"set `{key}` to the tokenizer's image token id",
        )


def _check_gemma3_tokens(unit: Unit, report) -> None:
    """Gemma3MultiModalProjector pools the (image // patch) grid with a kernel of
    grid // int(sqrt(mm_tokens_per_image)): the pooled grid must hold exactly
    mm_tokens_per_image features, or the placeholders do not match the image features."""
    from kmha_lint.hparams import rules

    _check_image_token(unit, report, replaced_when_outside=True)
    values = unit.values
    tokens = values.get("mm_tokens_per_image")
    if not is_int(tokens) or tokens <= 0 or "mm_tokens_per_image" in report.bad:
        return
    vision = _sub(values, "vision_config") or {}
    image = vision.get("image_size", _SIGLIP_VISION_DEFAULTS["image_size"])
    patch = vision.get("patch_size", _SIGLIP_VISION_DEFAULTS["patch_size"])
    if not (is_int(image) and is_int(patch) and image > 0 and patch > 0):
        return
    grid = image // patch
    side = int(tokens**0.5)
    kernel = grid // side
    if kernel == 0:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "mm_tokens_per_image",
            f"{side} tokens a side for a {grid}x{grid} patch grid (image_size {image} // "
            f"patch_size {patch}): the pooling kernel is {grid} // {side} = 0 and the first "
            "batch with an image fails",
            f"at most {grid * grid} tokens (a square number)",
            str(tokens),
            f"set mm_tokens_per_image to a square of a divisor of {grid}, e.g. {grid * grid}",
        )
        return
    pooled = (grid // kernel) ** 2
    if pooled != tokens:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "mm_tokens_per_image",
            f"the {grid}x{grid} patch grid (image_size {image} // patch_size {patch}) pools "
            f"with a kernel of {kernel} to {pooled} features an image, but the processor "
            f"writes {tokens} image tokens; the first batch with an image fails",
            f"{pooled} (or a square of a divisor of {grid})",
            str(tokens),
            f"set mm_tokens_per_image to {pooled}, or change image_size / patch_size",
        )


@_counted
def hf_gemma3(v) -> int:
    """Gemma3Model's own weights: the projector (a vision-width x text-width matrix and an
    RMSNorm of the vision width)."""
    text = _sub(v, "text_config") or {}
    vision = _sub(v, "vision_config") or {}
    t = Values(text, {"hidden_size": 2304}).get("hidden_size")
    s = Values(vision, _SIGLIP_VISION_DEFAULTS).get("hidden_size")
    if not (is_int(t) and is_int(s) and t > 0 and s > 0):
        raise _Unknown("hidden_size")
    own = s * t + s
    return (
        own
        + _nested_count(v, "text_config", "gemma3_text")
        + _nested_count(v, "vision_config", "siglip_vision_model")
    )


_IMAGE_TOKENS = ("image_token_index",)

GEMMA3 = hf_family(
    "gemma3",
    "Gemma 3",
    (),
    layers=(),
    sizes=("mm_tokens_per_image",),
    vocab="text_config.vocab_size",
    token_ids=(*_IMAGE_TOKENS, "boi_token_index", "eoi_token_index"),
    defaults={
        "mm_tokens_per_image": 256,
        "image_token_index": 262_144,
        "boi_token_index": 255_999,
        "eoi_token_index": 256_000,
    },
    params=hf_gemma3,
    extra=(_check_gemma3_tokens,),
)


# ------------------------------------------------------------------------------------------
# PaliGemma (paligemma/modeling_paligemma.py): SigLIP tower + one Linear + a Gemma model
# ------------------------------------------------------------------------------------------

_PALIGEMMA_VISION = {
    "intermediate_size": 4096,
    "hidden_size": 1152,
    "patch_size": 14,
    "image_size": 224,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "vision_use_head": False,
}
_PALIGEMMA_TEXT = {
    "hidden_size": 2048,
    "num_hidden_layers": 18,
    "intermediate_size": 16384,
    "num_attention_heads": 8,
    "num_key_value_heads": 1,
    "vocab_size": 257152,
}


def _width(config: dict | None, absent: dict, default: int) -> object:
    if config is None:
        return absent.get("hidden_size", default)
    return config.get("hidden_size", default)


def _check_paligemma(unit: Unit, report) -> None:
    """The projector maps the vision width to ``projection_dim``, and the image features
    replace the placeholders' text embeddings: projection_dim must be the text width."""
    from kmha_lint.hparams import rules

    _check_image_token(unit, report, replaced_when_outside=True)
    values = unit.values
    projection = values.get("projection_dim")
    text = _width(_sub(values, "text_config"), _PALIGEMMA_TEXT, 3072)
    if "projection_dim" in report.bad or not (is_int(projection) and is_int(text)):
        return
    if projection > 0 and text > 0 and projection != text:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "projection_dim",
            f"the projector maps image features to projection_dim={projection} features, "
            f"but they replace text embeddings of text_config.hidden_size={text}; the first "
            "batch with an image fails",
            f"{text} (text_config.hidden_size)",
            str(projection),
            f"set projection_dim to {text}",
        )


@_counted
def hf_paligemma(v) -> int:
    """PaliGemmaModel's own weights: one Linear (with bias) from the vision width to
    ``projection_dim``."""
    s = _width(_sub(v, "vision_config"), _PALIGEMMA_VISION, 768)
    p = _int(v, "projection_dim")
    if not (is_int(s) and s > 0):
        raise _Unknown("vision_config.hidden_size")
    own = s * p + p
    return (
        own
        + _nested_count(v, "text_config", "gemma", _PALIGEMMA_TEXT)
        + _nested_count(v, "vision_config", "siglip_vision_model", _PALIGEMMA_VISION)
    )


PALIGEMMA = hf_family(
    "paligemma",
    "PaliGemma",
    (),
    layers=(),
    sizes=("projection_dim",),
    vocab="text_config.vocab_size",
    token_ids=_IMAGE_TOKENS,
    defaults={"projection_dim": 2048, "image_token_index": 256000},
    params=hf_paligemma,
    extra=(_check_paligemma,),
)


FAMILIES: tuple[Family, ...] = (*SIGLIP, GEMMA3, PALIGEMMA)

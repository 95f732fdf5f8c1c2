"""The ``multimodal`` group (see ``families/__init__.py``): vision towers and the containers
that join a vision tower to a language model, each an entry plus its parameter-count formula.

A container's text and vision configs are units of their own (``huggingface.units``
descends into ``text_config`` / ``vision_config``): each is checked with its own family and
counted by its own formula, and the container's formula counts only what the container adds
(projector, pooling norms, logit scales). A nested config written without a ``model_type``
(older hub files: Qwen2-VL's ``vision_config``, a text model's keys at the top level) is no
unit: the container counts it then, with the family the library would build for it, looked
up in the family table at count time.

Families: siglip / siglip2 (and their vision and text models), gemma3, paligemma,
qwen2_vl / qwen2_5_vl (text, vision, container), pixtral, mistral3, ministral3 (Mistral 3's
text model in transformers 5), llava_next, idefics3, llama4 (container and vision tower),
phi4_multimodal (text, vision, audio); KerasHub PaliGemmaBackbone, SigLIPBackbone and the
vision encoder of Gemma3Backbone (``kh_gemma3_with_vision``, called from params.kh_gemma3).

Read from transformers 5.24.0 (``transformers/models/<family>/configuration_*.py`` and
``modeling_*.py``) and keras-hub 0.32.0; each family's facts are in
tests/hparams_corpus/FAMILIES.md.
"""

from __future__ import annotations

from dataclasses import replace

from kmha_lint.geometry import floored_head_size, is_int
from kmha_lint.hparams.builders import (
    HF_TOKENS,
    check_image,
    hf_decoder,
    hf_family,
    kh_family,
    kh_gqa,
)
from kmha_lint.hparams.params import (
    _attention,
    _counted,
    _flag,
    _gated,
    _gemma_norms,
    _hf_clip_layer,
    _int,
    _kh_decoder,
    _layers,
    _ln,
    _mlp,
    _opt_int,
    _Unknown,
    hf_llama,
    hf_qwen2,
)
from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit, Values

# ------------------------------------------------------------------------------------------
# Shared pieces
# ------------------------------------------------------------------------------------------


def _head(width: int, heads: int) -> int:
    """A head size derived from the width (floored, as the libraries derive it)."""
    return floored_head_size(width, heads)[0]


def _sub(v, key: str) -> dict | None:
    value = v.get(key)
    return value if isinstance(value, dict) else None


def _nested_count(v, key: str, model_type: str, absent: dict | None = None, flat=False) -> int:
    """The weights of the sub-model at ``key`` when it is not a unit of its own (no
    ``model_type`` written): counted with the family the library builds for it
    (``model_type``, the container's default), from its keys and that family's defaults.
    ``absent``: the values the container passes when the key is missing altogether
    (PaliGemma's ``init_kwargs``; they do not apply to a config that is written); ``flat``:
    the sub-model's keys are then the container's own (Qwen2-VL's hub files)."""
    config = _sub(v, key)
    if config is not None and isinstance(config.get("model_type"), str):
        return 0  # a unit of its own: counted with its family
    from kmha_lint.hparams import huggingface

    family = huggingface.FAMILIES.get(model_type)
    if family is None or family.params is None:
        raise _Unknown(key)
    if config is None:
        config = v.config if flat else dict(absent or {})
    count = family.params(Values(config, family.defaults))
    if count is None:
        raise _Unknown(key)
    return count


def _check_untyped(
    text_type: str, vision_type: str, *, flat_text: bool = False, audio_type: str = ""
):
    """A container's sub-configs written without a ``model_type`` are no units of their
    own: check them with the families the container builds for them. ``flat_text``: a
    container without ``text_config`` whose text keys sit at the top level (Qwen2-VL's hub
    files; the config class moves them into text_config)."""

    def check(unit: Unit, report) -> None:
        from kmha_lint.hparams import huggingface
        from kmha_lint.hparams.checks import check_unit

        nested = (
            ("text_config", text_type),
            ("vision_config", vision_type),
            ("audio_config", audio_type),
        )
        for key, model_type in nested:
            family = huggingface.FAMILIES.get(model_type)
            sub = unit.config.get(key)
            if family is None:
                continue
            if isinstance(sub, dict) and not isinstance(sub.get("model_type"), str):
                pointer = f"{unit.pointer}/{key}"
                label = f"{model_type} (transformers, {key})"
                report.issues += check_unit(Unit(family, sub, pointer, label, pointer))
            elif (
                sub is None and key == "text_config" and flat_text and "hidden_size" in unit.config
            ):
                flat = Unit(family, unit.config, unit.pointer, unit.label, unit.family_pointer)
                report.issues += check_unit(flat)

    check.__name__ = "_check_untyped"
    return check


def _cross(unit: Unit, report, within: str, key: str, what, expected, received, fix) -> None:
    """A container check between its own values and its ``within`` sub-config: an error; a
    warning when that sub-config is absent, so that the sizes are the library's own defaults
    for it (Llama 4's, Idefics3's, Qwen2-VL's and Gemma 3's defaults disagree with their
    containers' defaults: the model builds, and its image path fails)."""
    from kmha_lint.hparams import rules

    if isinstance(unit.config.get(within), dict):
        report.add(rules.HPARAM_OUT_OF_RANGE, key, what, expected, received, fix)
        return
    what += (
        f" (these are the library's defaults for the absent `{within}`: the model builds, "
        "and its image path fails)"
    )
    report.add(rules.HPARAM_DEGENERATE, key, what, expected, received, fix)


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


def _siglip_vision_tower(
    v, head_key: str = "vision_use_head", head_default: bool = True, positions=None
) -> int:
    """SiglipVisionModel: a patch embedding with bias (a convolution; SigLIP 2: a Linear of
    the same size), positions ((image // patch)**2, or SigLIP 2's num_patches), CLIP-style
    layers, a post LayerNorm, and the attention-pooling head when ``vision_use_head`` (a
    probe, torch's MultiheadAttention, a LayerNorm and an MLP)."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    _int(v, "num_attention_heads")
    patch = _int(v, "patch_size")
    if positions is None:
        grid = _int(v, "image_size") // patch
        positions = grid * grid
    total = c * patch * patch * d + d + positions * d
    total += _layers(v, "num_hidden_layers") * _hf_clip_layer(d, i) + _ln(d)
    if head_key and _flag(v, head_key, head_default):
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


def _check_siglip_pair(unit: Unit, report) -> None:  # SiglipModel and Siglip2Model
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
        extra=(_check_siglip_pair, _check_untyped("siglip_text_model", "siglip_vision_model")),
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
        _cross(
            unit,
            report,
            "vision_config",
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
        _cross(
            unit,
            report,
            "vision_config",
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


def _gemma3_text_inside() -> tuple[Family, ...]:
    """gemma3_text as Gemma3Model's language model: Gemma3Model builds the attention masks
    itself, and a sliding window of 0 or -1 runs there (observed, with and without images),
    where Gemma3TextModel alone fails. The dense group's family, with lenient windows
    (absent until that group defines gemma3_text)."""
    from kmha_lint.hparams.families import dense

    return tuple(
        replace(family, name="gemma3_text (in gemma3)", strict_windows=False)
        for family in dense.FAMILIES
        if family.name == "gemma3_text" and family.library == "transformers"
    )


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
    extra=(_check_gemma3_tokens, _check_untyped("gemma3_text", "siglip_vision_model")),
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
    extra=(_check_paligemma, _check_untyped("gemma", "siglip_vision_model")),
)


# ------------------------------------------------------------------------------------------
# Qwen2-VL and Qwen2.5-VL (qwen2_vl/, qwen2_5_vl/): Qwen2VLModel = visual + language_model
# ------------------------------------------------------------------------------------------


def _text_values(unit: Unit) -> Values:
    from kmha_lint.hparams import huggingface

    text = _sub(unit.values, "text_config")
    family = huggingface.FAMILIES[unit.family.name + "_text"]
    return Values(unit.config if text is None else text, family.defaults)


def _mrope_section(values: Values):
    for key in ("rope_scaling", "rope_parameters"):
        rope = values.get(key)
        if isinstance(rope, dict) and rope:
            return key, rope.get("mrope_section", [16, 24, 24])
    return "rope_parameters", [16, 24, 24]


def _check_mrope(unit: Unit, report) -> None:
    """M-RoPE splits the rotary half of each head (head_dim // 2 frequencies) into time,
    height and width sections: ``mrope_section`` must add up to head_dim // 2, or the first
    batch fails (``split_with_sizes expects split_sizes to sum exactly to ...``)."""
    from kmha_lint.hparams import rules

    values = unit.values
    width, heads = values.get("hidden_size"), values.get("num_attention_heads")
    if "hidden_size" in report.bad or "num_attention_heads" in report.bad:
        return
    if not (is_int(width) and is_int(heads) and width > 0 and heads > 0) or width % heads:
        return
    key, section = _mrope_section(values)
    if not (isinstance(section, list) and all(is_int(x) for x in section)):
        return
    half = _head(width, heads) // 2
    if sum(section) != half:
        written = values.has(f"{key}.mrope_section")
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            f"{key}.mrope_section" if written else key,
            f"M-RoPE splits the {half} rotary frequencies of each head (head size "
            f"{width} // {heads} = {width // heads}, halved) into time, height and width "
            f"sections, and {section}"
            + ("" if written else " (the default)")
            + f" adds up to {sum(section)}; the first batch fails",
            f"sections adding up to {half}",
            str(section),
            f"set mrope_section to three numbers adding up to {half}, e.g. "
            f"{[half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]}",
        )


def _check_qwen_vl(out_key: str):
    def check(unit: Unit, report) -> None:
        """The merger's output width replaces text embeddings: it must be the text width;
        image token ids are embedded as they are (no swap): outside the vocabulary or
        negative, every batch with an image fails."""

        _check_image_token(unit, report, replaced_when_outside=False)
        text = _text_values(unit)
        vision = _sub(unit.values, "vision_config") or {}
        from kmha_lint.hparams import huggingface

        vision_family = huggingface.FAMILIES[unit.family.name + "_vision"]
        out = Values(vision, vision_family.defaults).get(out_key)
        width = text.get("hidden_size")
        if is_int(out) and is_int(width) and out > 0 and width > 0 and out != width:
            _cross(
                unit,
                report,
                "vision_config",
                f"vision_config.{out_key}",
                f"the vision merger writes {out} features an image token, but they replace "
                f"text embeddings of {width} (the text hidden_size); the first batch with an "
                "image fails",
                f"{width}",
                str(out),
                f"set vision_config.{out_key} to the text hidden_size, {width}",
            )

    check.__name__ = "_check_qwen_vl"
    return check


def _check_window(unit: Unit, report) -> None:
    """Window attention (Qwen2.5-VL): windows of window_size // spatial_merge_size //
    patch_size merged patches a side; zero fails at the first image (modulo by zero)."""
    from kmha_lint.hparams import rules

    values = unit.values
    keys = ("window_size", "spatial_merge_size", "patch_size")
    window, merge, patch = (values.get(k) for k in keys)
    if any(k in report.bad for k in keys):
        return
    if not all(is_int(x) and x > 0 for x in (window, merge, patch)):
        return
    if window // merge // patch == 0:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "window_size",
            f"a window of {window} pixels holds {window} // {merge} // {patch} = 0 merged "
            "patches (window_size // spatial_merge_size // patch_size); the first image "
            "fails (modulo by zero)",
            f"at least {merge * patch} (spatial_merge_size * patch_size)",
            str(window),
            f"set window_size to a multiple of {merge * patch}, e.g. {8 * merge * patch}",
        )


def _qwen_patches(v, width: int) -> int:
    """The patch embedding: a Conv3d without bias over (temporal, patch, patch) blocks."""
    c, t, p = _int(v, "in_channels"), _int(v, "temporal_patch_size"), _int(v, "patch_size")
    return c * t * p * p * width


def _qwen_merger(v, width: int, out: int, norm: int) -> int:
    """PatchMerger: a norm of the vision width, then two Linears over merge^2 patches."""
    m = _int(v, "spatial_merge_size", 0)  # 0 builds (empty Linears) and fails at run
    wide = width * m * m
    return norm + wide * wide + wide + wide * out + out


@_counted
def hf_qwen2_vl_vision(v) -> int:
    """Qwen2VisionTransformerPretrainedModel: LayerNorms, fused qkv with bias, an MLP of
    int(embed_dim * mlp_ratio)."""
    e, out = _int(v, "embed_dim"), _int(v, "hidden_size")
    _int(v, "num_heads")
    ratio = v.get("mlp_ratio")
    if not is_int(ratio) or ratio <= 0:
        raise _Unknown("mlp_ratio")
    m = int(e * ratio)
    block = 2 * _ln(e) + 3 * e * e + 3 * e + e * e + e + _mlp(e, m)
    total = _qwen_patches(v, e) + _layers(v, "depth") * block
    return total + _qwen_merger(v, e, out, _ln(e))


@_counted
def hf_qwen2_5_vl_vision(v) -> int:
    """Qwen2_5_VisionTransformerPretrainedModel: RMSNorms, fused qkv with bias, a gated MLP
    with biases, a merger to out_hidden_size."""
    d, i, out = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "out_hidden_size")
    _int(v, "num_heads")
    block = 2 * d + 3 * d * d + 3 * d + d * d + d + _gated(d, i) + 2 * i + d
    total = _qwen_patches(v, d) + _layers(v, "depth") * block
    return total + _qwen_merger(v, d, out, d)


def _qwen_vl_count(name: str):
    @_counted
    def count(v) -> int:
        """Qwen2VLModel has no weights of its own: the vision tower and the text model."""
        return _nested_count(v, "text_config", f"{name}_text", flat=True) + _nested_count(
            v, "vision_config", f"{name}_vision"
        )

    count.__name__ = f"hf_{name}"
    return count


_QWEN_VISION_COMMON = {
    "depth": 32,
    "num_heads": 16,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}


def _qwen_vision(name, title, width, defaults, params, *, sizes=(), extra=()):
    return hf_family(
        name,
        title,
        (Attention(width, "num_heads", derived=DIVISIBLE),),
        layers=("depth",),
        sizes=(
            "in_channels",
            "patch_size",
            "temporal_patch_size",
            "spatial_merge_size",
            *sizes,
        ),
        vocab=None,
        token_ids=(),
        defaults={**_QWEN_VISION_COMMON, **defaults},
        params=params,
        extra=extra,
    )


def _qwen_text(name, title):
    return hf_decoder(
        name,
        title,
        derived=DIVISIBLE,
        windows=("sliding_window",),
        params_fn=hf_qwen2,
        vocab_size=152064,
        hidden_size=8192,
        intermediate_size=29568,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
        max_position_embeddings=32768,
    )


def _qwen_container(name, title, out_key):
    return hf_family(
        name,
        title,
        (),
        layers=(),
        vocab="text_config.vocab_size",
        token_ids=(
            "image_token_id",
            "video_token_id",
            "vision_start_token_id",
            "vision_end_token_id",
        ),
        defaults={
            "image_token_id": 151655,
            "video_token_id": 151656,
            "vision_start_token_id": 151652,
            "vision_end_token_id": 151653,
        },
        params=_qwen_vl_count(name),
        extra=(
            _check_untyped(f"{name}_text", f"{name}_vision", flat_text=True),
            _check_qwen_vl(out_key),
        ),
    )


def _with_text_extras(family: Family) -> Family:
    from dataclasses import replace

    return replace(family, strict_layers=True, extra=(_check_mrope,))


QWEN_VL = (
    _with_text_extras(_qwen_text("qwen2_vl_text", "Qwen2-VL text")),
    _with_text_extras(_qwen_text("qwen2_5_vl_text", "Qwen2.5-VL text")),
    _qwen_vision(
        "qwen2_vl_vision",
        "Qwen2-VL vision",
        "embed_dim",
        {"embed_dim": 1280, "hidden_size": 3584, "mlp_ratio": 4},
        hf_qwen2_vl_vision,
        sizes=("hidden_size", "mlp_ratio"),
    ),
    _qwen_vision(
        "qwen2_5_vl_vision",
        "Qwen2.5-VL vision",
        "hidden_size",
        {
            "hidden_size": 3584,
            "intermediate_size": 3420,
            "window_size": 112,
            "out_hidden_size": 3584,
        },
        hf_qwen2_5_vl_vision,
        sizes=("intermediate_size", "out_hidden_size", "window_size"),
        extra=(_check_window,),
    ),
    _qwen_container("qwen2_vl", "Qwen2-VL", "hidden_size"),
    _qwen_container("qwen2_5_vl", "Qwen2.5-VL", "out_hidden_size"),
)


# ------------------------------------------------------------------------------------------
# Pixtral (pixtral/modeling_pixtral.py) and Mistral 3 (mistral3/modeling_mistral3.py)
# ------------------------------------------------------------------------------------------


@_counted
def hf_pixtral(v) -> int:
    """PixtralVisionModel: a patch convolution without bias, an RMSNorm, layers of two
    RMSNorms, q/k/v/o without bias and a gated MLP; no final norm (positions are axial
    rotary, no weights)."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    _int(v, "num_attention_heads")
    p = _int(v, "patch_size", 0)  # a patch of 0 builds an empty convolution (fails at run)
    layer = 2 * d + 4 * d * d + _gated(d, i)
    return c * p * p * d + d + _layers(v, "num_hidden_layers") * layer


def _feature_layers(v) -> int:
    """How many vision layers' hidden states the projector concatenates."""
    layer = v.get("vision_feature_layer")
    if isinstance(layer, list) and layer and all(is_int(x) for x in layer):
        return len(layer)
    if is_int(layer) or layer is None:  # every container's default is one layer (-1 or -2)
        return 1
    raise _Unknown("vision_feature_layer")


def _check_feature_layer(vision_type: str, depth_key: str = "num_hidden_layers"):
    def check(unit: Unit, report) -> None:
        """vision_feature_layer indexes the tower's hidden states (the embeddings and one per
        layer): outside [-(L+1), L] the first batch with an image fails."""
        from kmha_lint.hparams import huggingface, rules

        family = huggingface.FAMILIES.get(vision_type)
        vision = _sub(unit.values, "vision_config") or {}
        depth = Values(vision, family.defaults if family else {}).get(depth_key)
        value = unit.values.get("vision_feature_layer")
        if not is_int(depth) or depth < 0:
            return
        items = value if isinstance(value, list) else [value]
        states = depth + 1
        for item in items:
            if is_int(item) and not -states <= item < states:
                report.add(
                    rules.HPARAM_OUT_OF_RANGE,
                    "vision_feature_layer",
                    f"the vision tower has {states} hidden states (the embeddings and "
                    f"{depth} layers), and {item} is not one of them; the first batch with "
                    "an image fails",
                    f"an index in [-{states}, {states - 1}]",
                    str(value),
                    "use -1 (the last layer) or -2, as published configs do",
                )
                return

    check.__name__ = "_check_feature_layer"
    return check


def _check_pixtral_head_dim(unit: Unit, report) -> None:
    """The attention splits heads of hidden_size // num_attention_heads, but the axial
    rotary table is sized by the config's ``head_dim`` when the file writes one (the config
    class derives it only when it is absent): the two must agree, or the first batch fails."""
    from kmha_lint.hparams import rules

    values = unit.values
    width, heads = values.get("hidden_size"), values.get("num_attention_heads")
    head_dim = values.get("head_dim")
    if not values.has("head_dim") or {"hidden_size", "num_attention_heads"} & report.bad:
        return
    if not (is_int(width) and is_int(heads) and width > 0 and heads > 0 and not width % heads):
        return
    if is_int(head_dim) and head_dim != width // heads:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "head_dim",
            f"the attention uses heads of hidden_size // num_attention_heads = {width} // "
            f"{heads} = {width // heads}, but the rotary table is built for the written "
            f"head_dim={head_dim}; the first batch fails",
            f"{width // heads}",
            str(head_dim),
            f"set head_dim to {width // heads}, or remove it (the config derives it)",
        )


def _check_mistral3(unit: Unit, report) -> None:
    """Image token ids as in Qwen2-VL (embedded as they are); the projector's RMSNorm has
    the vision width, so several concatenated feature layers cannot pass it."""
    from kmha_lint.hparams import rules

    _check_image_token(unit, report, replaced_when_outside=False)
    layer = unit.values.get("vision_feature_layer")
    if isinstance(layer, list) and len(layer) > 1:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "vision_feature_layer",
            f"{len(layer)} vision layers are concatenated into features {len(layer)} times "
            "the vision width, but the projector normalises them with an RMSNorm of the "
            "vision width; the first batch with an image fails",
            "one layer index (an integer)",
            str(layer),
            "use a single layer, e.g. -1",
        )


def _width_of(v, key: str, written: int, absent: dict) -> int:
    """The hidden_size of the sub-config at ``key``: its own key, else its class default
    (``written``) when the sub-config is written, else the container's ``init_kwargs``
    (``absent``) when it is not."""
    config = _sub(v, key)
    width = config.get("hidden_size", written) if config is not None else absent["hidden_size"]
    if not (is_int(width) and width > 0):
        raise _Unknown(key + ".hidden_size")
    return width


def _text_width(v, default: int, absent: dict | None = None) -> int:
    return _width_of(v, "text_config", default, absent or {"hidden_size": default})


def _vision_width(v, default: int, absent: dict | None = None) -> int:
    return _width_of(v, "vision_config", default, absent or {"hidden_size": default})


# Mistral3Config's and LlavaNextConfig's (and LlavaConfig's) sub-config init_kwargs (used
# when the key is absent).
_MISTRAL3_TEXT = {
    "head_dim": 128,
    "hidden_size": 5120,
    "intermediate_size": 32768,
    "max_position_embeddings": 131072,
    "num_attention_heads": 32,
    "num_hidden_layers": 40,
    "num_key_value_heads": 8,
    "sliding_window": None,
    "vocab_size": 131072,
}
_MISTRAL3_VISION = {
    "intermediate_size": 4096,
    "hidden_size": 1024,
    "patch_size": 14,
    "image_size": 1540,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "head_dim": 64,
}
_LLAVA_NEXT_VISION = {
    "intermediate_size": 4096,
    "hidden_size": 1024,
    "patch_size": 14,
    "image_size": 336,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "projection_dim": 768,
}


@_counted
def hf_mistral3(v) -> int:
    """Mistral3Model's own weights: the projector (an RMSNorm of the vision width, the patch
    merger's Linear of merge^2 * S to S, linear_1 from S * feature layers to the text width
    and linear_2, with biases when multimodal_projector_bias)."""
    t = _text_width(v, 4096, _MISTRAL3_TEXT)
    s = _vision_width(v, 1024, _MISTRAL3_VISION)
    m = _int(v, "spatial_merge_size", 0)
    bias = _flag(v, "multimodal_projector_bias", False)
    own = s + s * m * m * s + s * _feature_layers(v) * t + t * t + (2 * t if bias else 0)
    return (
        own
        + _nested_count(v, "text_config", "mistral", _MISTRAL3_TEXT)
        + _nested_count(v, "vision_config", "pixtral", _MISTRAL3_VISION)
    )


PIXTRAL = _vision_family(
    "pixtral",
    "Pixtral vision",
    {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "num_channels": 3,
        "image_size": 1024,
        "patch_size": 16,
    },
    hf_pixtral,
    extra=(_check_pixtral_head_dim,),
)

MISTRAL3 = hf_family(
    "mistral3",
    "Mistral 3",
    (),
    layers=(),
    sizes=("spatial_merge_size",),
    vocab="text_config.vocab_size",
    token_ids=_IMAGE_TOKENS,
    defaults={
        "image_token_index": 10,
        "vision_feature_layer": -1,
        "multimodal_projector_bias": False,
        "spatial_merge_size": 2,
    },
    params=hf_mistral3,
    extra=(
        _check_mistral3,
        _check_feature_layer("pixtral"),
        _check_untyped("mistral", "pixtral"),
    ),
)


# ------------------------------------------------------------------------------------------
# LLaVA-NeXT (llava_next/modeling_llava_next.py): CLIP tower + projector + image_newline + LM
# ------------------------------------------------------------------------------------------


@_counted
def hf_llava(v) -> int:
    """LlavaModel's own weights (the existing llava family's formula): linear_1 (vision width
    * feature layers to the text width) and linear_2, biases when multimodal_projector_bias.
    Widths a config leaves out are the sub-configs' defaults (Llama's 4096; CLIP vision's 768
    when vision_config is written, LlavaConfig's init_kwargs 1024 when it is absent)."""
    t, s = _text_width(v, 4096), _vision_width(v, 768, _LLAVA_NEXT_VISION)
    bias = _flag(v, "multimodal_projector_bias", True)
    own = s * _feature_layers(v) * t + t * t + (2 * t if bias else 0)
    return (
        own
        + _nested_count(v, "text_config", "llama")
        + _nested_count(v, "vision_config", "clip_vision_model", _LLAVA_NEXT_VISION)
    )


@_counted
def hf_llava_next(v) -> int:
    """LlavaNextModel's own weights: linear_1 (vision width * feature layers to the text
    width), linear_2 (biases when multimodal_projector_bias) and image_newline (the text
    width)."""
    t, s = _text_width(v, 4096), _vision_width(v, 768, _LLAVA_NEXT_VISION)
    bias = _flag(v, "multimodal_projector_bias", True)
    own = s * _feature_layers(v) * t + t * t + (2 * t if bias else 0) + t
    return (
        own
        + _nested_count(v, "text_config", "llama")
        + _nested_count(v, "vision_config", "clip_vision_model", _LLAVA_NEXT_VISION)
    )


def _check_llava_next(unit: Unit, report) -> None:
    """Image token ids are embedded as they are; the feature selection strategy is a
    Literal field of the config class ("default" drops the CLS feature, "full" keeps it)."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show

    _check_image_token(unit, report, replaced_when_outside=False)
    key = "vision_feature_select_strategy"
    if unit.values.has(key) and unit.values.get(key) not in ("default", "full"):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "not a strategy the config class accepts (reading the config fails)",
            '"default" or "full"',
            _show(unit.values.get(key)),
            f'set `{key}` to "default" (drop the CLS feature) or "full"',
        )


LLAVA_NEXT = hf_family(
    "llava_next",
    "LLaVA-NeXT",
    (),
    layers=(),
    sizes=("image_seq_length",),
    vocab="text_config.vocab_size",
    token_ids=_IMAGE_TOKENS,
    defaults={
        "image_token_index": 32000,
        "vision_feature_layer": -2,
        "multimodal_projector_bias": True,
        "image_seq_length": 576,
    },
    params=hf_llava_next,
    extra=(
        _check_llava_next,
        _check_feature_layer("clip_vision_model"),
        _check_untyped("llama", "clip_vision_model"),
    ),
)


# ------------------------------------------------------------------------------------------
# Idefics3 (idefics3/modeling_idefics3.py): SigLIP-like tower + pixel-shuffle connector + LM
# ------------------------------------------------------------------------------------------


@_counted
def hf_idefics3_vision(v) -> int:
    """Idefics3VisionTransformer: SigLIP's embeddings, layers and post LayerNorm; no head."""
    return _siglip_vision_tower(v, head_key="", head_default=False)


def _check_idefics3(unit: Unit, report) -> None:
    """The connector pixel-shuffles the (image // patch) grid by scale_factor: the grid
    side must be a multiple of it, or the first batch with an image fails."""
    from kmha_lint.hparams import huggingface

    _check_image_token(unit, report, replaced_when_outside=False)
    scale = unit.values.get("scale_factor")
    if "scale_factor" in report.bad or not (is_int(scale) and scale > 0):
        return
    family = huggingface.FAMILIES["idefics3_vision"]
    vision = Values(_sub(unit.values, "vision_config") or {}, family.defaults)
    image, patch = vision.get("image_size"), vision.get("patch_size")
    if not (is_int(image) and is_int(patch) and image > 0 and patch > 0):
        return
    side = image // patch
    if side % scale:
        _cross(
            unit,
            report,
            "vision_config",
            "scale_factor",
            f"the connector regroups the {side}x{side} patch grid (image_size {image} // "
            f"patch_size {patch}) in blocks of {scale}x{scale}, and {scale} does not divide "
            f"{side}; the first batch with an image fails",
            f"a divisor of {side}",
            str(scale),
            f"set scale_factor to a divisor of {side}, or change image_size / patch_size",
        )


@_counted
def hf_idefics3(v) -> int:
    """Idefics3Model's own weights: the connector's Linear (no bias) from scale_factor^2
    vision features to the text width."""
    t, s = _text_width(v, 4096), _vision_width(v, 1152)
    f = _int(v, "scale_factor", 0)
    return (
        s * f * f * t
        + _nested_count(v, "text_config", "llama", {"rms_norm_eps": 1e-5})
        + _nested_count(v, "vision_config", "idefics3_vision")
    )


IDEFICS3 = (
    _vision_family(
        "idefics3_vision",
        "Idefics3 vision",
        {
            "hidden_size": 1152,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 16,
            "num_channels": 3,
            "image_size": 224,
            "patch_size": 32,
        },
        hf_idefics3_vision,
        extra=(_check_square_sizes,),
    ),
    hf_family(
        "idefics3",
        "Idefics3",
        (),
        layers=(),
        sizes=("scale_factor",),
        vocab="text_config.vocab_size",
        token_ids=("image_token_id",),
        defaults={"image_token_id": 128257, "scale_factor": 2},
        params=hf_idefics3,
        extra=(_check_idefics3, _check_untyped("llama", "idefics3_vision")),
    ),
)


# ------------------------------------------------------------------------------------------
# Llama 4 (llama4/modeling_llama4.py): AutoModel builds Llama4ForConditionalGeneration =
# Llama4VisionModel + Llama4MultiModalProjector + Llama4ForCausalLM (with its LM head)
# ------------------------------------------------------------------------------------------

_LLAMA4_VISION = {
    "hidden_size": 768,
    "intermediate_size": 5632,
    "num_hidden_layers": 34,
    "num_attention_heads": 16,
    "num_channels": 3,
    "image_size": 448,
    "patch_size": 14,
    "vision_output_dim": 7680,
    "pixel_shuffle_ratio": 0.5,
    "projector_input_dim": 4096,
    "projector_output_dim": 4096,
}


@_counted
def hf_llama4_vision(v) -> int:
    """Llama4VisionModel: an unfold + Linear patch embedding (no bias), a class embedding,
    (image // patch)^2 + 1 positions, LayerNorms before and after, layers with biased
    q/k/v/o (heads of hidden // heads) and MLP, and the pixel-shuffle adapter's two Linears
    (intermediate_size -> projector_input_dim, projector_output_dim squared, no bias)."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    h = _int(v, "num_attention_heads")
    image, patch = _int(v, "image_size"), _int(v, "patch_size")
    grid = image // patch
    attention = _attention(d, h, _head(d, h), qkv_bias=True, out_bias=True)
    layer = attention + 2 * _ln(d) + _mlp(d, i)
    total = c * patch * patch * d + d + (grid * grid + 1) * d + 2 * _ln(d)
    total += _layers(v, "num_hidden_layers") * layer
    p_in, p_out = _int(v, "projector_input_dim"), _int(v, "projector_output_dim")
    return total + i * p_in + p_out * p_out


def _check_llama4_vision(unit: Unit, report) -> None:
    """The adapter pixel-shuffles the patch grid: hidden_size / ratio^2 features must be
    the adapter's input (intermediate_size), the grid side times the ratio a whole number,
    and projector_output_dim the width its first Linear writes (projector_input_dim)."""
    from kmha_lint.hparams import rules

    values = unit.values
    keys = ("hidden_size", "intermediate_size", "image_size", "patch_size")
    d, i, image, patch = (values.get(k) for k in keys)
    ratio = values.get("pixel_shuffle_ratio")
    if any(k in report.bad for k in keys) or not all(
        is_int(x) and x > 0 for x in (d, i, image, patch)
    ):
        return
    if isinstance(ratio, int | float) and not isinstance(ratio, bool) and ratio > 0:
        grid = image // patch
        features = d / ratio**2
        if features != i:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "intermediate_size",
                f"the vision adapter pixel-shuffles patches of {d} features by "
                f"pixel_shuffle_ratio={ratio} into {features:g} features, and its first "
                f"Linear takes intermediate_size={i}; the first batch with an image fails",
                f"{features:g} (hidden_size / pixel_shuffle_ratio^2)",
                str(i),
                "make intermediate_size = hidden_size / pixel_shuffle_ratio^2",
            )
        elif grid * ratio != int(grid * ratio):
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "pixel_shuffle_ratio",
                f"the {grid}x{grid} patch grid shuffled by {ratio} is not a whole grid",
                f"a ratio r with {grid} * r whole",
                str(ratio),
                "use 0.5 with an even patch grid",
            )
    p_in, p_out = values.get("projector_input_dim"), values.get("projector_output_dim")
    if is_int(p_in) and is_int(p_out) and p_in > 0 and p_out > 0 and p_in != p_out:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "projector_output_dim",
            f"the adapter's second Linear takes projector_output_dim={p_out} features, but "
            f"its first writes projector_input_dim={p_in}; the first batch with an image "
            "fails",
            f"{p_in} (projector_input_dim)",
            str(p_out),
            "make projector_input_dim and projector_output_dim equal",
        )


def _check_llama4(unit: Unit, report) -> None:
    """Image token ids are embedded as they are; the projector's Linear takes
    vision_output_dim features, which the adapter writes as projector_output_dim."""

    _check_image_token(unit, report, replaced_when_outside=False)
    vision = Values(_sub(unit.values, "vision_config") or {}, _LLAMA4_VISION)
    out, p_out = vision.get("vision_output_dim"), vision.get("projector_output_dim")
    if is_int(out) and is_int(p_out) and out > 0 and p_out > 0 and out != p_out:
        _cross(
            unit,
            report,
            "vision_config",
            "vision_config.vision_output_dim",
            f"the projector takes vision_output_dim={out} features, but the vision adapter "
            f"writes projector_output_dim={p_out}; the first batch with an image fails",
            f"{p_out} (vision_config.projector_output_dim)",
            str(out),
            "make vision_output_dim equal projector_output_dim",
        )


@_counted
def hf_llama4(v) -> int:
    """What Llama4ForConditionalGeneration adds to the text model and the vision model:
    the projector's Linear (vision_output_dim -> text width, no bias) and the language
    model's LM head (the text vocabulary x width, shared with the embedding when tied)."""
    text = Values(_sub(v, "text_config") or {}, {"hidden_size": 5120, "vocab_size": 202048})
    t, vocab = text.get("hidden_size"), text.get("vocab_size")
    vision = Values(_sub(v, "vision_config") or {}, _LLAMA4_VISION)
    out = vision.get("vision_output_dim")
    if not all(is_int(x) and x > 0 for x in (t, vocab, out)):
        raise _Unknown("hidden_size")
    head = 0 if _llama4_tied(v) else vocab * t
    return (
        out * t
        + head
        + _nested_count(v, "text_config", "llama4_text")
        + _nested_count(v, "vision_config", "llama4_vision_model")
    )


def _llama4_tied(v) -> bool:
    """The language model (Llama4ForCausalLM, built from text_config) ties its head to the
    embedding when the text config says so; the top-level key does not (observed)."""
    text = _sub(v, "text_config") or {}
    return bool(text.get("tie_word_embeddings", False))


LLAMA4 = (
    _vision_family(
        "llama4_vision_model",
        "Llama 4 vision",
        _LLAMA4_VISION,
        hf_llama4_vision,
        sizes=("vision_output_dim", "projector_input_dim", "projector_output_dim"),
        extra=(_check_square_sizes, _check_llama4_vision),
    ),
    hf_family(
        "llama4",
        "Llama 4",
        (),
        layers=(),
        vocab="text_config.vocab_size",
        token_ids=(*_IMAGE_TOKENS, "boi_token_index", "eoi_token_index"),
        defaults={
            "image_token_index": 200092,
            "boi_token_index": 200080,
            "eoi_token_index": 200081,
        },
        params=hf_llama4,
        extra=(_check_llama4, _check_untyped("llama4_text", "llama4_vision_model")),
    ),
)


# ------------------------------------------------------------------------------------------
# SigLIP 2 (siglip2/modeling_siglip2.py): NaFlex patches, a square table of num_patches
# positions resized to each image's grid
# ------------------------------------------------------------------------------------------


@_counted
def hf_siglip2_vision(v) -> int:
    return _siglip_vision_tower(v, positions=_int(v, "num_patches"))


@_counted
def hf_siglip2(v) -> int:
    """Siglip2Model's own weights: logit_scale and logit_bias."""
    return (
        2
        + _nested_count(v, "text_config", "siglip2_text_model")
        + _nested_count(v, "vision_config", "siglip2_vision_model")
    )


def _check_square_positions(unit: Unit, report) -> None:
    """The position table of num_patches rows is reshaped to a square grid
    (int(sqrt(num_patches)) a side): a count that is not a square fails at the first batch."""
    from kmha_lint.hparams import rules

    n = unit.values.get("num_patches")
    if "num_patches" in report.bad or not (is_int(n) and n > 0):
        return
    side = int(n**0.5)
    if side * side != n:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "num_patches",
            f"the position table of {n} rows is reshaped to a {side}x{side} grid, which "
            "holds a different count; the first batch fails",
            "a square number (256 = 16 x 16)",
            str(n),
            f"set num_patches to a square, e.g. {side * side} or {(side + 1) ** 2}",
        )


SIGLIP2 = (
    _vision_family(
        "siglip2_vision_model",
        "SigLIP 2 vision",
        {**_SIGLIP_VISION_DEFAULTS, "num_patches": 256},
        hf_siglip2_vision,
        sizes=("num_patches",),
        extra=(_check_square_positions,),
    ),
    replace(SIGLIP[1], name="siglip2_text_model", title="SigLIP 2 text"),
    replace(
        SIGLIP[2],
        name="siglip2",
        title="SigLIP 2",
        params=hf_siglip2,
        extra=(
            _check_siglip_pair,
            _check_untyped("siglip2_text_model", "siglip2_vision_model"),
        ),
    ),
)


# ------------------------------------------------------------------------------------------
# KerasHub (keras-hub 0.32.0): PaliGemmaBackbone (pali_gemma/), SigLIPBackbone (siglip/)
# ------------------------------------------------------------------------------------------


def _kh_vit_layer(d: int, i: int) -> int:
    """A ViT block of KerasHub's SigLIP and PaliGemma: biased q/k/v/o of the width, two
    LayerNorms, a two-Dense MLP."""
    return 4 * (d * d + d) + 2 * _ln(d) + _mlp(d, i)


@_counted
def kh_pali_gemma(v) -> int:
    """PaliGemmaBackbone: Gemma's decoder (tied embedding, gate kernels of
    intermediate_dim // 2, optional post norms) and PaliGemmaVit: a biased patch
    convolution, (image_size // patch)^2 positions, ViT blocks, a LayerNorm and the
    "image_classifier" Dense from the ViT width to the text width."""
    # A negative layer count builds an empty stack, as zero does.
    clipped = Values({**v.config, "num_layers": _layers(v, "num_layers")}, v.defaults)
    text = _kh_decoder(
        clipped,
        head_dim=_int(v, "head_dim"),
        tied=True,
        layer_extra=_gemma_norms(v),
        mlp=lambda d, i: _gated(d, i // 2),
    )
    t, s = _int(v, "hidden_dim"), _int(v, "vit_hidden_dim")
    _int(v, "vit_num_heads")
    i = _opt_int(v, "vit_intermediate_dim") or 4304
    p, image = _int(v, "vit_patch_size"), _int(v, "image_size")
    grid = image // p
    vit = 3 * p * p * s + s + grid * grid * s
    vit += _layers(v, "vit_num_layers") * _kh_vit_layer(s, i) + _ln(s) + s * t + t
    return text + vit


def _check_vit_pooling(unit: Unit, report) -> None:
    """PaliGemma concatenates the image tokens with the text tokens: a pooled ViT output
    (one vector an image) cannot be, and "map" does not even deserialize."""
    from kmha_lint.hparams import rules

    pooling = unit.values.get("vit_pooling")
    if pooling is not None:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "vit_pooling",
            "PaliGemmaBackbone concatenates every image token with the text tokens; a pooled "
            "image (one vector) cannot be concatenated, and loading the backbone fails",
            "null",
            repr(pooling),
            "set vit_pooling to null",
        )


_ENCODER = ("vision_encoder.config.", "text_encoder.config.")


@_counted
def kh_siglip(v) -> int:
    """SigLIPBackbone: the vision encoder (biased patch convolution, positions and their
    non-trainable position_ids weight, blocks, a LayerNorm and the attention-pooling head),
    the text encoder (token and position embeddings with position_ids, blocks, a LayerNorm,
    the head Dense to projection_dim) and SigLIPHead's logit scale and bias."""
    vision, text = _ENCODER
    d, i = _int(v, vision + "hidden_dim"), _int(v, vision + "intermediate_dim")
    _int(v, vision + "num_heads")
    shape = v.get(vision + "image_shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(is_int(x) for x in shape)):
        raise _Unknown("image_shape")
    channels_first = v.get(vision + "data_format") == "channels_first"
    size, c = (shape[1], shape[0]) if channels_first else (shape[0], shape[2])
    p = _int(v, vision + "patch_size")
    n = (size // p) ** 2
    total = c * p * p * d + d + n * d + n
    total += _layers(v, vision + "num_layers") * _kh_vit_layer(d, i) + _ln(d)
    total += d + 4 * (d * d + d) + _ln(d) + _mlp(d, i)
    h, e = _int(v, text + "hidden_dim"), _int(v, text + "embedding_dim")
    j = _int(v, text + "intermediate_dim")
    _int(v, text + "num_heads")
    layers = _layers(v, text + "num_layers")
    positions = _int(v, text + "max_sequence_length")
    projection = _opt_int(v, text + "projection_dim") or h
    total += _int(v, text + "vocabulary_size") * e + positions * e + positions
    if layers:
        # The first block reads the embeddings (embedding_dim wide) and writes hidden_dim
        # (a mismatch builds and fails at the first batch); the others read hidden_dim.
        heads = _int(v, text + "num_heads")
        k = heads * _head(h, heads)
        first = 3 * (e * k + k) + k * e + e + 2 * _ln(e) + e * j + j + j * h + h
        total += first + (layers - 1) * _kh_vit_layer(h, j)
    total += _ln(h)
    return total + h * projection + projection + 2


def _check_kh_siglip(unit: Unit, report) -> None:
    """The text encoder's blocks add their output to the embeddings (embedding_dim must be
    hidden_dim); SigLIPHead compares the text projection with the pooled image
    (projection_dim, default hidden_dim, must be the vision hidden_dim); the vision encoder
    refuses non-square images when it is built."""
    from kmha_lint.hparams import rules

    vision, text = _ENCODER
    values = unit.values
    e, h = values.get(text + "embedding_dim"), values.get(text + "hidden_dim")
    if is_int(e) and is_int(h) and e > 0 and h > 0 and e != h:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            text + "embedding_dim",
            f"the text blocks add their {h}-wide output to the {e}-wide embeddings; the first "
            "batch fails",
            f"{h} (text hidden_dim)",
            str(e),
            "make the text encoder's embedding_dim equal its hidden_dim",
        )
    projection = values.get(text + "projection_dim")
    projection = h if projection is None else projection
    width = values.get(vision + "hidden_dim")
    if all(is_int(x) and x > 0 for x in (projection, width)) and projection != width:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            text + "projection_dim" if values.has(text + "projection_dim") else text + "hidden_dim",
            f"the text embedding ({projection}) and the pooled image ({width}) are compared "
            "by SigLIPHead; the first batch fails",
            f"{width} (vision_encoder hidden_dim)",
            str(projection),
            f"set the text encoder's projection_dim to {width}",
        )
    shape = values.get(vision + "image_shape")
    if isinstance(shape, list) and len(shape) == 3 and all(is_int(x) for x in shape):
        channels_first = values.get(vision + "data_format") == "channels_first"
        height, width_ = (shape[1], shape[2]) if channels_first else (shape[0], shape[1])
        if height != width_:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                vision + "image_shape",
                "SigLIPVisionEncoder refuses images whose height and width differ (building "
                "the backbone fails)",
                "a square image shape",
                str(shape),
                "use a square image_shape, e.g. [224, 224, 3]",
            )
    patch = values.get(vision + "patch_size")
    if values.has(vision + "patch_size") and not (is_int(patch) and patch > 0):
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            vision + "patch_size",
            "out of range",
            "a positive integer",
            str(patch),
            "set patch_size >= 1",
        )


_GEMMA3_VISION = "vision_encoder.config."


@_counted
def kh_gemma3_vision(v) -> int:
    """Gemma3VisionEncoder inside Gemma3Backbone: a biased patch convolution,
    (image // patch)^2 positions, ViT blocks, a LayerNorm, then (after the average pooling,
    no weights) an RMSNorm of the width and a Dense to output_dim without bias."""
    d, i = _int(v, _GEMMA3_VISION + "hidden_dim"), _int(v, _GEMMA3_VISION + "intermediate_dim")
    _int(v, _GEMMA3_VISION + "num_heads")
    p, image = _int(v, _GEMMA3_VISION + "patch_size"), _int(v, _GEMMA3_VISION + "image_size")
    out = _int(v, _GEMMA3_VISION + "output_dim")
    grid = image // p
    total = 3 * p * p * d + d + grid * grid * d
    total += _layers(v, _GEMMA3_VISION + "num_layers") * _kh_vit_layer(d, i) + _ln(d)
    return total + d + d * out


@_counted
def kh_gemma3_with_vision(v) -> int:
    """Gemma3Backbone with a vision encoder: the encoder, and the decoder built on the
    interleaved embeddings, whose width is the encoder's output_dim (equal to hidden_dim in
    a working config; otherwise the blocks' input-side kernels and norms take output_dim,
    observed). A negative num_layers builds no block, as zero does."""
    d, w = _int(v, "hidden_dim"), _int(v, _GEMMA3_VISION + "output_dim")
    h, kv = _int(v, "num_query_heads", 0), _int(v, "num_key_value_heads")
    k, i = _int(v, "head_dim"), _int(v, "intermediate_dim")
    attention = w * h * k + 2 * w * kv * k + h * k * w
    norms = 2 * w + 2 * k
    norms += w if _flag(v, "use_post_attention_norm", False) else 0
    norms += d if _flag(v, "use_post_ffw_norm", False) else 0
    layer = attention + norms + 2 * w * i + i * d
    text = _int(v, "vocabulary_size") * d + _layers(v, "num_layers") * layer + w
    vision = kh_gemma3_vision(v)
    if vision is None:
        raise _Unknown("vision_encoder")
    return text + vision


def check_kh_gemma3_vision(unit: Unit, report) -> None:
    """Gemma3Backbone with a vision_encoder: the encoder's attention checks that its heads
    divide its width (build); the pooled image tokens replace text embeddings (output_dim
    must be the text hidden_dim); the average pooling regroups the (image // patch) grid
    in pool_size blocks into as many tokens as the backbone expects; the backbone's
    image_size is the encoder's input size."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import check_size

    values = unit.values
    if not isinstance(values.get("vision_encoder"), dict):
        return
    layers = values.get("num_layers")
    if is_int(layers) and layers <= 0:
        # Text-only Gemma3Backbone fails without decoder blocks; with a vision encoder the
        # backbone builds and runs (observed): a warning, not the family's error.
        _drop(report, "num_layers", rules.HPARAM_OUT_OF_RANGE)
        report.add(
            rules.HPARAM_DEGENERATE,
            "num_layers",
            "a layer count of zero or less; the library accepts it, but the model has no "
            "decoder blocks",
            "a positive integer",
            str(layers),
            "set `num_layers` to the size you meant",
        )
    keys = ("hidden_dim", "num_heads", "intermediate_dim", "output_dim")
    for key in (*keys, "image_size", "patch_size", "pool_size"):
        if values.has(_GEMMA3_VISION + key):
            check_size(report, _GEMMA3_VISION + key)
    d, h = values.get(_GEMMA3_VISION + "hidden_dim"), values.get(_GEMMA3_VISION + "num_heads")
    if is_int(d) and is_int(h) and d > 0 and h > 0 and d % h:
        report.add(
            rules.HEADS_DO_NOT_DIVIDE_WIDTH,
            _GEMMA3_VISION + "num_heads",
            f"the vision encoder's hidden_dim={d} is not divisible by num_heads={h} "
            "(Gemma3VisionAttention refuses it when the backbone is built)",
            f"a divisor of {d}",
            str(h),
            f"use num_heads in {', '.join(str(n) for n in range(1, d + 1) if d % n == 0)}",
        )
    out, t = values.get(_GEMMA3_VISION + "output_dim"), values.get("hidden_dim")
    if is_int(out) and is_int(t) and out > 0 and t > 0 and out != t:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            _GEMMA3_VISION + "output_dim",
            f"the vision encoder writes image tokens of output_dim={out}, which replace text "
            f"embeddings of hidden_dim={t}; the first batch with an image fails",
            f"{t} (hidden_dim)",
            str(out),
            f"set the vision encoder's output_dim to {t}",
        )
    image, patch = (
        values.get(_GEMMA3_VISION + "image_size"),
        values.get(_GEMMA3_VISION + "patch_size"),
    )
    pool = values.get(_GEMMA3_VISION + "pool_size")
    if all(is_int(x) and x > 0 for x in (image, patch, pool)):
        grid = image // patch
        pooled, tokens = (grid // pool) ** 2, grid * grid // pool**2
        if pooled != tokens:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                _GEMMA3_VISION + "pool_size",
                f"the {grid}x{grid} patch grid (image_size {image} // patch_size {patch}) "
                f"pools in {pool}x{pool} blocks to {pooled} features an image, but the "
                f"backbone expects {grid}^2 // {pool}^2 = {tokens} image tokens; the first "
                "batch with an image fails",
                f"a pool_size that divides {grid}",
                str(pool),
                f"set pool_size to a divisor of {grid}",
            )
    size = values.get("image_size")
    if is_int(size) and is_int(image) and size > 0 and image > 0 and size != image:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "image_size",
            f"the backbone's image input is {size}x{size} but its vision encoder takes "
            f"{image}x{image} images; building the backbone fails",
            f"{image} (vision_encoder image_size)",
            str(size),
            "make image_size and the vision encoder's image_size equal",
        )


KERAS_HUB = (
    kh_family(
        "PaliGemmaBackbone",
        "PaliGemma",
        (
            *kh_gqa(head_dim="head_dim"),
            Attention("vit_hidden_dim", "vit_num_heads", derived=DIVISIBLE),
        ),
        required=(
            "vocabulary_size",
            "image_size",
            "num_layers",
            "num_query_heads",
            "num_key_value_heads",
            "hidden_dim",
            "intermediate_dim",
            "head_dim",
            "vit_patch_size",
            "vit_num_heads",
            "vit_hidden_dim",
            "vit_num_layers",
        ),
        layers=("num_layers", "vit_num_layers"),
        sizes=(
            "vocabulary_size",
            "intermediate_dim",
            "image_size",
            "vit_patch_size",
            "vit_intermediate_dim",
        ),
        windows=("sliding_window_size",),
        defaults={
            "dropout": 0,
            "sliding_window_size": 4096,
            "vit_intermediate_dim": None,
            "vit_pooling": None,
        },
        params=kh_pali_gemma,
        extra=(_check_vit_pooling,),
    ),
    kh_family(
        "SigLIPBackbone",
        "SigLIP",
        tuple(
            Attention(prefix + "hidden_dim", prefix + "num_heads", derived=DIVISIBLE)
            for prefix in reversed(_ENCODER)
        ),
        required=(),
        layers=tuple(prefix + "num_layers" for prefix in reversed(_ENCODER)),
        rates=(),
        sizes=(
            "text_encoder.config.vocabulary_size",
            "text_encoder.config.embedding_dim",
            "text_encoder.config.intermediate_dim",
            "text_encoder.config.max_sequence_length",
            "text_encoder.config.projection_dim",
            "vision_encoder.config.intermediate_dim",
        ),
        vocab="text_encoder.config.vocabulary_size",
        defaults={
            "text_encoder.config.max_sequence_length": 64,
            "text_encoder.config.projection_dim": None,
        },
        params=kh_siglip,
        extra=(_check_kh_siglip,),
    ),
)


# ------------------------------------------------------------------------------------------
# Phi-4-multimodal (phi4_multimodal/modeling_phi4_multimodal.py): Phi4MultimodalModel = a
# Phi-3-style text model at the top level + image embedding (a SigLIP-like tower) + audio
# embedding (a conformer encoder), each with projections to the text width
# ------------------------------------------------------------------------------------------

_PHI4_VISION = {
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "num_channels": 3,
    "image_size": 448,
    "patch_size": 14,
}
_PHI4_AUDIO = {
    "hidden_size": 1024,
    "intermediate_size": 1536,
    "num_blocks": 24,
    "num_attention_heads": 16,
    "ext_pw_out_channel": 1024,
    "depthwise_separable_out_channel": 1024,
    "depthwise_multiplier": 1,
    "kernel_size": 3,
    "input_size": 80,
    "time_reduction": 8,
    "bias_max_distance": 1000,
    "bias_symmetric": False,
    "nemo_conv_channels": 1024,
    "downsample_rate": 1,
}


@_counted
def hf_phi4_multimodal_vision(v) -> int:
    """Phi4MultimodalVisionModel: SigLIP's vision model with its pooling head always built."""
    return _siglip_vision_tower(v, head_key="", head_default=False) + _siglip_head(v)


def _siglip_head(v) -> int:
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    return d + 4 * (d * d + d) + _ln(d) + _mlp(d, i)


def _phi4_final_size(size: int, steps: int) -> int:
    """The feature size after ``steps`` stride-2 convolutions (kernel 3, padding 1)."""
    for _ in range(steps):
        size = (size - 1) // 2 + 1
    return size


@_counted
def hf_phi4_multimodal_audio(v) -> int:
    """Phi4MultimodalAudioModel: NeMo convolution subsampling (log2(time_reduction) stride-2
    convolutions, then a Linear of channels * the reduced input size), a relative-position
    bias table, and conformer blocks (two macaron MLPs, biased attention, a convolution
    module of a GLU pointwise, a depthwise-separable and a pointwise convolution, norms)."""
    a, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    h = _int(v, "num_attention_heads")
    e, s = _int(v, "ext_pw_out_channel"), _int(v, "depthwise_separable_out_channel")
    m, k = _int(v, "depthwise_multiplier"), _int(v, "kernel_size")
    c, reduction = _int(v, "nemo_conv_channels"), _int(v, "time_reduction", 2)
    size = _int(v, "input_size")
    kd = _head(a, h)
    mlp = _ln(a) + a * 2 * i + 2 * i + i * a + a
    attention = 3 * (a * h * kd + h * kd) + h * kd * a + a
    glu = a * 2 * e + 2 * e + 2 * e
    conv = _ln(a) + glu + (a * m * k + a * m) + (s * a * m + s) + (e * a + e)
    block = 2 * mlp + attention + conv + 2 * _ln(a)
    steps = reduction.bit_length() - 1  # int(log2(time_reduction)) for whole numbers
    size = _phi4_final_size(size, steps)
    if v.has("nemo_final_size"):  # written by to_dict; the written value wins (observed)
        size = _int(v, "nemo_final_size", 0)
    embed = c * 9 + c + max(steps - 1, 0) * (c * 9 + c + c * c + c) + c * size * a + a
    buckets = _int(v, "bias_max_distance") * (1 if _flag(v, "bias_symmetric", False) else 2)
    return embed + buckets * h + _layers(v, "num_blocks") * block


@_counted
def hf_phi4_multimodal(v) -> int:
    """Phi4MultimodalModel's own weights: the text model (token embedding with padding_idx,
    layers of fused qkv_proj and gate_up_proj without biases, two RMSNorms, a final norm), the
    image projections and feature extensors, and the two pairs of speech projections."""
    from kmha_lint.hparams.params import _hf_head_dim

    t, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    layer = t * (h * k + 2 * kv * k) + h * k * t + 2 * t + 3 * t * i
    text = _int(v, "vocab_size", 0) * t + _layers(v, "num_hidden_layers") * layer + t
    vision = Values(_sub(v, "vision_config") or {}, _PHI4_VISION)
    audio = Values(_sub(v, "audio_config") or {}, _PHI4_AUDIO)
    d = _int(vision, "hidden_size")
    a, rate = _int(audio, "hidden_size"), _int(audio, "downsample_rate")
    image = d * t + t + t * t + t + 2 * d
    speech = 2 * (a * rate * t + t + t * t + t)
    return (
        text
        + image
        + speech
        + _nested_count(v, "vision_config", "phi4_multimodal_vision")
        + _nested_count(v, "audio_config", "phi4_multimodal_audio")
    )


def _check_negative_layers(unit: Unit, report) -> None:
    """Zero text layers build and run; a negative count fails at the first batch
    (``__len__() should return >= 0``): an error where the shared check warns."""
    from kmha_lint.hparams import rules

    value = unit.values.get("num_hidden_layers")
    if is_int(value) and value < 0:
        _drop(report, "num_hidden_layers", rules.HPARAM_DEGENERATE)
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "num_hidden_layers",
            "a negative layer count; the model builds, but the first batch fails "
            "(__len__() should return >= 0)",
            "a positive integer",
            str(value),
            "set `num_hidden_layers` >= 1",
        )


def _check_phi4_audio(unit: Unit, report) -> None:
    """The config class validates time_reduction: a multiple of 2. It derives
    nemo_final_size from input_size and time_reduction, but a value written in the file
    wins: one that disagrees sizes the subsampling Linear for other features, and the
    first batch with audio fails (the text runs: a warning)."""
    from kmha_lint.hparams import rules

    values = unit.values
    written = values.get("nemo_final_size")
    size, reduction = values.get("input_size"), values.get("time_reduction")
    if values.has("nemo_final_size") and all(
        is_int(x) and x > 0 for x in (written, size, reduction)
    ):
        derived = _phi4_final_size(size, reduction.bit_length() - 1)
        if written != derived:
            report.add(
                rules.HPARAM_DEGENERATE,
                "nemo_final_size",
                f"input_size={size} subsampled by time_reduction={reduction} leaves "
                f"{derived} features, but the written nemo_final_size={written} wins and "
                "sizes the subsampling Linear; the model builds and runs text, and the first "
                "batch with audio fails",
                str(derived),
                str(written),
                f"remove nemo_final_size (the config derives it) or set it to {derived}",
            )
    value = values.get("time_reduction")
    if "time_reduction" not in report.bad and is_int(value) and value > 0 and value % 2:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "time_reduction",
            "the audio subsampling halves the frames log2(time_reduction) times, and the "
            "config class refuses an odd reduction",
            "a multiple of 2 (8 in published configs)",
            str(value),
            "set time_reduction to a power of 2, e.g. 8",
        )


PHI4_MULTIMODAL = (
    _vision_family(
        "phi4_multimodal_vision",
        "Phi-4-multimodal vision",
        _PHI4_VISION,
        hf_phi4_multimodal_vision,
    ),
    hf_family(
        "phi4_multimodal_audio",
        "Phi-4-multimodal audio",
        (Attention("hidden_size", "num_attention_heads", derived=FLOORS),),
        layers=("num_blocks",),
        sizes=(
            "intermediate_size",
            "ext_pw_out_channel",
            "depthwise_separable_out_channel",
            "depthwise_multiplier",
            "kernel_size",
            "input_size",
            "time_reduction",
            "bias_max_distance",
            "nemo_conv_channels",
            "downsample_rate",
        ),
        rates=("dropout_rate",),
        vocab=None,
        token_ids=(),
        defaults=_PHI4_AUDIO,
        params=hf_phi4_multimodal_audio,
        extra=(_check_phi4_audio,),
    ),
    replace(
        hf_decoder(
            "phi4_multimodal",
            "Phi-4-multimodal",
            derived=FLOORS,
            windows=("sliding_window",),
            extra_sizes=("original_max_position_embeddings",),
            params_fn=hf_phi4_multimodal,
            vocab_size=200064,
            hidden_size=3072,
            intermediate_size=8192,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=131072,
            pad_token_id=199999,
        ),
        attention=(
            Attention(
                "hidden_size",
                "num_attention_heads",
                kv_heads="num_key_value_heads",
                head_dim="head_dim",
                derived=FLOORS,
                rotary=True,
                rotary_fraction=("rope_parameters.partial_rotary_factor", "partial_rotary_factor"),
                rotary_odd_fails=False,
                rotary_above_one_fails=True,
            ),
        ),
        rates=("resid_pdrop", "embd_pdrop", "attention_dropout"),
        strict_windows=True,
        extra=(
            _check_negative_layers,
            _check_untyped("", "phi4_multimodal_vision", audio_type="phi4_multimodal_audio"),
        ),
    ),
)


# ------------------------------------------------------------------------------------------
# Ministral 3 (ministral3/): the text model of published Mistral 3 configs (Devstral 2)
# ------------------------------------------------------------------------------------------


def _check_head_dim_int(unit: Unit, report) -> None:
    """head_dim is an int field (default 128): null fails when the config is read."""
    from kmha_lint.hparams import rules

    if unit.values.has("head_dim") and unit.values.get("head_dim") is None:
        report.add(
            rules.HPARAM_WRONG_TYPE,
            "head_dim",
            "null where the config class takes a whole number (reading the config fails)",
            "a positive integer (or no key: 128)",
            "null",
            "write `head_dim` as a whole number, or remove the key",
        )


@_counted
def hf_ministral3(v) -> int:
    """Mistral's weights (no biases, gated MLP, head_dim default 128); a negative layer count
    builds no layer."""
    clipped = Values({**v.config, "num_hidden_layers": _layers(v, "num_hidden_layers")}, v.defaults)
    count = hf_llama(clipped)
    if count is None:
        raise _Unknown("ministral3")
    return count


MINISTRAL3 = replace(
    hf_decoder(
        "ministral3",
        "Ministral 3",
        derived=EXPLICIT,
        head_dim_default=128,
        windows=("sliding_window",),
        params_fn=hf_ministral3,
        vocab_size=131072,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=34,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=262144,
        pad_token_id=11,
    ),
    strict_windows=True,
    extra=(_check_negative_layers, _check_head_dim_int),
)
MINISTRAL3 = replace(
    MINISTRAL3,
    attention=tuple(replace(a, rotary_above_one_fails=True) for a in MINISTRAL3.attention),
)


# ------------------------------------------------------------------------------------------
# Voxtral (voxtral/modeling_voxtral.py): VoxtralModel = a Whisper-style audio encoder + a
# projector + a Llama language model
# ------------------------------------------------------------------------------------------

_VOXTRAL_AUDIO = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "num_mel_bins": 128,
    "max_source_positions": 1500,
}
# VoxtralConfig merges these under a written text_config too (``{**init_kwargs, **text}``).
_VOXTRAL_TEXT = {
    "vocab_size": 131072,
    "hidden_size": 3072,
    "intermediate_size": 8192,
    "num_hidden_layers": 30,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131072,
    "head_dim": 128,
}


@_counted
def hf_voxtral_encoder(v) -> int:
    """VoxtralEncoder: two convolutions over the mel bins, a position table of
    max_source_positions rows (a parameter, frozen, counted), Whisper's encoder layers (k_proj
    without bias) and a final LayerNorm."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    _int(v, "num_attention_heads")
    mels, positions = _int(v, "num_mel_bins"), _int(v, "max_source_positions", 0)
    embed = 3 * mels * d + d + 3 * d * d + d + positions * d
    layer = 4 * d * d + 3 * d + 2 * _ln(d) + _mlp(d, i)
    return embed + _layers(v, "num_hidden_layers") * layer + _ln(d)


@_counted
def hf_voxtral(v) -> int:
    """VoxtralModel's own weights: the projector's two Linears without bias (the audio
    intermediate_size to the text width, then the text width squared)."""
    t = _text_width(v, _VOXTRAL_TEXT["hidden_size"], _VOXTRAL_TEXT)
    audio = Values(_sub(v, "audio_config") or {}, _VOXTRAL_AUDIO)
    i = _int(audio, "intermediate_size")
    return (
        i * t
        + t * t
        + _nested_count(v, "text_config", "llama", _VOXTRAL_TEXT)
        + _nested_count(v, "audio_config", "voxtral_encoder")
    )


def _check_voxtral(unit: Unit, report) -> None:
    """The encoder's frames (max_source_positions of hidden_size features) are regrouped into
    audio tokens of intermediate_size features: the product must divide; the audio token id
    is embedded as it is (outside the vocabulary or negative, every batch with audio fails),
    and without one (null, the default) no placeholder takes the audio features."""
    from kmha_lint.hparams import rules

    values = unit.values
    key = "audio_token_id"
    token, vocab = values.get(key), values.get("text_config.vocab_size")
    if token is None:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "no audio token id (null, the config's default): the model finds no placeholder "
            "for the audio features, and every batch with audio fails",
            "the tokenizer's audio token id (24 in published configs)",
            "null",
            "set `audio_token_id` to the tokenizer's audio token id",
            at_key=not values.has(key),
        )
    if is_int(token) and (token < 0 or (is_int(vocab) and vocab > 0 and token >= vocab)):
        _drop(report, key, rules.TOKEN_ID_OUT_OF_VOCABULARY)
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "the audio token id cannot be embedded (outside the text vocabulary or "
            "negative), so every batch with audio fails",
            f"an id in [0, {vocab})",
            str(token),
            "set `audio_token_id` to the tokenizer's audio token id",
        )
    audio = Values(_sub(values, "audio_config") or {}, _VOXTRAL_AUDIO)
    positions, width = audio.get("max_source_positions"), audio.get("hidden_size")
    inter = audio.get("intermediate_size")
    if all(is_int(x) and x > 0 for x in (positions, width, inter)) and positions * width % inter:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            "audio_config.intermediate_size",
            f"the projector regroups the encoder's {positions} frames of {width} features "
            f"into tokens of intermediate_size={inter} features, and {positions * width} is "
            "not a multiple of it; the first batch with audio fails",
            f"a divisor of {positions * width}",
            str(inter),
            "use the published sizes (hidden_size 1280, intermediate_size 5120)",
        )


VOXTRAL = (
    hf_family(
        "voxtral_encoder",
        "Voxtral audio encoder",
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=("intermediate_size", "num_mel_bins", "max_source_positions"),
        rates=("dropout", "attention_dropout", "activation_dropout", "layerdrop"),
        rates_unchecked=frozenset({"attention_dropout"}),
        vocab=None,
        token_ids=(),
        defaults=_VOXTRAL_AUDIO,
        params=hf_voxtral_encoder,
    ),
    hf_family(
        "voxtral",
        "Voxtral",
        (),
        layers=(),
        vocab="text_config.vocab_size",
        token_ids=("audio_token_id",),
        defaults={"audio_token_id": None},
        params=hf_voxtral,
        extra=(_check_voxtral, _check_untyped("llama", "", audio_type="voxtral_encoder")),
    ),
)


# ------------------------------------------------------------------------------------------
# LFM2 (lfm2/modeling_lfm2.py): short-convolution and attention layers by layer_types; and
# LFM2-VL (lfm2_vl/): a SigLIP 2 tower, a pixel-unshuffle projector and an LFM2 model
# ------------------------------------------------------------------------------------------


def _lfm2_layer_types(v) -> list:
    kinds = v.get("layer_types")
    layers = _layers(v, "num_hidden_layers")
    if isinstance(kinds, list):
        return kinds
    attention = v.get("full_attn_idxs")
    attention = list(range(layers)) if attention is None else attention
    if not isinstance(attention, list):
        raise _Unknown("full_attn_idxs")
    return ["full_attention" if i in attention else "conv" for i in range(layers)]


def _lfm2_ffn_width(v) -> int:
    """Lfm2MLP's width: intermediate_size, or (block_auto_adjust_ff_dim) two thirds of it,
    times block_ffn_dim_multiplier and rounded up to block_multiple_of when a multiplier is
    set."""
    # Hub files write block_ff_dim, which the config class reads as intermediate_size. A
    # negative size adjusts to int(-2/3) = 0: an empty MLP that runs.
    key = "block_ff_dim" if v.has("block_ff_dim") else "intermediate_size"
    i = _int(v, key, minimum=-(2**62))
    if not _flag(v, "block_auto_adjust_ff_dim", True):
        if i < 0:
            raise _Unknown("intermediate_size")
        return i
    i = int(2 * i / 3)
    multiplier = v.get("block_ffn_dim_multiplier")
    if multiplier is None:
        return i
    if not isinstance(multiplier, int | float) or isinstance(multiplier, bool):
        raise _Unknown("block_ffn_dim_multiplier")
    i = int(multiplier * i)
    step = _int(v, "block_multiple_of")
    return step * ((i + step - 1) // step)


@_counted
def hf_lfm2(v) -> int:
    """Lfm2Model: the token embedding (padding_idx), per layer an operator and an FFN RMSNorm,
    a gated MLP without biases, and either attention (q/k/v/out without biases, q and k
    RMSNorms of the head size) or a short convolution (a depthwise Conv1d of conv_L_cache
    taps, in_proj to three widths, out_proj; biases when conv_bias); a final RMSNorm."""
    from kmha_lint.hparams.params import _hf_head_dim

    d = _int(v, "hidden_size")
    h = _int(v, "num_attention_heads")
    kv = _opt_int(v, "num_key_value_heads") or h
    k = _hf_head_dim(v)
    width = _lfm2_ffn_width(v)
    bias = _flag(v, "conv_bias", False)
    taps = _int(v, "conv_L_cache", 0)
    attention = d * h * k + 2 * d * kv * k + h * k * d + 2 * k
    conv = d * taps + 3 * d * d + d * d + ((d + 3 * d + d) if bias else 0)
    total = _int(v, "vocab_size", 0) * d + d
    for kind in _lfm2_layer_types(v):
        total += 2 * d + 3 * d * width + (conv if kind == "conv" else attention)
    return total


def _check_lfm2(unit: Unit, report) -> None:
    """layer_types: one kind a layer (the config class checks the length), "conv" or
    "full_attention" (any other kind builds an attention layer that finds no mask at the
    first batch); block_ffn_dim_multiplier is a number field (null fails at config)."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show

    values = unit.values
    kinds, layers = values.get("layer_types"), values.get("num_hidden_layers")
    if isinstance(kinds, list) and "num_hidden_layers" not in report.bad:
        if is_int(layers) and len(kinds) != layers:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "layer_types",
                f"{len(kinds)} layer kinds for num_hidden_layers={layers} (the config class "
                "refuses it)",
                f"{layers} kinds",
                str(len(kinds)),
                "write one kind a layer",
            )
        unknown = [kind for kind in kinds if kind not in ("conv", "full_attention")]
        if unknown:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                "layer_types",
                f"layer kinds {unknown} are built as attention layers that no mask is made "
                "for; the first batch fails",
                '"conv" or "full_attention"',
                str(unknown),
                'use "conv" and "full_attention" only',
            )
    key = "block_ffn_dim_multiplier"
    if values.has(key) and values.get(key) is None:
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "null where the config class takes a number (reading the config fails)",
            "a number (1.0 by default)",
            _show(None),
            f"write `{key}` as a number, or remove it",
        )


def _check_lfm2_vl(unit: Unit, report) -> None:
    _check_image_token(unit, report, replaced_when_outside=False)


@_counted
def hf_lfm2_vl(v) -> int:
    """Lfm2VlModel's own weights: the projector (a LayerNorm of downsample_factor^2 vision
    features when projector_use_layernorm, linear_1 to projector_hidden_size, linear_2 to the
    text width, biases when projector_bias)."""
    t = _text_width(v, 2560)
    s = _vision_width(v, 768)
    f = _int(v, "downsample_factor", 0)
    p = _int(v, "projector_hidden_size")
    wide = s * f * f
    bias = _flag(v, "projector_bias", True)
    own = (_ln(wide) if _flag(v, "projector_use_layernorm", True) else 0) + wide * p + p * t
    own += (p + t) if bias else 0
    return (
        own
        + _nested_count(v, "text_config", "lfm2")
        + _nested_count(v, "vision_config", "siglip2_vision_model")
    )


LFM2 = (
    hf_family(
        "lfm2",
        "LFM2",
        (
            Attention(
                "hidden_size",
                "num_attention_heads",
                kv_heads="num_key_value_heads",
                head_dim="head_dim",
                derived=FLOORS,
                rotary=True,
                rotary_fraction=("rope_parameters.partial_rotary_factor",),
                rotary_above_one_fails=True,
            ),
        ),
        sizes=(
            "vocab_size",
            "intermediate_size",
            "max_position_embeddings",
            "conv_L_cache",
            "block_multiple_of",
        ),
        padding_id="pad_token_id",
        defaults={
            "vocab_size": 65536,
            "hidden_size": 2560,
            "intermediate_size": 12288,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "max_position_embeddings": 128000,
            "pad_token_id": 0,
            "conv_L_cache": 3,
            "block_multiple_of": 256,
            "block_ffn_dim_multiplier": 1.0,
            "head_dim": None,
        },
        strict_layers=True,
        zero_ok=frozenset({"intermediate_size"}),
        negative_ok=frozenset({"intermediate_size"}),
        params=hf_lfm2,
        extra=(_check_lfm2,),
    ),
    hf_family(
        "lfm2_vl",
        "LFM2-VL",
        (),
        layers=(),
        sizes=("projector_hidden_size", "downsample_factor"),
        vocab="text_config.vocab_size",
        token_ids=("image_token_id",),
        defaults={"image_token_id": 396, "projector_hidden_size": 2560, "downsample_factor": 2},
        params=hf_lfm2_vl,
        extra=(_check_lfm2_vl, _check_untyped("lfm2", "siglip2_vision_model")),
    ),
)


# ------------------------------------------------------------------------------------------
# BLIP (blip/modeling_blip.py, modeling_blip_text.py): BlipModel = BlipTextModel (a BERT-like
# decoder with cross-attention to the image) + BlipVisionModel + two projections
# ------------------------------------------------------------------------------------------

_BLIP_TEXT = {
    "vocab_size": 30524,
    "hidden_size": 768,
    "encoder_hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 8,
    "max_position_embeddings": 512,
    "pad_token_id": 0,
    "is_decoder": True,
}
_BLIP_VISION = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "num_channels": 3,
    "image_size": 384,
    "patch_size": 16,
}


def _blip_cross_kv(v, encoder_width: int) -> int:
    """The key and value projections of the text layers' cross-attention (is_decoder) from
    ``encoder_width`` image features."""
    d, h = _int(v, "hidden_size"), _int(v, "num_attention_heads")
    if not _flag(v, "is_decoder", True):
        return 0
    a = h * _head(d, h)
    return _layers(v, "num_hidden_layers") * 2 * (encoder_width * a + a)


@_counted
def hf_blip_text(v) -> int:
    """BlipTextModel: word embeddings (padding_idx), positions and a LayerNorm; BERT layers
    (all_head_size = heads * (width // heads)) with a cross-attention block when is_decoder
    (keys and values from encoder_hidden_size features); a pooler."""
    d, i = _int(v, "hidden_size"), _int(v, "intermediate_size")
    h = _int(v, "num_attention_heads")
    a = h * _head(d, h)
    attention_out = d * d + d + _ln(d)
    layer = 3 * (d * a + a) + attention_out + _mlp(d, i) + _ln(d)
    if _flag(v, "is_decoder", True):
        layer += d * a + a + attention_out
    total = (_int(v, "vocab_size", 0) + _int(v, "max_position_embeddings")) * d + _ln(d)
    total += _layers(v, "num_hidden_layers") * layer + d * d + d
    return total + _blip_cross_kv(v, _int(v, "encoder_hidden_size"))


@_counted
def hf_blip_vision(v) -> int:
    """BlipVisionModel: a class embedding, a patch convolution with bias, (grid^2 + 1)
    positions, layers with a fused qkv (bias) and a projection, a post LayerNorm."""
    d, i, c = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "num_channels")
    _int(v, "num_attention_heads")
    image, patch = _int(v, "image_size"), _int(v, "patch_size")
    positions = (image // patch) ** 2 + 1
    layer = 3 * d * d + 3 * d + d * d + d + 2 * _ln(d) + _mlp(d, i)
    total = d + c * patch * patch * d + d + positions * d
    return total + _layers(v, "num_hidden_layers") * layer + _ln(d)


@_counted
def hf_blip(v) -> int:
    """BlipModel's own weights: the visual and text projections (no bias) and logit_scale.
    BlipConfig sets the text config's encoder_hidden_size to the vision width, whatever the
    text config says: the cross-attention keys and values are counted with that width (the
    text unit counts them with the written one; the difference is added here)."""
    text = Values(_sub(v, "text_config") or {}, _BLIP_TEXT)
    t = _text_width(v, 768)
    s = _vision_width(v, 768)
    p = _int(v, "projection_dim")
    own = s * p + t * p + 1
    if isinstance(_sub(v, "text_config"), dict) and isinstance(
        _sub(v, "text_config").get("model_type"), str
    ):
        own += _blip_cross_kv(text, s) - _blip_cross_kv(text, _int(text, "encoder_hidden_size"))
    return (
        own
        + _nested_count(v, "text_config", "blip_text_model", {"encoder_hidden_size": s})
        + _nested_count(v, "vision_config", "blip_vision_model")
    )


BLIP = (
    hf_family(
        "blip_text_model",
        "BLIP text",
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=("vocab_size", "intermediate_size", "max_position_embeddings", "encoder_hidden_size"),
        rates=("hidden_dropout_prob", "attention_probs_dropout_prob"),
        token_ids=(*HF_TOKENS, "sep_token_id"),
        padding_id="pad_token_id",
        defaults=_BLIP_TEXT,
        params=hf_blip_text,
    ),
    _vision_family(
        "blip_vision_model",
        "BLIP vision",
        _BLIP_VISION,
        hf_blip_vision,
        extra=(_check_square_sizes,),
    ),
    hf_family(
        "blip",
        "BLIP",
        (),
        layers=(),
        sizes=("projection_dim", "image_text_hidden_size"),
        vocab=None,
        token_ids=(),
        defaults={"projection_dim": 512, "image_text_hidden_size": 256},
        params=hf_blip,
        extra=(_check_untyped("blip_text_model", "blip_vision_model"),),
    ),
)


# Defaults a container merges under a written sub-config (read by huggingface.units).
NESTED_DEFAULTS = {("voxtral", "text_config"): _VOXTRAL_TEXT}


FAMILIES: tuple[Family, ...] = (
    *BLIP,
    *LFM2,
    *VOXTRAL,
    MINISTRAL3,
    *PHI4_MULTIMODAL,
    *_gemma3_text_inside(),
    *KERAS_HUB,
    *SIGLIP2,
    *LLAMA4,
    *SIGLIP,
    GEMMA3,
    PALIGEMMA,
    *QWEN_VL,
    PIXTRAL,
    MISTRAL3,
    LLAVA_NEXT,
    *IDEFICS3,
)

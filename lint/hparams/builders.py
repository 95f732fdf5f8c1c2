"""Builders of :class:`~kmha_lint.hparams.spec.Family` entries, shared by the family tables
(``huggingface.py``, ``kerashub.py`` and the group modules in ``families/``): the defaults
and argument names every transformers config or KerasHub backbone of a kind has in common,
so that a family entry states only what is its own.
"""

from __future__ import annotations

from kmha_lint.hparams.spec import DIVISIBLE, EXPLICIT, FLOORS, Attention, Family, Unit

HF = "transformers"
KH = "keras_hub"

HF_TOKENS = ("pad_token_id", "bos_token_id", "eos_token_id")
HF_ROPE = ("rope_parameters.partial_rotary_factor", "partial_rotary_factor")


def check_image(unit: Unit, report) -> None:
    """image_size and patch_size: a positive integer or a [height, width] pair."""
    from kmha_lint.hparams import rules
    from kmha_lint.hparams.checks import _show, is_int

    for key in ("image_size", "patch_size"):
        if not unit.values.has(key):
            continue
        value = unit.values[key]
        pair = value if isinstance(value, list) else [value, value]
        if len(pair) != 2 or not all(is_int(x) for x in pair):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                "wrong type",
                "a positive integer, or a [height, width] pair of them",
                _show(value),
                f"write `{key}` as a whole number or a pair of them",
            )
        elif any(x <= 0 for x in pair):
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                "out of range",
                "positive integers",
                str(value),
                f"set `{key}` >= 1",
            )


def hf_family(name, title, attention, **rest):
    rest.setdefault("layers", ("num_hidden_layers",))
    rest.setdefault("vocab", "vocab_size")
    rest.setdefault("token_ids", HF_TOKENS)
    return Family(name=name, library=HF, title=title, attention=attention, **rest)


def hf_bert_like(name, title, *, factorized=False, params_fn, extra_sizes=(), **defaults):
    sizes = ("vocab_size", "intermediate_size", "max_position_embeddings", "type_vocab_size")
    if factorized:
        sizes += ("embedding_size",)
    return hf_family(
        name,
        title,
        (Attention("hidden_size", "num_attention_heads", derived=DIVISIBLE),),
        sizes=sizes + tuple(extra_sizes),
        rates=("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"),
        padding_id="pad_token_id",
        defaults={
            "vocab_size": 30522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "max_position_embeddings": 512,
            "type_vocab_size": 2,
            "classifier_dropout": None,
            **defaults,
        },
        params=params_fn,
    )


def hf_decoder(
    name,
    title,
    *,
    derived,
    head_dim_default=None,
    windows=(),
    extra_sizes=(),
    divisible_even_with_head_dim=False,
    params_fn,
    **defaults,
):
    return hf_family(
        name,
        title,
        (
            Attention(
                "hidden_size",
                "num_attention_heads",
                kv_heads="num_key_value_heads",
                head_dim="head_dim",
                derived=derived,
                divisible_even_with_head_dim=divisible_even_with_head_dim,
                rotary=True,
                rotary_fraction=HF_ROPE,
            ),
        ),
        sizes=("vocab_size", "intermediate_size", "max_position_embeddings", *extra_sizes),
        windows=windows,
        rates=("attention_dropout",),
        rates_unchecked=frozenset({"attention_dropout"}),
        padding_id="pad_token_id",
        defaults={
            "num_key_value_heads": None,
            "head_dim": head_dim_default,
            "sliding_window": None,
            **defaults,
        },
        params=params_fn,
    )


def hf_t5_like(name, title, *, params_fn, defaults, **rest):
    """T5's layout (t5, mt5): ``d_model``, ``num_heads`` of an explicit size ``d_kv``, an
    encoder and a decoder stack, relative position buckets."""
    return hf_family(
        name,
        title,
        (Attention("d_model", "num_heads", head_dim="d_kv", derived=EXPLICIT),),
        layers=("num_layers", "num_decoder_layers"),
        sizes=(
            "vocab_size",
            "d_ff",
            "relative_attention_num_buckets",
            "relative_attention_max_distance",
        ),
        rates=("dropout_rate", "classifier_dropout"),
        token_ids=(*HF_TOKENS, "decoder_start_token_id"),
        defaults={
            "d_model": 512,
            "d_kv": 64,
            "num_decoder_layers": None,
            "relative_attention_num_buckets": 32,
            **defaults,
        },
        params=params_fn,
        **rest,
    )


# KerasHub


def kh_family(name, title, attention, *, required, sizes=(), rates=("dropout",), **rest):
    layers = rest.pop("layers", ("num_layers",))
    return Family(
        name=name,
        library=KH,
        title=title,
        attention=attention,
        sizes=tuple(sizes),
        layers=layers,
        rates=tuple(rates),
        required=tuple(required),
        bool_as_int=True,
        **rest,
    )


def kh_mha(heads="num_heads", derived=FLOORS, **rest) -> tuple[Attention, ...]:
    return (Attention(width="hidden_dim", heads=heads, derived=derived, **rest),)


def kh_gqa(**rest) -> tuple[Attention, ...]:
    return (
        Attention(
            width="hidden_dim",
            heads="num_query_heads",
            kv_heads="num_key_value_heads",
            derived=FLOORS,
            rotary=True,
            **rest,
        ),
    )

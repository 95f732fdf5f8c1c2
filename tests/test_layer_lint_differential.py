"""The layer and the linter give one verdict: generated geometries, judged by both.

Each example is a geometry (input rank 3-5, attention_axes omitted, sorted or unsorted,
every mask argument in an accepted or a refused form, grouped-query heads, key_dim omitted,
d_model, static and None sizes), written as a Keras functional config holding one
`kmha.MultiHeadAttention`. Keras deserializes the config and predicts one batch; kmha-lint
reads the config's text. Both must agree: no error, or the same rule with the same message
(the layer's `kmha.ShapeError` up to its "Fix:" is the linter's finding word for word).

A mistake is injected on a size that stays known in the config, so that a None elsewhere
cannot hide from the linter what the batch shows the layer.
"""

from __future__ import annotations

import copy
import functools
import json
import warnings

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kmha_lint import geometry
from kmha_lint.api import lint_text

import kmha

LAYER = "attn"
MASKS = ("query_mask", "value_mask", "key_mask", "attention_mask")
# Distinct sizes, so that no swapped axis can pass: batch, heads, widths, query and key
# lengths per attention axis, and the lengths of non-attended axes.
BATCH = 2
WIDTHS = {"query": 12, "value": 10, "key": 9}
QUERY_LENGTHS = (3, 4, 5)
KEY_LENGTHS = (7, 8, 11)
OTHER_LENGTH = 6
WRONG = 13  # a size no geometry uses

# Each mistake injected, and the rule both must name.
MISTAKES = {
    "none": None,
    "query rank 2": "KMHA205",
    "key rank": "KMHA205",
    "value batch": "KMHA204",
    "key length": "KMHA204",
    "not attended axis": "KMHA204",
    "axis is batch or features": "KMHA205",
    "causal over two axes": "KMHA205",
    "unknown width": "KMHA207",
    "heads do not divide width": "KMHA201",
    "d_model": "KMHA203",
    "key/value heads": "KMHA202",
    "padding mask size": "KMHA208",
    "padding mask rank": "KMHA208",
    "attention mask size": "KMHA208",
    "attention mask rank": "KMHA208",
    "transposed attention mask": "KMHA208",
    "padding mask as attention mask": "KMHA208",
}
RANK_3_ONLY = ("transposed attention mask", "padding mask as attention mask")


@functools.cache
def _template(has_key: bool, masks: tuple[str, ...], causal: bool) -> str:
    """A valid rank-3 functional config with these call arguments (shapes are rewritten)."""
    inputs = {
        "query": keras.Input((4, 12), name="query"),
        "value": keras.Input((5, 10), name="value"),
    }
    if has_key:
        inputs["key"] = keras.Input((5, 9), name="key")
    shapes = {"query_mask": (4,), "value_mask": (5,), "key_mask": (5,), "attention_mask": (4, 5)}
    for name in masks:
        inputs[name] = keras.Input(shapes[name], dtype="bool", name=name)
    kwargs = {name: inputs[name] for name in masks}
    if has_key:
        kwargs["key"] = inputs["key"]
    output = kmha.MultiHeadAttention(2, key_dim=3, name=LAYER)(
        inputs["query"], inputs["value"], use_causal_mask=causal, **kwargs
    )
    return keras.Model(list(inputs.values()), output).to_json()


@st.composite
def geometries(draw, mistake):
    two_axes = mistake in ("not attended axis", "causal over two axes")
    rank = 3 if mistake in RANK_3_ONLY else draw(st.sampled_from((4, 5) if two_axes else (3, 4, 5)))
    inner = list(range(1, rank - 1))
    if draw(st.booleans()) and mistake != "not attended axis":
        axes = None
        attended = inner
    else:
        count = 1 if mistake == "not attended axis" else draw(st.integers(1, len(inner)))
        if mistake == "causal over two axes":
            count = draw(st.integers(2, len(inner)))
        attended = draw(st.permutations(inner))[:count]
        negative = draw(st.booleans())
        axes = [a - rank if negative else a for a in attended]
        if len(axes) == 1 and draw(st.booleans()):
            axes = axes[0]
    if mistake == "axis is batch or features":
        bad = draw(st.sampled_from((0, rank - 1)))
        axes = [*attended, bad] if draw(st.booleans()) else bad
    causal = draw(st.booleans()) if len(attended) == 1 else mistake == "causal over two axes"

    heads = draw(st.sampled_from((2, 3)))
    config = {"num_heads": heads, "attention_axes": axes}
    key_dim_omitted = draw(st.booleans()) or mistake == "heads do not divide width"
    if mistake == "heads do not divide width":
        config["num_heads"] = heads = 5
    if not key_dim_omitted:
        config["key_dim"] = draw(st.sampled_from((3, 4)))
    if draw(st.booleans()):
        config["num_key_value_heads"] = draw(st.sampled_from((1, heads)))
    if mistake == "key/value heads":
        config["num_key_value_heads"] = 2 if heads == 3 else 3
    if mistake == "d_model":
        config["d_model"] = WIDTHS["query"] + 4
    elif draw(st.booleans()) and heads != 5:
        config["d_model"] = WIDTHS["query"]

    # Sizes by symbol: each axis of each tensor is (symbol, size).
    def length(axis, of):
        if axis not in attended:
            return (f"N{axis}", OTHER_LENGTH + axis)
        if of == "query":
            return (f"T{axis}", QUERY_LENGTHS[axis - 1])
        return (f"S{axis}", KEY_LENGTHS[axis - 1])

    has_key = draw(st.booleans()) or mistake in ("key rank", "key length")
    tensors = {}
    for name in ("query", "value", "key") if has_key else ("query", "value"):
        source = "query" if name == "query" else "value"
        axes_of = [length(a, source) for a in range(1, rank - 1)]
        tensors[name] = [("B", BATCH), *axes_of, (f"D{name}", WIDTHS[name])]
    masks = {}
    for name in MASKS if has_key else (*MASKS[:2], MASKS[3]):
        if draw(st.booleans()):
            masks[name] = None
    if mistake.startswith("padding mask") and not set(masks) - {"attention_mask"}:
        masks[draw(st.sampled_from(MASKS[:3] if has_key else MASKS[:2]))] = None
    if "attention mask" in mistake:
        masks["attention_mask"] = None
    for name in list(masks):
        if name != "attention_mask":
            source = {"query_mask": "query", "value_mask": "value", "key_mask": "key"}[name]
            masks[name] = tensors[source][:-1]
            continue
        scores = [("B", BATCH)] + [length(a, "query") for a in inner if a not in attended]
        scores += [("H", heads)]
        scores += [length(a, "query") for a in attended] + [length(a, "value") for a in attended]
        leading = len(scores) - 2 * len(attended)
        dropped = draw(st.integers(0, leading))
        form = scores[: leading - dropped] + scores[leading:]
        masks[name] = [("1", 1) if draw(st.integers(0, 3)) == 0 else dim for dim in form]
        attention_form, scores_rank = form, len(scores)

    protected = set()

    def wrong(dims, index):
        protected.add(dims[index][0])
        dims[index] = ("wrong", WRONG)

    if mistake == "query rank 2":
        tensors["query"] = [tensors["query"][0], tensors["query"][-1]]
    elif mistake == "key rank":
        tensors["key"].insert(1, ("N9", 9))
    elif mistake == "value batch":
        wrong(tensors["value"], 0)
    elif mistake == "key length":
        wrong(tensors["key"], draw(st.sampled_from(range(1, rank - 1))))
    elif mistake == "not attended axis":
        wrong(tensors["value"], next(a for a in inner if a not in attended))
    elif mistake == "unknown width":
        name = draw(st.sampled_from(sorted(tensors)))
        tensors[name][-1] = ("unknown width", None)
    elif mistake == "padding mask size":
        name = draw(st.sampled_from(sorted(set(masks) - {"attention_mask"})))
        wrong(masks[name], draw(st.integers(0, rank - 2)))
    elif mistake == "padding mask rank":
        name = draw(st.sampled_from(sorted(set(masks) - {"attention_mask"})))
        masks[name] = masks[name] + [("1", 1)]
    elif mistake == "attention mask size":
        mask = masks["attention_mask"]
        index = draw(st.integers(0, len(mask) - 1))
        mask[index] = attention_form[index]  # a size-1 axis broadcasts: make it the full size
        wrong(mask, index)
    elif mistake == "attention mask rank":
        extra = draw(st.booleans())
        mask = masks["attention_mask"]
        too_many = scores_rank + 1
        masks["attention_mask"] = [("1", 1)] * too_many if extra else mask[-1:]
    elif mistake == "transposed attention mask":
        protected.update(("T1", "S1"))
        masks["attention_mask"] = [("B", BATCH), ("S1", KEY_LENGTHS[0]), ("T1", QUERY_LENGTHS[0])]
    elif mistake == "padding mask as attention mask":
        protected.update(("B", "T1", "S1"))
        masks["attention_mask"] = [("B", BATCH), ("S1", KEY_LENGTHS[0])]

    # Unknown sizes: the batch, and any symbol the mistake does not involve, declared None
    # everywhere, here and there, or nowhere.
    hidden = {}
    symbols = {s for dims in [*tensors.values(), *masks.values()] for s, _ in dims}
    for symbol in sorted(symbols - protected - {"1", "wrong", "H"}):
        if symbol.startswith("D"):
            continue
        hidden[symbol] = draw(st.sampled_from(("everywhere", "somewhere", "nowhere")))

    def declared(dims):
        shape = []
        for symbol, size in dims:
            how = hidden.get(symbol, "nowhere")
            if how == "everywhere" or (how == "somewhere" and draw(st.booleans())):
                size = None
            shape.append(size)
        return shape

    def actual(dims):
        return [WIDTHS["query"] if size is None else size for _, size in dims]

    arguments = {**tensors, **masks}
    return {
        "mistake": mistake,
        "config": config,
        "causal": causal,
        "has_key": has_key,
        "declared": {name: declared(dims) for name, dims in arguments.items()},
        "actual": {name: actual(dims) for name, dims in arguments.items()},
    }


def _config_text(example) -> str:
    masks = tuple(name for name in MASKS if name in example["declared"])
    doc = json.loads(_template(example["has_key"], masks, example["causal"]))
    declared = example["declared"]
    for layer in doc["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = declared[layer["name"]]
        if layer["name"] == LAYER:
            layer.pop("build_config")
            layer["config"].update({"key_dim": None, **copy.deepcopy(example["config"])})
            for node in layer["inbound_nodes"]:
                for tensor in [*node["args"], *node["kwargs"].values()]:
                    if isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__":
                        name = tensor["config"]["keras_history"][0]
                        tensor["config"]["shape"] = declared[name]
    return json.dumps(doc)


def _layer_verdict(text: str, example) -> tuple[str, str] | None:
    """(rule code, message up to the fix) of the layer's ShapeError, or None when Keras
    deserializes the config and runs a batch."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.models.model_from_json(text)
            names = [name for name, _, _ in json.loads(text)["config"]["input_layers"]]
            batch = [
                np.ones(example["actual"][name], "bool" if "mask" in name else "float32")
                for name in names
            ]
            model(batch)
    except (kmha.ShapeError, TypeError) as raised:
        error = _shape_error(raised)
        if isinstance(error, geometry.CallError):
            rule = geometry.call_rule(error)
        else:
            rule = geometry.head_dims_rule(error)
        return rule.code, str(error).split(" Fix: ")[0]
    return None


def _shape_error(error: BaseException) -> kmha.ShapeError:
    """The ShapeError itself: Keras wraps an error raised while deserializing a layer in
    TypeErrors (the layer's `__init__` is where a head-count mistake is found)."""
    while error is not None and not isinstance(error, kmha.ShapeError):
        error = error.__cause__ or error.__context__
    assert error is not None, "an error other than kmha.ShapeError"
    return error


def _lint_verdict(text: str) -> list[tuple[str, str]]:
    return [
        (finding.code, finding.message)
        for finding in lint_text(text, path="model.json")
        if finding.severity == "error"
    ]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_linter_verdict_equals_layer_verdict(mistake):
    _agree(mistake)


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def _agree(mistake, data):
    example = data.draw(geometries(mistake))
    text = _config_text(example)
    layer, lint = _layer_verdict(text, example), _lint_verdict(text)
    where = (
        f"{mistake}: {json.dumps({k: example[k] for k in ('config', 'declared')})}"
        f"\nlayer: {layer}\nlint: {lint}"
    )
    assert lint == ([] if layer is None else [layer]), where
    assert (layer and layer[0]) == MISTAKES[mistake], where


def test_unsorted_attention_axes_mask_layout_agrees():
    """Rank-4 inputs with attention_axes=(2, 1): the scores, and so the mask, are laid out
    (B, H, T2, T1, S2, S1) by both, in the order the axes were given."""
    example = {
        "config": {"num_heads": 2, "key_dim": 3, "attention_axes": [2, 1]},
        "causal": False,
        "has_key": False,
        "declared": {
            "query": [BATCH, 3, 4, 12],
            "value": [BATCH, 7, 8, 10],
            "attention_mask": [BATCH, 2, 4, 3, 8, 7],
        },
    }
    example["actual"] = example["declared"]
    text = _config_text(example)
    assert _layer_verdict(text, example) is None
    assert _lint_verdict(text) == []
    sorted_layout = {**example["declared"], "attention_mask": [BATCH, 2, 3, 4, 7, 8]}
    example = {**example, "declared": sorted_layout, "actual": sorted_layout}
    text = _config_text(example)
    verdict = _layer_verdict(text, example)
    assert verdict[0] == "KMHA208" and "(B, H, T2, T1, S2, S1) = (2, 2, 4, 3, 8, 7)" in verdict[1]
    assert _lint_verdict(text) == [verdict]

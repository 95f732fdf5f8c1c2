"""`--summary`'s parameter count of attention layers equals Keras's `count_params()`.

Random layers of kmha.MultiHeadAttention, keras.layers.MultiHeadAttention and
keras.layers.GroupQueryAttention (head counts, key/value heads, key_dim omitted or not,
value_dim, d_model, output_shape as an int or a tuple, use_bias, use_gate, rank-4 inputs
with attention_axes, distinct query/key/value widths) are built by Keras in a functional
model; the linter counts the layer from `model.to_json()` alone.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
kmha = pytest.importorskip("kmha")

from kmha_lint.summary import summarize_document  # noqa: E402

WIDTHS = st.integers(1, 12)


@st.composite
def attention_layers(draw):
    """(kind, layer arguments, query/value/key shapes without the batch axis)."""
    kind = draw(st.sampled_from(["kmha", "keras", "gqa"]))
    rank = 3 if kind == "gqa" else draw(st.sampled_from([3, 4]))
    positions = (draw(st.integers(2, 4)),) * (rank - 2)
    heads = draw(st.integers(1, 4))
    widths = {name: draw(WIDTHS) for name in ("query", "value", "key")}
    arguments = {"use_bias": draw(st.booleans())}
    if kind == "gqa":
        kv_heads = draw(st.sampled_from([d for d in range(1, heads + 1) if heads % d == 0]))
        arguments |= {"head_dim": draw(st.integers(1, 6))}
        arguments |= {"num_query_heads": heads, "num_key_value_heads": kv_heads}
        widths["value"] = widths["query"]  # Keras's GQA requires it
    else:
        arguments["num_heads"] = heads
        arguments["output_shape"] = draw(
            st.none() | st.integers(1, 9) | st.tuples(st.integers(1, 4), st.integers(1, 4))
        )
        arguments["value_dim"] = draw(st.none() | st.integers(1, 6))
        if rank == 4:
            arguments["attention_axes"] = draw(st.sampled_from([(1,), (2,), (1, 2)]))
        if kind == "keras" or draw(st.booleans()):
            arguments["key_dim"] = draw(st.integers(1, 6))
        else:  # kmha derives key_dim from the query width (or d_model, which must equal it)
            widths["query"] = heads * draw(st.integers(1, 4))
            if draw(st.booleans()):
                arguments["d_model"] = widths["query"]
        if kind == "kmha":
            divisors = [d for d in range(1, heads + 1) if heads % d == 0]
            arguments["num_key_value_heads"] = draw(st.none() | st.sampled_from(divisors))
            arguments["use_gate"] = draw(st.booleans())
    shapes = {name: positions + (width,) for name, width in widths.items()}
    return kind, arguments, shapes


def _layer(kind: str, arguments: dict):
    if kind == "kmha":
        return kmha.MultiHeadAttention(name="attention", **arguments)
    if kind == "keras":
        return keras.layers.MultiHeadAttention(name="attention", **arguments)
    return keras.layers.GroupQueryAttention(name="attention", **arguments)


def _linter_agrees(module, layer, shapes, case) -> None:
    inputs = [module.Input(shapes[name], name=name) for name in ("query", "value", "key")]
    model = module.Model(inputs, layer(*inputs))
    summary = summarize_document(json.loads(model.to_json()), "model.json")
    (row,) = [row for row in summary.layers if row.name == "attention"]
    assert row.params == layer.count_params(), case
    assert summary.total_params == model.count_params()


@settings(max_examples=25, deadline=None)
@given(attention_layers())
def test_attention_parameters_equal_keras_count_params(case):
    kind, arguments, shapes = case
    _linter_agrees(keras, _layer(kind, arguments), shapes, case)


@settings(max_examples=10, deadline=None)
@given(attention_layers().filter(lambda case: case[0] == "keras"))
def test_tf_keras_attention_parameters_equal_its_count_params(case):
    """tf.keras 2 (the corpus-keras extra): the same arithmetic from its own configs."""
    tf_keras = pytest.importorskip("tf_keras")
    _, arguments, shapes = case
    layer = tf_keras.layers.MultiHeadAttention(name="attention", **arguments)
    _linter_agrees(tf_keras, layer, shapes, case)

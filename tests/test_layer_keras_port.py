"""Drop-in equivalence: Keras's weights ported into kmha give Keras's outputs.

Keras's two code paths (fused dot-product attention and einsum + softmax) disagree on
fully masked query rows, so the masks here always leave each row a key; fully masked
rows are tested against the NumPy reference instead. Keras ignores the ``query_mask``
argument (it reads the query's Keras mask), so with a query mask only the rows it keeps
are compared.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from reference import random_mask

import kmha

B, T, S, H = 3, 4, 5, 2
DQ, DV, DK = 14, 9, 11
KEY_DIM, VALUE_DIM = 6, 7
TOLERANCE = 1e-5


def _normal(rng, *shape):
    return rng.normal(size=shape).astype("float32")


def _ported_pair(keras_class, kwargs, ours_kwargs, inputs, call_kwargs):
    theirs = keras_class(**kwargs)
    ours = kmha.MultiHeadAttention(**ours_kwargs)
    theirs(**inputs, **call_kwargs)
    ours(**inputs, **call_kwargs)
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights], (
        "weight shapes/order differ from Keras"
    )
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _assert_same(theirs, ours, inputs, call_kwargs, rows=None):
    expected = theirs(**inputs, **call_kwargs)
    actual = ours(**inputs, **call_kwargs)
    if not call_kwargs.get("return_attention_scores"):
        expected, actual = (expected,), (actual,)
    for name, want, got in zip(("output", "scores")[: len(actual)], expected, actual, strict=True):
        assert got.shape == want.shape, f"{name} shape {got.shape} != Keras {want.shape}"
        want, got = np.asarray(want), np.asarray(got)
        if rows is not None:
            want, got = _select_rows(want, rows, name), _select_rows(got, rows, name)
        diff = _max_diff(got, want)
        assert diff <= TOLERANCE, f"{name}: max abs diff vs Keras {diff:.3g} > {TOLERANCE}"


def _select_rows(x, rows, name):
    # rows is a (B, T) boolean; outputs are (B, T, ...) and scores (B, H, T, S).
    return x[rows] if name == "output" else np.moveaxis(x, 1, 2)[rows]


def _cross_inputs(rng, with_key=True):
    inputs = {"query": _normal(rng, B, T, DQ), "value": _normal(rng, B, S, DV)}
    if with_key:
        inputs["key"] = _normal(rng, B, S, DK)
    return inputs


MHA_KWARGS = {"num_heads": H, "key_dim": KEY_DIM, "value_dim": VALUE_DIM}


def _mask_case(shape):
    return lambda rng: {"attention_mask": random_mask(rng, shape)}


CROSS_CASES = {
    "plain": ({}, lambda rng: {}),
    "attention_mask (B,T,S)": ({}, _mask_case((B, T, S))),
    "attention_mask (T,S)": ({}, _mask_case((T, S))),
    "attention_mask (B,1,S)": ({}, _mask_case((B, 1, S))),
    "attention_mask (B,H,T,S)": ({}, _mask_case((B, H, T, S))),
    "attention_mask (1,1,S)": ({}, _mask_case((1, 1, S))),
    "value_mask and key_mask": (
        {},
        lambda rng: {"value_mask": random_mask(rng, (B, S)), "key_mask": random_mask(rng, (B, S))},
    ),
    "causal": ({}, lambda rng: {"use_causal_mask": True}),
    "causal and attention_mask": (
        {},
        lambda rng: {"use_causal_mask": True, "attention_mask": random_mask(rng, (B, T, S))},
    ),
    "sliding_window": ({"sliding_window": 2}, lambda rng: {}),
    "sliding_window and causal": ({"sliding_window": 3}, lambda rng: {"use_causal_mask": True}),
    "use_gate": ({"use_gate": True}, lambda rng: {"value_mask": random_mask(rng, (B, S))}),
    "output_shape int": ({"output_shape": 13}, lambda rng: {}),
    "output_shape tuple": ({"output_shape": (2, 3)}, lambda rng: {}),
    "no bias": ({"use_bias": False}, lambda rng: {}),
    "scores": ({}, lambda rng: {"return_attention_scores": True}),
    "scores with masks": (
        {"use_gate": True},
        lambda rng: {
            "return_attention_scores": True,
            # Keras cannot AND a (B, H, T, S) attention_mask with padding masks.
            "attention_mask": random_mask(rng, (B, T, S)),
            "value_mask": random_mask(rng, (B, S)),
        },
    ),
    "scores causal": ({}, lambda rng: {"return_attention_scores": True, "use_causal_mask": True}),
}


@pytest.mark.parametrize("case", list(CROSS_CASES))
def test_cross_attention_matches_keras(case, rng):
    extra, make_call_kwargs = CROSS_CASES[case]
    inputs = _cross_inputs(rng)
    call_kwargs = make_call_kwargs(rng)
    kwargs = {**MHA_KWARGS, **extra}
    theirs, ours = _ported_pair(keras.layers.MultiHeadAttention, kwargs, kwargs, inputs, {})
    _assert_same(theirs, ours, inputs, call_kwargs)


def test_cross_attention_without_key_matches_keras(rng):
    inputs = _cross_inputs(rng, with_key=False)
    theirs, ours = _ported_pair(keras.layers.MultiHeadAttention, MHA_KWARGS, MHA_KWARGS, inputs, {})
    _assert_same(theirs, ours, inputs, {"value_mask": random_mask(rng, (B, S))})


def test_self_attention_matches_keras(rng):
    x = _normal(rng, B, T, DQ)
    inputs = {"query": x, "value": x}
    theirs, ours = _ported_pair(keras.layers.MultiHeadAttention, MHA_KWARGS, MHA_KWARGS, inputs, {})
    _assert_same(theirs, ours, inputs, {"use_causal_mask": True})
    _assert_same(theirs, ours, inputs, {"attention_mask": random_mask(rng, (B, T, T))})


def test_query_mask_matches_keras_on_kept_rows(rng):
    inputs = _cross_inputs(rng)
    query_mask = rng.random((B, T)) < 0.6
    query_mask[:, 0] = True
    query_mask[0, 1] = False
    theirs, ours = _ported_pair(keras.layers.MultiHeadAttention, MHA_KWARGS, MHA_KWARGS, inputs, {})
    # Keras ignores the query_mask argument; kmha applies it. The kept rows must agree.
    _assert_same(
        theirs,
        ours,
        inputs,
        {"query_mask": query_mask, "return_attention_scores": True},
        query_mask,
    )


RANK4_CASES = [(2,), (-2,), (1, 2), None]


@pytest.mark.parametrize("attention_axes", RANK4_CASES, ids=str)
def test_attention_axes_on_rank4_inputs_match_keras(attention_axes, rng):
    extra_axis = 6
    inputs = {
        "query": _normal(rng, B, extra_axis, T, DQ),
        "value": _normal(rng, B, extra_axis, S, DV),
        "key": _normal(rng, B, extra_axis, S, DK),
    }
    kwargs = {**MHA_KWARGS, "attention_axes": attention_axes}
    theirs, ours = _ported_pair(keras.layers.MultiHeadAttention, kwargs, kwargs, inputs, {})
    call_kwargs = {"return_attention_scores": True}
    if attention_axes in ((2,), (-2,)):
        call_kwargs["attention_mask"] = random_mask(rng, (B, extra_axis, T, S))
    _assert_same(theirs, ours, inputs, call_kwargs)


def test_rank4_padding_and_causal_masks_mean_their_attention_mask(rng):
    """Keras's own padding and causal masks assume rank-3 inputs; kmha's mean the
    attention_mask they imply, and that path matches Keras (test above)."""
    extra_axis = 6
    query = _normal(rng, B, extra_axis, T, DQ)
    value = _normal(rng, B, extra_axis, S, DV)
    layer = kmha.MultiHeadAttention(**{**MHA_KWARGS, "attention_axes": (2,)})
    query_mask = random_mask(rng, (B, extra_axis, T))
    value_mask = random_mask(rng, (B, extra_axis, S))
    implied = query_mask[..., :, None] & value_mask[..., None, :]
    np.testing.assert_allclose(
        layer(query, value, query_mask=query_mask, value_mask=value_mask),
        layer(query, value, attention_mask=implied),
        atol=1e-6,
    )
    causal = np.broadcast_to(np.tril(np.ones((T, S), bool)), (B, extra_axis, T, S))
    np.testing.assert_allclose(
        layer(query, value, use_causal_mask=True),
        layer(query, value, attention_mask=causal),
        atol=1e-6,
    )
    assert not np.allclose(layer(query, value, use_causal_mask=True), layer(query, value))


def test_symbolic_scores_shape_is_b_h_t_s():
    layer = kmha.MultiHeadAttention(**MHA_KWARGS)
    query = keras.Input(batch_shape=(B, T, DQ))
    value = keras.Input(batch_shape=(B, S, DV))
    output, scores = layer(query, value, return_attention_scores=True)
    assert tuple(output.shape) == (B, T, DQ)
    assert tuple(scores.shape) == (B, H, T, S), (
        f"symbolic scores shape {tuple(scores.shape)}, expected (B, H, T, S) = {(B, H, T, S)}"
    )
    unknown = layer(keras.Input((None, DQ)), keras.Input((None, DV)), return_attention_scores=True)
    assert tuple(unknown[1].shape) == (None, H, None, None)


GQA_HEADS, GQA_KV_HEADS, GQA_HEAD_DIM = 6, 2, 5

GQA_CASES = {
    "plain": ({}, lambda rng: {}),
    "masks and scores": (
        {},
        lambda rng: {
            "attention_mask": random_mask(rng, (B, T, S)),
            "value_mask": random_mask(rng, (B, S)),
            "return_attention_scores": True,
        },
    ),
    "causal": ({}, lambda rng: {"use_causal_mask": True}),
    "sliding_window and gate": ({"sliding_window": 2, "use_gate": True}, lambda rng: {}),
}


@pytest.mark.parametrize("case", list(GQA_CASES))
def test_grouped_query_attention_matches_keras(case, rng):
    extra, make_call_kwargs = GQA_CASES[case]
    inputs = _cross_inputs(rng)
    theirs_kwargs = {
        "head_dim": GQA_HEAD_DIM,
        "num_query_heads": GQA_HEADS,
        "num_key_value_heads": GQA_KV_HEADS,
        **extra,
    }
    ours_kwargs = {
        "num_heads": GQA_HEADS,
        "num_key_value_heads": GQA_KV_HEADS,
        "key_dim": GQA_HEAD_DIM,
        **extra,
    }
    theirs, ours = _ported_pair(
        keras.layers.GroupQueryAttention, theirs_kwargs, ours_kwargs, inputs, {}
    )
    _assert_same(theirs, ours, inputs, make_call_kwargs(rng))


def _masked_embedding_model(layer):
    """query and value from Embedding(mask_zero=True): their Keras masks reach the layer."""
    query_tokens = keras.Input((None,), dtype="int32")
    value_tokens = keras.Input((None,), dtype="int32")
    query = keras.layers.Embedding(10, DQ, mask_zero=True, name="query_embedding")(query_tokens)
    value = keras.layers.Embedding(10, DV, mask_zero=True, name="value_embedding")(value_tokens)
    return keras.Model([query_tokens, value_tokens], layer(query, value))


def test_keras_masks_of_inputs_are_honoured_like_keras(rng):
    query_tokens = rng.integers(1, 10, size=(B, T))
    value_tokens = rng.integers(1, 10, size=(B, S))
    query_tokens[0, -1] = 0
    value_tokens[1, -2:] = 0
    theirs = _masked_embedding_model(keras.layers.MultiHeadAttention(**MHA_KWARGS))
    ours = _masked_embedding_model(kmha.MultiHeadAttention(**MHA_KWARGS))
    ours.set_weights(theirs.get_weights())
    kept = query_tokens != 0
    expected = np.asarray(theirs([query_tokens, value_tokens]))[kept]
    actual = np.asarray(ours([query_tokens, value_tokens]))[kept]
    diff = _max_diff(actual, expected)
    assert diff <= TOLERANCE, f"with Keras input masks: max abs diff vs Keras {diff:.3g}"


def test_keras_masks_are_not_passed_to_the_projections(rng):
    model = _masked_embedding_model(kmha.MultiHeadAttention(**MHA_KWARGS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model([rng.integers(0, 10, size=(B, T)), rng.integers(0, 10, size=(B, S))])
    noise = [str(w.message) for w in caught if "destroy the mask" in str(w.message)]
    assert not noise, f"calling the layer warns: {noise[0]}"

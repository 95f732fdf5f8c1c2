"""kmha.MultiHeadAttention against the float64 NumPy reference in tests/reference.py.

Layers run in float64, so the comparisons are tight; the geometry tests allow 1e-6 so that
a precision slip (tested on its own) cannot hide a structural mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from reference import attention, projection_weights, random_mask

import kmha

TOLERANCE = 1e-6
FLOAT64_TOLERANCE = 1e-12
B, T, S, H = 3, 4, 5, 2
DQ, DV, DK = 14, 9, 11


def _layer(**kwargs):
    return kmha.MultiHeadAttention(
        dtype="float64", bias_initializer="random_normal", **{"num_heads": H, **kwargs}
    )


def _inputs(rng, batch=B, query_len=T, key_len=S, widths=(DQ, DV, DK)):
    return {
        "query": rng.normal(size=(batch, query_len, widths[0])),
        "value": rng.normal(size=(batch, key_len, widths[1])),
        "key": rng.normal(size=(batch, key_len, widths[2])),
    }


def _check(layer, inputs, call_kwargs, sliding_window=None, tolerance=TOLERANCE):
    output, scores = layer(**inputs, **call_kwargs, return_attention_scores=True)
    position_kwargs = {"sliding_window": sliding_window}
    want_output, want_scores = attention(
        projection_weights(layer), **inputs, **call_kwargs, **position_kwargs
    )
    for name, got, want in (("output", output, want_output), ("scores", scores, want_scores)):
        got = np.asarray(got)
        assert got.shape == want.shape, f"{name} shape {got.shape}, reference {want.shape}"
        diff = np.max(np.abs(got - want), initial=0.0)
        assert diff <= tolerance, f"{name}: max abs diff vs reference {diff:.3g} > {tolerance}"
    return np.asarray(output), np.asarray(scores)


def test_float64_layer_keeps_float64_precision(rng):
    # key_dim=3: 1/sqrt(3) differs from its float32 rounding by about 1e-8.
    _check(_layer(key_dim=3), _inputs(rng), {}, tolerance=FLOAT64_TOLERANCE)


def test_fully_masked_query_rows_give_zero_scores_and_bias_only_output(rng):
    layer = _layer(key_dim=3)
    inputs = _inputs(rng)
    query_mask = np.ones((B, T), bool)
    query_mask[0, 2] = False
    attention_mask = random_mask(rng, (B, T, S))
    attention_mask[1, 3, :] = False
    output, scores = _check(
        layer, inputs, {"query_mask": query_mask, "attention_mask": attention_mask}
    )
    output_bias = projection_weights(layer)["attention_output"][1]
    for b, t in ((0, 2), (1, 3)):
        assert not scores[b, :, t].any(), f"fully masked row (b={b}, t={t}) has probabilities"
        np.testing.assert_allclose(output[b, t], output_bias, atol=TOLERANCE)


def test_sliding_window_can_leave_rows_with_no_key(rng):
    window = 2
    layer = _layer(key_dim=3, sliding_window=window)
    inputs = _inputs(rng, query_len=7, key_len=3)
    _, scores = _check(layer, inputs, {}, sliding_window=window)
    assert not scores[:, :, 4:].any(), "rows 4.. are farther than the window from every key"


@pytest.mark.parametrize(
    "layer_kwargs",
    [
        {"key_dim": 3, "value_dim": 4, "use_gate": True},
        {"key_dim": 3, "output_shape": (2, 5)},
        {"num_heads": 6, "num_key_value_heads": 2, "key_dim": 3},
        {"num_heads": 6, "num_key_value_heads": 1, "use_gate": True, "output_shape": 8},
        {"d_model": DQ},
    ],
    ids=["gate", "output_shape", "gqa", "mqa gate", "d_model"],
)
def test_layer_variants_match_reference(layer_kwargs, rng):
    inputs = _inputs(rng, widths=(12, 9, 11) if "d_model" not in layer_kwargs else (DQ, DV, DK))
    call_kwargs = {"attention_mask": random_mask(rng, (B, 1, S)), "use_causal_mask": True}
    _check(_layer(**layer_kwargs), inputs, call_kwargs)


@pytest.mark.parametrize("mask_name", ["query_mask", "value_mask", "key_mask"])
def test_padding_masks_match_reference(mask_name, rng):
    length = T if mask_name == "query_mask" else S
    mask = rng.random((B, length)) < 0.6
    mask[0, :] = False  # batch 0 fully masked by it
    _check(_layer(key_dim=3), _inputs(rng), {mask_name: mask})


@st.composite
def geometries(draw):
    """Random valid geometries: distinct B, T, S, H; T != S; any widths; maybe GQA."""
    batch, query_len, key_len = (draw(st.integers(1, 4)) for _ in range(3))
    heads = draw(st.sampled_from([1, 2, 3, 4, 6]))
    assume(len({batch, query_len, key_len, heads}) == 4)
    kv_heads = draw(st.sampled_from([d for d in range(1, heads + 1) if heads % d == 0]))
    derive_key_dim = draw(st.booleans())
    key_dim = None if derive_key_dim else draw(st.integers(1, 5))
    query_width = heads * draw(st.integers(1, 3)) if derive_key_dim else draw(st.integers(1, 9))
    return {
        "sizes": (batch, query_len, key_len),
        "widths": (query_width, draw(st.integers(1, 9)), draw(st.integers(1, 9))),
        "layer": {
            "num_heads": heads,
            "num_key_value_heads": kv_heads,
            "key_dim": key_dim,
            "value_dim": draw(st.none() | st.integers(1, 5)),
            "use_gate": draw(st.booleans()),
            "output_shape": draw(st.none() | st.integers(1, 7)),
        },
        "masks": draw(
            st.sets(st.sampled_from(["query_mask", "value_mask", "key_mask", "attention_mask"]))
        ),
        "causal": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example builds a layer
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(geometries())
def test_random_geometries_match_reference(geometry):
    rng = np.random.default_rng(geometry["seed"])
    batch, query_len, key_len = geometry["sizes"]
    inputs = _inputs(rng, batch, query_len, key_len, geometry["widths"])
    shapes = {
        "query_mask": (batch, query_len),
        "value_mask": (batch, key_len),
        "key_mask": (batch, key_len),
        "attention_mask": (batch, query_len, key_len),
    }
    # Fully masked rows are allowed here: the reference defines them (zeros).
    call_kwargs = {name: rng.random(shapes[name]) < 0.7 for name in geometry["masks"]}
    call_kwargs["use_causal_mask"] = geometry["causal"]
    _check(_layer(**geometry["layer"]), inputs, call_kwargs)


def test_dropout_acts_on_the_probabilities_in_training_only():
    """Scores are returned before dropout (as in Keras); the output uses dropped ones."""
    rng = np.random.default_rng(7)
    inputs = _inputs(rng)
    layer = _layer(dropout=0.5, seed=3)
    layer(**inputs)
    weights = projection_weights(layer)
    want_output, want_scores = attention(weights, **inputs)
    for training in (None, False):  # inference: no dropout at all
        output, scores = layer(**inputs, return_attention_scores=True, training=training)
        np.testing.assert_allclose(output, want_output, atol=TOLERANCE)
        np.testing.assert_allclose(scores, want_scores, atol=TOLERANCE)
    output, scores = layer(**inputs, return_attention_scores=True, training=True)
    np.testing.assert_allclose(scores, want_scores, atol=TOLERANCE)
    assert np.abs(np.asarray(output) - want_output).max() > 1e-3

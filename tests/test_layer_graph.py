"""The layer in compiled use: one trace for every batch and sequence length, XLA, mixed
precision, and gradients to every weight."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from reference import random_mask

import kmha

B, T, S, H = 3, 4, 5, 2
DQ, DV, DK = 14, 9, 11
LENGTHS = [(B, T, S), (2, 7, 3), (5, 1, 6)]


def _inputs(rng, batch, query_len, key_len, dtype="float32"):
    return (
        rng.normal(size=(batch, query_len, DQ)).astype(dtype),
        rng.normal(size=(batch, key_len, DV)).astype(dtype),
        rng.normal(size=(batch, key_len, DK)).astype(dtype),
        random_mask(rng, (batch, query_len, key_len)),
    )


@pytest.fixture(scope="module")
def layer():
    layer = kmha.MultiHeadAttention(
        num_heads=6,
        num_key_value_heads=2,
        key_dim=3,
        use_gate=True,
        bias_initializer="random_normal",
    )
    layer(*_inputs(np.random.default_rng(0), B, T, S)[:3])
    return layer


SIGNATURE = [
    tf.TensorSpec((None, None, DQ)),
    tf.TensorSpec((None, None, DV)),
    tf.TensorSpec((None, None, DK)),
    tf.TensorSpec((None, None, None), tf.bool),
]


def test_one_trace_serves_every_batch_and_length(layer, rng):
    @tf.function(input_signature=SIGNATURE)
    def run(query, value, key, mask):
        return layer(query, value, key, attention_mask=mask, use_causal_mask=True)

    for batch, query_len, key_len in LENGTHS:
        inputs = _inputs(rng, batch, query_len, key_len)
        output = run(*inputs)
        eager = layer(*inputs[:3], attention_mask=inputs[3], use_causal_mask=True)
        assert tuple(output.shape) == (batch, query_len, DQ)
        np.testing.assert_allclose(output, eager, atol=1e-5)
    assert run.experimental_get_tracing_count() == 1


def test_jit_compile_matches_eager(layer, rng):
    run = tf.function(
        lambda q, v, k, m: layer(q, v, k, attention_mask=m, return_attention_scores=True),
        jit_compile=True,
    )
    for batch, query_len, key_len in LENGTHS[:2]:
        inputs = _inputs(rng, batch, query_len, key_len)
        compiled = run(*inputs)
        eager = layer(*inputs[:3], attention_mask=inputs[3], return_attention_scores=True)
        for name, got, want in zip(("output", "scores"), compiled, eager, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-5, err_msg=name)


@pytest.mark.parametrize(
    ("policy", "dtype"), [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")]
)
def test_mixed_precision_is_close_to_float32(layer, policy, dtype, rng, monkeypatch):
    mixed = kmha.MultiHeadAttention(
        num_heads=6,
        num_key_value_heads=2,
        key_dim=3,
        use_gate=True,
        dtype=keras.DTypePolicy(policy),
    )
    inputs = _inputs(rng, B, T, S)
    mixed(*inputs[:3])
    mixed.set_weights(layer.get_weights())
    assert all(w.dtype == "float32" for w in mixed.weights), "mixed policies keep float32 weights"

    softmax_dtypes = []
    softmax = keras.ops.softmax

    def recording_softmax(x, *args, **kwargs):
        softmax_dtypes.append(keras.backend.standardize_dtype(x.dtype))
        return softmax(x, *args, **kwargs)

    monkeypatch.setattr(keras.ops, "softmax", recording_softmax)
    output, scores = mixed(*inputs[:3], attention_mask=inputs[3], return_attention_scores=True)
    assert softmax_dtypes == ["float32"], f"softmax ran in {softmax_dtypes}, expected float32"
    assert keras.backend.standardize_dtype(output.dtype) == dtype
    assert keras.backend.standardize_dtype(scores.dtype) == dtype
    output = np.asarray(keras.ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    want = layer(*inputs[:3], attention_mask=inputs[3])
    tolerance = 0.05 if dtype == "bfloat16" else 0.01
    diff = np.max(np.abs(output - want)) / np.max(np.abs(want))
    assert diff < tolerance, f"{policy}: max relative diff vs float32 {diff:.3g}"


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_gradients_reach_every_weight(layer, compiled, rng):
    inputs = _inputs(rng, B, T, S)
    cotangent = rng.normal(size=(B, T, DQ)).astype("float32")

    def grads(query, value, key, mask):
        with tf.GradientTape() as tape:
            output = layer(query, value, key, attention_mask=mask, use_causal_mask=True)
            loss = tf.reduce_sum(output * cotangent)
        return tape.gradient(loss, layer.trainable_weights)

    run = tf.function(grads) if compiled else grads
    gradients = run(*inputs)
    assert len(gradients) == len(layer.trainable_weights) == 10
    for weight, gradient in zip(layer.trainable_weights, gradients, strict=True):
        assert gradient is not None, f"no gradient for {weight.path}"
        if weight.path.endswith("key/bias"):
            # Adding a constant to every logit of a row leaves softmax unchanged, so the
            # key bias gets (numerically) zero gradient in any attention layer.
            continue
        assert np.any(np.asarray(gradient) != 0), f"zero gradient for {weight.path}"


@pytest.mark.parametrize("rank, contracted", [(3, 1), (4, 1), (4, 2), (5, 2)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_graph_linear_is_the_projection_einsum_with_static_sizes_kept(rank, contracted, with_bias):
    """A configured projection in a graph is MatMul + BiasAdd on the flattened input: the
    einsum's values, and its static sizes where the input's are known (None stays None)."""
    from kmha.head_projection import equation, graph_linear

    rng = np.random.default_rng(rank * 10 + contracted)
    free = (3, 4, 5)[: rank - contracted]
    inputs = rng.normal(size=free + (6, 7)[:contracted])
    kernel = rng.normal(size=(6, 7)[:contracted] + (2, 9))
    bias = rng.normal(size=(2, 9)) if with_bias else None
    eq, _ = equation(rank, contracted, 2)
    want = np.einsum(eq, inputs, kernel) + (0 if bias is None else bias)
    spec = tf.TensorSpec((None,) + free[1:-1] + (None,) + inputs.shape[len(free) :], "float64")

    @tf.function(input_signature=[spec])
    def project(x):
        outputs = graph_linear(
            x, tf.constant(kernel), None if bias is None else tf.constant(bias), contracted
        )
        assert outputs.shape.as_list() == [None, *free[1:-1], None, 2, 9], outputs.shape
        return outputs

    np.testing.assert_allclose(project(inputs).numpy(), want, rtol=1e-12, atol=1e-12)


def test_graph_linear_casts_the_bias_to_half_outputs():
    from kmha.head_projection import graph_linear

    inputs = tf.ones((2, 3, 4), "float16")
    outputs = graph_linear(inputs, tf.ones((4, 5), "float16"), tf.ones((5,), "float32"), 1)
    assert outputs.dtype == tf.float16
    np.testing.assert_array_equal(outputs.numpy(), np.full((2, 3, 5), 5.0))

"""Masks in every form Keras takes, attention axes in the order given, and additive float
masks refused (eagerly, at symbolic use, and as a graph assertion)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmha

B, T, S, H = 3, 4, 5, 2
DQ, DV = 8, 6
NAME = "attn"


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(B, T, DQ)).astype("float32"),
        rng.normal(size=(B, S, DV)).astype("float32"),
    )


def _mask(seed=1):
    mask = np.random.default_rng(seed).random((B, T, S)) < 0.7
    mask[:, :, 0] = True
    return mask


@pytest.fixture
def layer():
    layer = kmha.MultiHeadAttention(num_heads=H, key_dim=4, name=NAME)
    layer(*_inputs())
    return layer


@pytest.mark.parametrize(
    "convert",
    [
        lambda m: m.tolist(),
        lambda m: m.astype("int32"),
        lambda m: m.astype("int8"),
        lambda m: m.astype("uint8"),
        lambda m: m.astype("float16"),
        lambda m: m.astype("float32") * 2.5,
        lambda m: tf.constant(m.astype("int64")),
        lambda m: keras.ops.convert_to_tensor(m.astype("float64")),
    ],
    ids=["list", "int32", "int8", "uint8", "float16", "float32 0/2.5", "tf int64", "float64"],
)
def test_masks_in_every_form_keras_takes(layer, convert):
    query, value = _inputs()
    mask = _mask()
    want = np.asarray(layer(query, value, attention_mask=mask))
    np.testing.assert_allclose(layer(query, value, attention_mask=convert(mask)), want, atol=1e-6)
    padding = mask[:, 0, :]
    want = np.asarray(layer(query, value, value_mask=padding))
    np.testing.assert_allclose(layer(query, value, value_mask=convert(padding)), want, atol=1e-6)


def test_list_masks_work_symbolically(layer):
    query, value = keras.Input((T, DQ)), keras.Input((S, DV))
    output = layer(query, value, attention_mask=_mask().tolist())
    assert tuple(output.shape) == (None, T, DQ)


@pytest.mark.parametrize("axes", [(2, 1), (1, 2), (-2, 1)], ids=str)
def test_attention_axes_keep_their_order_like_keras(axes):
    """Square attention sizes (3, 3): a mask in Keras's layout applied transposed would
    go unnoticed by shapes alone."""
    rng = np.random.default_rng(6)
    query = rng.normal(size=(2, 3, 3, DQ)).astype("float32")
    mask = rng.random((2, 3, 3, 3, 3)) < 0.7
    mask[..., 0, 0] = True
    theirs = keras.layers.MultiHeadAttention(num_heads=H, key_dim=4, attention_axes=axes)
    ours = kmha.MultiHeadAttention(num_heads=H, key_dim=4, attention_axes=axes)
    theirs(query, query)
    ours(query, query)
    ours.set_weights(theirs.get_weights())
    assert ours.attention_axes == theirs._attention_axes
    want = theirs(query, query, attention_mask=mask, return_attention_scores=True)
    got = ours(query, query, attention_mask=mask, return_attention_scores=True)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_reversed_axes_transpose_the_scores():
    query = np.random.default_rng(7).normal(size=(2, 3, 4, DQ)).astype("float32")
    forward = kmha.MultiHeadAttention(num_heads=H, key_dim=4, attention_axes=(1, 2))
    backward = kmha.MultiHeadAttention(num_heads=H, key_dim=4, attention_axes=(2, 1))
    forward(query, query)
    backward(query, query)
    backward.set_weights(forward.get_weights())
    _, scores = forward(query, query, return_attention_scores=True)
    _, reversed_scores = backward(query, query, return_attention_scores=True)
    assert tuple(reversed_scores.shape) == (2, H, 4, 3, 4, 3)
    np.testing.assert_allclose(reversed_scores, np.transpose(scores, (0, 1, 3, 2, 5, 4)), atol=1e-6)


# --- additive masks -------------------------------------------------------------------


def _additive():
    return np.where(_mask(), 0.0, -1e9).astype("float32")


def _assert_additive_message(message, argument="attention_mask"):
    for fragment in (
        f"Layer `{NAME}`, argument `{argument}`",
        "additive mask",
        "True or 1 = attend",
        "mask whose minimum is -1",
        f"`{argument} = additive == 0`",
    ):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


@pytest.mark.parametrize("argument", ["attention_mask", "value_mask"])
def test_additive_float_mask_is_refused_eagerly(layer, argument):
    query, value = _inputs()
    mask = _additive() if argument == "attention_mask" else _additive()[:, 0, :]
    with pytest.raises(kmha.ShapeError) as caught:
        layer(query, value, **{argument: mask})
    _assert_additive_message(str(caught.value), argument)
    # The conversion the message proposes works, and gives the boolean mask's output.
    fixed = layer(query, value, **{argument: mask == 0})
    np.testing.assert_allclose(fixed, layer(query, value, **{argument: mask > -1}))


def test_additive_constant_mask_is_refused_at_symbolic_use(layer):
    query, value = keras.Input((T, DQ)), keras.Input((S, DV))
    with pytest.raises(kmha.ShapeError) as caught:
        layer(query, value, attention_mask=_additive())
    _assert_additive_message(str(caught.value))


def test_additive_mask_is_a_graph_assertion_under_tf_function(layer):
    spec = tf.TensorSpec([None, None, None], tf.float32)
    call = tf.function(
        lambda q, v, m: layer(q, v, attention_mask=m),
        input_signature=[
            tf.TensorSpec([None, None, DQ]),
            tf.TensorSpec([None, None, DV]),
            spec,
        ],
    )
    query, value = _inputs()
    np.testing.assert_allclose(
        call(query, value, _mask().astype("float32")),
        layer(query, value, attention_mask=_mask()),
        atol=1e-6,
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        call(query, value, _additive())
    _assert_additive_message(caught.value.message)


def test_zero_one_float_masks_are_boolean_masks(layer):
    query, value = _inputs()
    mask = _mask()
    np.testing.assert_allclose(
        layer(query, value, attention_mask=mask.astype("float32")),
        layer(query, value, attention_mask=mask),
    )

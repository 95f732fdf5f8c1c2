"""Run-time shape errors where the usual graph assertions cannot help: under XLA
(`jit_compile=True`, which drops Assert ops), for inputs of unknown rank, and in a
SavedModel whose signature fixes a width the request does not have."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmha

B, T, S, H = 3, 4, 5, 2
DQ, DV = 8, 6
NAME = "attn"


@pytest.fixture(scope="module")
def layer():
    layer = kmha.MultiHeadAttention(num_heads=H, key_dim=4, name=NAME)
    layer(np.ones((B, T, DQ), "float32"), np.ones((B, S, DV), "float32"))
    return layer


def _ones(*shape, dtype="float32"):
    return np.ones(shape, dtype)


def _xla(layer, with_mask):
    specs = [tf.TensorSpec([None, None, DQ]), tf.TensorSpec([None, None, DV])]
    if with_mask:
        specs.append(tf.TensorSpec([None, None, None], tf.bool))
    return tf.function(
        lambda q, v, *m: layer(q, v, attention_mask=m[0] if m else None),
        input_signature=specs,
        jit_compile=True,
    )


@pytest.mark.parametrize(
    ("with_mask", "args", "fragments"),
    [
        (
            False,
            (_ones(B, T, DQ), _ones(B + 1, S, DV)),
            [
                "Input to reshape is a tensor with 4 values, but the requested shape has 3",
                "kmha.ShapeError_Layer_attn_argument_value_axis_0_batch_size_does_not_match"
                "_axis_0_of_query",
                "Fix_give_query_value_and_key_the_same_batch_size",
            ],
        ),
        (
            True,
            (_ones(B, T, DQ), _ones(B, S, DV), _ones(B, T, S + 2, dtype=bool)),
            [
                "Input to reshape is a tensor with 7 values, but the requested shape has 5",
                "kmha.ShapeError_Layer_attn_argument_attention_mask_axis_2_S_size_does_not",
                "Fix_pass_an_attention_mask_that_broadcasts_to_B_H_T_S",
            ],
        ),
    ],
    ids=["value batch", "attention_mask key axis"],
)
def test_run_time_size_errors_under_xla_name_layer_argument_and_axis(
    layer, with_mask, args, fragments
):
    call = _xla(layer, with_mask)
    good = (_ones(B, T, DQ), _ones(B, S, DV)) + ((_ones(B, T, S, dtype=bool),) if with_mask else ())
    np.testing.assert_allclose(call(*good), layer(*good[:2]), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        call(*args)
    for fragment in fragments:
        assert fragment in caught.value.message, caught.value.message


def test_fit_with_jit_compile_names_the_layer_and_argument():
    """`fit(jit_compile=True)` (Keras's default on a GPU) with a mask of the wrong length."""
    tokens = keras.Input((None, DQ), name="tokens")
    mask = keras.Input((None, None), dtype="bool", name="mask")
    output = kmha.MultiHeadAttention(num_heads=H, key_dim=4, name=NAME)(
        tokens, tokens, attention_mask=mask
    )
    model = keras.Model([tokens, mask], output)
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    x = np.ones((B, T, DQ), "float32")
    model.fit([x, np.ones((B, T, T), bool)], x, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        model.fit([x, np.ones((B, T, T + 3), bool)], x, verbose=0)
    assert "Layer_attn_argument_attention_mask_axis_2_S" in caught.value.message


@pytest.mark.parametrize("argument", ["query", "value"])
def test_unknown_rank_inputs_name_the_argument_and_the_rank(layer, argument):
    specs = {"query": tf.TensorSpec([None, None, DQ]), "value": tf.TensorSpec([None, None, DV])}
    specs[argument] = tf.TensorSpec(None, tf.float32)
    call = tf.function(lambda q, v: layer(q, v), input_signature=[specs["query"], specs["value"]])
    with pytest.raises(kmha.ShapeError) as caught:
        call(_ones(B, T, DQ), _ones(B, S, DV))
    message = str(caught.value)
    for fragment in (
        f"Layer `{NAME}`, argument `{argument}`",
        "rank is unknown",
        "rank 3",
        "input_signature",
    ):
        assert fragment in message, message


@pytest.mark.parametrize("argument", ["query", "value", "key", "attention_mask"])
def test_unknown_rank_before_build_names_the_argument(argument):
    """A fresh layer: Keras reads every input shape before `build` runs."""
    fresh = kmha.MultiHeadAttention(num_heads=H, key_dim=4, name=NAME)
    specs = {
        "query": tf.TensorSpec([None, None, DQ]),
        "value": tf.TensorSpec([None, None, DV]),
        "key": tf.TensorSpec([None, None, DV + 1]),
        "attention_mask": tf.TensorSpec([None, None, None], tf.bool),
    }
    specs[argument] = tf.TensorSpec(None, specs[argument].dtype)
    call = tf.function(
        lambda q, v, k, m: fresh(q, v, key=k, attention_mask=m),
        input_signature=list(specs.values()),
    )
    with pytest.raises(kmha.ShapeError) as caught:
        call.get_concrete_function()
    message = str(caught.value)
    for fragment in (
        f"Layer `{NAME}`, argument `{argument}`:",
        "rank is unknown",
        "Expected a known rank (rank 3 or more",
        "received a tensor of unknown rank",
        "Fix: give the tf.function an input_signature with a rank",
    ):
        assert fragment in message, message
    assert not fresh.built


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    tokens = keras.Input((None, DQ), name="tokens")
    memory = keras.Input((None, DV), name="memory")
    output = kmha.MultiHeadAttention(num_heads=H, key_dim=4, name=NAME)(tokens, memory)
    path = tmp_path_factory.mktemp("saved") / "model"
    keras.Model([tokens, memory], output).export(str(path), format="tf_saved_model", verbose=False)
    return tf.saved_model.load(str(path)).signatures["serving_default"]


@pytest.mark.parametrize(
    ("request_shapes", "fragments"),
    [
        (
            {"tokens": (2, T, DQ - 3), "memory": (2, S, DV)},
            [
                f"Layer `{NAME}`, argument `query`, axis 2 (features)",
                f"Expected {DQ}; received {DQ - 3}",
            ],
        ),
        (
            {"tokens": (2, T, DQ), "memory": (2, S, 3, DV)},
            [f"Layer `{NAME}`, argument `value`", "Expected rank 3; received rank 4"],
        ),
    ],
    ids=["width", "rank"],
)
def test_saved_model_request_with_wrong_fixed_dims_gets_kmha_message(
    saved_model, request_shapes, fragments
):
    good = {"tokens": tf.ones((2, T, DQ)), "memory": tf.ones((2, S, DV))}
    assert tuple(saved_model(**good)["output_0"].shape) == (2, T, DQ)
    request = {name: tf.ones(shape) for name, shape in request_shapes.items()}
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        saved_model(**request)
    for fragment in fragments:
        assert fragment in caught.value.message, caught.value.message


def test_unknown_width_in_tf_function_is_checked_at_run_time(layer):
    call = tf.function(
        lambda q, v: layer(q, v),
        input_signature=[tf.TensorSpec([None, None, None]), tf.TensorSpec([None, None, DV])],
    )
    np.testing.assert_allclose(
        call(_ones(B, T, DQ), _ones(B, S, DV)), layer(_ones(B, T, DQ), _ones(B, S, DV)), atol=1e-6
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        call(_ones(B, T, DQ + 1), _ones(B, S, DV))
    for fragment in (
        f"Layer `{NAME}`, argument `query`, axis 2 (features)",
        f"Expected {DQ}; received {DQ + 1}",
    ):
        assert fragment in caught.value.message, caught.value.message


@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "attention_mask"])
def test_eager_and_graph_results_agree(masked):
    """Eager calls take the backend's dot-product attention, graphs kmha's own path: the
    same arithmetic in the same order (the query scaled first), bit-identical on the CPU
    build tested; other kernels (GPU) may round differently, hence the 1e-6 allowance."""
    rng = np.random.default_rng(8)
    for batch, length, width, heads in [(3, 7, 32, 4), (4, 9, 48, 2), (2, 16, 64, 4)]:
        layer = kmha.MultiHeadAttention(heads)
        query = rng.normal(size=(batch, length, width)).astype("float32")
        mask = rng.random((batch, length, length)) < 0.8
        mask[:, :, 0] = True
        kwargs = {"attention_mask": mask} if masked else {}
        eager = np.asarray(layer(query, query, **kwargs))
        graph = tf.function(layer.__call__)
        np.testing.assert_allclose(graph(query, query, **kwargs).numpy(), eager, rtol=0, atol=1e-6)

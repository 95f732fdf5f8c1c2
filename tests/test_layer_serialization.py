"""Configs, `.keras` files and model JSON: what goes in comes back, and a bad config fails
with a ShapeError when the model is built, not deep inside TensorFlow."""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest

import kmha
from kmha import ShapeError

B, T, S = 3, 4, 5
DQ, DV = 14, 9

EXPLICIT = {
    "num_heads": 2,
    "key_dim": 3,
    "value_dim": 4,
    "dropout": 0.25,
    "use_bias": False,
    "output_shape": (2, 5),
    "attention_axes": (1,),
    "sliding_window": 3,
    "flash_attention": False,
    "use_gate": True,
    "seed": 7,
    "d_model": DQ,
    "num_key_value_heads": 1,
}


def _inputs(rng):
    return rng.normal(size=(B, T, DQ)).astype("float32"), rng.normal(size=(B, S, DV)).astype(
        "float32"
    )


def test_config_has_every_constructor_argument():
    parameters = inspect.signature(kmha.MultiHeadAttention.__init__).parameters
    arguments = {n for n, p in parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD}
    config = kmha.MultiHeadAttention(num_heads=2).get_config()
    missing = arguments - set(config)
    assert not missing, f"get_config lacks constructor arguments {sorted(missing)}"


def test_explicit_values_stay_explicit():
    config = kmha.MultiHeadAttention(**EXPLICIT).get_config()
    for argument, value in EXPLICIT.items():
        assert config[argument] == value, f"{argument}: config {config[argument]!r}, gave {value!r}"
    assert config["flash_attention"] is False, "an explicit False must not become None (auto)"
    defaults = kmha.MultiHeadAttention(num_heads=2).get_config()
    for argument in ("key_dim", "d_model", "num_key_value_heads", "flash_attention"):
        assert defaults[argument] is None, f"default {argument} serialized as {defaults[argument]}"


def test_from_config_round_trip(rng):
    original = kmha.MultiHeadAttention(**{**EXPLICIT, "dropout": 0.0, "name": "attn"})
    query, value = _inputs(rng)
    original(query, value)
    clone = kmha.MultiHeadAttention.from_config(original.get_config())
    assert clone.get_config() == original.get_config()
    clone(query, value)
    clone.set_weights(original.get_weights())
    np.testing.assert_array_equal(clone(query, value), original(query, value))


def _model(layer):
    query = keras.Input((None, DQ), name="query")
    value = keras.Input((None, DV), name="value")
    return keras.Model([query, value], layer(query, value, use_causal_mask=True))


def test_keras_file_round_trip_gives_identical_outputs(tmp_path, rng):
    layer = kmha.MultiHeadAttention(
        num_heads=2, num_key_value_heads=1, use_gate=True, bias_initializer="random_normal"
    )
    model = _model(layer)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    loaded_layer = loaded.layers[-1]
    assert isinstance(loaded_layer, kmha.MultiHeadAttention)
    assert loaded_layer.get_config() == layer.get_config()
    query, value = _inputs(rng)
    np.testing.assert_array_equal(loaded([query, value]), model([query, value]))


def _edited_model_json(**changes) -> str:
    config = json.loads(_model(kmha.MultiHeadAttention(num_heads=2)).to_json())
    (layer,) = [c for c in config["config"]["layers"] if c["class_name"] == "MultiHeadAttention"]
    layer["config"].update(changes)
    return json.dumps(config)


@pytest.mark.parametrize(
    ("changes", "argument", "fragments"),
    [
        ({"num_heads": 3}, "num_heads", ("query width 14", "use num_heads in 1, 2, 7, 14")),
        ({"d_model": 16}, "query", ("d_model=16", "received 14")),
        ({"attention_axes": [2]}, "attention_axes", ("2, the feature axis",)),
    ],
    ids=["divisibility", "d_model", "attention_axes"],
)
def test_inconsistent_model_json_raises_shape_error_at_build(changes, argument, fragments):
    with pytest.raises(ShapeError) as caught:
        keras.models.model_from_json(_edited_model_json(**changes))
    message = str(caught.value)
    assert caught.value.argument == argument, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def _chain(error: BaseException):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"num_heads": 0}, "Expected a positive integer; received 0 (int)"),
        ({"num_heads": 4, "num_key_value_heads": 3}, "use num_key_value_heads in 1, 2, 4"),
    ],
    ids=["zero heads", "kv heads"],
)
def test_invalid_size_in_model_json_surfaces_the_shape_error(changes, fragment):
    # Keras wraps errors from a layer's constructor in a TypeError while deserializing;
    # the ShapeError must still be in the chain and its text in the message.
    with pytest.raises(Exception) as caught:
        keras.models.model_from_json(_edited_model_json(**changes))
    shape_errors = [e for e in _chain(caught.value) if isinstance(e, ShapeError)]
    assert shape_errors, f"no ShapeError behind {type(caught.value).__name__}"
    assert fragment in str(shape_errors[0]) and fragment in str(caught.value)


def test_initializers_regularizers_and_constraints_survive_the_round_trip(rng):
    settings = {
        "kernel_initializer": "he_normal",
        "bias_initializer": "ones",
        "kernel_regularizer": "l2",
        "bias_regularizer": "l1",
        "activity_regularizer": "l1",
        "kernel_constraint": "non_neg",
        "bias_constraint": "non_neg",
    }
    original = kmha.MultiHeadAttention(num_heads=2, **settings)
    clone = kmha.MultiHeadAttention.from_config(original.get_config())
    assert clone.get_config() == original.get_config()
    query, value = _inputs(rng)
    clone(query, value)
    for projection in (clone.query_dense, clone.key_dense, clone.value_dense, clone.output_dense):
        assert isinstance(projection.kernel_initializer, keras.initializers.HeNormal)
        assert isinstance(projection.kernel.constraint, keras.constraints.NonNeg)
        assert isinstance(projection.bias.constraint, keras.constraints.NonNeg)
        np.testing.assert_array_equal(projection.bias.numpy(), 1.0)
    # Kernel and bias penalties of the four projections, and the activity penalty on each.
    assert len(clone.losses) == 12

"""kmha.MultiHeadAttention in the Keras ecosystem: its projections are EinsumDense layers
(quantization, LoRA, dtype policy maps, weight files), and Keras's extension points work
with Keras's signatures (`_compute_attention`, `_masked_softmax`, the private dense
attributes), so a subclass written for `keras.layers.MultiHeadAttention` runs on kmha.

Every test compares against Keras's own layer given the same weights: "works" means
"works exactly as on Keras".
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from keras import ops

import kmha
from kmha.head_projection import HeadProjection

B, T, S, H = 3, 4, 5, 2
DQ, DV = 8, 6
KEY_DIM = 4
TOLERANCE = 1e-5
PROJECTIONS = ("query_dense", "key_dense", "value_dense", "output_dense")


def _inputs(seed=0, batch=B, query_len=T, key_len=S):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(batch, query_len, DQ)).astype("float32"),
        rng.normal(size=(batch, key_len, DV)).astype("float32"),
    )


def _model(layer_class, **kwargs):
    query, value = keras.Input((T, DQ)), keras.Input((S, DV))
    layer = layer_class(num_heads=H, key_dim=KEY_DIM, name="attn", **kwargs)
    return keras.Model([query, value], layer(query, value))


def _pair(**kwargs):
    """Keras's and kmha's models with the same weights."""
    theirs = _model(keras.layers.MultiHeadAttention, **kwargs)
    ours = _model(kmha.MultiHeadAttention, **kwargs)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _variables(layer):
    """(sublayer/name, shape, dtype, trainable) of every variable, in order."""
    return [
        ("/".join(v.path.split("/")[-2:]), tuple(v.shape), str(v.dtype), v.trainable)
        for v in layer.variables
    ]


def test_projections_are_keras_einsum_dense_with_keras_attributes():
    theirs = keras.layers.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM, use_gate=True)
    ours = kmha.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM, use_gate=True)
    for layer in (theirs, ours):
        layer.build((B, T, DQ), (B, S, DV))
    for name in PROJECTIONS:
        dense = getattr(ours, name)
        assert isinstance(dense, keras.layers.EinsumDense), name
        assert dense is getattr(ours, f"_{name}")
        reference = getattr(theirs, name)
        for attribute in ("equation", "partial_output_shape", "bias_axes", "quantization_config"):
            assert getattr(dense, attribute) == getattr(reference, attribute), (name, attribute)
    assert isinstance(ours._gate_dense, keras.layers.EinsumDense)
    assert ours._gate_dense.equation == theirs._gate_dense.equation
    assert _variables(ours) == _variables(theirs)


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_model_quantize_matches_keras(mode):
    theirs, ours = _pair()
    query, value = _inputs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theirs.quantize(mode)
        ours.quantize(mode)
    unquantized = [str(w.message) for w in caught if "HeadProjection" in str(w.message)]
    assert not unquantized, unquantized
    theirs_layer, ours_layer = theirs.get_layer("attn"), ours.get_layer("attn")
    assert _variables(ours_layer) == _variables(theirs_layer)
    for name in PROJECTIONS:
        assert getattr(ours_layer, name).quantization_mode == mode, name
    want = np.asarray(theirs.predict([query, value], verbose=0))
    got = np.asarray(ours.predict([query, value], verbose=0))
    np.testing.assert_allclose(got, want, atol=TOLERANCE)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_quantized_weights_save_and_load_across_keras_and_kmha(mode, tmp_path):
    theirs, ours = _pair()
    theirs.quantize(mode)
    ours.quantize(mode)
    query, value = _inputs()
    want = np.asarray(theirs.predict([query, value], verbose=0))
    theirs.save_weights(tmp_path / "keras.weights.h5")
    fresh = _model(kmha.MultiHeadAttention)
    fresh.quantize(mode)
    fresh.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(fresh.predict([query, value], verbose=0), want, atol=TOLERANCE)
    ours.save_weights(tmp_path / "kmha.weights.h5")
    back = _model(keras.layers.MultiHeadAttention)
    back.quantize(mode)
    back.load_weights(tmp_path / "kmha.weights.h5")
    np.testing.assert_allclose(back.predict([query, value], verbose=0), want, atol=TOLERANCE)


def test_dtype_policy_map_quantizes_the_named_projections():
    policy_map = keras.dtype_policies.DTypePolicyMap()
    for name in ("query", "key", "value", "attention_output"):
        policy_map[f"mha/{name}"] = keras.dtype_policies.get("int8_from_float32")
    layers = [
        cls(num_heads=H, key_dim=KEY_DIM, dtype=policy_map, name="mha")
        for cls in (keras.layers.MultiHeadAttention, kmha.MultiHeadAttention)
    ]
    for layer in layers:
        layer.build((B, T, DQ), (B, S, DV))
    assert _variables(layers[1]) == _variables(layers[0])
    assert "int8" in {dtype for _, _, dtype, _ in _variables(layers[1])}


def test_lora_counts_and_outputs_match_keras():
    theirs, ours = _pair()
    query, value = _inputs()
    for model in (theirs, ours):
        layer = model.get_layer("attn")
        for name in ("query_dense", "key_dense", "value_dense"):
            getattr(layer, name).enable_lora(2)
    theirs_layer, ours_layer = theirs.get_layer("attn"), ours.get_layer("attn")
    assert len(ours_layer.trainable_variables) == len(theirs_layer.trainable_variables)
    assert len(ours_layer.non_trainable_variables) == len(theirs_layer.non_trainable_variables)
    assert _variables(ours_layer) == _variables(theirs_layer)
    # LoRA's B starts at zero: the outputs are the ported ones; then train both alike.
    ours.set_weights(theirs.get_weights())
    target = np.zeros((B, T, DQ), "float32")
    for model in (theirs, ours):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit([query, value], target, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(
        ours.predict([query, value], verbose=0),
        theirs.predict([query, value], verbose=0),
        atol=TOLERANCE,
    )


def test_key_dim_one_bias_is_added_per_head():
    """Keras 3.15's `ops.add` on TensorFlow reads a (heads, 1) bias as a `bias_add`
    vector when an input axis happens to have `heads` entries (here S == heads), and
    adds head 0's bias to every head. kmha's projections add it per head."""
    layer = kmha.MultiHeadAttention(num_heads=3, key_dim=1, bias_initializer="random_normal")
    query = np.random.default_rng(1).normal(size=(2, 3, 5)).astype("float32")
    layer(query, query)
    dense = layer.key_dense
    got = np.asarray(dense(query))
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    np.testing.assert_allclose(got, np.einsum("btd,dhk->bthk", query, kernel) + bias, atol=1e-5)


def test_head_projection_config_round_trips():
    dense = HeadProjection(use_bias=False, name="query")
    dense.configure(3, (H, KEY_DIM))
    clone = HeadProjection.from_config(dense.get_config())
    assert (clone.equation, clone.partial_output_shape, clone.bias_axes, clone.use_bias) == (
        "abc,cde->abde",
        (None, H, KEY_DIM),
        None,
        False,
    )


# --- Keras's extension points -------------------------------------------------------


def _subclass(base, **methods):
    return type(f"Custom{base.__name__}", (base,), methods)


def _ported_layers(cls_theirs, cls_ours, **kwargs):
    query, value = _inputs()
    theirs = cls_theirs(num_heads=H, key_dim=KEY_DIM, **kwargs)
    ours = cls_ours(num_heads=H, key_dim=KEY_DIM, **kwargs)
    theirs(query, value)
    ours(query, value)
    ours.set_weights(theirs.get_weights())
    return theirs, ours, query, value


def test_compute_attention_override_is_honoured():
    """A Keras-style override: attend to values with uniform weights (ignores Q and K)."""

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        scores = ops.ones(ops.shape(query)[:1] + (H, T, S), dtype=query.dtype) / S
        return ops.einsum("bhts,bshv->bthv", scores, value), scores

    classes = [
        _subclass(base, _compute_attention=_compute_attention)
        for base in (keras.layers.MultiHeadAttention, kmha.MultiHeadAttention)
    ]
    theirs, ours, query, value = _ported_layers(*classes)
    plain = kmha.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM)
    plain(query, value)
    plain.set_weights(ours.get_weights())
    got = np.asarray(ours(query, value))
    np.testing.assert_allclose(got, theirs(query, value), atol=TOLERANCE)
    assert np.abs(got - np.asarray(plain(query, value))).max() > 1e-3, "override ignored"


def test_masked_softmax_override_is_honoured():
    """A temperature in `_masked_softmax`, as Keras's docstring allows."""

    def _masked_softmax(self, attention_scores, attention_mask=None):
        return type(self).__mro__[1]._masked_softmax(self, attention_scores * 3.0, attention_mask)

    classes = [
        _subclass(base, _masked_softmax=_masked_softmax)
        for base in (keras.layers.MultiHeadAttention, kmha.MultiHeadAttention)
    ]
    theirs, ours, query, value = _ported_layers(*classes, dropout=0.1)
    mask = np.random.default_rng(2).random((B, T, S)) < 0.8
    mask[:, :, 0] = True
    for kwargs in ({}, {"attention_mask": mask}):
        want = theirs(query, value, return_attention_scores=True, **kwargs)
        got = ours(query, value, return_attention_scores=True, **kwargs)
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, atol=TOLERANCE)
    plain = kmha.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM, dropout=0.1)
    plain(query, value)
    plain.set_weights(ours.get_weights())
    difference = np.asarray(ours(query, value)) - np.asarray(plain(query, value))
    assert np.abs(difference).max() > 1e-3, "override ignored"


def test_compute_attention_mask_and_causal_mask_match_keras():
    theirs, ours, query, value = _ported_layers(
        keras.layers.MultiHeadAttention, kmha.MultiHeadAttention
    )
    value_mask = np.random.default_rng(3).random((B, S)) < 0.7
    attention_mask = np.random.default_rng(4).random((B, T, S)) < 0.7
    kwargs = dict(value_mask=value_mask, attention_mask=attention_mask, use_causal_mask=True)
    want = theirs._compute_attention_mask(query, value, **kwargs)
    got = ours._compute_attention_mask(query, value, **kwargs)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        ours._compute_causal_mask(query, value), theirs._compute_causal_mask(query, value)
    )
    for attribute in ("_dot_product_equation", "_combine_equation", "_attention_axes"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours._inverse_sqrt_key_dim == pytest.approx(theirs._inverse_sqrt_key_dim)


def test_kmha_checks_still_apply_to_subclasses():
    cls = _subclass(kmha.MultiHeadAttention)
    layer = cls(num_heads=H, key_dim=KEY_DIM, name="sub")
    with pytest.raises(kmha.ShapeError, match=r"Layer `sub`, argument `key`.*must be equal"):
        layer(np.ones((B, T, DQ)), np.ones((B, S, DV)), np.ones((B, S + 1, DV)))
    layer.build((B, T, DQ), (B, S, DV))
    query = np.ones((B, T, H, KEY_DIM), "float32")
    key = np.ones((B, S, H, KEY_DIM), "float32")
    with pytest.raises(kmha.ShapeError) as caught:
        layer._compute_attention(query, key, key, attention_mask=np.ones((B, T, S + 2), bool))
    message = str(caught.value)
    for fragment in ("Layer `sub`, argument `attention_mask`", f"= ({B}, {H}, {T}, {S})"):
        assert fragment in message, message


# --- A cached-decoding subclass, written against Keras's API --------------------------


def cached_attention(base):
    """The pattern of KerasHub's CachedMultiHeadAttention (our own code): a key/value
    cache of shape (B, 2, S_max, N, key_dim), filled one step at a time, with the
    private projections and `_compute_attention` of Keras's layer."""

    class CachedAttention(base):
        def call(
            self,
            query,
            value,
            key=None,
            attention_mask=None,
            cache=None,
            cache_update_index=None,
            training=None,
        ):
            key = value if key is None else key
            query = self._query_dense(query)
            if cache is not None:
                key_cache, value_cache = cache[:, 0, ...], cache[:, 1, ...]
                start = [0, cache_update_index, 0, 0]
                key = ops.slice_update(key_cache, start, self._key_dense(key))
                value = ops.slice_update(value_cache, start, self._value_dense(value))
                cache = ops.stack((key, value), axis=1)
            else:
                key, value = self._key_dense(key), self._value_dense(value)
            output, _ = self._compute_attention(
                query=query,
                key=key,
                value=value,
                attention_mask=attention_mask,
                training=training,
            )
            output = self._output_dense(output)
            return output if cache is None else (output, cache)

    return CachedAttention


def _decode(layer, tokens):
    """Step-by-step decoding with the cache; returns the (B, T, D) outputs."""
    batch, length, _ = tokens.shape
    cache = np.zeros((batch, 2, length, H, KEY_DIM), "float32")
    positions = np.arange(length)
    outputs = []
    for step in range(length):
        mask = np.broadcast_to(positions[None, None, :] <= step, (batch, 1, length))
        token = tokens[:, step : step + 1]
        output, cache = layer(
            token, token, attention_mask=mask, cache=cache, cache_update_index=step
        )
        outputs.append(np.asarray(output))
    return np.concatenate(outputs, axis=1)


def test_cached_decoding_subclass_matches_keras_and_full_causal_pass():
    length = 6
    tokens = np.random.default_rng(5).normal(size=(B, length, DQ)).astype("float32")
    layers = []
    for base in (keras.layers.MultiHeadAttention, kmha.MultiHeadAttention):
        layer = cached_attention(base)(num_heads=H, key_dim=KEY_DIM)
        layer(tokens, tokens)
        layers.append(layer)
    theirs, ours = layers
    ours.set_weights(theirs.get_weights())
    causal = np.tril(np.ones((length, length), bool))[None].repeat(B, 0)
    full = np.asarray(ours(tokens, tokens, attention_mask=causal))
    np.testing.assert_allclose(full, theirs(tokens, tokens, attention_mask=causal), atol=1e-5)
    decoded = _decode(ours, tokens)
    np.testing.assert_allclose(decoded, _decode(theirs, tokens), atol=1e-5)
    np.testing.assert_allclose(decoded, full, atol=1e-5)
    # kmha's plain layer, same weights, use_causal_mask: the same outputs again.
    plain = kmha.MultiHeadAttention(num_heads=H, key_dim=KEY_DIM)
    plain(tokens, tokens)
    plain.set_weights(ours.get_weights())
    np.testing.assert_allclose(plain(tokens, tokens, use_causal_mask=True), full, atol=1e-5)


def test_projections_skip_keras_call_wrapper_only_where_it_changes_nothing(monkeypatch):
    """kmha runs a projection's `call` directly when Keras's `Layer.__call__` would change
    nothing (`wrappers_change_nothing`), and through `__call__` when it would: a quantized
    projection (Keras routes it to `quantized_call`), an activity regularizer (Keras adds
    its loss), another dtype policy. Each variant's output still equals Keras's layer's."""
    calls = []
    wrapped = HeadProjection.__call__

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return wrapped(self, *args, **kwargs)

    monkeypatch.setattr(HeadProjection, "__call__", counting)
    query, value = _inputs()
    theirs, ours = _pair()
    calls.clear()
    np.testing.assert_allclose(ours([query, value]), theirs([query, value]), atol=TOLERANCE)
    assert calls == [], calls

    theirs.quantize("int8")
    ours.quantize("int8")
    calls.clear()
    np.testing.assert_allclose(ours([query, value]), theirs([query, value]), atol=TOLERANCE)
    assert sorted(calls) == ["attention_output", "key", "query", "value"], calls

    theirs, ours = _pair(activity_regularizer="l2")
    calls.clear()
    np.testing.assert_allclose(ours([query, value]), theirs([query, value]), atol=TOLERANCE)
    assert len(calls) == 4, calls
    assert len(ours.losses) == len(theirs.losses) == 4
    np.testing.assert_allclose(
        sorted(float(loss) for loss in ours.losses),
        sorted(float(loss) for loss in theirs.losses),
        rtol=1e-5,
    )

    theirs, ours = _pair()
    attention = ours.get_layer("attn")
    attention.query_dense.dtype_policy = keras.DTypePolicy("mixed_float16")
    calls.clear()
    attention(query, value)
    assert calls == ["query"], calls

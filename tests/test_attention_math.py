"""Each function of kmha.attention_math against the float64 NumPy reference.

The reference (tests/reference.py) works on (B, T, H, K) projections with einsums and a
masked softmax; here each step of kmha's math is fed float64 arrays and compared with the
same step written the reference's way. Sizes are all distinct (B=2, H=6, Hkv=3, T=4, S=5,
K=7, V=9; rank-5 inputs with attention axes 3 and 1) so that no swapped axis can pass.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from reference import combined_mask, masked_softmax

from kmha import attention_math as am

B, H, HKV, T, S, K, V = 2, 6, 3, 4, 5, 7, 9
TOLERANCE = 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(17)


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _close(got, want):
    got = _np(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE)


def _repeat_heads(x, heads):
    """(N, Hkv, ...) -> (N, H, ...): query head h reads key/value head h // group."""
    return np.repeat(x, heads // x.shape[1], axis=1)


@pytest.mark.parametrize("kv_heads", [H, HKV, 1])
def test_attention_logits_matches_einsum_with_repeated_heads(rng, kv_heads):
    query = rng.normal(size=(B, H, T, K))
    key_t = rng.normal(size=(B, kv_heads, K, S))
    want = np.einsum("nhtk,nhks->nhts", query, _repeat_heads(key_t, H))
    _close(am.attention_logits(query, key_t, kv_heads), want)


@pytest.mark.parametrize("kv_heads", [H, HKV, 1])
def test_combine_values_matches_einsum_with_repeated_heads(rng, kv_heads):
    probabilities = rng.random((B, H, T, S))
    value = rng.normal(size=(B, kv_heads, S, V))
    want = np.einsum("nhts,nhsv->nhtv", probabilities, _repeat_heads(value, H))
    _close(am.combine_values(probabilities, value, kv_heads), want)


def test_masked_softmax_matches_reference_and_zeroes_unattended_rows(rng):
    logits = rng.normal(size=(B, H, T, S)) * 4
    mask = rng.random((B, 1, T, S)) > 0.4
    mask[1, 0, 2] = False  # a query row with no key to attend
    probabilities = am.attention_softmax(am.masked_logits(logits, mask), "float64")
    probabilities = am.zero_unattended_rows(probabilities, mask)
    want = masked_softmax(logits, np.broadcast_to(mask, logits.shape))
    _close(probabilities, want)
    assert not _np(probabilities)[1, :, 2].any()


def test_unnormalized_weights_over_their_sums_are_the_masked_softmax(rng):
    logits = rng.normal(size=(B, H, T, S)) * 4 + 300  # large logits: the max is subtracted
    mask = rng.random((B, 1, T, S)) > 0.4
    mask[:, :, :, 0] = True  # every row attends a key here (rows with none: next test)
    numerators, sums = am.unnormalized_weights(am.masked_logits(logits, mask))
    assert _np(sums).shape == (B, H, T, 1)
    assert _np(numerators).max() == 1.0  # exp(0) at each row's largest logit
    want = masked_softmax(logits, np.broadcast_to(mask, logits.shape))
    _close(_np(numerators) / _np(sums), want)


def test_defers_normalization_only_on_jax_in_float32_or_64_without_scores(monkeypatch):
    assert not am.defers_normalization("float32", False)  # this process: TensorFlow
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert am.defers_normalization("float32", False)
    assert am.defers_normalization("float64", False)
    assert not am.defers_normalization("float16", False)
    assert not am.defers_normalization("bfloat16", False)
    assert not am.defers_normalization("float32", True)


def test_masked_logits_softmax_in_float32_for_half_inputs():
    logits = np.zeros((1, 1, 2, 3), "float16")
    assert keras.backend.standardize_dtype(am.masked_logits(logits, None).dtype) == "float32"
    assert am.softmax_dtype("float64") == "float64"


def test_softmax_over_one_key_is_one():
    probabilities = am.attention_softmax(np.full((B, H, T, 1), -3.0), "float64")
    _close(probabilities, np.ones((B, H, T, 1)))


def test_scale_query_keeps_float64():
    query = np.full((B, T, H, K), 3.0)
    scale = 1 / np.sqrt(K)
    _close(am.scale_query(query, scale), query * scale)


# Rank-5 inputs (B, A1, A2, A3, features): attention over axes (3, 1), in that order, and
# axis 2 batch-like. Projected tensors are (B, A1, A2, A3, heads, dim).
RANK, AXES = 5, (3, 1)
QUERY_AXES = (3, 8, 4)  # A1, A2, A3 of the query
KEY_AXES = (5, 8, 2)  # A1, A2, A3 of key and value (A2 is not attended: equal)


def _flat(x, lengths):
    """A rank-5 projection flattened by hand into rank 3: (B, A1, A2, A3, h, d) ->
    (B*A2, A3*A1, h, d), the batch-like axis into the batch, the attention axes (in the
    order given) into one."""
    x = np.transpose(x, (0, 2, 3, 1, 4, 5))
    return x.reshape(B * 8, lengths, x.shape[-2], x.shape[-1])


def test_heads_first_folding_round_trips_and_matches_numpy(rng):
    x = rng.normal(size=(B, *QUERY_AXES, H, K))
    folded, shape = am.to_heads_first(x, RANK, AXES)
    # (B, A2 batch-like, heads, A3, A1, dim) folded to (B*A2, heads, A3*A1, dim).
    want = np.transpose(x, (0, 2, 4, 3, 1, 5)).reshape(B * 8, H, 4 * 3, K)
    _close(folded, want)
    _close(am.from_heads_first(folded, shape, RANK, AXES), x)
    keys, _ = am.to_heads_first(x, RANK, AXES, dim_last=False)
    _close(keys, np.swapaxes(want, -1, -2))


def test_rank_3_folding_is_a_transpose(rng):
    x = rng.normal(size=(B, T, H, K))
    folded, shape = am.to_heads_first(x, 3, (1,))
    assert shape is None
    _close(folded, np.transpose(x, (0, 2, 1, 3)))
    _close(am.from_heads_first(folded, None, 3, (1,)), x)


def _reference_attention(query, key, value, mask, scale):
    """The reference's formula on (B, T, H, K) projections: einsum logits, masked
    softmax, einsum combine; fully masked rows give zeros."""
    key = np.repeat(key, query.shape[2] // key.shape[2], axis=2)
    value = np.repeat(value, query.shape[2] // value.shape[2], axis=2)
    logits = np.einsum("bthk,bshk->bhts", query, key) * scale
    mask = np.ones(logits.shape, bool) if mask is None else np.broadcast_to(mask, logits.shape)
    probabilities = masked_softmax(logits, mask)
    return np.einsum("bhts,bshv->bthv", probabilities, value), probabilities


@pytest.mark.parametrize("kv_heads", [H, HKV])
@pytest.mark.parametrize("with_mask", [False, True])
def test_attend_matches_reference_rank_3(rng, kv_heads, with_mask):
    query = rng.normal(size=(B, T, H, K))
    key = rng.normal(size=(B, S, kv_heads, K))
    value = rng.normal(size=(B, S, kv_heads, V))
    mask = None
    if with_mask:
        mask = combined_mask(B, 1, T, S, value_mask=rng.random((B, S)) > 0.3, use_causal_mask=True)
    scale = 1 / np.sqrt(K)
    want_output, want_scores = _reference_attention(query, key, value, mask, scale)
    output, scores = am.attend(
        query,
        key,
        value,
        mask,
        rank=3,
        axes=(1,),
        num_key_value_heads=kv_heads,
        scale=scale,
        return_scores=True,
    )
    _close(output, want_output)
    _close(scores, want_scores)


def test_attend_matches_reference_rank_5_unsorted_axes(rng):
    """The rank-5 layout flattened by hand into rank 3: batch-like axes into the batch,
    the attention axes (in the order given) into T and S."""
    query = rng.normal(size=(B, *QUERY_AXES, H, K))
    key = rng.normal(size=(B, *KEY_AXES, HKV, K))
    value = rng.normal(size=(B, *KEY_AXES, HKV, V))
    # Scores layout: (B, A2, H, T3, T1, S3, S1).
    mask = rng.random((B, 8, 1, 4, 3, 2, 5)) > 0.3
    scale = 0.3
    output, scores = am.attend(
        query,
        key,
        value,
        mask,
        rank=RANK,
        axes=AXES,
        num_key_value_heads=HKV,
        scale=scale,
        return_scores=True,
    )

    flat_mask = mask.reshape(B * 8, 1, 4 * 3, 2 * 5)
    want_output, want_scores = _reference_attention(
        _flat(query, 12), _flat(key, 10), _flat(value, 10), flat_mask, scale
    )
    want_output = np.transpose(want_output.reshape(B, 8, 4, 3, H, V), (0, 3, 1, 2, 4, 5))
    _close(output, want_output)
    _close(scores, want_scores.reshape(B, 8, H, 4, 3, 2, 5))


@pytest.mark.parametrize("deferred", [False, True])
@pytest.mark.parametrize("rank", [3, RANK])
@pytest.mark.parametrize("kv_heads", [H, HKV])
def test_attend_without_scores_matches_reference_either_normalization(
    monkeypatch, rng, deferred, rank, kv_heads
):
    """The output alone, with the softmax divided before or after combining the values
    (`defers_normalization`), with a mask holding a fully masked query row, and with a
    dropout function (a fixed keep pattern, rescaled, as Keras's dropout does)."""
    monkeypatch.setattr(am, "defers_normalization", lambda dtype, scores: deferred)
    if rank == 3:
        axes, q_axes, k_axes, mask = (1,), (T,), (S,), rng.random((B, 1, T, S)) > 0.3
        mask[1, 0, 2] = False
    else:
        axes, q_axes, k_axes = AXES, QUERY_AXES, KEY_AXES
        mask = rng.random((B, 8, 1, 4, 3, 2, 5)) > 0.3
        mask[1, 5, 0, 2, 1] = False
    query = rng.normal(size=(B, *q_axes, H, K))
    key = rng.normal(size=(B, *k_axes, kv_heads, K))
    value = rng.normal(size=(B, *k_axes, kv_heads, V))
    scale = 0.4
    kept = None

    def dropout(weights):
        nonlocal kept
        kept = rng.random(_np(weights).shape) > 0.25
        return weights * kept / 0.75

    geometry = {"rank": rank, "axes": axes, "num_key_value_heads": kv_heads, "scale": scale}
    for drop in (None, dropout):
        output, scores = am.attend(query, key, value, mask, dropout=drop, **geometry)
        assert scores is None
        if rank == 3:
            flat_q, flat_k, flat_v, flat_mask = query, key, value, mask
        else:
            flat_q, flat_k, flat_v = _flat(query, 12), _flat(key, 10), _flat(value, 10)
            flat_mask = mask.reshape(B * 8, 1, 12, 10)
        _, probabilities = _reference_attention(flat_q, flat_k, flat_v, flat_mask, scale)
        if drop is not None:
            probabilities = probabilities * kept / 0.75
        repeated = np.repeat(flat_v, H // kv_heads, axis=2)
        want = np.einsum("bhts,bshv->bthv", probabilities, repeated)
        if rank != 3:
            want = np.transpose(want.reshape(B, 8, 4, 3, H, V), (0, 3, 1, 2, 4, 5))
        _close(output, want)


@pytest.mark.parametrize("kv_heads", [H, HKV])
def test_fused_attention_matches_reference(rng, kv_heads):
    query = rng.normal(size=(B, T, H, K))
    key = rng.normal(size=(B, S, kv_heads, K))
    value = rng.normal(size=(B, S, kv_heads, V))
    mask = combined_mask(B, 1, T, S, query_mask=rng.random((B, T)) > 0.3)
    mask[0, 0, 1] = False
    scale = 1 / np.sqrt(K)
    want, _ = _reference_attention(query, key, value, mask, scale)
    for given in (mask, keras.ops.convert_to_tensor(mask)):
        output = am.fused_attention(query, key, value, given, scale=scale)
        np.testing.assert_allclose(_np(output), want, rtol=0, atol=1e-6)


def test_causal_and_sliding_window_masks_match_reference():
    causal = combined_mask(1, 1, T, S, use_causal_mask=True)[:, 0]
    _close(am.causal_mask(T, S), causal)
    window = combined_mask(1, 1, T, S, sliding_window=2)[:, 0]
    _close(am.sliding_window_mask(T, S, 2), window)


def test_padding_masks_and_all_of_match_reference(rng):
    query_mask, value_mask = rng.random((B, T)) > 0.3, rng.random((B, S)) > 0.3
    attention_mask = rng.random((B, T, S)) > 0.2
    masks = [
        am.padding_mask_to_scores(query_mask, 3, (1,), is_query=True),
        am.padding_mask_to_scores(value_mask, 3, (1,), is_query=False),
        attention_mask,
    ]
    want = combined_mask(
        B, 1, T, S, query_mask=query_mask, value_mask=value_mask, attention_mask=attention_mask
    )[:, 0]
    _close(am.all_of(masks), want)


def test_align_to_scores_inserts_axes_before_the_query_axes():
    mask = np.ones((T, S), bool)
    assert am.align_to_scores(mask, 4, 1).shape == (1, 1, T, S)
    mask = np.ones((3, 4, 2, 5), bool)  # (T3, T1, S3, S1) for scores of rank 7
    assert am.align_to_scores(mask, 7, 2).shape == (1, 1, 1, 3, 4, 2, 5)


def test_attention_equations_keep_the_axes_order():
    dot, combine, scores_rank = am.attention_equations(5, (2, 1))
    assert dot == "agfde,abcde->adcbfg"
    assert combine == "adcbfg,agfde->abcde"
    assert scores_rank == 6

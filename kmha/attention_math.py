"""The arithmetic of multi-head attention, as small free functions on `keras.ops`.

No layer state and no checks: shapes are trusted here (`kmha.checks` and
`kmha_lint.geometry` have checked them). Every function runs on each Keras backend and
accepts NumPy arrays where a tensor is expected.

Layouts: projected tensors are (B, ..., heads, dim), with the attention axes among the
"..."; the math runs on (N, heads, L, dim) views, where N folds the batch-like axes and L
the attention axes (for rank-3 inputs these are plain transposes). Scores are (batch
dims..., H, query attention axes..., key attention axes...), (B, H, T, S) for rank 3.
Masks are boolean, True = attend.
"""

from __future__ import annotations

import math
import string

import keras
import numpy as np
from keras import ops

# Added to masked logits: large enough to vanish in a float32 softmax, small enough not to
# overflow float16 inputs once cast.
MASKED_LOGIT = -1e9


def dim(x, axis):
    """A size as an int where it is static (`ops.shape` costs an op per call in eager)."""
    size = x.shape[axis]
    return size if size is not None else ops.shape(x)[axis]


def as_bool(mask):
    """A boolean mask; NumPy masks stay NumPy (no op to dispatch eagerly)."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    return ops.cast(mask, "bool")


def expand_dims(x, axis):
    """`ops.expand_dims` that keeps NumPy arrays NumPy (as a reshape: a view, and a
    fraction of `np.expand_dims`'s Python time, which counts in eager calls)."""
    if isinstance(x, np.ndarray):
        axis = axis if axis >= 0 else x.ndim + 1 + axis
        return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])
    return ops.expand_dims(x, axis)


def attention_axes_or_default(axes, rank):
    """Non-negative attention axes of a rank-``rank`` tensor; None means every axis
    between the batch axis and the last two (heads and dim, or the features)."""
    if axes is None:
        return tuple(range(1, rank - 1))
    return tuple(a % rank for a in axes)


def attention_equations(rank, axes):
    """Keras's two attention einsums for projected tensors of ``rank``.

    ``dot``: (key, query) -> scores (batch dims..., heads, query attention axes...,
    key attention axes...), attention axes in the order given; ``combine``: (scores,
    value) -> the query's layout. Returns (dot, combine, scores rank).
    """
    letters = string.ascii_lowercase
    query = list(letters[:rank])
    key = list(query)
    for j, axis in enumerate(axes):
        key[axis] = letters[rank + j]
    batch = [query[i] for i in range(rank - 2) if i not in axes]
    scores = batch + [query[rank - 2]] + [query[a] for a in axes] + [key[a] for a in axes]
    query, key, scores = "".join(query), "".join(key), "".join(scores)
    return f"{key},{query}->{scores}", f"{scores},{key}->{query}", len(scores)


# --- layout folding ----------------------------------------------------------------------


def _batch_axes(rank, axes):
    return [a for a in range(rank - 1) if a not in axes]


def to_heads_first(x, rank, axes, dim_last=True):
    """(B, ..., heads, dim) -> (N, heads, L, dim), and the shape needed to undo it (None
    for rank 3, where nothing is folded).

    ``rank`` is the input rank (the projected tensor has ``rank + 1`` axes). With
    ``dim_last=False`` the result is (N, heads, dim, L): keys in the layout the logits
    matmul reads, in one transpose instead of two.
    """
    batch_dims, attn = _batch_axes(rank, axes), list(axes)
    order = attn + [rank] if dim_last else [rank] + attn
    x = ops.transpose(x, batch_dims + [rank - 1] + order)
    if rank == 3:
        return x, None
    shape = ops.shape(x)
    nb = len(batch_dims)
    n = math.prod(shape[:nb]) if nb > 1 else shape[0]
    folded = shape[nb + 1 : -1] if dim_last else shape[nb + 2 :]
    length = math.prod(folded) if len(attn) > 1 else folded[0]
    dims = (length, shape[-1]) if dim_last else (shape[nb + 1], length)
    return ops.reshape(x, (n, shape[nb]) + dims), shape


def from_heads_first(x, shape, rank, axes):
    """(N, heads, T, dim) -> (B, ..., heads, dim): the inverse of `to_heads_first`."""
    perm = _batch_axes(rank, axes) + [rank - 1] + list(axes) + [rank]
    if shape is not None:
        x = ops.reshape(x, tuple(shape[:-1]) + (dim(x, -1),))
    return ops.transpose(x, [perm.index(i) for i in range(rank + 1)])


def scores_layout(probs, query_shape, key_attention):
    """(N, H, T, S) probabilities -> (batch dims..., H, query attn..., key attn...).

    ``query_shape`` is the second result of `to_heads_first` for the query (None for rank
    3) and ``key_attention`` the key's attention sizes."""
    if query_shape is None:
        return probs
    return ops.reshape(probs, tuple(query_shape[:-1]) + tuple(key_attention))


def mask_to_heads_first(mask, query_shape, key_attention, batch_dims):
    """A scores-layout mask folded like the scores: (N|1, H|1, T, S).

    Folded axes are materialized first: a size-1 axis folded with a full one would not
    broadcast. ``batch_dims`` is the number of batch-like axes.
    """
    if query_shape is None:
        return mask
    heads = dim(mask, batch_dims)
    query_attention = tuple(query_shape[batch_dims + 1 : -1])
    full = tuple(query_shape[:batch_dims]) + (heads,) + query_attention + tuple(key_attention)
    mask = ops.broadcast_to(mask, full)
    return ops.reshape(
        mask,
        (
            math.prod(query_shape[:batch_dims]),
            heads,
            math.prod(query_attention),
            math.prod(key_attention),
        ),
    )


# --- the attention steps on (N, heads, L, dim) views --------------------------------------


def scale_query(query, scale):
    """``query * scale`` in the query's dtype (the scale folded into the smaller tensor)."""
    dtype = keras.backend.standardize_dtype(query.dtype)
    return ops.multiply(query, ops.convert_to_tensor(scale, dtype=dtype))


def attention_logits(query, key_transposed, num_key_value_heads):
    """(N, H, T, K) queries against (N, Hkv, K, S) keys -> (N, H, T, S) logits.

    Grouped key/value heads are shared by folding each group's query heads into the T
    axis, not by repeating keys.
    """
    heads = dim(query, 1)
    if heads == num_key_value_heads:
        return ops.matmul(query, key_transposed)
    n, t, s = dim(query, 0), dim(query, 2), dim(key_transposed, 3)
    group = heads // num_key_value_heads
    grouped = ops.reshape(query, (n, num_key_value_heads, group * t, dim(query, 3)))
    return ops.reshape(ops.matmul(grouped, key_transposed), (n, heads, t, s))


def softmax_dtype(dtype):
    """The softmax runs in float32 (float64 for float64 inputs), also under mixed precision."""
    return "float64" if keras.backend.standardize_dtype(dtype) == "float64" else "float32"


def masked_logits(logits, mask):
    """Logits in the softmax dtype, with masked positions (mask False) set to
    `MASKED_LOGIT`. ``mask`` broadcasts to the logits, or is None."""
    logits = ops.cast(logits, softmax_dtype(logits.dtype))
    if mask is None:
        return logits
    return ops.where(mask, logits, ops.convert_to_tensor(MASKED_LOGIT, dtype=logits.dtype))


def attention_softmax(logits, dtype):
    """Softmax over the last (key) axis, cast to ``dtype``.

    A softmax over one key is 1: that case skips the softmax (and Keras's warning about
    size-1 softmax axes); ``0 * logits`` keeps the (zero) gradient path to the logits.
    """
    if logits.shape[-1] == 1:
        return ops.cast(logits * 0 + 1, dtype)
    return ops.cast(ops.softmax(logits, axis=-1), dtype)


def unnormalized_weights(logits):
    """Softmax numerators and denominators over the last (key) axis:
    ``exp(logits - max)`` and its sum (..., 1). ``numerators / sums`` is the softmax; the
    max is a constant to the gradient (the softmax does not depend on it)."""
    shifted = logits - ops.stop_gradient(ops.max(logits, axis=-1, keepdims=True))
    numerators = ops.exp(shifted)
    return numerators, ops.sum(numerators, axis=-1, keepdims=True)


def defers_normalization(dtype, return_scores) -> bool:
    """Whether `attend` divides by the softmax sums after combining the values rather than
    before: (T, V) divisions instead of (T, S), and fewer passes over the (T, S) weights.

    On JAX, where XLA fuses the steps: 0.94-0.99x the time of a training step with the
    softmax first on the benchmark shapes (CPU). Not on TensorFlow, whose one softmax
    kernel is faster in its graphs (deferred there, kmha's ratios to Keras's layer went from
    0.90-0.95 to 0.93-0.99). Only where the weights stay in float32 or float64
    (unnormalized weights summed over S keys can overflow float16) and the probabilities
    themselves are not returned.
    """
    return (
        keras.backend.backend() == "jax"
        and keras.backend.standardize_dtype(dtype) in ("float32", "float64")
        and not return_scores
    )


def combine_values(probabilities, value, num_key_value_heads):
    """(N, H, T, S) probabilities times (N, Hkv, S, V) values -> (N, H, T, V)."""
    heads = dim(probabilities, 1)
    if heads == num_key_value_heads:
        return ops.matmul(probabilities, value)
    n, t, s = dim(probabilities, 0), dim(probabilities, 2), dim(probabilities, 3)
    group = heads // num_key_value_heads
    grouped = ops.reshape(probabilities, (n, num_key_value_heads, group * t, s))
    return ops.reshape(ops.matmul(grouped, value), (n, heads, t, dim(value, 3)))


def zero_unattended_rows(x, mask):
    """Zero the rows of ``x`` (..., T, D) whose query attends no key in ``mask``
    (..., T, S): a fully masked row gets zeros, not a uniform average."""
    if mask is None:
        return x
    return ops.where(ops.any(mask, axis=-1, keepdims=True), x, 0.0)


def attend(
    query,
    key,
    value,
    mask,
    *,
    rank,
    axes,
    num_key_value_heads,
    scale,
    dropout=None,
    return_scores=False,
):
    """Scaled dot-product attention on projected (B, ..., heads, dim) tensors.

    Args:
        query: (B, ..., H, K) projected queries; ``rank`` is the input rank.
        key: (B, ..., Hkv, K) projected keys.
        value: (B, ..., Hkv, V) projected values.
        mask: boolean mask in the scores' layout that broadcasts to the scores, or None.
        axes: the attention axes (non-negative, in the order given).
        num_key_value_heads: Hkv; H must be a multiple of it.
        scale: multiplies the logits (folded into the query).
        dropout: a function applied to the probabilities, or None.
        return_scores: also return the probabilities in the scores' layout.

    Returns:
        (output (B, ..., H, V), probabilities or None). Query rows with no key to attend
        get zero output and zero probabilities. Where `defers_normalization` says so, the
        softmax sums divide the combined values instead of the weights (same result).
    """
    q, q_shape = to_heads_first(scale_query(query, scale), rank, axes)
    k, k_shape = to_heads_first(key, rank, axes, dim_last=False)
    v, _ = to_heads_first(value, rank, axes)
    batch_dims = rank - 1 - len(axes)
    # Keys are (batch dims..., H, dim, key attention dims...) before folding.
    key_attention = None if k_shape is None else tuple(k_shape[batch_dims + 2 :])
    if mask is not None:
        mask = mask_to_heads_first(mask, q_shape, key_attention, batch_dims)
    logits = masked_logits(attention_logits(q, k, num_key_value_heads), mask)
    if defers_normalization(query.dtype, return_scores):
        numerators, sums = unnormalized_weights(logits)
        dropped = numerators if dropout is None else dropout(numerators)
        combined = combine_values(dropped, v, num_key_value_heads) / sums
        output = zero_unattended_rows(combined, mask)
        return from_heads_first(output, q_shape, rank, axes), None
    probabilities = attention_softmax(logits, query.dtype)
    dropped = probabilities if dropout is None else dropout(probabilities)
    output = zero_unattended_rows(combine_values(dropped, v, num_key_value_heads), mask)
    if not return_scores:
        return from_heads_first(output, q_shape, rank, axes), None
    scores = zero_unattended_rows(probabilities, mask)
    return (
        from_heads_first(output, q_shape, rank, axes),
        scores_layout(scores, q_shape, key_attention),
    )


def fused_attention(query, key, value, mask, *, scale, flash_attention=None):
    """The backend's fused attention on (B, T, heads, dim) tensors: `ops.dot_product_attention`,
    or on torch the same computation without Keras's wrapper (`kmha.torch_kernels`).

    ``mask`` is (B|1, H|1, T, S) boolean or None; grouped key/value heads are the
    backend's to share. Query rows with no key to attend get zeros, as in `attend`.
    """
    if keras.backend.backend() == "torch":
        from kmha import torch_kernels

        output = torch_kernels.scaled_dot_product_attention(
            query, key, value, mask, scale=scale, flash_attention=flash_attention
        )
    else:
        if mask is not None and flash_attention:
            # The fused kernels want batch and sequence axes materialized.
            shape = (dim(query, 0), dim(mask, 1), dim(query, 1), dim(key, 1))
            mask = ops.broadcast_to(mask, shape)
        output = ops.dot_product_attention(
            query, key, value, mask=mask, scale=scale, flash_attention=flash_attention
        )
    if mask is None:
        return output
    if isinstance(mask, np.ndarray):
        # An eager host mask: find fully masked rows in NumPy (no op dispatch) and touch
        # the output only when there is one.
        valid = mask.any(axis=-1)  # (B|1, H|1, T)
        if valid.all():
            return output
        return ops.where(np.transpose(valid, (0, 2, 1))[..., None], output, 0.0)
    row_valid = transpose_mask(ops.any(mask, axis=-1), (0, 2, 1))  # (B|1, T, H|1)
    return ops.where(ops.expand_dims(row_valid, -1), output, 0.0)


# --- masks ---------------------------------------------------------------------------------


def transpose_mask(mask, perm):
    """A mask (True or nonzero = attend) transposed, as booleans. On TensorFlow the
    transpose runs in float32: its oneDNN transpose of booleans and integers logs an error
    line ("oneDNN supports DT_BOOL only on platforms with AVX-512") on CPUs without
    AVX-512."""
    if keras.backend.backend() == "tensorflow":
        mask = ops.cast(mask, "float32")
    return ops.cast(ops.transpose(mask, perm), "bool")


def positions(query_length, key_length):
    """(T, 1) query and (1, S) key positions."""
    rows = ops.expand_dims(ops.arange(query_length), 1)
    return rows, ops.expand_dims(ops.arange(key_length), 0)


def causal_mask(query_length, key_length):
    """(1, T, S): True where the key position is not after the query's (top-left
    aligned, as in Keras)."""
    rows, cols = positions(query_length, key_length)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


def sliding_window_mask(query_length, key_length, window):
    """(1, T, S): True where |query position - key position| < window."""
    rows, cols = positions(query_length, key_length)
    return ops.expand_dims(ops.less(ops.abs(rows - cols), window), 0)


def padding_mask_to_scores(mask, rank, axes, is_query):
    """A (B, ...) padding mask of an input of ``rank`` in the scores' layout without the
    heads axis: a query mask gets size-1 key axes after it, a value or key mask size-1
    query axes before its attention axes."""
    batch = _batch_axes(rank, axes)
    if rank > 3:
        mask = transpose_mask(mask, batch + list(axes))
    else:
        mask = ops.cast(mask, "bool")
    for _ in axes:
        mask = ops.expand_dims(mask, -1 if is_query else len(batch))
    return mask


def all_of(masks):
    """The logical AND of masks that broadcast together.

    `logical_and` up to rank 5, `where` above: TensorFlow's LogicalAnd broadcasts only up to
    rank 5 (rank-5 inputs have rank-6 masks), and its Select on booleans logs a oneDNN error
    line on CPUs without AVX-512, so it is kept to the ranks that need it.
    """
    combined = masks[0]
    for mask in masks[1:]:
        if max(len(mask.shape), len(combined.shape)) <= 5:
            combined = ops.logical_and(combined, mask)
        else:
            combined = ops.where(mask, combined, False)
    return combined


def align_to_scores(mask, scores_rank, attention_axes_count):
    """A mask of lower rank than the scores with size-1 axes inserted just before its
    query attention axes, where Keras inserts them."""
    for _ in range(scores_rank - len(mask.shape)):
        mask = expand_dims(mask, -2 * attention_axes_count - 1)
    return mask

"""A float64 NumPy reference of multi-head attention, written for clarity, not speed.

It is the oracle the layer tests compare against: it shares no code with kmha, follows the
Keras conventions (mask True = attend, causal masks top-left aligned, a sliding window
keeps keys with |i - j| < window), and gives fully masked query rows a zero attention
output and all-zero probabilities. Inputs are rank 3: (B, T, Dq), (B, S, Dv), (B, S, Dk).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

Projection = tuple[np.ndarray, np.ndarray | None]


def projection_weights(layer) -> dict[str, Projection]:
    """``{sublayer: (kernel, bias or None)}`` of a built attention layer, as float64.

    Works for kmha's and Keras's layers alike: both name their sublayers query, key,
    value, gate and attention_output, each holding ``kernel`` and optionally ``bias``.
    """
    found: dict[str, dict[str, np.ndarray]] = {}
    for weight in layer.weights:
        sublayer, name = weight.path.split("/")[-2:]
        found.setdefault(sublayer, {})[name] = np.asarray(weight.numpy(), dtype=np.float64)
    return {sub: (parts["kernel"], parts.get("bias")) for sub, parts in found.items()}


def _project(x: np.ndarray, projection: Projection, contracted_axes: int = 1) -> np.ndarray:
    kernel, bias = projection
    out = np.tensordot(x, kernel, axes=contracted_axes)
    return out if bias is None else out + bias


def as_scores_mask(mask: np.ndarray) -> np.ndarray:
    """An attention_mask of rank 2 or 3 gets size-1 axes before T, as Keras reads it."""
    mask = np.asarray(mask, dtype=bool)
    while mask.ndim < 4:
        mask = np.expand_dims(mask, -3)
    return mask


def combined_mask(
    batch: int,
    heads: int,
    query_len: int,
    key_len: int,
    *,
    query_mask: np.ndarray | None = None,
    value_mask: np.ndarray | None = None,
    key_mask: np.ndarray | None = None,
    attention_mask: np.ndarray | None = None,
    use_causal_mask: bool = False,
    sliding_window: int | None = None,
) -> np.ndarray:
    """Every mask source ANDed into one boolean (B, H, T, S) mask."""
    mask = np.ones((batch, heads, query_len, key_len), dtype=bool)
    if query_mask is not None:
        mask &= np.asarray(query_mask, dtype=bool)[:, None, :, None]
    for padding in (value_mask, key_mask):
        if padding is not None:
            mask &= np.asarray(padding, dtype=bool)[:, None, None, :]
    if attention_mask is not None:
        mask &= as_scores_mask(attention_mask)
    rows = np.arange(query_len)[:, None]
    cols = np.arange(key_len)[None, :]
    if use_causal_mask:
        mask &= cols <= rows
    if sliding_window is not None:
        mask &= np.abs(rows - cols) < sliding_window
    return mask


def masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax over the last axis among attended keys; rows with none attended are 0."""
    masked = np.where(mask, logits, -np.inf)
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    weights = np.where(mask, np.exp(masked - row_max), 0.0)
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def attention(
    weights: Mapping[str, Projection],
    query: np.ndarray,
    value: np.ndarray,
    key: np.ndarray | None = None,
    *,
    query_mask: np.ndarray | None = None,
    value_mask: np.ndarray | None = None,
    key_mask: np.ndarray | None = None,
    attention_mask: np.ndarray | None = None,
    use_causal_mask: bool = False,
    sliding_window: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(output, probabilities) of multi-head attention with the given projection weights.

    Head counts and sizes come from the kernel shapes: query (Dq, H, K), key (Dk, Hkv, K),
    value (Dv, Hkv, V), attention_output (H, V, *output_shape), and gate (Dq, H, V) if
    present. Query head h reads key/value head ``h // (H // Hkv)``. The output has shape
    (B, T, *output_shape); the probabilities (B, H, T, S).
    """
    query, value = np.asarray(query, np.float64), np.asarray(value, np.float64)
    key = value if key is None else np.asarray(key, np.float64)
    q = _project(query, weights["query"])  # (B, T, H, K)
    k = _project(key, weights["key"])  # (B, S, Hkv, K)
    v = _project(value, weights["value"])  # (B, S, Hkv, V)
    heads, kv_heads = q.shape[2], k.shape[2]
    assert heads % kv_heads == 0, (heads, kv_heads)
    group = heads // kv_heads
    k = np.repeat(k, group, axis=2)
    v = np.repeat(v, group, axis=2)
    logits = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    mask = combined_mask(
        query.shape[0],
        heads,
        query.shape[1],
        key.shape[1],
        query_mask=query_mask,
        value_mask=value_mask,
        key_mask=key_mask,
        attention_mask=attention_mask,
        use_causal_mask=use_causal_mask,
        sliding_window=sliding_window,
    )
    probs = masked_softmax(logits, mask)
    heads_out = np.einsum("bhts,bshv->bthv", probs, v)
    if "gate" in weights:
        heads_out = heads_out / (1.0 + np.exp(-_project(query, weights["gate"])))
    return _project(heads_out, weights["attention_output"], contracted_axes=2), probs


def random_mask(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random boolean mask whose first key (last axis index 0) is always attended, so
    that no query row is fully masked by it."""
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True
    return mask

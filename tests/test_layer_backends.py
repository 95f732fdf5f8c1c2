"""The layer is written on keras.ops: it runs, matches Keras and names mistakes on the other
backends too (JAX; and NumPy and OpenVINO, Keras's inference-only backends).

JAX traces with concrete shapes, so every check is static there, under `jax.jit` as well.
Keras picks its backend once per process: each backend's run happens in a subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import os

    import keras
    import numpy as np

    import kmha

    backend = keras.backend.backend()
    assert backend == os.environ["KERAS_BACKEND"], backend
    rng = np.random.default_rng(0)
    query = rng.normal(size=(3, 4, 14)).astype("float32")
    value = rng.normal(size=(3, 5, 9)).astype("float32")
    mask = rng.random((3, 4, 5)) > 0.3

    ours = kmha.MultiHeadAttention(2, key_dim=7, name="attn")
    theirs = keras.layers.MultiHeadAttention(2, key_dim=7)
    ours(query, value)
    theirs(query, value)
    ours.set_weights(theirs.get_weights())
    for kwargs in ({}, {"attention_mask": mask}, {"use_causal_mask": True}):
        got, want = ours(query, value, **kwargs), theirs(query, value, **kwargs)
        assert np.abs(np.asarray(got) - np.asarray(want)).max() < 1e-5, kwargs

    grouped = kmha.MultiHeadAttention(4, num_key_value_heads=2, key_dim=8)
    keras_grouped = keras.layers.GroupQueryAttention(
        head_dim=8, num_query_heads=4, num_key_value_heads=2
    )
    grouped(query, value)
    keras_grouped(query, value)
    grouped.set_weights(keras_grouped.get_weights())
    difference = np.asarray(grouped(query, value)) - np.asarray(keras_grouped(query, value))
    assert np.abs(difference).max() < 1e-5

    expected = (
        "Layer `attn`, argument `value`, axis 0 (batch): size does not match axis 0 of "
        "`query`. Expected 3; received 2."
    )
    calls = [ours]
    if backend == "jax":
        import jax

        jitted = jax.jit(lambda q, v: ours(q, v))
        assert jitted(query, value).shape == (3, 4, 14)
        calls.append(jitted)

        # Gradients of a training step (softmax normalized after the values are combined
        # on JAX) against Keras's layer: inputs and every weight (the key bias's gradient
        # is zero up to rounding: the softmax does not change when a row's logits shift).
        def gradients(layer):
            def loss(trainable, q, v):
                y, _ = layer.stateless_call(trainable, [], q, v, attention_mask=mask)
                return (y * y).sum()

            trainable = [w.value for w in layer.trainable_variables]
            return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(trainable, query, value)

        mine, keras_grads = gradients(ours), gradients(theirs)
        for got, want in zip(jax.tree.leaves(mine), jax.tree.leaves(keras_grads), strict=True):
            scale = max(np.abs(np.asarray(want)).max(), 1.0)
            assert np.abs(np.asarray(got) - np.asarray(want)).max() < 1e-5 * scale
    for call in calls:
        try:
            call(query, value[:2])
        except kmha.ShapeError as error:
            assert str(error).startswith(expected), str(error)
        else:
            raise AssertionError("no ShapeError")

    symbolic = kmha.MultiHeadAttention(2)(
        keras.Input((4, 14)), keras.Input((5, 9)), return_attention_scores=True
    )
    assert tuple(symbolic[1].shape) == (None, 2, 4, 5)
    try:
        kmha.MultiHeadAttention(3)(keras.Input((4, 14)), keras.Input((5, 9)))
    except kmha.ShapeError as error:
        assert "the query width 14 is not divisible by num_heads" in str(error)
    else:
        raise AssertionError("no ShapeError")
    print(f"{backend} backend: ok")
    """
)


def _run(backend, script):
    if backend != "numpy" and importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[test]' installs it)")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout.strip()


@pytest.mark.parametrize("backend", ["jax", "numpy", "openvino"])
def test_layer_on_another_backend(backend):
    assert _run(backend, SCRIPT).endswith(f"{backend} backend: ok")


TORCH_COMPILE_SCRIPT = textwrap.dedent(
    """
    from pathlib import Path

    import keras
    import numpy as np
    import torch

    import kmha

    KMHA = str(Path(kmha.__file__).parent)
    B, T, S, D, DM, H = 2, 5, 7, 12, 10, 3
    tokens = keras.Input((T, D))
    memory = keras.Input((S, DM))
    mask = keras.Input((T, S), dtype="bool")
    x = kmha.MultiHeadAttention(H, key_dim=4, name="self_attn")(
        tokens, tokens, use_causal_mask=True
    )
    y = kmha.MultiHeadAttention(H, key_dim=4, num_key_value_heads=1, name="cross_attn")(
        x, memory, attention_mask=mask
    )
    model = keras.Model([tokens, memory, mask], y)
    rng = np.random.default_rng(0)
    inputs = [
        torch.tensor(rng.normal(size=(B, T, D)), dtype=torch.float32),
        torch.tensor(rng.normal(size=(B, S, DM)), dtype=torch.float32),
        torch.tensor(rng.random((B, T, S)) > 0.3),
    ]

    def run(*tensors):
        return model(list(tensors))

    explanation = torch._dynamo.explain(run)(*inputs)
    for reason in explanation.break_reasons:
        frames = [f.filename for f in reason.user_stack]
        ours = [f for f in frames if f.startswith(KMHA) or "/keras/" in f]
        # The innermost Keras-or-kmha frame is where the untraceable call was made.
        assert ours and not ours[-1].startswith(KMHA), (reason.reason, frames)
    compiled = torch.compile(run, backend="eager")
    difference = (compiled(*inputs) - run(*inputs)).abs().max().item()
    assert difference < 1e-6, difference
    print(f"torch.compile: {explanation.graph_break_count} breaks, none in kmha")
    """
)


def test_torch_compile_has_no_graph_break_in_kmha():
    """The breaks torch.compile meets in a model of kmha layers are Keras's own
    (`Layer.__call__` binds its arguments with `inspect`); none is in kmha's code, and the
    compiled model computes what the eager one does."""
    assert "none in kmha" in _run("torch", TORCH_COMPILE_SCRIPT)

"""kmha's own torch path (`kmha.torch_kernels`) computes what Keras's ops compute.

On torch the layer calls `torch.nn.functional.linear` for its projections, torch's SDPA
directly for the attention, and a projection's `call` without Keras's and torch's
`__call__` wrappers when those would change nothing. Each is checked here against Keras's
layer (ported weights) and the float64 reference, forward and backward, and each
condition under which the wrappers matter (hooks, quantization, LoRA, mixed precision) is
checked to still go through them. Keras picks its backend once per process: the checks
run in a torch subprocess.
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
    import keras
    import numpy as np
    import torch
    from keras import ops

    import kmha
    from kmha import torch_kernels
    from reference import attention, projection_weights

    assert keras.backend.backend() == "torch"
    rng = np.random.default_rng(7)
    B, T, S, DQ, DV, H, K = 3, 5, 6, 14, 9, 4, 3
    query = rng.normal(size=(B, T, DQ)).astype("float32")
    value = rng.normal(size=(B, S, DV)).astype("float32")


    def numpy(x):
        return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


    def close(got, want, tol=1e-5, what=""):
        got, want = numpy(got), numpy(want)
        assert got.shape == want.shape, (what, got.shape, want.shape)
        err = np.abs(got.astype("float64") - want).max()
        assert err < tol, (what, err)


    # 1. `linear` is the einsum it replaces, for every projection form kmha configures.
    for x_shape, k_shape, contracted in (
        ((B, T, DQ), (DQ, H, K), 1),
        ((B, T, H, K), (H, K, DQ), 2),
        ((B, 2, T, DQ), (DQ, H, K), 1),
        ((B, T, DQ), (DQ, 7), 1),
    ):
        x = torch.tensor(rng.normal(size=x_shape), dtype=torch.float32)
        kernel = torch.tensor(rng.normal(size=k_shape), dtype=torch.float32)
        bias = torch.tensor(rng.normal(size=k_shape[contracted:]), dtype=torch.float32)
        axes = (list(range(x.ndim - contracted, x.ndim)), list(range(contracted)))
        want = np.tensordot(x.double().numpy(), kernel.double().numpy(), axes)
        close(torch_kernels.linear(x, kernel, None, contracted), want, 1e-4, x_shape)
        close(torch_kernels.linear(x, kernel, bias, contracted), want + bias.numpy(), 1e-4)

    # 2. The layer against Keras's and the reference: masks (a fully masked row too),
    #    causal, grouped heads, flash requested; outputs and every gradient.
    ours = kmha.MultiHeadAttention(H, key_dim=K, name="attn")
    theirs = keras.layers.MultiHeadAttention(H, key_dim=K)
    ours(query, value)
    theirs(query, value)
    ours.set_weights(theirs.get_weights())
    weights = projection_weights(theirs)
    mask = rng.random((B, T, S)) < 0.6
    mask[:, :, 0] = True
    blank = mask.copy()
    blank[1, 2] = False  # query row 2 of batch 1 attends to nothing
    for kwargs in ({}, {"attention_mask": mask}, {"use_causal_mask": True}):
        close(ours(query, value, **kwargs), theirs(query, value, **kwargs), 1e-5, kwargs)
        want, _ = attention(weights, query, value, **kwargs)
        close(ours(query, value, **kwargs), want, 1e-5, kwargs)
    want, _ = attention(weights, query, value, attention_mask=blank)
    got = ours(query, value, attention_mask=torch.tensor(blank))
    close(got, want, 1e-5, "fully masked row")
    assert np.abs(numpy(got)[1, 2]).max() < 1e-6, "a row with no key gets a zero output"

    def grads(layer, **kwargs):
        q = torch.tensor(query, requires_grad=True)
        v = torch.tensor(value, requires_grad=True)
        for variable in layer.trainable_variables:
            variable.value.grad = None
        out = layer(q, v, **kwargs)
        (out * out).sum().backward()
        weight_grads = [variable.value.grad.numpy() for variable in layer.trainable_variables]
        return [q.grad.numpy(), v.grad.numpy(), *weight_grads]

    for kwargs in ({}, {"attention_mask": mask}):
        for got, want in zip(grads(ours, **kwargs), grads(theirs, **kwargs), strict=True):
            close(got, want.astype("float64"), 1e-4, ("grad", kwargs))

    grouped = kmha.MultiHeadAttention(4, num_key_value_heads=2, key_dim=K)
    keras_grouped = keras.layers.GroupQueryAttention(
        head_dim=K, num_query_heads=4, num_key_value_heads=2
    )
    grouped(query, value)
    keras_grouped(query, value)
    grouped.set_weights(keras_grouped.get_weights())
    for kwargs in ({}, {"attention_mask": mask}):
        close(grouped(query, value, **kwargs), keras_grouped(query, value, **kwargs), 1e-5)
    for got, want in zip(grads(grouped), grads(keras_grouped), strict=True):
        close(got, want.astype("float64"), 1e-4, "grouped grad")
    torch_kernels._SHARES_KV_HEADS = False  # torch < 2.5: heads repeated instead
    masked = {"attention_mask": mask}
    close(grouped(query, value, **masked), keras_grouped(query, value, **masked), 1e-5)
    torch_kernels._SHARES_KV_HEADS = True

    flash = kmha.MultiHeadAttention(H, key_dim=K, flash_attention=True)
    flash(query, value)
    flash.set_weights(theirs.get_weights())
    close(flash(query, value, attention_mask=mask), theirs(query, value, attention_mask=mask))

    # 3. Where Keras's or torch's __call__ matters, the projections still go through it.
    want_plain = numpy(theirs(query, value))
    seen = []
    handle = ours.query_dense.register_forward_hook(lambda *args: seen.append("query"))
    ours(query, value)
    handle.remove()
    ours(query, value)
    assert seen == ["query"], seen

    calls = []
    original = type(ours.key_dense).__call__

    def spy(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    type(ours.key_dense).__call__ = spy
    try:
        ours(query, value)
        assert calls == [], calls  # the plain case skips the wrappers
        quantized = kmha.MultiHeadAttention(H, key_dim=K)
        keras_quantized = keras.layers.MultiHeadAttention(H, key_dim=K)
        for layer in (quantized, keras_quantized):
            layer(query, value)
            layer.set_weights(theirs.get_weights())
            for projection in (
                layer.query_dense, layer.key_dense, layer.value_dense, layer.output_dense
            ):
                projection.quantize("int8")
        close(quantized(query, value), keras_quantized(query, value), 1e-5, "int8")
        assert len(calls) == 4, calls  # query, key, value, attention_output
    finally:
        type(ours.key_dense).__call__ = original

    for layer in (ours, theirs):
        for projection in (
            layer.query_dense, layer.key_dense, layer.value_dense, layer.output_dense
        ):
            projection.enable_lora(2)
    theirs_vars = {v.path.split("/", 1)[1]: v for v in theirs.weights}
    lora = [v for v in ours.weights if "lora" in v.path]
    assert len(lora) == 8, [v.path for v in ours.weights]
    for variable in lora:
        update = rng.normal(size=variable.shape).astype("float32") * 0.5
        variable.assign(update)
        theirs_vars[variable.path.split("/", 1)[1]].assign(update)
    close(ours(query, value), theirs(query, value), 1e-5, "lora")
    assert np.abs(numpy(ours(query, value)) - want_plain).max() > 1e-3, "LoRA had no effect"

    mixed = kmha.MultiHeadAttention(H, key_dim=K, dtype="mixed_float16")
    keras_mixed = keras.layers.MultiHeadAttention(H, key_dim=K, dtype="mixed_float16")
    mixed(query, value)
    keras_mixed(query, value)
    mixed.set_weights(keras_mixed.get_weights())
    out = mixed(query, value)
    assert out.dtype == torch.float16, out.dtype
    close(out, numpy(keras_mixed(query, value)).astype("float64"), 1e-2, "fp16")
    print("torch path: ok")
    """
)


def test_torch_path_matches_keras_and_the_reference():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (pip install -e '.[test]' installs it)")
    env = {
        **os.environ,
        "KERAS_BACKEND": "torch",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("torch path: ok")

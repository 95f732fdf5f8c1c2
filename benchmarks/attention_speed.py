"""Forward+backward step time: kmha.MultiHeadAttention vs Keras's own layer.

Both layers get the same weights and inputs. Steps are interleaved (ours, theirs, ours,
...) so that machine noise hits both alike, run under `tf.function`, and summarized as
medians after warm-up. A plain matmul measured in the same run gives the machine's
achievable GFLOP/s for scale.

    .venv/bin/python benchmarks/attention_speed.py [--steps 30] [--warmup 5] [--eager-calls 200]

Prints markdown tables (the README quotes them): the training step under tf.function, and
the eager per-call overhead on tiny inputs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kmha  # noqa: E402

CASES = [
    # (B, T, d_model, heads, kv_heads)
    (8, 128, 256, 8, None),
    (4, 512, 512, 8, None),
    (2, 1024, 768, 12, None),
    (4, 512, 512, 8, 2),
]


def make_pair(d_model, heads, kv_heads):
    """Our layer and the matching Keras layer, with identical weights."""
    head_dim = d_model // heads
    if kv_heads is None:
        theirs = keras.layers.MultiHeadAttention(heads, key_dim=head_dim)
    else:
        theirs = keras.layers.GroupQueryAttention(
            head_dim=head_dim, num_query_heads=heads, num_key_value_heads=kv_heads
        )
    ours = kmha.MultiHeadAttention(heads, num_key_value_heads=kv_heads)
    return ours, theirs


def step_fn(layer, width):
    # None batch and sequence dims: the layer's run-time graph assertions are in the step.
    @tf.function(input_signature=[tf.TensorSpec([None, None, width])])
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, x)
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        return loss, grads

    return step


def time_call(fn, *args):
    start = time.perf_counter()
    loss, _ = fn(*args)
    loss.numpy()
    return time.perf_counter() - start


def attention_flops(b, t, d, h, kv_heads):
    """Forward+backward FLOPs (backward taken as twice the forward)."""
    k = d // h
    kv = kv_heads or h
    projections = 2 * b * t * d * (h * k + 2 * kv * k + h * k)
    scores = 2 * 2 * b * h * t * t * k
    return 3 * (projections + scores)


def matmul_gflops(steps, n=2048):
    a = tf.random.normal((n, n))
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def run_case(case, steps, warmup):
    b, t, d, h, kv_heads = case
    ours, theirs = make_pair(d, h, kv_heads)
    x = tf.random.normal((b, t, d), seed=1)
    ours(x, x)
    theirs(x, x)
    # Keras's GroupQueryAttention keeps the same weight shapes and order as its MHA.
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x, x).numpy(), theirs(x, x).numpy(), atol=1e-4)
    fns = {"kmha": step_fn(ours, d), "keras": step_fn(theirs, d)}
    times = {name: [] for name in fns}
    for i in range(warmup + steps):
        for name, fn in fns.items():
            elapsed = time_call(fn, x)
            if i >= warmup:
                times[name].append(elapsed)
    medians = {name: statistics.median(v) for name, v in times.items()}
    flops = attention_flops(b, t, d, h, kv_heads)
    return medians, flops


def eager_call_times(calls, b=4, t=16, s=24, d=64, h=4):
    """Median eager forward call on tiny cross-attention inputs, where per-call Python and
    op-dispatch overhead (including kmha's shape checks) is all there is to measure."""
    ours, theirs = make_pair(d, h, None)
    rng = np.random.default_rng(0)
    query = rng.normal(size=(b, t, d)).astype("float32")
    value = rng.normal(size=(b, s, d)).astype("float32")
    variants = {
        "no mask": {},
        "(B, T, S) attention_mask": {"attention_mask": np.ones((b, t, s), bool)},
    }
    ours(query, value)
    theirs(query, value)
    ours.set_weights(theirs.get_weights())
    rows = {}
    for label, kwargs in variants.items():
        times = {"kmha": [], "keras": []}
        for _ in range(calls):
            for name, layer in (("kmha", ours), ("keras", theirs)):
                start = time.perf_counter()
                layer(query, value, **kwargs)
                times[name].append(time.perf_counter() - start)
        rows[label] = {name: statistics.median(v) for name, v in times.items()}
    return (b, t, s, d, h), rows


def xla_check_cost(steps, warmup, b=8, t=128, d=256, h=8):
    """Forward+backward under `jit_compile=True` with a (B, T, S) mask and None dims: kmha
    with its XLA checks (named shape ops) against the same layer with them removed."""
    layer = kmha.MultiHeadAttention(h)
    x = tf.random.normal((b, t, d), seed=2)
    mask = tf.ones((b, t, t), tf.bool)
    layer(x, x)

    def compiled():
        @tf.function(
            input_signature=[tf.TensorSpec([None, None, d]), tf.TensorSpec([None] * 3, tf.bool)],
            jit_compile=True,
        )
        def step(x, mask):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, x, attention_mask=mask)
                loss = tf.reduce_sum(y * y)
            return loss, tape.gradient(loss, [x, *layer.trainable_variables])

        return step

    with_checks = compiled()
    with_checks(x, mask)
    original = type(layer)._xla_checks
    type(layer)._xla_checks = lambda self, tensors, rules: tensors
    try:
        without = compiled()
        without(x, mask)
    finally:
        type(layer)._xla_checks = original
    times = {"with": [], "without": []}
    for i in range(warmup + steps):
        for name, fn in (("with", with_checks), ("without", without)):
            elapsed = time_call(fn, x, mask)
            if i >= warmup:
                times[name].append(elapsed)
    return (b, t, d, h), {name: statistics.median(v) for name, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--eager-calls", type=int, default=200)
    args = parser.parse_args(argv)
    peak = matmul_gflops(args.steps)
    print(
        f"{datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, TF {tf.__version__}, Keras {keras.__version__}; "
        f"2048^3 matmul: {peak:.1f} GFLOP/s; median of {args.steps} steps after "
        f"{args.warmup} warm-up, forward+backward, tf.function\n"
    )
    print(
        "| B | T | d_model | heads | kv heads | Keras ms | kmha ms | ratio kmha/Keras "
        "| kmha GFLOP/s | % of matmul |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        medians, flops = run_case(case, args.steps, args.warmup)
        b, t, d, h, kv = case
        gflops = flops / medians["kmha"] / 1e9
        print(
            f"| {b} | {t} | {d} | {h} | {kv or h} | {medians['keras'] * 1e3:.1f} "
            f"| {medians['kmha'] * 1e3:.1f} | {medians['kmha'] / medians['keras']:.2f} "
            f"| {gflops:.1f} | {100 * gflops / peak:.0f}% |",
            flush=True,
        )
    (b, t, s, d, h), rows = eager_call_times(args.eager_calls)
    print(
        f"\nEager forward call, B={b}, T={t}, S={s}, d_model={d}, heads={h}; median of "
        f"{args.eager_calls} interleaved calls:\n"
    )
    print("| masks | Keras ms | kmha ms | ratio kmha/Keras |")
    print("|---|---|---|---|")
    for label, medians in rows.items():
        print(
            f"| {label} | {medians['keras'] * 1e3:.2f} | {medians['kmha'] * 1e3:.2f} "
            f"| {medians['kmha'] / medians['keras']:.2f} |"
        )
    (b, t, d, h), medians = xla_check_cost(3 * args.steps, args.warmup)
    print(
        f"\nXLA (jit_compile=True) forward+backward, B={b}, T={t}, d_model={d}, heads={h}, "
        f"(B, T, S) mask, None dims: with kmha's XLA checks {medians['with'] * 1e3:.2f} ms, "
        f"without {medians['without'] * 1e3:.2f} ms, ratio "
        f"{medians['with'] / medians['without']:.3f}"
    )


if __name__ == "__main__":
    main()

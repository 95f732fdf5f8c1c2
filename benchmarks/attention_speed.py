"""Forward+backward step time: kmha.MultiHeadAttention vs Keras's own layer, per backend.

Both layers get the same weights and inputs. Steps are interleaved (ours, theirs, ours,
...) so that machine noise hits both alike, and summarized as medians after warm-up. A
plain matmul measured in the same run gives the machine's achievable GFLOP/s for scale.
The training step is each backend's own: `tf.function` with None batch and sequence dims
(kmha's run-time graph assertions are in the step) on TensorFlow, `jax.jit` of
`jax.value_and_grad` over `stateless_call` on JAX, eager autograd on torch.

    .venv/bin/python benchmarks/attention_speed.py [--backend tensorflow|jax|torch|all]
        [--steps 30] [--warmup 5] [--eager-calls 200]

With ``--backend all`` (the default) each installed backend runs in its own process, one
after the other (Keras picks its backend once per process). Prints markdown tables: the
training step, the eager per-call overhead on tiny inputs, and (TensorFlow) the cost of
kmha's XLA checks.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BACKENDS = ("tensorflow", "jax", "torch")


def _backend_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return "all"


BACKEND = _backend_from_argv(sys.argv[1:])
if BACKEND in BACKENDS:
    os.environ["KERAS_BACKEND"] = BACKEND

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import kmha  # noqa: E402
from kmha import checks  # noqa: E402

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
    """A forward+backward step of ``layer`` (self-attention), gradients for the input and
    the weights; returns a function of the input that blocks until the step is done."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # None batch and sequence dims: the layer's run-time graph assertions are in the step.
        @tf.function(input_signature=[tf.TensorSpec([None, None, width])])
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, x)
                loss = tf.reduce_sum(y * y)
            grads = tape.gradient(loss, [x] + layer.trainable_variables)
            return loss, grads

        return lambda x: step(x)[0].numpy()
    if backend == "jax":
        import jax

        def loss_fn(trainable, non_trainable, x):
            y, _ = layer.stateless_call(trainable, non_trainable, x, x)
            return ops.sum(y * y)

        grad = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 2)))
        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]
        return lambda x: jax.block_until_ready(grad(trainable, non_trainable, x))

    def torch_step(x):
        x = x.detach().requires_grad_(True)
        for variable in layer.trainable_variables:
            variable.value.grad = None
        y = layer(x, x)
        loss = (y * y).sum()
        loss.backward()
        return loss.item()

    return torch_step


def plain_torch_step(layer, case):
    """The same step as `step_fn` in plain torch calls, no Keras: three `F.linear`
    projections, torch's `scaled_dot_product_attention` (its fused kernel), the output
    `F.linear`, on copies of ``layer``'s weights. Both layers run these kernels on torch; this
    is the time they take with no framework around them (no checks, no Keras calls). Returns
    ``(step, forward)``: the step as `step_fn`'s, and the forward pass alone, to compare."""
    import torch.nn.functional as F

    b, t, d, h, kv_heads = case
    kv, dim = kv_heads or h, d // h
    weights = {
        "/".join(v.path.split("/")[-2:]): v.value.detach().clone().requires_grad_(True)
        for v in layer.trainable_variables
    }

    def project(x, name, heads):
        kernel, bias = weights[f"{name}/kernel"], weights[f"{name}/bias"]
        y = F.linear(x, kernel.reshape(d, heads * dim).t(), bias.reshape(-1))
        return y.view(*x.shape[:2], heads, dim).transpose(1, 2)

    def forward(x):
        q, k, v = project(x, "query", h), project(x, "key", kv), project(x, "value", kv)
        o = F.scaled_dot_product_attention(q, k, v, scale=dim**-0.5, enable_gqa=kv != h)
        o = o.transpose(1, 2).reshape(*x.shape[:2], h * dim)
        kernel = weights["attention_output/kernel"].reshape(h * dim, d)
        return F.linear(o, kernel.t(), weights["attention_output/bias"])

    def step(x):
        x = x.detach().requires_grad_(True)
        for weight in weights.values():
            weight.grad = None
        y = forward(x)
        loss = (y * y).sum()
        loss.backward()
        return loss.item()

    return step, forward


def _sync(x):
    """Wait for an asynchronously dispatched result (JAX); others are ready."""
    if hasattr(x, "block_until_ready"):
        x.block_until_ready()


def random_input(shape, seed):
    return ops.convert_to_tensor(np.random.default_rng(seed).normal(size=shape).astype("float32"))


def time_call(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def attention_flops(b, t, d, h, kv_heads):
    """Forward+backward FLOPs (backward taken as twice the forward)."""
    k = d // h
    kv = kv_heads or h
    projections = 2 * b * t * d * (h * k + 2 * kv * k + h * k)
    scores = 2 * 2 * b * h * t * t * k
    return 3 * (projections + scores)


def matmul_gflops(steps, n=2048):
    a = random_input((n, n), 0)
    ops.convert_to_numpy(ops.matmul(a, a))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        ops.convert_to_numpy(ops.matmul(a, a))
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def run_case(case, steps, warmup):
    b, t, d, h, kv_heads = case
    ours, theirs = make_pair(d, h, kv_heads)
    x = random_input((b, t, d), 1)
    ours(x, x)
    theirs(x, x)
    # Keras's GroupQueryAttention keeps the same weight shapes and order as its MHA.
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours(x, x)), ops.convert_to_numpy(theirs(x, x)), atol=1e-4
    )
    fns = {"kmha": step_fn(ours, d), "keras": step_fn(theirs, d)}
    if keras.backend.backend() == "torch":
        fns["plain"], forward = plain_torch_step(ours, case)
        np.testing.assert_allclose(
            forward(x).detach().numpy(), ops.convert_to_numpy(ours(x, x)), atol=1e-4
        )
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
                _sync(layer(query, value, **kwargs))
                times[name].append(time.perf_counter() - start)
        rows[label] = {name: statistics.median(v) for name, v in times.items()}
    return (b, t, s, d, h), rows


def xla_check_cost(steps, warmup, b=8, t=128, d=256, h=8):
    """Forward+backward under `jit_compile=True` with a (B, T, S) mask and None dims: kmha
    with its XLA checks (named shape ops) against the same layer with them removed."""
    import tensorflow as tf

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

    def blocking(step):
        return lambda *args: step(*args)[0].numpy()

    with_checks = blocking(compiled())
    with_checks(x, mask)
    original = checks.xla_checks
    checks.xla_checks = lambda layer, tensors, rules: tensors
    try:
        without = blocking(compiled())
        without(x, mask)
    finally:
        checks.xla_checks = original
    times = {"with": [], "without": []}
    for i in range(warmup + steps):
        for name, fn in (("with", with_checks), ("without", without)):
            elapsed = time_call(fn, x, mask)
            if i >= warmup:
                times[name].append(elapsed)
    return (b, t, d, h), {name: statistics.median(v) for name, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--eager-calls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    args = parser.parse_args(argv)
    if args.backend == "all":
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if "backend" not in a]
        for backend in BACKENDS:
            if importlib.util.find_spec(backend) is None:
                print(f"## {backend}: not installed\n")
                continue
            subprocess.run([sys.executable, __file__, "--backend", backend, *rest], check=True)
        return
    backend = keras.backend.backend()
    if backend == "torch" and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    versions = {
        "tensorflow": lambda: __import__("tensorflow").__version__,
        "jax": lambda: __import__("jax").__version__,
        "torch": lambda: __import__("torch").__version__,
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak = matmul_gflops(args.steps)
    step = {
        "tensorflow": "tf.function, None batch and sequence dims",
        "jax": "jax.jit(jax.value_and_grad(stateless_call))",
        "torch": "eager autograd",
    }[backend]
    print(
        f"## {backend} {versions[backend]()}, Keras {keras.__version__}\n\n"
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{load:.1f} at start; 2048^3 matmul: {peak:.1f} GFLOP/s; median of {args.steps} "
        f"steps after {args.warmup} warm-up, forward+backward, {step}\n"
    )
    # On torch, a third time: the same step in plain torch calls (the kernels both layers run).
    plain = backend == "torch"
    print(
        "| B | T | d_model | heads | kv heads | Keras ms | kmha ms | ratio kmha/Keras "
        "| kmha GFLOP/s | % of matmul: Keras, kmha |"
        + (" plain torch ms | Keras/plain, kmha/plain |" if plain else "")
    )
    print("|" + "---|" * (12 if plain else 10))
    for case in CASES:
        medians, flops = run_case(case, args.steps, args.warmup)
        b, t, d, h, kv = case
        rate = {name: flops / seconds / 1e9 for name, seconds in medians.items()}
        print(
            f"| {b} | {t} | {d} | {h} | {kv or h} | {medians['keras'] * 1e3:.1f} "
            f"| {medians['kmha'] * 1e3:.1f} | {medians['kmha'] / medians['keras']:.2f} "
            f"| {rate['kmha']:.1f} | {100 * rate['keras'] / peak:.0f}%, "
            f"{100 * rate['kmha'] / peak:.0f}% |"
            + (
                f" {medians['plain'] * 1e3:.1f} | {medians['keras'] / medians['plain']:.2f}, "
                f"{medians['kmha'] / medians['plain']:.2f} |"
                if plain
                else ""
            ),
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
    if backend == "tensorflow":
        (b, t, d, h), medians = xla_check_cost(3 * args.steps, args.warmup)
        print(
            f"\nXLA (jit_compile=True) forward+backward, B={b}, T={t}, d_model={d}, "
            f"heads={h}, (B, T, S) mask, None dims: with kmha's XLA checks "
            f"{medians['with'] * 1e3:.2f} ms, without {medians['without'] * 1e3:.2f} ms, "
            f"ratio {medians['with'] / medians['without']:.3f}"
        )
    print(flush=True)


if __name__ == "__main__":
    main()

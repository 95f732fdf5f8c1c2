"""kmha-lint speed: a cold `kmha-lint` process vs a bare interpreter and vs model_from_json.

Transformer configs of 2, 12 and 48 blocks are generated with Keras into a temporary
folder. The linter is installed as a user gets it (`pip install kmha`, the linter alone)
into a fresh virtual environment there, and each config is then checked in fresh
processes (wall time, peak RSS), side by side with a bare start of the same interpreter
(`python -c pass`) and with a fresh process running Keras's `model_from_json`. The linter
is also timed in one warm process (configs/second), and on a 32-block width-4096 config
(about 6.6 billion parameters) whose JSON is made by widening a small model's JSON, so that
no 26 GB of weights are ever allocated.

    .venv/bin/python benchmarks/lint_speed.py [--repeats 21] [--no-keras]

Prints a markdown table (docs/performance.md quotes it). Timings are medians of --repeats runs
(Keras: of min(2, repeats) runs, as each takes seconds), after one warm-up run that writes
bytecode caches, as an installed package has them. Each cold lint alternates with a bare
start, so that both medians see the same machine load, and runs in a project folder whose
pyproject.toml has no [tool.kmha-lint] table; one more row lints the 12-block config in a
project that has one (reading it costs the import of Python's TOML parser). Peak memory
is each process's maximum resident set size as the kernel accounts it (wait4), so nothing
is added to the commands; configs are generated in a child process so that this one stays
small.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

WIDTH, FF, HEADS, VOCAB, SEQ = 512, 2048, 8, 8000, 128
# The small model that is widened in JSON: sizes chosen to be unique numbers in the config.
SMALL = {"width": 96, "ff": 384, "key_dim": 3}
HUGE = {"width": 4096, "ff": 16384, "key_dim": 128}
HUGE_HEADS, HUGE_BLOCKS, HUGE_VOCAB = 32, 32, 32000
HUGE_FILE = "transformer_32x4096.json"  # its JSON only: Keras would need its 26 GB of weights

# As after `pip install` (which compiles bytecode), even where the caller disables it.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
KERAS_LOAD = "import sys, keras, kmha\nkeras.models.model_from_json(open(sys.argv[1]).read())\n"


def transformer(blocks: int, width: int, ff: int, heads: int, key_dim: int, vocab: int):
    import keras
    from keras import layers

    tokens = keras.Input(shape=(SEQ,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab, width)(tokens)
    for _ in range(blocks):
        attention = layers.MultiHeadAttention(heads, key_dim)(x, x)
        x = layers.LayerNormalization()(layers.Add()([x, layers.Dropout(0.1)(attention)]))
        hidden = layers.Dense(ff, activation="gelu")(x)
        x = layers.LayerNormalization()(layers.Add()([x, layers.Dense(width)(hidden)]))
    logits = layers.Dense(vocab)(x)
    return keras.Model(tokens, logits, name=f"transformer_{blocks}")


def widened(config: object, key: str | None = None) -> object:
    """Replace the small model's sizes by the huge model's, wherever they are sizes."""
    if isinstance(config, dict):
        return {k: widened(v, k) for k, v in config.items()}
    if isinstance(config, list):
        return [widened(v, key) for v in config]
    sizes = {SMALL[name]: HUGE[name] for name in ("width", "ff")}
    if key in ("key_dim", "value_dim") and config == SMALL["key_dim"]:
        return HUGE["key_dim"]
    if isinstance(config, int) and not isinstance(config, bool) and config in sizes:
        return sizes[config]
    return config


def make_configs(folder: Path) -> None:
    """Write the configs and an index.json of name -> [file, parameter count]."""
    import keras

    configs = {}
    for blocks in (2, 12, 48):
        model = transformer(blocks, WIDTH, FF, HEADS, WIDTH // HEADS, VOCAB)
        path = folder / f"transformer_{blocks}.json"
        path.write_text(json.dumps(json.loads(model.to_json()), indent=2))
        configs[f"{blocks} blocks, width {WIDTH}"] = (path.name, model.count_params())
        del model
        keras.backend.clear_session()
    small = transformer(HUGE_BLOCKS, SMALL["width"], SMALL["ff"], HUGE_HEADS, 3, HUGE_VOCAB)
    huge = widened(json.loads(small.to_json()))
    path = folder / HUGE_FILE
    path.write_text(json.dumps(huge, indent=2))
    w, f = HUGE["width"], HUGE["ff"]
    block = 4 * (w * w + w) + 2 * w * f + f + w + 4 * w  # attention, MLP, two norms
    params = HUGE_BLOCKS * block + 2 * HUGE_VOCAB * w + HUGE_VOCAB
    configs[f"{HUGE_BLOCKS} blocks, width {w}"] = (path.name, params)
    (folder / "index.json").write_text(json.dumps(configs))


def linter_venv(folder: Path) -> Path:
    """A fresh environment with the default install (the linter alone); its python."""
    import venv

    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(root)],
        check=True,
    )
    return python


def run_process(argv: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit status) of one fresh process, read from the
    kernel's accounting of that child (wait4), so that nothing is added to the command."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=INSTALLED_ENV, cwd=cwd
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, child.returncode


def median_run(argv: list[str], repeats: int) -> tuple[float, float, int]:
    run_process(argv)  # warm-up: writes the bytecode caches an installed package has
    return _summary([run_process(argv) for _ in range(repeats)])


def paired_runs(
    bare: list[str], argv: list[str], repeats: int, cwd: Path
) -> tuple[float, tuple[float, float, int]]:
    """The bare start's median, and median_run's result for ``argv``, the two alternating."""
    run_process(argv, cwd)  # warm-up
    bare_times, runs = [], []
    for _ in range(repeats):
        bare_times.append(run_process(bare, cwd)[0])
        runs.append(run_process(argv, cwd))
    return statistics.median(bare_times), _summary(runs)


def _summary(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    statuses = {status for _, _, status in runs}
    return (
        statistics.median(t for t, _, _ in runs),
        max(m for _, m, _ in runs),
        statuses.pop() if len(statuses) == 1 else -1,
    )


def warm_rate(path: Path, seconds: float = 2.0) -> tuple[float, int]:
    """(configs/second, findings) linting the same text repeatedly in this process."""
    from kmha_lint.api import lint_text

    text = path.read_text()
    findings = len(lint_text(text, str(path)))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        lint_text(text, str(path))
        count += 1
    return count / (time.perf_counter() - start), findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--no-keras", action="store_true", help="skip model_from_json")
    parser.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        make_configs(Path(args.generate))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, __file__, "--generate", tmp], check=True)
        python = str(linter_venv(folder / "venv"))
        bare = [python, "-c", "pass"]
        lint = str(Path(python).parent / "kmha-lint")  # the console script users run
        (folder / "pyproject.toml").write_text('[project]\nname = "models"\n')
        configured = folder / "configured"
        configured.mkdir()
        (configured / "pyproject.toml").write_text(
            '[project]\nname = "models"\n\n[tool.kmha-lint]\nextend-ignore = ["KMHA105"]\n'
        )
        configs = json.loads((folder / "index.json").read_text())
        twelve = next(name for name in configs if name.startswith("12 "))
        (configured / configs[twelve][0]).write_text((folder / configs[twelve][0]).read_text())
        # (name, config, parameters, why Keras is not run on it or None)
        runs = [
            (name, folder / file, params, "not run (≈26 GB of float32 weights)")
            if file == HUGE_FILE
            else (name, folder / file, params, "not run (--no-keras)" if args.no_keras else None)
            for name, (file, params) in configs.items()
        ]
        runs.append(
            (
                twelve + ", [tool.kmha-lint] set",
                configured / configs[twelve][0],
                configs[twelve][1],
                "not run (the config above)",
            )
        )
        rows = []
        for name, path, params, keras_skipped in runs:
            layers = len(json.loads(path.read_text())["config"]["layers"])
            bare_s, (lint_s, lint_mib, lint_status) = paired_runs(
                bare, [lint, str(path)], args.repeats, path.parent
            )
            rate, findings = warm_rate(path)
            if keras_skipped:
                keras_cell, speedup = keras_skipped, "-"
            else:
                keras_s, keras_mib, keras_status = median_run(
                    [sys.executable, "-c", KERAS_LOAD, str(path)], min(2, args.repeats)
                )
                assert keras_status == 0, f"model_from_json failed on {name}"
                keras_cell = f"{keras_s:.2f} s, {keras_mib:.0f} MiB"
                speedup = f"{keras_s / lint_s:.0f}x"
            assert lint_status == 0 and findings == 0, f"kmha-lint reported findings on {name}"
            rows.append(
                f"| {name} | {layers} | {params / 1e6:,.0f} M | "
                f"{path.stat().st_size / 1024:,.0f} KB | {bare_s * 1000:.0f} ms | "
                f"{lint_s * 1000:.0f} ms, {lint_mib:.0f} MiB | {lint_s / bare_s:.2f}x | "
                f"{keras_cell} | {speedup} | {rate:.1f} "
                f"({1000 / rate:.1f} ms, {1e6 / rate / layers:.0f} µs/layer) |"
            )
    print(
        f"kmha-lint speed, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; the linter from a fresh "
        f"`pip install kmha` environment; medians of {args.repeats} runs\n"
    )
    print(
        "| config | layers | parameters | JSON | bare `python -c pass` | cold `kmha-lint` "
        "(wall, peak RSS) | cold / bare | cold `model_from_json` (wall, peak RSS) | "
        "speed-up vs Keras | warm configs/s (per config, per layer) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""What `pip install kmha` brings, and how the layer registers with Keras.

The default install is the linter: a fresh virtual environment with it holds no framework
(TensorFlow, Keras, JAX, torch) and stays small; `import kmha` there says in one line what
to install. With the `tensorflow` extra, `import kmha` registers the layer for
deserialization whatever was imported before it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD_HEADS = ROOT / "tests" / "fixtures" / "lint" / "KMHA201" / "bad.json"
FRAMEWORKS = ("tensorflow", "keras", "tf_keras", "jax", "torch")
MAX_ENV_MB = 60


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


@pytest.fixture(scope="module")
def linter_env(tmp_path_factory, package_source) -> Path:
    """A fresh venv with `pip install <repo>` (no extras), as a CI job or pre-commit makes."""
    env_dir = tmp_path_factory.mktemp("lint-only") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + [str(package_source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir


def _run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [*args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )


def test_linter_only_install_has_no_framework_and_is_small(linter_env, tmp_path):
    python = str(linter_env / "bin" / "python")
    probe = (
        "import importlib.util as u; "
        f"print(sorted(n for n in {FRAMEWORKS!r} if u.find_spec(n) is not None))"
    )
    found = _run(linter_env, python, "-c", probe, cwd=tmp_path)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr
    size = _size_mb(linter_env)
    assert size < MAX_ENV_MB, f"the linter-only environment is {size:.1f} MB"


def test_linter_only_install_lints(linter_env, tmp_path):
    lint = _run(linter_env, "kmha-lint", "--format", "json", str(BAD_HEADS), cwd=tmp_path)
    assert lint.returncode == 1 and '"code": "KMHA201"' in lint.stdout, lint.stderr
    assert "Traceback" not in lint.stderr


def test_import_kmha_without_keras_says_what_to_install(linter_env, tmp_path):
    python = str(linter_env / "bin" / "python")
    done = _run(linter_env, python, "-c", "import kmha", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == (
        "ImportError: kmha.MultiHeadAttention needs Keras 3 and a backend: pip install "
        "'kmha[tensorflow]' (the linter alone, kmha-lint / kmha_lint, needs neither)"
    )
    # one error, not Keras's ModuleNotFoundError chained before it
    assert [line for line in lines if re.match(r"\w+Error: ", line)] == lines[-1:], done.stderr
    assert "During handling" not in done.stderr and "direct cause" not in done.stderr
    assert len(lines) <= 5, done.stderr  # the import line, kmha's raise, the message


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    """A .keras file holding kmha.MultiHeadAttention, saved in a child process."""
    path = tmp_path_factory.mktemp("saved") / "m.keras"
    script = (
        "import keras, kmha\n"
        "x = keras.Input((5, 12))\n"
        "y = kmha.MultiHeadAttention(num_heads=3, name='attn')(x, x)\n"
        f"keras.Model(x, y).save({str(path)!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    return path


LOADS = {
    "kmha, then keras": "import kmha\nimport keras\nm = keras.models.load_model(P)",
    "keras, then kmha": "import keras\nimport kmha\nm = keras.models.load_model(P)",
    "kmha, then tf.keras": (
        "import kmha\nimport tensorflow as tf\nm = tf.keras.models.load_model(P)"
    ),
    "tensorflow, then kmha": (
        "import tensorflow as tf\nimport kmha\nm = tf.keras.models.load_model(P)"
    ),
}


def test_import_kmha_registers_the_layer_whatever_the_order(saved_model):
    """Each order in a fresh process (they run side by side to save time)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    running = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"P = {str(saved_model)!r}\n{code}\nprint(type(m.get_layer('attn')).__module__)",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, code in LOADS.items()
    }
    for name, process in running.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err[-2000:]}"
        assert out.strip().splitlines()[-1] == "kmha.multi_head_attention", name


# Modules whose import costs more than linting a small config; start-up must not load them.
SLOW_TO_IMPORT = (
    "dataclasses",
    "inspect",
    "pathlib",
    "typing",
    "shutil",
    "importlib.resources",
    "jsonschema",
    "json",  # its import compiles regular expressions; the C parser is called directly
    "argparse",  # with gettext and locale
    "gettext",
    "locale",
    "tomllib",  # only for a settings table that exists
    "numbers",  # only for NumPy numbers, which parsed JSON has none of
    "bisect",  # only to position findings
    "fnmatch",  # only for per-file ignores
)


def test_a_clean_lint_imports_nothing_slow(linter_env, tmp_path):
    """The cold-start budget (docs/performance.md): what a lint of a clean config imports."""
    good = tmp_path / "good.json"  # outside the repository, in a project without settings
    good.write_text((ROOT / "tests" / "fixtures" / "lint" / "KMHA201" / "good.json").read_text())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "models"\n')
    probe = (
        "import sys\n"
        "from kmha_lint.cli import main\n"
        f"status = main([{str(good)!r}])\n"
        f"print(status, sorted(m for m in {SLOW_TO_IMPORT!r} if m in sys.modules))\n"
    )
    done = _run(linter_env, str(linter_env / "bin" / "python"), "-c", probe, cwd=tmp_path)
    assert done.stdout.strip() == "0 []", done.stdout + done.stderr

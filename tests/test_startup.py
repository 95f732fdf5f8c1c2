"""TensorFlow's start-up lines, and the documented way to keep them out (docs/layer.md).

Each script runs in a fresh process, as a user's would: TensorFlow prints its C++ start-up
lines once per process, straight to file descriptor 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A user's script: import kmha first, build a layer, run it (the first op, the first
# device placement).
SCRIPT = textwrap.dedent(
    """
    import kmha
    import keras
    import numpy as np

    x = np.zeros((2, 3, 8), "float32")
    print(kmha.MultiHeadAttention(2, key_dim=4)(x, x).shape)
    """
)
# What TensorFlow writes at start-up on a machine without a GPU: absl's notice, C++ log
# lines (I0000 ... port.cc oneDNN, cudart_stub, cpu_feature_guard; E0000 ... cuInit).
START_UP = re.compile(r"absl::InitializeLog|^[IWE]\d{4} |oneDNN|cuInit|cpu_feature_guard", re.M)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KMHA_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**environment, **env},
        check=False,
    )


@pytest.fixture(scope="module")
def plain():
    return _run(SCRIPT)


def test_without_the_variable_tensorflow_prints_its_start_up_lines(plain):
    """The lines the variable is for are really there (else the next test proves nothing)."""
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "(2, 3, 8)"
    assert START_UP.search(plain.stderr), plain.stderr


def test_kmha_quiet_tensorflow_keeps_the_start_up_lines_out():
    """As the shell form in docs/layer.md sets it."""
    assert "KMHA_QUIET_TENSORFLOW=1 python train.py" in (ROOT / "docs" / "layer.md").read_text()
    done = _run(SCRIPT, KMHA_QUIET_TENSORFLOW="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 3, 8)"
    assert not START_UP.search(done.stderr), done.stderr
    assert done.stderr == ""


def _quiet_snippet(page: str) -> str:
    (snippet,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), re.S)
        if "KMHA_QUIET_TENSORFLOW" in block
    ]
    return snippet


def test_the_documented_snippet_in_a_script_is_quiet_too():
    """Set in the script itself, before the first import of kmha, as the docs show it (the
    README's copy differs only in its comments)."""
    snippet = _quiet_snippet("docs/layer.md")
    uncommented = re.compile(r"\s*#.*$", re.M)
    assert uncommented.sub("", _quiet_snippet("README.md")) == uncommented.sub("", snippet)
    done = _run(snippet + SCRIPT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_user_log_level_is_kept_and_0_means_not_quiet():
    report = "import os, kmha; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    kept = _run(report, KMHA_QUIET_TENSORFLOW="1", TF_CPP_MIN_LOG_LEVEL="0")
    assert kept.stdout.strip() == "0"
    assert kept.stderr == ""
    off = _run(report, KMHA_QUIET_TENSORFLOW="0")
    assert START_UP.search(off.stderr), off.stderr


def test_what_was_held_back_is_shown_when_the_import_fails():
    code = textwrap.dedent(
        """
        import os
        from kmha._startup import held_stderr

        with held_stderr():
            os.write(2, b"a line from C++\\n")
            raise ImportError("the backend is broken")
        """
    )
    done = _run(code, KMHA_QUIET_TENSORFLOW="1")  # importing kmha._startup imports kmha
    assert done.returncode == 1
    assert done.stderr.startswith("a line from C++\n"), done.stderr
    assert done.stderr.rstrip().endswith("ImportError: the backend is broken")

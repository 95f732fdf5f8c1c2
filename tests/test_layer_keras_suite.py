"""Keras's own test file for `keras.layers.MultiHeadAttention`, run on kmha's layer.

The file is loaded from the installed Keras (located via `keras.__file__`, not copied
here) as a fresh module whose `layers` name is a namespace that forwards everything to
`keras.src.layers` except `MultiHeadAttention`, which is kmha's. Its test class is then
collected by pytest like any other: every one of its tests must pass on kmha.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys
import types
import warnings
from xml.etree import ElementTree

import keras
import pytest
from keras.src import layers as keras_layers

import kmha

KERAS_TEST_FILE = (
    pathlib.Path(keras.__file__).parent
    / "src"
    / "layers"
    / "attention"
    / "multi_head_attention_test.py"
)


class _KmhaLayers(types.ModuleType):
    """`keras.src.layers` with kmha's MultiHeadAttention in place of Keras's."""

    MultiHeadAttention = kmha.MultiHeadAttention

    def __getattr__(self, name):
        return getattr(keras_layers, name)


def _load_keras_suite():
    spec = importlib.util.spec_from_file_location("kmha_keras_mha_suite", KERAS_TEST_FILE)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        # Its `requires_trainable_backend` mark is registered by Keras's conftest only.
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    module.layers = _KmhaLayers("layers")
    return module


_suite = _load_keras_suite()


class TestKerasSuiteOnKmha(_suite.MultiHeadAttentionTest):
    """Every test of Keras's MultiHeadAttentionTest, with kmha's layer."""


def test_suite_runs_kmha_layer():
    assert _suite.layers.MultiHeadAttention is kmha.MultiHeadAttention
    assert KERAS_TEST_FILE.is_file()


KERAS_TESTS = sorted(name for name in dir(_suite.MultiHeadAttentionTest) if name.startswith("test"))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_suite_passes_on_backend(backend):
    """The whole of Keras's file, on kmha, on the other backends (this process runs it on
    TensorFlow; Keras picks its backend once per process, hence a subprocess). Its two
    flash-attention tests skip themselves on TensorFlow, for Keras's layer too: they run
    here. On a CPU the fused kernels are unavailable, and those tests expect that."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[test]' installs it)")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", "-q", "-rs"]
        + [f"{__file__}::TestKerasSuiteOnKmha"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=pathlib.Path(__file__).parent,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert len(KERAS_TESTS) > 40, KERAS_TESTS
    assert result.returncode == 0 and f"{len(KERAS_TESTS)} passed" in summary, (
        result.stdout[-4000:] + result.stderr[-2000:]
    )
    assert "skipped" not in summary and "failed" not in summary, summary


def _outcomes(backend, target, report):
    """{test name: (outcome, message)} of one pytest run of ``target`` on ``backend``, the
    outcome "passed", "failure", "error" or "skipped" (from its JUnit XML ``report``)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", "-q"]
        + ["-p", "no:warnings", f"--junitxml={report}", target],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=pathlib.Path(__file__).parent,
    )
    found = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, child.get("message", "")
        found[case.get("name")] = (outcome, message)
    return found, result.stdout[-3000:] + result.stderr[-2000:]


# Keras's file has one test these backends cannot run on either layer: `test_lora` trains
# with `fit`, which neither the NumPy nor the OpenVINO backend implements.
INFERENCE_ONLY = {"numpy": "fit not implemented", "openvino": "`fit` is not supported"}


@pytest.mark.parametrize("backend", sorted(INFERENCE_ONLY))
def test_keras_suite_on_inference_backends_as_on_keras_layer(backend, tmp_path):
    """On Keras's inference-only backends, kmha passes every test of Keras's file that
    Keras's own layer passes there, and fails or skips only where Keras's layer does, for
    the same reason."""
    if backend != "numpy" and importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[test]' installs it)")
    theirs, theirs_log = _outcomes(backend, str(KERAS_TEST_FILE), tmp_path / "keras.xml")
    target = f"{__file__}::TestKerasSuiteOnKmha"
    ours, ours_log = _outcomes(backend, target, tmp_path / "kmha.xml")
    assert sorted(theirs) == KERAS_TESTS, theirs_log
    assert {name: outcome for name, (outcome, _) in ours.items()} == {
        name: outcome for name, (outcome, _) in theirs.items()
    }, ours_log
    passed = [name for name, (outcome, _) in ours.items() if outcome == "passed"]
    assert len(passed) >= len(KERAS_TESTS) - 3, ours_log
    for name, (outcome, message) in ours.items():
        if outcome in ("failure", "error"):
            assert name == "test_lora" and INFERENCE_ONLY[backend] in message, (name, message)

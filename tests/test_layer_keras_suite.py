"""Keras's own test file for `keras.layers.MultiHeadAttention`, run on kmha's layer.

The file is loaded from the installed Keras (located via `keras.__file__`, not copied
here) as a fresh module whose `layers` name is a namespace that forwards everything to
`keras.src.layers` except `MultiHeadAttention`, which is kmha's. Its test class is then
collected by pytest like any other: every one of its tests must pass on kmha.
"""

from __future__ import annotations

import importlib.util
import pathlib
import types
import warnings

import keras
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

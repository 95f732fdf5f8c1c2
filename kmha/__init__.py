"""kmha: Keras multi-head attention that names every shape mistake.

Importing kmha imports Keras and registers `kmha>MultiHeadAttention` for deserialization,
whatever was imported before, so that `keras.models.load_model` (and `tf.keras`'s) finds the
layer. With ``KMHA_QUIET_TENSORFLOW=1`` set before kmha is imported (first), TensorFlow's
start-up lines are kept out of the output (see `kmha._startup`). The shape rules
themselves live in `kmha_lint.geometry`, which the linter shares without importing any
framework.
"""

from __future__ import annotations

from kmha_lint import __version__
from kmha_lint.problem import ShapeError

from kmha._startup import import_keras

if not import_keras():  # pragma: no cover - exercised in the linter-only install test
    # One line, no chained traceback of Keras's own ImportError.
    raise ImportError(
        "kmha.MultiHeadAttention needs Keras 3 and a backend: pip install 'kmha[tensorflow]' "
        "(the linter alone, kmha-lint / kmha_lint, needs neither)"
    ) from None

from kmha.multi_head_attention import MultiHeadAttention  # noqa: E402 - after the Keras check

__all__ = ["MultiHeadAttention", "ShapeError", "__version__"]


def __getattr__(name: str):
    if name == "export":
        import kmha.export

        return kmha.export
    raise AttributeError(f"module 'kmha' has no attribute {name!r}")

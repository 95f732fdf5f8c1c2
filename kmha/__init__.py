"""kmha: Keras multi-head attention that names every shape mistake.

Importing kmha imports Keras and registers `kmha>MultiHeadAttention` for deserialization,
whatever was imported before, so that `keras.models.load_model` (and `tf.keras`'s) finds the
layer. The shape rules themselves live in `kmha_lint.geometry`, which the linter shares
without importing any framework.
"""

from __future__ import annotations

from kmha_lint import __version__
from kmha_lint.problem import ShapeError

try:
    import keras  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in the linter-only install test
    raise ImportError(
        "kmha.MultiHeadAttention needs Keras 3 and a backend: pip install 'kmha[tensorflow]' "
        "(the linter alone, kmha-lint / kmha_lint, needs neither)"
    ) from error

from kmha.multi_head_attention import MultiHeadAttention  # noqa: E402 - after the Keras check

__all__ = ["MultiHeadAttention", "ShapeError", "__version__"]


def __getattr__(name: str):
    if name == "export":
        import kmha.export

        return kmha.export
    raise AttributeError(f"module 'kmha' has no attribute {name!r}")

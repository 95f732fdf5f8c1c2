"""kmha: Keras multi-head attention that names every shape mistake.

`kmha.ShapeError` and `kmha.geometry` are pure Python. The layer (and with it TensorFlow
and Keras) loads on first use of `kmha.MultiHeadAttention`, or at once when Keras or
TensorFlow is already imported, so that the linter can share `kmha.geometry` without
importing either.
"""

from __future__ import annotations

import sys

from kmha.errors import ShapeError

__version__ = "0.1.0"
__all__ = ["MultiHeadAttention", "ShapeError", "__version__"]


def __getattr__(name: str):
    if name == "MultiHeadAttention":
        from kmha.multi_head_attention import MultiHeadAttention

        return MultiHeadAttention
    if name == "export":
        import kmha.export

        return kmha.export
    raise AttributeError(f"module 'kmha' has no attribute {name!r}")


if "keras" in sys.modules or "tensorflow" in sys.modules:
    # Register the layer for deserialization right away: `keras.models.load_model`
    # looks the class up by its registered name and would not import us.
    from kmha.multi_head_attention import MultiHeadAttention  # noqa: F401

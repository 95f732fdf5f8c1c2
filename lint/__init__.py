"""kmha-lint: find attention and shape mistakes in Keras model configs, without TensorFlow.

`kmha_lint.geometry` is the attention geometry that the layer (`kmha.MultiHeadAttention`)
shares, so both report the same rule the same way. Importing this package imports no
framework.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]

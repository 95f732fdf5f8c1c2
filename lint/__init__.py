"""kmha-lint: find attention and shape mistakes in Keras model configs, without TensorFlow.

It shares `kmha.geometry` with the layer, so both report the same rule the same way.
"""

from kmha import __version__

__all__ = ["__version__"]

"""The dense projections inside kmha.MultiHeadAttention."""

from __future__ import annotations

import keras
from keras import ops


class HeadProjection(keras.layers.Layer):
    """Contract the last ``contracted_axes`` input axes with a kernel of output dims.

    It holds ``kernel`` of shape ``input_shape[-contracted_axes:] + output_dims`` and
    ``bias`` of shape ``output_dims``: the same shapes and names as the `EinsumDense`
    sublayers of `keras.layers.MultiHeadAttention`, so weights port both ways. Unlike
    `EinsumDense` its output dims may be left ``None`` at construction and set before
    `build`, which lets the parent create it in ``__init__`` before the query width is
    known.

    Args:
        output_dims: Trailing output dims, e.g. ``(num_heads, key_dim)``.
        contracted_axes: How many trailing input axes the kernel consumes (1 or 2).
        activation: Optional activation applied to the output.
        use_bias: Whether to add a bias.
        **kwargs: Initializers, regularizers, constraints and base Layer arguments.
    """

    def __init__(
        self,
        output_dims: tuple[int, ...] | None,
        contracted_axes: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_dims = None if output_dims is None else tuple(output_dims)
        self.contracted_axes = contracted_axes
        self.activation = keras.activations.get(activation) if activation else None
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        # A Keras mask on the input (e.g. from Embedding(mask_zero=True)) passes through:
        # the parent attention layer consumes it.
        self.supports_masking = True

    def build(self, input_shape):
        contracted = tuple(input_shape[-self.contracted_axes :])
        # One einsum op with every axis spelled out: TensorFlow's gradient of an
        # ellipsis einsum is far slower than that of an explicit one.
        letters = iter("abcdefghijklmnopqrstuvwxyz")
        leading = "".join(next(letters) for _ in range(len(input_shape) - self.contracted_axes))
        inputs = "".join(next(letters) for _ in range(self.contracted_axes))
        outputs = "".join(next(letters) for _ in self.output_dims)
        self._equation = f"{leading}{inputs},{inputs}{outputs}->{leading}{outputs}"
        self.kernel = self.add_weight(
            name="kernel",
            shape=contracted + self.output_dims,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=self.output_dims,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def call(self, inputs):
        outputs = ops.einsum(self._equation, inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[: -self.contracted_axes]) + self.output_dims

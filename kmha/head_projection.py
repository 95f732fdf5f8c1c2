"""The dense projections inside kmha.MultiHeadAttention: Keras's `EinsumDense`.

`keras.layers.MultiHeadAttention` creates its projections in `build`, once the input
ranks are known. kmha creates them in ``__init__`` (so that they exist, with their names,
before the layer is built) with a placeholder equation, and `HeadProjection.configure`
sets the equation, output shape and bias axes just before the parent builds them. Being
EinsumDense, they quantize (int8, int4, float8, ...), take LoRA (`enable_lora`), follow
dtype policy maps, and save and load exactly like Keras's.
"""

from __future__ import annotations

import math
import string

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kmha")
class HeadProjection(keras.layers.EinsumDense):
    """`keras.layers.EinsumDense` whose equation may be set after construction.

    Three differences from its base, all deliberate:

    - `configure` sets the equation from the input rank and the output dims.
    - The float bias is added with the backend's broadcasting add. Keras 3.15's
      `ops.add` on TensorFlow takes any operand that squeezes to a vector for a
      `bias_add` bias, so a ``(heads, 1)`` bias (``key_dim=1``) on an input whose axis 1
      has ``heads`` entries is added along the wrong axis (every head gets head 0's
      bias). Quantized calls are Keras's own, unchanged.
    - On TensorFlow the float einsum is TensorFlow's own Einsum op eagerly, and in graphs,
      once `configure` has set the equation, a MatMul and BiasAdd the graph optimizer fuses
      (`graph_linear`); on torch it is one fused matmul-and-bias
      (`kmha.torch_kernels.linear`). See `call`.

    Args:
        equation: Einsum equation; leave empty and call `configure` before `build`.
        output_shape: Partial output shape, as in EinsumDense.
        bias_axes: Bias axes, as in EinsumDense (`configure` sets them).
        use_bias: Whether `configure` gives the projection a bias.
        **kwargs: EinsumDense arguments (activation, initializers, regularizers,
            constraints, LoRA, quantization config) and base Layer arguments.
    """

    def __init__(self, equation="", output_shape=(), bias_axes=None, use_bias=True, **kwargs):
        super().__init__(equation, output_shape, bias_axes=bias_axes, **kwargs)
        self.use_bias = bool(use_bias)
        # Set by `configure`: the equation then contracts this many trailing input axes
        # with the kernel's leading axes (a matrix multiply). None for a hand-set equation.
        self._contracted_axes = None
        # A Keras mask on the input (e.g. from Embedding(mask_zero=True)) passes through
        # silently: the parent attention layer consumes it.
        self.supports_masking = True

    def configure(self, input_rank: int, output_dims, contracted_axes: int = 1) -> None:
        """Set the equation, output shape and bias axes for inputs of ``input_rank``.

        The kernel is ``input_shape[-contracted_axes:] + output_dims`` and the bias
        ``output_dims``, as in Keras's layer.
        """
        eq, bias_axes = equation(input_rank, contracted_axes, len(output_dims))
        free = input_rank - contracted_axes
        self.equation = eq
        self.partial_output_shape = (None,) * (free - 1) + tuple(int(d) for d in output_dims)
        self.bias_axes = bias_axes if self.use_bias else None
        self._contracted_axes = contracted_axes

    def call(self, inputs, training=None):
        kernel = self.kernel
        backend = keras.backend.backend()
        if backend == "torch" and self._contracted_axes is not None:
            from kmha import torch_kernels

            kernel = ops.convert_to_tensor(kernel)  # a Variable's value, autocast
            if torch_kernels.linear_applies(inputs, kernel):
                bias = None if self.bias is None else ops.convert_to_tensor(self.bias)
                outputs = torch_kernels.linear(inputs, kernel, bias, self._contracted_axes)
                return outputs if self.activation is None else self.activation(outputs)
        if backend == "tensorflow":
            import tensorflow as tf

            # Keras's TF einsum rewrites this equation as reshape + matmul + reshape
            # when every size is static: three ops to dispatch eagerly, about 2.5x the
            # time of the one Einsum op it uses anyway when a size is unknown (graphs).
            if inputs.dtype != kernel.dtype:
                inputs = tf.cast(inputs, kernel.dtype)
            if self._contracted_axes is not None and not tf.executing_eagerly():
                outputs = graph_linear(inputs, kernel, self.bias, self._contracted_axes)
                return outputs if self.activation is None else self.activation(outputs)
            outputs = tf.einsum(self.equation, inputs, kernel)
        else:
            outputs = ops.einsum(self.equation, inputs, kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def call_from(self, parent, inputs):
        """This projection of ``inputs``, called from ``parent``'s `call`.

        Keras's `Layer.__call__` (and on torch `torch.nn.Module.__call__` too) costs more
        than the work of a small projection: eagerly, about a fifth of kmha's call on
        TensorFlow and two fifths on torch. When the wrappers would change nothing (see
        `wrappers_change_nothing`), this is `call` itself; otherwise the usual `__call__`.
        """
        if wrappers_change_nothing(self, parent, inputs):
            return self.call(inputs)
        return self(inputs)

    def quantize(self, mode=None, type_check=True, config=None):
        # EinsumDense refuses subclasses unless told otherwise: this one computes exactly
        # what EinsumDense computes, so its quantized forms are EinsumDense's.
        return super().quantize(mode, type_check=False, config=config)

    def get_config(self):
        return {**super().get_config(), "use_bias": self.use_bias}


def graph_linear(inputs, kernel, bias, contracted_axes: int):
    """A configured projection in a TensorFlow graph: one MatMul on the flattened input
    with the bias added by BiasAdd, which TensorFlow's graph optimizer fuses with the
    MatMul (a projection's forward and backward about 4% faster than Einsum plus an add;
    0-3% of a training step). Eagerly the einsum stays: its one op dispatches faster than
    these five.

    Computes ``einsum(inputs, kernel)`` contracting the last ``contracted_axes`` input axes
    with the kernel's first ones, plus ``bias`` (the kernel's output shape, or None); the
    result keeps the static sizes the einsum's would have.
    """
    import tensorflow as tf

    free = inputs.shape.rank - contracted_axes
    out_dims = list(kernel.shape[contracted_axes:])
    contracted = math.prod(kernel.shape[:contracted_axes])
    flat = tf.matmul(tf.reshape(inputs, [-1, contracted]), tf.reshape(kernel, [contracted, -1]))
    if bias is not None:
        flat = tf.nn.bias_add(flat, tf.cast(tf.reshape(bias, [-1]), flat.dtype))
    outputs = tf.reshape(flat, tf.concat([tf.shape(inputs)[:free], out_dims], 0))
    outputs.set_shape(inputs.shape[:free].concatenate(out_dims))
    return outputs


def equation(input_rank: int, contracted_axes: int, output_dims: int) -> tuple[str, str]:
    """Einsum equation and bias axes contracting the last ``contracted_axes`` input axes.

    Every axis is spelled out (TensorFlow's gradient of an ellipsis einsum is far slower):
    ``equation(3, 1, 2)`` is ``("abc,cde->abde", "de")``, the form Keras's layer uses.
    """
    letters = string.ascii_lowercase
    free = letters[: input_rank - contracted_axes]
    bound = letters[input_rank - contracted_axes : input_rank]
    out = letters[input_rank : input_rank + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out


def wrappers_change_nothing(layer, parent, inputs) -> bool:
    """Whether ``layer(inputs)``, called inside ``parent``'s call, is ``layer.call(inputs)``.

    Keras's `Layer.__call__` converts inputs to the layer's input dtype, enters an autocast
    scope for mixed dtype policies, routes quantized layers to `quantized_call`,
    rematerializes under a remat scope, adds the activity regularizer's loss, lays outputs
    out for a distribution and records a node for symbolic inputs; on torch,
    `Module.__call__` runs hooks. None of these applies when all of the following hold,
    and then the two compute the same thing (tests compare them on every backend).
    """
    if not (
        layer.built
        and ops.is_tensor(inputs)
        and layer.quantization_mode is None
        and getattr(layer, "_remat_mode", None) is None
        and layer.activity_regularizer is None
        and layer.dtype_policy.name == parent.dtype_policy.name
        and layer.autocast == parent.autocast
        and keras.backend.standardize_dtype(inputs.dtype) == layer.input_dtype
        and keras.distribution.distribution() is None
    ):
        return False
    if keras.backend.backend() == "torch":
        from kmha import torch_kernels

        return not torch_kernels.hooked(layer)
    return True

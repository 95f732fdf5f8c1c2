"""kmha.MultiHeadAttention: Keras multi-head attention that names every shape mistake."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops
from kmha_lint import geometry
from kmha_lint.problem import Problem, ShapeError

from kmha import attention_math, checks
from kmha.head_projection import HeadProjection


@keras.saving.register_keras_serializable(package="kmha")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention, a drop-in for `keras.layers.MultiHeadAttention`.

    Same arguments, call signature, mask polarity (True = attend), weight shapes and
    weight order as Keras, so ``ours.set_weights(theirs.get_weights())`` reproduces Keras's
    outputs. On top, every shape is checked in `build` and at call time (eagerly,
    symbolically, and as graph assertions under `tf.function` with unknown dimensions),
    and a mistake raises `kmha.ShapeError` naming the layer, argument, axis, the expected
    and received sizes, and a fix. Under XLA the run-time checks are shape ops named
    after the message; a float mask with negative values (an additive mask) is refused.

    The projections (`query_dense`, `key_dense`, `value_dense`, `output_dense`, and the
    private `_query_dense`, ..., `_gate_dense`) are `EinsumDense` layers, so quantization,
    LoRA and dtype policy maps work as on Keras's layer; and Keras's extension points
    keep Keras's signatures (`_compute_attention`, `_masked_softmax`,
    `_compute_attention_mask`, `_compute_causal_mask`, `_build_attention`), so a subclass
    written for `keras.layers.MultiHeadAttention` runs on this layer, its overrides
    honoured.

    Args:
        num_heads: Number of attention heads (H).
        key_dim: Size of each head for query and key (K). If omitted, it is the query
            width (or ``d_model``) divided by ``num_heads``, which must divide it.
        value_dim: Size of each head for value (V). Defaults to ``key_dim``.
        dropout: Dropout rate on the attention probabilities, in [0, 1).
        use_bias: Whether the dense projections use bias vectors.
        output_shape: Trailing shape of the output (int or tuple). Defaults to the query
            width.
        attention_axes: Axes over which attention is applied (None: every axis between
            batch and features). Negative axes count from the end of the input.
        sliding_window: If set, each query position attends only to key positions less
            than this distance away.
        flash_attention: Use the backend's fused kernel where one exists (JAX and
            torch); not available on TensorFlow. Serialized as given.
        kernel_initializer: Initializer for the projection kernels.
        bias_initializer: Initializer for the projection biases.
        kernel_regularizer: Regularizer for the projection kernels.
        bias_regularizer: Regularizer for the projection biases.
        activity_regularizer: Regularizer for the layer output.
        kernel_constraint: Constraint for the projection kernels.
        bias_constraint: Constraint for the projection biases.
        use_gate: Gate the attention output with a sigmoid projection of the query.
        seed: Seed for the dropout.
        d_model: Optional declared query width; building with any other width fails.
        num_key_value_heads: Key/value heads for grouped-query attention (1 is
            multi-query attention). ``num_heads`` must be a multiple of it. Defaults to
            ``num_heads``.
        **kwargs: Base layer arguments (name, dtype, trainable, ...).

    Call arguments:
        query: Query tensor of shape ``(B, T, dim)`` (more axes allowed with
            ``attention_axes``).
        value: Value tensor of shape ``(B, S, dim)``.
        key: Optional key tensor of shape ``(B, S, dim)``; ``value`` is used if omitted.
        query_mask: Optional boolean ``(B, T)`` mask of valid query positions.
        value_mask: Optional boolean ``(B, S)`` mask of valid value positions. Pass
            padding masks here, not as ``attention_mask``.
        key_mask: Optional boolean ``(B, S)`` mask of valid key positions.
        attention_mask: Optional boolean mask that broadcasts to ``(B, H, T, S)``, e.g.
            ``(B, T, S)``, ``(T, S)`` or ``(B, 1, S)``. True means attend.
        return_attention_scores: Also return the attention probabilities
            ``(B, H, T, S)``.
        training: Whether dropout is active.
        use_causal_mask: Mask out keys after each query position (top-left aligned).

    Returns:
        attention_output: ``(B, T, E)``, where E is the query width or ``output_shape``.
        attention_scores: (Optional) ``(B, H, T, S)`` attention probabilities. Fully
            masked query rows get all-zero probabilities and a zero attention output.
    """

    def __init__(
        self,
        num_heads,
        key_dim=None,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        d_model=None,
        num_key_value_heads=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = self.name
        self._num_heads = geometry.as_size(num_heads, "num_heads", layer=name)
        self._key_dim_arg = geometry.as_size(key_dim, "key_dim", layer=name, allow_none=True)
        self._value_dim_arg = geometry.as_size(value_dim, "value_dim", layer=name, allow_none=True)
        # As in Keras: `_key_dim`/`_value_dim` are the per-head sizes (set at build when
        # derived from the query width).
        self._key_dim = self._key_dim_arg
        self._value_dim = self._value_dim_arg if self._value_dim_arg else self._key_dim_arg
        self._d_model = geometry.as_size(d_model, "d_model", layer=name, allow_none=True)
        self._num_key_value_heads = geometry.as_size(
            num_key_value_heads, "num_key_value_heads", layer=name, allow_none=True
        )
        geometry.check_key_value_heads(name, self._num_heads, self._num_key_value_heads)
        self._sliding_window = geometry.as_size(
            sliding_window, "sliding_window", layer=name, allow_none=True
        )
        self._dropout = geometry.as_rate(dropout, "dropout", layer=name)
        self._output_shape = checks.validated_output_shape(output_shape, name)
        self._attention_axes_arg = checks.validated_axes_type(attention_axes, name)
        # As in Keras: the axes as given until `_build_attention` normalizes them.
        self._attention_axes = self._attention_axes_arg
        self._geometry = geometry.AttentionConfig(
            num_heads=self._num_heads,
            num_key_value_heads=self._num_key_value_heads,
            key_dim=self._key_dim_arg,
            value_dim=self._value_dim_arg,
            d_model=self._d_model,
            attention_axes=self._attention_axes_arg,
            sliding_window=self._sliding_window,
        )
        self._flash_attention = flash_attention
        if flash_attention and keras.backend.backend() == "tensorflow":
            raise ValueError(
                f"Layer `{name}`: flash_attention={flash_attention!r} is not available on the "
                "tensorflow backend. Fix: leave flash_attention=None (or False)."
            )
        if flash_attention and self._dropout > 0:
            raise ValueError(
                f"Layer `{name}`: Dropout is not supported when flash attention is enabled "
                f"(received dropout={self._dropout}). Fix: set dropout=0.0 or "
                "flash_attention=False."
            )
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        self.seed = seed
        self._kernel_initializer = keras.initializers.get(kernel_initializer)
        self._bias_initializer = keras.initializers.get(bias_initializer)
        self._kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self._bias_regularizer = keras.regularizers.get(bias_regularizer)
        self._kernel_constraint = keras.constraints.get(kernel_constraint)
        self._bias_constraint = keras.constraints.get(bias_constraint)
        self._activity_regularizer = keras.regularizers.get(activity_regularizer)
        self.supports_masking = True
        self._built_widths: dict[str, int] = {}
        self._built_rank: int | None = None
        self._head_dims: geometry.HeadDims | None = None
        # Shapes that passed every static check (a call's shape signature -> its rank,
        # axes and the rules left for run time), so that repeated eager calls with the
        # same shapes pay for the checks once. Cleared when the layer is (re)built.
        self._checked = checks.CheckedShapes()
        self._inverse_sqrt_key_dim = None

        # Sublayers are EinsumDense layers, created here in Keras's weight order; `build`
        # sets their equations once the input ranks and the query width are known.
        self._query_dense = self._projection("query")
        self._key_dense = self._projection("key")
        self._gate_dense = self._projection("gate", activation="sigmoid") if use_gate else None
        self._value_dense = self._projection("value")
        self._output_dense = self._projection("attention_output")
        self._dropout_layer = keras.layers.Dropout(
            rate=self._dropout, seed=seed, dtype=self.dtype_policy
        )

    def _get_common_kwargs_for_sublayer(self):
        """Keyword arguments of every projection, as in Keras (fresh initializer objects
        per sublayer, so that no two kernels start equal)."""

        def clone(obj):
            return obj.__class__.from_config(obj.get_config())

        return dict(
            kernel_initializer=clone(self._kernel_initializer),
            bias_initializer=clone(self._bias_initializer),
            kernel_regularizer=self._kernel_regularizer,
            bias_regularizer=self._bias_regularizer,
            activity_regularizer=self._activity_regularizer,
            kernel_constraint=self._kernel_constraint,
            bias_constraint=self._bias_constraint,
            dtype=self.dtype_policy,
        )

    def _projection(self, name, activation=None):
        return HeadProjection(
            use_bias=self._use_bias,
            name=name,
            activation=activation,
            **self._get_common_kwargs_for_sublayer(),
        )

    @property
    def num_heads(self):
        return self._num_heads

    @property
    def num_key_value_heads(self):
        return self._num_key_value_heads or self._num_heads

    @property
    def key_dim(self):
        """Per-head key size; None until built when it is derived from the query width."""
        return self._key_dim

    @property
    def value_dim(self):
        return self._value_dim

    @property
    def d_model(self):
        return self._d_model

    @property
    def dropout(self):
        return self._dropout

    @property
    def use_bias(self):
        return self._use_bias

    @property
    def attention_axes(self):
        return self._attention_axes

    @property
    def query_dense(self):
        return self._query_dense

    @property
    def key_dense(self):
        return self._key_dense

    @property
    def value_dense(self):
        return self._value_dense

    @property
    def output_dense(self):
        return self._output_dense

    def get_config(self):
        config = {
            "num_heads": self._num_heads,
            "key_dim": self._key_dim_arg,
            "value_dim": self._value_dim_arg,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes_arg,
            "sliding_window": self._sliding_window,
            "flash_attention": self._flash_attention,
            "kernel_initializer": keras.initializers.serialize(self._kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self._bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": keras.regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": keras.constraints.serialize(self._kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self._bias_constraint),
            "use_gate": self._use_gate,
            "seed": self.seed,
            "d_model": self._d_model,
            "num_key_value_heads": self._num_key_value_heads,
        }
        return {**super().get_config(), **config}

    def __call__(self, *args, **kwargs):
        # Keras's `_maybe_build` reads every input's shape as a list before `build` runs,
        # which fails on an input of unknown rank (`tf.TensorSpec(None)`) with TensorFlow's
        # words: say it in kmha's first.
        checks.reject_unknown_rank(self, args, kwargs)
        return super().__call__(*args, **kwargs)

    def build(self, query_shape, value_shape, key_shape=None):
        """Check the input shapes against each other and the config, then build weights.

        Args:
            query_shape: Shape of `query`.
            value_shape: Shape of `value`.
            key_shape: Shape of `key`; defaults to `value_shape`.
        """
        shapes = checks.input_shapes(query_shape, value_shape, key_shape)
        if self._flash_attention and shapes["query"] is not None and len(shapes["query"]) != 3:
            raise ShapeError(
                Problem(
                    layer=self.name,
                    argument="query",
                    what="flash attention takes (batch, sequence, features) inputs only",
                    expected="rank 3",
                    received=f"rank {len(shapes['query'])}",
                    fix="set flash_attention=False for inputs of other ranks",
                )
            )
        checked = geometry.check_build(
            self.name,
            shapes,
            self._geometry,
            has_key=key_shape is not None,
            built_rank=self._built_rank,
        )
        rank, widths, dims = checked.rank, checked.widths, checked.head_dims
        self._head_dims = dims
        self._key_dim, self._value_dim = dims.key_dim, dims.value_dim
        heads, kv_heads = dims.num_heads, dims.num_key_value_heads
        plan = [
            (self._query_dense, (heads, dims.key_dim), shapes["query"]),
            (self._key_dense, (kv_heads, dims.key_dim), shapes["key"]),
            (self._gate_dense, (heads, dims.value_dim), shapes["query"]),
            (self._value_dense, (kv_heads, dims.value_dim), shapes["value"]),
        ]
        for projection, output_dims, input_shape in plan:
            if projection is not None:
                projection.configure(len(input_shape), output_dims)
                projection.build(input_shape)
        self._build_attention(rank + 1)
        self._output_dense.configure(
            rank + 1,
            geometry.output_feature_shape(self._output_shape, widths["query"]),
            contracted_axes=2,
        )
        self._output_dense.build(shapes["query"][:-1] + (heads, dims.value_dim))
        self._built_widths = widths
        self._built_rank = rank
        self._checked.clear()

    def _build_attention(self, rank):
        """Attention axes, einsum equations, softmax and scale, as Keras's hook does.

        Args:
            rank: The rank of the projected query, key and value tensors (input rank + 1).
        """
        self._attention_axes = geometry.normalize_attention_axes(
            self.name, self._attention_axes_arg, rank - 1
        )
        equations = attention_math.attention_equations(rank, self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = equations
        n_attn = len(self._attention_axes)
        self._softmax = keras.layers.Softmax(
            axis=tuple(range(scores_rank - n_attn, scores_rank)), dtype=self.dtype_policy
        )
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        has_key = key is not None
        t = checks.validate(
            self,
            _given(query, value, key, query_mask, value_mask, key_mask, attention_mask),
            has_key,
            use_causal_mask,
        )
        mask = self._compute_attention_mask(
            t["query"],
            t["value"],
            query_mask=t.get("query_mask"),
            value_mask=t.get("value_mask"),
            key_mask=t.get("key_mask"),
            attention_mask=t.get("attention_mask"),
            use_causal_mask=use_causal_mask,
        )
        gate = (
            self._gate_dense.call_from(self, t["query"]) if self._gate_dense is not None else None
        )
        q = self._query_dense.call_from(self, t["query"])
        k = self._key_dense.call_from(self, t["key"])
        v = self._value_dense.call_from(self, t["value"])
        output, scores = self._compute_attention(q, k, v, mask, training, return_attention_scores)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense.call_from(self, output)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention_mask(
        self,
        query,
        value,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
    ):
        """Every mask source ANDed into one boolean mask, as Keras's hook does.

        The layout is the scores' without the heads axis, (batch dims..., query attention
        dims..., key attention dims...), i.e. (B, T, S) for rank-3 inputs; the heads axis
        is kept when ``attention_mask`` has one. The query mask becomes (B, T, 1), value
        and key masks (B, 1, S), causal and sliding-window masks (1, T, S); an
        ``attention_mask`` of lower rank gets size-1 axes just before its attention axes,
        where Keras inserts them.

        Args:
            query: The query input (before projection).
            value: The value input (before projection).
            query_mask: Optional boolean mask of valid query positions.
            value_mask: Optional boolean mask of valid value positions.
            key_mask: Optional boolean mask of valid key positions.
            attention_mask: Optional boolean mask that broadcasts to the scores.
            use_causal_mask: Whether to add the causal mask.

        Returns:
            The combined boolean mask, or None when there is none.
        """
        rank = len(query.shape)
        axes = attention_math.attention_axes_or_default(self._attention_axes, rank)
        batch_dims = rank - 1 - len(axes)
        masks = []
        if query_mask is not None:
            masks.append(attention_math.padding_mask_to_scores(query_mask, rank, axes, True))
        for mask in (value_mask, key_mask):
            if mask is not None:
                masks.append(attention_math.padding_mask_to_scores(mask, rank, axes, False))
        position = []
        if use_causal_mask:
            position.append(self._compute_causal_mask(query, value))
        if self._sliding_window is not None:
            position.append(self._compute_sliding_window_mask(query, value))
        for mask in position:
            # (1, T, S) -> (1,) * batch dims + (T, S)
            mask = ops.squeeze(mask, 0)
            for _ in range(batch_dims):
                mask = ops.expand_dims(mask, 0)
            masks.append(mask)
        if attention_mask is not None:
            attention_mask = attention_math.align_to_scores(
                attention_math.as_bool(attention_mask), batch_dims + 2 * len(axes), len(axes)
            )
            if len(attention_mask.shape) > batch_dims + 2 * len(axes):  # it has a heads axis
                masks = [ops.expand_dims(mask, batch_dims) for mask in masks]
            masks.append(attention_mask)
        return attention_math.all_of(masks) if masks else None

    def _compute_causal_mask(self, query, value=None):
        """A (1, T, S) lower-triangular boolean mask along the attention axis.

        Args:
            query: Query tensor, input or projected, with T on the attention axis.
            value: Value tensor with S on the attention axis (defaults to ``query``).

        Returns:
            mask: ``(1, T, S)``, True where the key position is not after the query's.
        """
        return attention_math.causal_mask(*self._lengths(query, value))

    def _compute_sliding_window_mask(self, query, value=None):
        """A (1, T, S) band: True where |query position - key position| < sliding_window."""
        return attention_math.sliding_window_mask(
            *self._lengths(query, value), self._sliding_window
        )

    def _lengths(self, query, value):
        """(T, S) along the single attention axis."""
        axis = attention_math.attention_axes_or_default(self._attention_axes, len(query.shape))[0]
        length = attention_math.dim(query, axis)
        return length, length if value is None else attention_math.dim(value, axis)

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Softmax over the key attention axes, masked where ``attention_mask`` is False.

        As in Keras: a mask of lower rank than the scores gets size-1 axes inserted just
        before the query attention axes (the heads axis first).
        """
        if attention_mask is not None:
            attention_mask = attention_math.align_to_scores(
                attention_mask, len(attention_scores.shape), len(self._attention_axes)
            )
        return self._softmax(attention_scores, mask=attention_mask)

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        """Dot-product attention on projected tensors: Keras's override point.

        Subclasses may override it with Keras's signature; the layer's `call` honours
        the override. The default is kmha's path (or Keras's einsum and masked softmax
        when `_masked_softmax` is overridden).

        Args:
            query: Projected query ``(B, T, N, key_dim)``.
            key: Projected key ``(B, S, Nkv, key_dim)``.
            value: Projected value ``(B, S, Nkv, value_dim)``.
            attention_mask: Boolean mask that broadcasts to the scores, e.g. ``(B, T, S)``
                or ``(B, N, T, S)``; True means attend.
            training: Whether dropout is active.
            return_attention_scores: Whether to return the probabilities too.
            use_causal_mask: Also apply the causal mask (ANDed with ``attention_mask``).

        Returns:
            attention_output: ``(B, T, N, value_dim)``.
            attention_scores: ``(B, N, T, S)`` probabilities, or None when not requested
                on the fused path.
        """
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer `{self.name}`: Returning attention scores is not supported when flash "
                "attention is enabled. Please disable flash attention to access attention "
                "scores. Fix: set flash_attention=False, or return_attention_scores=False."
            )
        # Subclasses and Keras's tests call this hook directly, with NumPy arrays too.
        query, key, value = (
            ops.convert_to_tensor(x) if isinstance(x, np.ndarray) else x
            for x in (query, key, value)
        )
        rank = len(query.shape) - 1
        axes = attention_math.attention_axes_or_default(self._attention_axes, rank)
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = (
                causal
                if attention_mask is None
                else attention_math.all_of([attention_math.as_bool(attention_mask), causal])
            )
        mask = None
        if attention_mask is not None:
            mask = attention_math.align_to_scores(
                attention_math.as_bool(attention_mask), rank + len(axes), len(axes)
            )
            checks.check_scores_mask(self, mask, query, key, rank, axes)
        if type(self)._masked_softmax is not MultiHeadAttention._masked_softmax:
            return self._einsum_attention(query, key, value, mask, training)
        dropout = self._dropout > 0 and training
        if self._flash_attention or (
            rank == 3
            and not return_attention_scores
            and not dropout
            and self._fused_attention_pays(query)
        ):
            scale = self._inverse_sqrt_key_dim
            if keras.backend.backend() == "tensorflow":
                # The query is scaled first, as on kmha's own path, so that eager and graph
                # results agree to the bit (a SavedModel answers as the eager model does).
                query, scale = attention_math.scale_query(query, scale), 1.0
            output = attention_math.fused_attention(
                query, key, value, mask, scale=scale, flash_attention=self._fused_kernel()
            )
            return output, None
        return attention_math.attend(
            query,
            key,
            value,
            mask,
            rank=rank,
            axes=axes,
            num_key_value_heads=self.num_key_value_heads,
            scale=self._inverse_sqrt_key_dim,
            dropout=(lambda p: self._dropout_layer(p, training=training)) if dropout else None,
            return_scores=return_attention_scores,
        )

    def _fused_kernel(self):
        """`flash_attention` for `ops.dot_product_attention`. Left None ("if available") on
        JAX; False on torch unless asked for, where torch's own kernel selection still
        picks a fused kernel, and Keras's availability probe would break torch.compile's
        graph (it builds an SDPAParams object Dynamo cannot trace)."""
        if self._flash_attention:
            return True
        return None if keras.backend.backend() == "jax" else False

    def _fused_attention_pays(self, query):
        """Whether the backend's fused `ops.dot_product_attention` beats kmha's own
        matmul/softmax sequence here; benchmarks/attention_speed.py measured, for a
        training step: on torch the two are even (both run at the machine's matmul rate),
        and the fused call is what torch.compile and GPUs want; on JAX kmha's sequence is
        faster (0.73-0.82x the fused call on the benchmark shapes, CPU); on TensorFlow the
        fused call wins only eagerly (fewer ops to dispatch). The NumPy and OpenVINO
        backends have no fused kernel (their `dot_product_attention` is such a sequence)."""
        backend = keras.backend.backend()
        if backend == "torch":
            return True
        if backend != "tensorflow":  # JAX; and NumPy and OpenVINO, which have no kernel
            return False
        import tensorflow as tf

        return tf.executing_eagerly() and self.num_key_value_heads == self._num_heads

    def _einsum_attention(self, query, key, value, mask, training):
        """Keras's computation: einsum, `_masked_softmax`, dropout, einsum."""
        group = self._num_heads // self.num_key_value_heads
        if group > 1:
            key = ops.repeat(key, group, axis=-2)
            value = ops.repeat(value, group, axis=-2)
        query = attention_math.scale_query(query, self._inverse_sqrt_key_dim)
        scores = ops.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, mask)
        dropped = self._dropout_layer(scores, training=training) if self._dropout else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        shapes = checks.input_shapes(query_shape, value_shape, key_shape)
        checks.check_call(self, shapes, key_shape is not None)
        return self._output_shape_for(shapes["query"])

    def _output_shape_for(self, query_shape):
        return tuple(query_shape[:-1]) + geometry.output_feature_shape(
            self._output_shape, query_shape[-1]
        )

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        tensors = _given(query, value, key, query_mask, value_mask, key_mask, attention_mask)
        shapes = {k: checks.shape_of(v) for k, v in tensors.items()}
        checked = checks.check_call(self, shapes, key is not None, use_causal_mask)
        if checked.warning:
            warnings.warn(checked.warning, UserWarning, stacklevel=2)
        for argument in checks.MASK_ARGUMENTS:
            if argument in tensors:
                # A constant mask (NumPy, list) is checked here, at symbolic use.
                checks.check_additive(self, argument, tensors[argument], in_graph=False)
        output = keras.KerasTensor(self._output_shape_for(shapes["query"]), self.compute_dtype)
        if not return_attention_scores:
            return output
        scores = geometry.scores_shape(checked.rank, checked.axes, self._num_heads, shapes)
        return output, keras.KerasTensor(scores, self.compute_dtype)


def _given(query, value, key, query_mask, value_mask, key_mask, attention_mask):
    """A call's tensors by argument name (key defaults to value; masks in every form
    Keras takes, lists as NumPy), without the arguments not given."""
    given = {
        "query": query,
        "value": value,
        "key": value if key is None else key,
        "query_mask": checks.as_mask(query_mask),
        "value_mask": checks.as_mask(value_mask),
        "key_mask": checks.as_mask(key_mask),
        "attention_mask": checks.as_mask(attention_mask),
    }
    return {k: v for k, v in given.items() if v is not None}

"""kmha.MultiHeadAttention: Keras multi-head attention that names every shape mistake."""

from __future__ import annotations

import math
import numbers
import string
import warnings

import keras
import numpy as np
from keras import ops
from kmha_lint import geometry
from kmha_lint.problem import RUNTIME_EXPECTED, RUNTIME_RECEIVED, Problem, ShapeError

from kmha import graph_assertions
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
        self._output_shape = _validated_output_shape(output_shape, name)
        self._attention_axes_arg = _validated_axes_type(attention_axes, name)
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
        self._checked = _CheckedShapes()
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
        for argument, value in _call_arguments(args, kwargs):
            if _shape_of(_as_mask(value)) is None:
                raise geometry.CallError(
                    geometry.unknown_rank_problem(self.name, argument, self._built_rank),
                    "unknown_rank",
                )
        return super().__call__(*args, **kwargs)

    def build(self, query_shape, value_shape, key_shape=None):
        """Check the input shapes against each other and the config, then build weights.

        Args:
            query_shape: Shape of `query`.
            value_shape: Shape of `value`.
            key_shape: Shape of `key`; defaults to `value_shape`.
        """
        shapes = _input_shapes(query_shape, value_shape, key_shape)
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
        self._dot_product_equation, self._combine_equation, scores_rank = _attention_equations(
            rank, self._attention_axes
        )
        n_attn = len(self._attention_axes)
        self._softmax = keras.layers.Softmax(
            axis=tuple(range(scores_rank - n_attn, scores_rank)), dtype=self.dtype_policy
        )
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    def _check_call(self, shapes, has_key, use_causal_mask=False):
        """`geometry.check_call` with this layer's settings and built state."""
        return geometry.check_call(
            self.name,
            shapes,
            self._geometry,
            has_key=has_key,
            use_causal_mask=use_causal_mask,
            built_rank=self._built_rank,
            built_widths=self._built_widths,
        )

    def _validate(self, tensors, has_key, use_causal_mask):
        """All call-time checks. Returns the tensors, gated by graph assertions when
        some sizes are only known at run time."""
        shapes = {k: _shape_of(v) for k, v in tensors.items()}
        signature = (tuple(shapes.items()), has_key, use_causal_mask)
        checked = self._checked.get(signature)
        if checked is None:
            checked = self._check_call(shapes, has_key, use_causal_mask)
            if checked.warning:
                warnings.warn(checked.warning, UserWarning, stacklevel=3)
            elif None not in shapes.values():
                self._checked.add(signature, checked)
        rank, axes, open_rules = checked.rank, checked.axes, checked.open_rules
        in_graph = graph_assertions.supported()
        if in_graph and graph_assertions.in_xla():
            # XLA drops Assert ops (and has no kernel for the string ops of their
            # messages): checks that survive are shape ops named after the check, which
            # fail while XLA compiles for the actual sizes. Mask values cannot be checked.
            return self._xla_checks(tensors, open_rules)
        assertions = []
        for argument in _MASK_ARGUMENTS:
            if argument in tensors:
                assertion = self._check_additive(argument, tensors[argument], in_graph)
                if assertion is not None:
                    assertions.append(assertion)
        if not in_graph:
            return tensors
        # Sizes fixed in a signature are checked too: a SavedModel signature function
        # does not check its inputs against its TensorSpecs.
        ranks = [
            graph_assertions.assert_rank(
                _runtime_rank_problem(self.name, argument, rank), tensors[argument], rank
            )
            for argument in ("query", "value", "key")
        ]
        fixed = geometry.built_width_rules(rank, self._built_widths)
        if any(rule.argument == "attention_mask" for rule in open_rules):
            assertions.append(self._attention_mask_assertion(tensors, shapes, rank, axes))
        others = [r for r in open_rules if r.argument != "attention_mask" and r not in fixed]
        for rule in fixed + others:
            received, expected = rule.sizes(shapes)
            problem = geometry.with_keras_phrase(
                rule.problem(
                    self.name,
                    RUNTIME_RECEIVED if received is None or rule in fixed else received,
                    RUNTIME_EXPECTED if expected is None else expected,
                )
            )
            if isinstance(rule.reference, int):
                reference = rule.reference
            else:
                reference = (tensors[rule.reference[0]], rule.reference[1])
            assertions.append(
                graph_assertions.assert_dim(
                    problem,
                    (tensors[rule.argument], rule.axis),
                    reference,
                    rule.broadcast,
                    after=ranks,
                )
            )
        names = list(tensors)
        gated = graph_assertions.after(ranks + assertions, [tensors[n] for n in names])
        return dict(zip(names, gated, strict=True))

    def _check_additive(self, argument, mask, in_graph):
        """A float mask holding negative values is an additive mask: raise (or, when its
        values are only known at run time, return a graph assertion)."""
        dtype = keras.backend.standardize_dtype(mask.dtype)
        if "float" not in dtype or isinstance(mask, keras.KerasTensor):
            return None
        if in_graph:
            problem = _additive_mask_problem(
                self.name, argument, f"a {dtype} mask whose minimum is {RUNTIME_RECEIVED}"
            )
            return graph_assertions.assert_not_negative(problem, mask)
        if _is_traced(mask):
            return None
        values = ops.convert_to_numpy(mask)
        if values.size and values.min() < 0:
            raise ShapeError(
                _additive_mask_problem(
                    self.name, argument, f"a {dtype} mask whose minimum is {values.min():g}"
                )
            )
        return None

    def _xla_checks(self, tensors, open_rules):
        """Under XLA: one named shape op per open rule (see `graph_assertions.xla_check`),
        its name the whole kmha message; XLA reports the sizes in its own words."""
        checks = []
        for rule in open_rules:
            if isinstance(rule.reference, int):
                expected = rule.reference
            else:
                expected = (tensors[rule.reference[0]], rule.reference[1])
            problem = geometry.with_keras_phrase(
                rule.problem(
                    self.name,
                    "the tensor's value count above",
                    "the requested shape above",
                )
            )
            checks.append(
                graph_assertions.xla_check(
                    f"kmha.ShapeError: {problem.message()}",
                    (tensors[rule.argument], rule.axis),
                    expected,
                    rule.broadcast,
                )
            )
        if not checks:
            return tensors
        return {**tensors, "query": graph_assertions.depend_in_xla(tensors["query"], checks)}

    def _attention_mask_assertion(self, tensors, shapes, rank, axes):
        labels, sources, form = geometry.attention_mask_layout(rank, axes, self._num_heads)
        sizes = [
            src
            if isinstance(src, int)
            else (shapes[src[0]][src[1]] or ops.shape(tensors[src[0]])[src[1]])
            for src in sources
        ]
        rules = geometry.attention_mask_rules(
            rank, axes, self._num_heads, len(shapes["attention_mask"])
        )
        return graph_assertions.assert_attention_mask(
            self.name, tensors["attention_mask"], rules, sizes, labels, form
        )

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
        given = {
            "query": query,
            "value": value,
            "key": key if has_key else value,
            "query_mask": _as_mask(query_mask),
            "value_mask": _as_mask(value_mask),
            "key_mask": _as_mask(key_mask),
            "attention_mask": _as_mask(attention_mask),
        }
        t = self._validate(
            {k: v for k, v in given.items() if v is not None}, has_key, use_causal_mask
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
        gate = self._gate_dense(t["query"]) if self._gate_dense is not None else None
        q = self._query_dense(t["query"])
        k = self._key_dense(t["key"])
        v = self._value_dense(t["value"])
        output, scores = self._compute_attention(q, k, v, mask, training, return_attention_scores)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
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
        axes = _built_axes(self._attention_axes, rank)
        batch_dims = [a for a in range(rank - 1) if a not in axes]
        nb, n_attn = len(batch_dims), len(axes)
        auto = []

        def padding(mask, is_query):
            mask = ops.cast(mask, "bool")
            if rank > 3:
                mask = ops.transpose(mask, batch_dims + list(axes))
            for _ in range(n_attn):
                # Query masks get size-1 key axes after them; value/key masks get size-1
                # query axes before them.
                mask = ops.expand_dims(mask, -1 if is_query else nb)
            return mask

        if query_mask is not None:
            auto.append(padding(query_mask, True))
        for mask in (value_mask, key_mask):
            if mask is not None:
                auto.append(padding(mask, False))
        position = []
        if use_causal_mask:
            position.append(self._compute_causal_mask(query, value))
        if self._sliding_window is not None:
            position.append(self._compute_sliding_window_mask(query, value))
        for mask in position:
            # (1, T, S) -> (1,) * batch dims + (T, S)
            auto.append(_leading_ones(ops.squeeze(mask, 0), nb))
        if attention_mask is not None:
            attention_mask = _as_bool(attention_mask)
            for _ in range(nb + 2 * n_attn - len(attention_mask.shape)):
                attention_mask = _expand_dims(attention_mask, -2 * n_attn - 1)
            if len(attention_mask.shape) > nb + 2 * n_attn:  # it has a heads axis
                auto = [ops.expand_dims(mask, nb) for mask in auto]
            auto.append(attention_mask)
        if not auto:
            return None
        combined = auto[0]
        for mask in auto[1:]:
            # `where` rather than `logical_and`: TensorFlow's LogicalAnd broadcasts only up
            # to rank 5, and rank-5 inputs have rank-6 masks.
            combined = ops.where(mask, combined, False)
        return combined

    def _compute_causal_mask(self, query, value=None):
        """A (1, T, S) lower-triangular boolean mask along the attention axis.

        Args:
            query: Query tensor, input or projected, with T on the attention axis.
            value: Value tensor with S on the attention axis (defaults to ``query``).

        Returns:
            mask: ``(1, T, S)``, True where the key position is not after the query's.
        """
        rows, cols = self._positions(query, value)
        return ops.expand_dims(ops.greater_equal(rows, cols), 0)

    def _compute_sliding_window_mask(self, query, value=None):
        """A (1, T, S) band: True where |query position - key position| < sliding_window."""
        rows, cols = self._positions(query, value)
        return ops.expand_dims(ops.less(ops.abs(rows - cols), self._sliding_window), 0)

    def _positions(self, query, value):
        axis = _built_axes(self._attention_axes, len(query.shape))[0]
        t = _dim(query, axis)
        s = t if value is None else _dim(value, axis)
        return ops.expand_dims(ops.arange(t), 1), ops.expand_dims(ops.arange(s), 0)

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Softmax over the key attention axes, masked where ``attention_mask`` is False.

        As in Keras: a mask of lower rank than the scores gets size-1 axes inserted just
        before the query attention axes (the heads axis first).
        """
        if attention_mask is not None:
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(len(attention_scores.shape) - len(attention_mask.shape)):
                attention_mask = ops.expand_dims(attention_mask, axis)
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
        the override. The default is kmha's fast path (or Keras's einsum and masked
        softmax when `_masked_softmax` is overridden).

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
                on the fast path.
        """
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer `{self.name}`: Returning attention scores is not supported when flash "
                "attention is enabled. Please disable flash attention to access attention "
                "scores. Fix: set flash_attention=False, or return_attention_scores=False."
            )
        rank = len(query.shape) - 1
        axes = _built_axes(self._attention_axes, rank)
        n_attn = len(axes)
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = (
                causal
                if attention_mask is None
                else ops.logical_and(ops.cast(attention_mask, "bool"), causal)
            )
        mask = None
        if attention_mask is not None:
            mask = _as_bool(attention_mask)
            scores_rank = rank + n_attn
            for _ in range(scores_rank - len(mask.shape)):
                mask = _expand_dims(mask, -2 * n_attn - 1)
            self._check_scores_mask(mask, query, key, rank, axes)
        if type(self)._masked_softmax is not MultiHeadAttention._masked_softmax:
            return self._einsum_attention(query, key, value, mask, training)
        return self._attend(query, key, value, mask, rank, axes, training, return_attention_scores)

    def _check_scores_mask(self, mask, query, key, rank, axes):
        """A static check of the mask `_compute_attention` receives (subclasses may call
        it directly, with masks `call` never saw)."""
        signature = ("scores mask", tuple(mask.shape), tuple(query.shape), tuple(key.shape))
        if signature in self._checked:
            return
        dims = {"query": tuple(query.shape[:-1]), "value": tuple(key.shape[:-1])}
        problem = geometry.attention_mask_problem(
            self.name, tuple(mask.shape), rank, axes, self._num_heads, dims
        )
        if problem:
            raise ShapeError(problem)
        self._checked.add(signature, True)

    def _einsum_attention(self, query, key, value, mask, training):
        """Keras's computation: einsum, `_masked_softmax`, dropout, einsum."""
        group = self._num_heads // self.num_key_value_heads
        if group > 1:
            key = ops.repeat(key, group, axis=-2)
            value = ops.repeat(value, group, axis=-2)
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, mask)
        dropped = self._dropout_layer(scores, training=training) if self._dropout else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    def _attend(self, q, k, v, mask, rank, axes, training, return_scores):
        """Scaled dot-product attention on projected (B, ..., heads, dim) tensors.

        Works on (N, heads, T, dim) views: N folds the batch-like axes, T and S fold the
        attention axes (for rank-3 inputs these are plain transposes). Grouped key/value
        heads are shared by folding each group's query heads into the T axis instead of
        repeating keys and values.
        """
        if self._flash_attention:
            return self._fused_attention(q, k, v, mask), None
        if (
            rank == 3
            and self.num_key_value_heads == self._num_heads
            and not return_scores
            and not (self._dropout and training)
            and _tensorflow_eager()
        ):
            # Eagerly, each op costs a Python dispatch: the backend's dot-product
            # attention (two einsums, one softmax) is the shortest sequence there.
            # The query is scaled first, as on the graph path, so that eager and graph
            # results agree to the bit (a SavedModel answers as the eager model does).
            q = q * ops.convert_to_tensor(self._inverse_sqrt_key_dim, dtype=q.dtype)
            return self._fused_attention(q, k, v, mask, flash_attention=False, scale=1.0), None
        heads = self._num_heads
        kv_heads = self.num_key_value_heads
        group = heads // kv_heads
        q4, q_shape = _to_heads_first(
            q * ops.convert_to_tensor(self._inverse_sqrt_key_dim, dtype=q.dtype), rank, axes
        )
        k4, k_shape = _to_heads_first(k, rank, axes, dim_last=False)
        v4, _ = _to_heads_first(v, rank, axes)
        if group > 1:
            n, t, s = _dim(q4, 0), _dim(q4, 2), _dim(k4, 3)
            q4 = ops.reshape(q4, (n, kv_heads, group * t, _dim(q4, 3)))
        logits = ops.matmul(q4, k4)
        if group > 1:
            logits = ops.reshape(logits, (n, heads, t, s))
        nb = rank - 1 - len(axes)
        # Keys are (batch dims..., H, dim, key attention dims...) before folding.
        key_attn = None if k_shape is None else tuple(k_shape[nb + 2 :])
        mask4 = None if mask is None else _mask_to_heads_first(mask, q_shape, key_attn, nb)
        float64 = keras.backend.standardize_dtype(logits.dtype) == "float64"
        softmax_dtype = "float64" if float64 else "float32"
        logits = ops.cast(logits, softmax_dtype)
        if mask4 is not None:
            logits = ops.where(mask4, logits, ops.cast(-1e9, softmax_dtype))
        if logits.shape[-1] == 1:
            # A softmax over one key is 1 (masked rows are zeroed below); skipping it also
            # skips Keras's warning about size-1 softmax axes. `0 * logits` keeps the
            # (zero) gradient path to the query and key weights.
            probs = ops.cast(logits * 0 + 1, q.dtype)
        else:
            probs = ops.cast(ops.softmax(logits, axis=-1), q.dtype)
        dropped = self._dropout_layer(probs, training=training) if self._dropout else probs
        if group > 1:
            dropped = ops.reshape(dropped, (n, kv_heads, group * t, s))
        out4 = ops.matmul(dropped, v4)
        if group > 1:
            out4 = ops.reshape(out4, (n, heads, t, _dim(out4, 3)))
        if mask4 is not None:
            # A query row with no key to attend gets zeros, not a uniform average.
            row_valid = ops.any(mask4, axis=-1, keepdims=True)
            out4 = ops.where(row_valid, out4, 0.0)
            if return_scores:
                probs = ops.where(row_valid, probs, 0.0)
        output = _from_heads_first(out4, q_shape, rank, axes)
        scores = _scores_layout(probs, q_shape, key_attn) if return_scores else None
        return output, scores

    def _fused_attention(self, q, k, v, mask, flash_attention=True, scale=None):
        """The backend's dot-product attention on (B, T, heads, dim) tensors: the fused
        kernel (JAX and PyTorch) with ``flash_attention``, else its plain form."""
        if mask is not None and flash_attention:
            # (B|1, H|1, T, S): batch and sequence axes materialized, heads kept as given.
            mask = ops.broadcast_to(mask, (_dim(q, 0), _dim(mask, 1), _dim(q, 1), _dim(k, 1)))
        output = ops.dot_product_attention(
            q,
            k,
            v,
            mask=mask,
            scale=self._inverse_sqrt_key_dim if scale is None else scale,
            flash_attention=flash_attention,
        )
        if mask is None:
            return output
        # As in `_attend`: a query row with no key to attend gets zeros.
        if not flash_attention and (
            isinstance(mask, np.ndarray) or "CPU" in getattr(mask, "device", "")
        ):
            # An eager mask in host memory: find fully masked rows in NumPy (no copy, no
            # op dispatch), and touch the output only when there is one.
            valid = np.asarray(mask).any(axis=-1)  # (B|1, H|1, T)
            if valid.all():
                return output
            return ops.where(np.transpose(valid, (0, 2, 1))[..., None], output, 0.0)
        row_valid = ops.transpose(ops.any(mask, axis=-1), (0, 2, 1))  # (B, T, H|1)
        return ops.where(ops.expand_dims(row_valid, -1), output, 0.0)

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        shapes = _input_shapes(query_shape, value_shape, key_shape)
        self._check_call(shapes, key_shape is not None)
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
        tensors = {
            "query": query,
            "value": value,
            "key": value if key is None else key,
            "query_mask": _as_mask(query_mask),
            "value_mask": _as_mask(value_mask),
            "key_mask": _as_mask(key_mask),
            "attention_mask": _as_mask(attention_mask),
        }
        tensors = {k: v for k, v in tensors.items() if v is not None}
        shapes = {k: _shape_of(v) for k, v in tensors.items()}
        checked = self._check_call(shapes, key is not None, use_causal_mask)
        if checked.warning:
            warnings.warn(checked.warning, UserWarning, stacklevel=2)
        rank, axes = checked.rank, checked.axes
        for argument in _MASK_ARGUMENTS:
            if argument in tensors:
                # A constant mask (NumPy, list) is checked here, at symbolic use.
                self._check_additive(argument, tensors[argument], in_graph=False)
        output = keras.KerasTensor(self._output_shape_for(shapes["query"]), self.compute_dtype)
        if not return_attention_scores:
            return output
        scores_shape = geometry.scores_shape(rank, axes, self._num_heads, shapes)
        return output, keras.KerasTensor(scores_shape, self.compute_dtype)


class _CheckedShapes:
    """Shape signatures that passed the static checks, with what the checks returned.

    A plain object, so that Keras's attribute tracking leaves it alone (it is no state
    to save). Bounded, so that calls with ever new shapes cannot grow it without end.
    """

    LIMIT = 64

    def __init__(self):
        self._entries = {}

    def get(self, signature):
        return self._entries.get(signature)

    def __contains__(self, signature):
        return signature in self._entries

    def add(self, signature, value):
        if len(self._entries) < self.LIMIT:
            self._entries[signature] = value

    def clear(self):
        self._entries.clear()


_MASK_ARGUMENTS = ("query_mask", "value_mask", "key_mask", "attention_mask")

_TENSOR_ARGUMENTS = ("query", "value", "key", *_MASK_ARGUMENTS)


def _call_arguments(args, kwargs):
    """(name, value) of the tensors and masks a call was given, positional or by name."""
    given = dict(zip(_TENSOR_ARGUMENTS, args, strict=False))
    given.update((k, v) for k, v in kwargs.items() if k in _TENSOR_ARGUMENTS)
    return [(name, value) for name, value in given.items() if value is not None]


def _as_mask(mask):
    """Masks in every form Keras takes: tensors as they are, lists and scalars as NumPy."""
    if mask is None or hasattr(mask, "shape"):
        return mask
    return np.asarray(mask)


def _shape_of(x):
    """The static shape as a tuple, or None when even the rank is unknown."""
    shape = x.shape
    if getattr(shape, "rank", 0) is None:
        return None
    return tuple(shape)


def _is_traced(x):
    """Whether ``x``'s values are unknown while this code runs (JAX tracing, TF graph)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return isinstance(x, jax.core.Tracer)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.is_tensor(x) and not hasattr(x, "numpy")
    return False


def _as_bool(mask):
    """A boolean mask; NumPy masks stay NumPy (no op to dispatch eagerly)."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    return ops.cast(mask, "bool")


def _expand_dims(mask, axis):
    if isinstance(mask, np.ndarray):
        return np.expand_dims(mask, axis)
    return ops.expand_dims(mask, axis)


def _tensorflow_eager():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.executing_eagerly()


def _built_axes(axes, rank):
    """Normalized attention axes, or Keras's default before `_build_attention` ran."""
    if axes is None:
        return tuple(range(1, rank - 1))
    return tuple(a % rank for a in axes)


def _leading_ones(x, count):
    for _ in range(count):
        x = ops.expand_dims(x, 0)
    return x


def _attention_equations(rank, axes):
    """Keras's two attention einsums for projected tensors of ``rank``.

    ``dot``: (key, query) -> scores (batch dims..., heads, query attention axes...,
    key attention axes...), attention axes in the order given; ``combine``: (scores,
    value) -> the query's layout. Returns (dot, combine, scores rank).
    """
    letters = string.ascii_lowercase
    query = list(letters[:rank])
    key = list(query)
    for j, axis in enumerate(axes):
        key[axis] = letters[rank + j]
    batch = [query[i] for i in range(rank - 2) if i not in axes]
    scores = batch + [query[rank - 2]] + [query[a] for a in axes] + [key[a] for a in axes]
    query, key, scores = "".join(query), "".join(key), "".join(scores)
    return f"{key},{query}->{scores}", f"{scores},{key}->{query}", len(scores)


def _validated_output_shape(output_shape, layer):
    if output_shape is None:
        return None
    if isinstance(output_shape, numbers.Integral) and not isinstance(output_shape, bool):
        output_shape = (output_shape,)
    if not isinstance(output_shape, (list, tuple)) or not output_shape:
        raise ShapeError(
            Problem(
                layer=layer,
                argument="output_shape",
                what="Invalid `output_shape`: it must be None, an int or a tuple or list",
                expected="None, a positive int or a non-empty tuple of them",
                received=repr(output_shape),
                fix="pass e.g. output_shape=256 or output_shape=(4, 64)",
            )
        )
    sizes = []
    for axis, size in enumerate(output_shape):
        try:
            sizes.append(geometry.as_size(size, "output_shape", layer=layer))
        except ShapeError as error:
            problem = error.problem.replace(what=f"Invalid `output_shape`: {error.problem.what}")
            if len(output_shape) > 1:
                problem = problem.replace(
                    axis=str(axis),
                    received=f"{error.problem.received} in {tuple(output_shape)}",
                )
            raise ShapeError(problem) from None
    return tuple(sizes)


def _validated_axes_type(attention_axes, layer):
    if attention_axes is None:
        return None
    if isinstance(attention_axes, numbers.Integral) and not isinstance(attention_axes, bool):
        return (int(attention_axes),)
    if isinstance(attention_axes, (list, tuple)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in attention_axes
    ):
        return tuple(int(a) for a in attention_axes)
    raise ShapeError(
        Problem(
            layer=layer,
            argument="attention_axes",
            what="invalid attention axes",
            expected="None, an int, or a list/tuple of ints",
            received=repr(attention_axes),
            fix="pass e.g. attention_axes=(1,) or None for every axis between batch and features",
        )
    )


def _input_shapes(query_shape, value_shape, key_shape):
    value_shape = tuple(value_shape)
    return {
        "query": tuple(query_shape),
        "value": value_shape,
        "key": value_shape if key_shape is None else tuple(key_shape),
    }


def _dim(x, axis):
    """A size as an int where it is static: `ops.shape` costs an op per call in eager."""
    size = x.shape[axis]
    return size if size is not None else ops.shape(x)[axis]


def _batch_and_attention(rank, axes):
    return [a for a in range(rank - 1) if a not in axes], list(axes)


def _to_heads_first(x, rank, axes, dim_last=True):
    """(B, ..., heads, dim) -> (N, heads, L, dim), and the shapes needed to undo it.

    With ``dim_last=False`` the result is (N, heads, dim, L): keys in the layout the
    logits matmul wants, in one transpose instead of two.
    """
    batch_dims, attn = _batch_and_attention(rank, axes)
    order = attn + [rank] if dim_last else [rank] + attn
    x = ops.transpose(x, batch_dims + [rank - 1] + order)
    if rank == 3:
        return x, None
    shape = ops.shape(x)
    nb = len(batch_dims)
    n = math.prod(shape[:nb]) if nb > 1 else shape[0]
    folded = shape[nb + 1 : -1] if dim_last else shape[nb + 2 :]
    length = math.prod(folded) if len(attn) > 1 else folded[0]
    dims = (length, shape[-1]) if dim_last else (shape[nb + 1], length)
    return ops.reshape(x, (n, shape[nb]) + dims), shape


def _from_heads_first(x, shape, rank, axes):
    """(N, heads, T, dim) -> (B, ..., heads, dim), the inverse of `_to_heads_first`."""
    batch_dims, attn = _batch_and_attention(rank, axes)
    perm = batch_dims + [rank - 1] + attn + [rank]
    if shape is not None:
        x = ops.reshape(x, tuple(shape[:-1]) + (_dim(x, -1),))
    inverse = [perm.index(i) for i in range(rank + 1)]
    return ops.transpose(x, inverse)


def _scores_layout(probs, q_shape, key_attn):
    """(N, H, T, S) probabilities -> (batch dims..., H, query attn..., key attn...)."""
    if q_shape is None:
        return probs
    return ops.reshape(probs, tuple(q_shape[:-1]) + key_attn)


def _mask_to_heads_first(mask, q_shape, key_attn, nb):
    """A scores-layout mask folded like the scores: (N|1, H|1, T, S) for rank > 3.

    Folded axes must be materialized first: a size-1 axis folded with a full one would
    not broadcast.
    """
    if q_shape is None:
        return mask
    heads = _dim(mask, nb)
    query_attn = tuple(q_shape[nb + 1 : -1])
    mask = ops.broadcast_to(mask, tuple(q_shape[:nb]) + (heads,) + query_attn + key_attn)
    return ops.reshape(
        mask, (math.prod(q_shape[:nb]), heads, math.prod(query_attn), math.prod(key_attn))
    )


def _additive_mask_problem(layer: str, argument: str, received: str) -> Problem:
    """A float mask holding negative values: an additive mask passed as a boolean one."""
    return Problem(
        layer=layer,
        argument=argument,
        what="a float mask with negative values is an additive mask (0 = attend, a large "
        "negative number = block), but kmha masks are boolean (True or 1 = attend); cast to "
        "bool it would invert",
        expected="a boolean mask, or numbers where nonzero means attend",
        received=received,
        fix=f"convert it: `{argument} = additive == 0` (or `additive > -1`)",
    )


def _runtime_rank_problem(layer: str, argument: str, rank: int) -> Problem:
    """A run-time input (e.g. a SavedModel request) whose rank differs from the traced one."""
    return Problem(
        layer=layer,
        argument=argument,
        what="input rank differs from the rank the layer was traced with",
        expected=f"rank {rank}",
        received=f"rank {RUNTIME_RECEIVED}",
        fix=f"send `{argument}` with rank {rank}, (batch, ..., features), as in the signature",
    )

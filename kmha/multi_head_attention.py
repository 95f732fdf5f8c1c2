"""kmha.MultiHeadAttention: Keras multi-head attention that names every shape mistake."""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings

import keras
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
    and received sizes, and a fix.

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
        self._key_dim = geometry.as_size(key_dim, "key_dim", layer=name, allow_none=True)
        self._value_dim = geometry.as_size(value_dim, "value_dim", layer=name, allow_none=True)
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
        self._attention_axes = None
        self._flash_attention = flash_attention
        if flash_attention and keras.backend.backend() == "tensorflow":
            raise ValueError(
                f"Layer `{name}`: flash_attention={flash_attention!r} is not available on the "
                "tensorflow backend. Fix: leave flash_attention=None (or False)."
            )
        if flash_attention and self._dropout > 0:
            raise ValueError(
                f"Layer `{name}`: flash attention does not support dropout (received "
                f"dropout={self._dropout}). Fix: set dropout=0.0 or flash_attention=False."
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

        # Sublayers are created here, in Keras's weight order; `build` sets their output
        # sizes once the query width is known, and builds them.
        self._query_dense = self._projection("query")
        self._key_dense = self._projection("key")
        self._gate_dense = self._projection("gate", activation="sigmoid") if use_gate else None
        self._value_dense = self._projection("value")
        self._output_dense = self._projection("attention_output", contracted_axes=2)
        self._dropout_layer = keras.layers.Dropout(
            rate=self._dropout, seed=seed, dtype=self.dtype_policy
        )

    def _projection(self, name, contracted_axes=1, activation=None):
        # Fresh initializer objects per sublayer, so that no two kernels start equal.
        def clone(obj):
            return obj.__class__.from_config(obj.get_config())

        return HeadProjection(
            None,
            contracted_axes=contracted_axes,
            activation=activation,
            use_bias=self._use_bias,
            kernel_initializer=clone(self._kernel_initializer),
            bias_initializer=clone(self._bias_initializer),
            kernel_regularizer=self._kernel_regularizer,
            bias_regularizer=self._bias_regularizer,
            kernel_constraint=self._kernel_constraint,
            bias_constraint=self._bias_constraint,
            activity_regularizer=self._activity_regularizer,
            dtype=self.dtype_policy,
            name=name,
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
        return self._head_dims.key_dim if self._head_dims else self._key_dim

    @property
    def value_dim(self):
        if self._head_dims:
            return self._head_dims.value_dim
        return self._value_dim if self._value_dim is not None else self._key_dim

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
        return (
            self._attention_axes if self._attention_axes is not None else self._attention_axes_arg
        )

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
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
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

    def build(self, query_shape, value_shape, key_shape=None):
        """Check the input shapes against each other and the config, then build weights.

        Args:
            query_shape: Shape of `query`.
            value_shape: Shape of `value`.
            key_shape: Shape of `key`; defaults to `value_shape`.
        """
        shapes = _input_shapes(query_shape, value_shape, key_shape)
        rank, axes = self._check_structure(shapes)
        self._check_static(geometry.input_rules(rank, axes, key_shape is not None), shapes)
        if self._flash_attention and rank != 3:
            raise ShapeError(
                Problem(
                    layer=self.name,
                    argument="query",
                    what="flash attention takes (batch, sequence, features) inputs only",
                    expected="rank 3",
                    received=f"rank {rank}",
                    fix="set flash_attention=False for inputs of other ranks",
                )
            )
        widths = {}
        for argument in ("query", "value", "key"):
            width = shapes[argument][-1]
            if width is None:
                raise ShapeError(
                    Problem(
                        layer=self.name,
                        argument=argument,
                        axis=f"{rank - 1} (features)",
                        what="the feature axis must be known to size the weights",
                        expected="an int",
                        received="None",
                        fix=f"give `{argument}` a fixed last dimension, e.g. "
                        "keras.Input(shape=(None, 64))",
                    )
                )
            widths[argument] = int(width)
        dims = geometry.resolve_head_dims(
            layer=self.name,
            num_heads=self._num_heads,
            num_key_value_heads=self._num_key_value_heads,
            key_dim=self._key_dim,
            value_dim=self._value_dim,
            d_model=self._d_model,
            query_width=widths["query"],
        )
        self._head_dims = dims
        self._attention_axes = axes
        heads, kv_heads = dims.num_heads, dims.num_key_value_heads
        plan = [
            (self._query_dense, (heads, dims.key_dim), shapes["query"]),
            (self._key_dense, (kv_heads, dims.key_dim), shapes["key"]),
            (self._gate_dense, (heads, dims.value_dim), shapes["query"]),
            (self._value_dense, (kv_heads, dims.value_dim), shapes["value"]),
        ]
        for projection, output_dims, input_shape in plan:
            if projection is not None:
                projection.output_dims = output_dims
                projection.build(input_shape)
        self._output_dense.output_dims = geometry.output_feature_shape(
            self._output_shape, widths["query"]
        )
        self._output_dense.build(shapes["query"][:-1] + (heads, dims.value_dim))
        self._built_widths = widths
        self._built_rank = rank
        self._scale = 1.0 / math.sqrt(float(dims.key_dim))

    def _check_structure(self, shapes, use_causal_mask=False):
        """Ranks, attention axes and mask ranks: what must be settled before any rule."""
        rank = len(shapes["query"])
        geometry.check_rank(self.name, "query", rank)
        if self._built_rank is not None:
            geometry.check_built_rank(self.name, "query", rank, self._built_rank)
        for argument in ("value", "key"):
            geometry.check_rank(self.name, argument, len(shapes[argument]), expected=rank)
        axes = geometry.normalize_attention_axes(self.name, self._attention_axes_arg, rank)
        geometry.check_position_masks(self.name, axes, use_causal_mask, self._sliding_window)
        for argument in geometry.PADDING_MASK_SOURCES:
            if argument in shapes:
                problem = geometry.padding_mask_rank_problem(
                    self.name, argument, len(shapes[argument]), rank
                )
                if problem:
                    raise ShapeError(problem)
        if "attention_mask" in shapes:
            problem = geometry.attention_mask_problem(
                self.name, shapes["attention_mask"], rank, axes, self._num_heads, shapes
            )
            if problem:
                raise ShapeError(problem)
            ambiguity = geometry.attention_mask_ambiguity(
                self.name,
                shapes["attention_mask"],
                geometry.scores_shape(rank, axes, self._num_heads, shapes),
            )
            if ambiguity:
                warnings.warn(ambiguity, UserWarning, stacklevel=2)
        return rank, axes

    def _call_rules(self, shapes, rank, axes, has_key):
        rules = geometry.input_rules(rank, axes, has_key)
        rules += geometry.built_width_rules(rank, self._built_widths)
        for argument in geometry.PADDING_MASK_SOURCES:
            if argument in shapes:
                rules += geometry.padding_mask_rules(argument, rank)
        if "attention_mask" in shapes:
            rules += geometry.attention_mask_rules(
                rank, axes, self._num_heads, len(shapes["attention_mask"])
            )
        return rules

    def _check_static(self, rules, shapes):
        """Raise ShapeError for the first rule broken by known sizes; return the rules
        whose sizes are unknown until run time."""
        open_rules = []
        for rule in rules:
            problem = rule.broken_by(self.name, shapes)
            if problem:
                raise ShapeError(problem)
            if None in rule.sizes(shapes):
                open_rules.append(rule)
        return open_rules

    def _validate(self, tensors, has_key, use_causal_mask):
        """All call-time checks. Returns the tensors, gated by graph assertions when
        some sizes are only known at run time."""
        shapes = {k: tuple(v.shape) for k, v in tensors.items()}
        rank, axes = self._check_structure(shapes, use_causal_mask)
        open_rules = self._check_static(self._call_rules(shapes, rank, axes, has_key), shapes)
        if not open_rules or not graph_assertions.supported():
            return tensors
        assertions = []
        mask_rules = [rule for rule in open_rules if rule.argument == "attention_mask"]
        if mask_rules:
            assertions.append(self._attention_mask_assertion(tensors, shapes, rank, axes))
        for rule in open_rules:
            if rule.argument == "attention_mask":
                continue
            received, expected = rule.sizes(shapes)
            problem = rule.problem(
                self.name,
                RUNTIME_RECEIVED if received is None else received,
                RUNTIME_EXPECTED if expected is None else expected,
            )
            if isinstance(rule.reference, int):
                reference = rule.reference
            else:
                reference = (tensors[rule.reference[0]], rule.reference[1])
            assertions.append(
                graph_assertions.assert_dim(
                    problem, (tensors[rule.argument], rule.axis), reference, rule.broadcast
                )
            )
        names = list(tensors)
        gated = graph_assertions.after(assertions, [tensors[n] for n in names])
        return dict(zip(names, gated, strict=True))

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
            "query_mask": query_mask,
            "value_mask": value_mask,
            "key_mask": key_mask,
            "attention_mask": attention_mask,
        }
        t = self._validate(
            {k: v for k, v in given.items() if v is not None}, has_key, use_causal_mask
        )
        rank, axes = len(query.shape), self._attention_axes
        q = self._query_dense(t["query"])
        k = self._key_dense(t["key"])
        v = self._value_dense(t["value"])
        mask = self._scores_mask(t, rank, axes, use_causal_mask)
        output, scores = self._attend(q, k, v, mask, rank, axes, training, return_attention_scores)
        if self._gate_dense is not None:
            output = output * self._gate_dense(t["query"])
        output = self._output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def _scores_mask(self, tensors, rank, axes, use_causal_mask):
        """Every mask source ANDed into one boolean mask in the scores layout
        (batch dims..., H, query attention dims..., key attention dims...), or None."""
        batch_dims = [a for a in range(rank - 1) if a not in axes]
        n_attn = len(axes)
        masks = []

        def padding(mask, is_query):
            mask = ops.cast(mask, "bool")
            mask = ops.transpose(mask, batch_dims + list(axes)) if rank > 3 else mask
            mask = ops.expand_dims(mask, len(batch_dims))  # heads
            for _ in range(n_attn):
                # Query masks get size-1 key axes after them; value/key masks get size-1
                # query axes before them.
                mask = ops.expand_dims(mask, -1 if is_query else len(batch_dims) + 1)
            return mask

        if "query_mask" in tensors:
            masks.append(padding(tensors["query_mask"], True))
        for name in ("value_mask", "key_mask"):
            if name in tensors:
                masks.append(padding(tensors[name], False))
        if use_causal_mask or self._sliding_window:
            masks.append(self._position_mask(tensors, rank, axes, use_causal_mask))
        if "attention_mask" in tensors:
            mask = ops.cast(tensors["attention_mask"], "bool")
            scores_rank = len(batch_dims) + 1 + 2 * n_attn
            for _ in range(scores_rank - len(mask.shape)):
                mask = ops.expand_dims(mask, -2 * n_attn - 1)
            masks.append(mask)
        if not masks:
            return None
        combined = masks[0]
        for mask in masks[1:]:
            combined = ops.logical_and(combined, mask)
        return combined

    def _position_mask(self, tensors, rank, axes, causal):
        axis = axes[0]
        rows = ops.expand_dims(ops.arange(_dim(tensors["query"], axis)), 1)
        cols = ops.expand_dims(ops.arange(_dim(tensors["value"], axis)), 0)
        mask = None
        if causal:
            mask = ops.greater_equal(rows, cols)
        if self._sliding_window:
            band = ops.less(ops.abs(rows - cols), self._sliding_window)
            mask = band if mask is None else ops.logical_and(mask, band)
        batch_dims = [a for a in range(rank - 1) if a not in axes]
        return ops.reshape(mask, (1,) * (len(batch_dims) + 1) + (_dim(mask, 0), _dim(mask, 1)))

    def _attend(self, q, k, v, mask, rank, axes, training, return_scores):
        """Scaled dot-product attention on projected (B, ..., heads, dim) tensors.

        Works on (N, heads, T, dim) views: N folds the batch-like axes, T and S fold the
        attention axes (for rank-3 inputs these are plain transposes). Grouped key/value
        heads are shared by folding each group's query heads into the T axis instead of
        repeating keys and values.
        """
        if self._flash_attention:
            if return_scores:
                raise ValueError(
                    f"Layer `{self.name}`: flash attention cannot return attention scores. "
                    "Fix: set flash_attention=False, or return_attention_scores=False."
                )
            return self._fused_attention(q, k, v, mask), None
        heads = self._num_heads
        kv_heads = self.num_key_value_heads
        group = heads // kv_heads
        q4, q_shape = _to_heads_first(
            q * ops.convert_to_tensor(self._scale, dtype=q.dtype), rank, axes
        )
        k4, k_shape = _to_heads_first(k, rank, axes, dim_last=False)
        v4, _ = _to_heads_first(v, rank, axes)
        if group > 1:
            n, t, s = _dim(q4, 0), _dim(q4, 2), _dim(k4, 3)
            q4 = ops.reshape(q4, (n, kv_heads, group * t, _dim(q4, 3)))
        logits = ops.einsum("nhtk,nhks->nhts", q4, k4)
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
        out4 = ops.einsum("nhts,nhsv->nhtv", dropped, v4)
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

    def _fused_attention(self, q, k, v, mask):
        """The backend's fused kernel on (B, T, heads, dim) tensors (JAX and PyTorch)."""
        if mask is not None:
            # (B|1, H|1, T, S): batch and sequence axes materialized, heads kept as given.
            mask = ops.broadcast_to(mask, (_dim(q, 0), _dim(mask, 1), _dim(q, 1), _dim(k, 1)))
        output = ops.dot_product_attention(
            q, k, v, mask=mask, scale=self._scale, flash_attention=True
        )
        if mask is None:
            return output
        # As in `_attend`: a query row with no key to attend gets zeros.
        row_valid = ops.transpose(ops.any(mask, axis=-1), (0, 2, 1))  # (B, T, H|1)
        return ops.where(ops.expand_dims(row_valid, -1), output, 0.0)

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        shapes = _input_shapes(query_shape, value_shape, key_shape)
        rank, axes = self._check_structure(shapes)
        self._check_static(self._call_rules(shapes, rank, axes, key_shape is not None), shapes)
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
            "query_mask": query_mask,
            "value_mask": value_mask,
            "key_mask": key_mask,
            "attention_mask": attention_mask,
        }
        shapes = {k: tuple(v.shape) for k, v in tensors.items() if v is not None}
        rank, axes = self._check_structure(shapes, use_causal_mask)
        self._check_static(self._call_rules(shapes, rank, axes, key is not None), shapes)
        output = keras.KerasTensor(self._output_shape_for(shapes["query"]), self.compute_dtype)
        if not return_attention_scores:
            return output
        scores_shape = geometry.scores_shape(rank, axes, self._num_heads, shapes)
        return output, keras.KerasTensor(scores_shape, self.compute_dtype)


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
                what="invalid output shape",
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
            if len(output_shape) == 1:
                raise
            problem = dataclasses.replace(
                error.problem,
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

"""The geometry of multi-head attention: which sizes must agree, and how to say so.

This module is the one source of truth for the layer (`kmha.MultiHeadAttention`) and the
linter (`kmha-lint`). It is pure Python: it imports neither TensorFlow nor Keras, and it
works on plain shapes (tuples whose unknown dimensions are ``None``).

Naming used throughout: B batch, T query length, S key/value length, H query heads,
Hkv key/value heads, D query width, K key_dim (per head), V value_dim (per head).
"""

from __future__ import annotations

from collections.abc import Sequence

from kmha_lint.problem import Problem, ShapeError
from kmha_lint.record import Record

Shape = tuple[int | None, ...]


def is_int(value: object) -> bool:
    """An integer and not a bool: a Python int, or any ``numbers.Integral`` (NumPy's)."""
    return type(value) is int or _is_number(value, int, "Integral")


def is_number(value: object) -> bool:
    """A real number and not a bool: int, float, or any ``numbers.Real`` (NumPy's)."""
    return type(value) in (int, float) or _is_number(value, (int, float), "Real")


def _is_number(value: object, python_types, abstract: str) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, python_types):
        return True
    if type(value).__module__ == "builtins":
        return False  # str, list, None...: parsed JSON is settled without the numbers module
    import numbers  # a NumPy or other registered number (the layer's case)

    return isinstance(value, getattr(numbers, abstract))


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def as_size(value: object, argument: str, *, layer: str, allow_none: bool = False) -> int | None:
    """Return ``value`` as a positive Python int, or raise ShapeError.

    NumPy integers are accepted; ``bool``, floats (even 8.0) and strings are not, because a
    config that carries them is almost always a typo or a serialization bug.
    """
    if value is None and allow_none:
        return None
    if is_int(value) and value > 0:
        return int(value)
    expected = "a positive integer" + (" or None" if allow_none else "")
    if is_int(value):
        fix = f"pass `{argument}` >= 1"
    else:
        fix = f"pass `{argument}` as an int, e.g. {argument}=8"
    raise ShapeError(
        Problem(
            layer=layer,
            argument=argument,
            what="invalid size",
            expected=expected,
            received=f"{_show(value)} ({type(value).__name__})",
            fix=fix,
        )
    )


def as_rate(value: object, argument: str, *, layer: str) -> float:
    """Return a dropout rate in [0, 1) as a float, or raise ShapeError."""
    ok = is_number(value) and 0.0 <= value < 1.0
    if ok:
        return float(value)
    raise ShapeError(
        Problem(
            layer=layer,
            argument=argument,
            what="invalid rate",
            expected="a float in [0, 1)",
            received=f"{_show(value)} ({type(value).__name__})",
            fix=f"pass `{argument}` as a fraction, e.g. {argument}=0.1 (0 disables it)",
        )
    )


def valid_head_counts(width: int, near: int, count: int = 4) -> list[int]:
    """The head counts that divide ``width``, nearest to ``near`` first (ties: smaller)."""
    divisors = [d for d in range(1, width + 1) if width % d == 0]
    return sorted(sorted(divisors, key=lambda d: (abs(d - near), d))[:count])


def heads_divide_width(
    layer: str, width: int, heads: int, *, width_argument: str, heads_argument: str
) -> int:
    """The head size ``width / heads`` where a config derives it and needs it exact.

    Hyperparameter configs (KerasHub, transformers) name the sizes their own way, hence the
    argument names. Raises ShapeError when ``heads`` does not divide ``width``.
    """
    if width % heads:
        choices = ", ".join(map(str, valid_head_counts(width, heads)))
        raise ShapeError(
            Problem(
                layer=layer,
                argument=heads_argument,
                what=f"{width_argument}={width} is not divisible by {heads_argument}, so the "
                f"head size ({width_argument} / {heads_argument}) is not a whole number",
                expected=f"a divisor of {width}",
                received=str(heads),
                fix=f"use {heads_argument} in {choices}, or change {width_argument}",
            )
        )
    return width // heads


def floored_head_size(width: int, heads: int) -> tuple[int, int]:
    """``(width // heads, features lost)``: where a head size is floored, the attention
    projects to ``heads * (width // heads)`` features, ``width % heads`` fewer than width."""
    return width // heads, width - heads * (width // heads)


def rotary_dim(layer: str, head_size: int, fraction: float, *, argument: str) -> int:
    """The rotated features per head, ``int(head_size * fraction)``; raises ShapeError when
    it is odd (rotary embeddings rotate feature pairs)."""
    rotated = int(head_size * fraction)
    if rotated % 2:
        raise ShapeError(
            Problem(
                layer=layer,
                argument=argument,
                what=f"the rotary dimension int({head_size} * {fraction}) = {rotated} is odd, "
                "and rotary embeddings rotate pairs of features",
                expected="an even rotary dimension",
                received=str(rotated),
                fix="choose a head size or rotary fraction whose product is even",
            )
        )
    return rotated


class HeadDims(Record):
    """Resolved per-head sizes of one attention layer."""

    __slots__ = ("num_heads", "num_key_value_heads", "key_dim", "value_dim")

    def __init__(self, num_heads: int, num_key_value_heads: int, key_dim: int, value_dim: int):
        self.num_heads, self.num_key_value_heads = num_heads, num_key_value_heads
        self.key_dim, self.value_dim = key_dim, value_dim


def check_key_value_heads(layer: str, num_heads: int, num_key_value_heads: int | None) -> int:
    """Grouped-query attention needs ``num_heads`` to be a multiple of the key/value heads."""
    if num_key_value_heads is None:
        return num_heads
    if num_heads % num_key_value_heads:
        choices = [d for d in valid_head_counts(num_heads, num_key_value_heads)]
        raise ShapeError(
            Problem(
                layer=layer,
                argument="num_key_value_heads",
                what=f"num_heads={num_heads} is not a multiple of num_key_value_heads",
                expected=f"a divisor of num_heads={num_heads}",
                received=str(num_key_value_heads),
                fix="use num_key_value_heads in "
                + ", ".join(map(str, choices))
                + " (1 is multi-query attention), or change num_heads",
            )
        )
    return num_key_value_heads


def resolve_head_dims(
    *,
    layer: str,
    num_heads: int,
    num_key_value_heads: int | None,
    key_dim: int | None,
    value_dim: int | None,
    d_model: int | None,
    query_width: int | None,
) -> HeadDims:
    """Work out key_dim and value_dim, checking d_model and divisibility on the way.

    ``key_dim`` omitted means the d_model/num_heads style: each head gets an equal slice
    of the query width, so that width must be divisible by ``num_heads``.
    """
    kv_heads = check_key_value_heads(layer, num_heads, num_key_value_heads)
    if d_model is not None and query_width is not None and query_width != d_model:
        raise ShapeError(
            Problem(
                layer=layer,
                argument="query",
                axis="-1 (features)",
                what="the query width differs from the declared d_model",
                expected=f"d_model={d_model}",
                received=str(query_width),
                fix=f"project the query to {d_model} features first, or set d_model={query_width}",
            )
        )
    if key_dim is None:
        width = d_model if d_model is not None else query_width
        if width is None:
            raise ShapeError(
                Problem(
                    layer=layer,
                    argument="key_dim",
                    what="key_dim cannot be derived without a known query width",
                    expected="a known last axis of `query`, or d_model, or key_dim",
                    received="an unknown query width (None)",
                    fix="give the query input a fixed last dimension, or pass key_dim or d_model",
                )
            )
        if width % num_heads:
            choices = ", ".join(map(str, valid_head_counts(width, num_heads)))
            raise ShapeError(
                Problem(
                    layer=layer,
                    argument="num_heads",
                    what=f"the query width {width} is not divisible by num_heads, so key_dim "
                    "(width / num_heads) is not a whole number",
                    expected=f"a divisor of {width}",
                    received=str(num_heads),
                    fix=f"use num_heads in {choices}, or pass key_dim explicitly",
                )
            )
        key_dim = width // num_heads
    return HeadDims(
        num_heads=num_heads,
        num_key_value_heads=kv_heads,
        key_dim=key_dim,
        value_dim=value_dim if value_dim is not None else key_dim,
    )


def normalize_attention_axes(layer: str, attention_axes: object, rank: int) -> tuple[int, ...]:
    """Attention axes as non-negative indices into an input of ``rank`` dims, in the order
    given (as Keras keeps them; a repeated axis is kept once).

    ``None`` means every axis between batch (0) and features (rank - 1). Negative axes count
    from the end of the input, as in NumPy. The order sets the layout of the attention
    scores and of ``attention_mask``: (batch dims..., H, query attention axes in this
    order..., key attention axes in this order...).
    """
    if attention_axes is None:
        return tuple(range(1, rank - 1))
    axes = (attention_axes,) if is_int(attention_axes) else attention_axes
    valid = "axis 1 (or -2)" if rank == 3 else f"axes 1..{rank - 2} (or -{rank - 1}..-2)"
    normalized = []
    for axis in axes:
        if not is_int(axis):
            received = f"{_show(axis)} ({type(axis).__name__})"
        elif not -rank <= axis < rank:
            received = f"{axis}, outside an input of rank {rank}"
        elif axis % rank in (0, rank - 1):
            part = "batch" if axis % rank == 0 else "feature"
            received = f"{axis}, the {part} axis"
        else:
            normalized.append(int(axis) % rank)
            continue
        raise ShapeError(
            Problem(
                layer=layer,
                argument="attention_axes",
                what=f"invalid attention axis for rank-{rank} inputs",
                expected=valid,
                received=received,
                fix="use attention_axes=1 or None: with rank-3 inputs the sequence is the only "
                "axis to attend over"
                if rank == 3
                else f"pick attention axes among {valid}, or None for all of them",
            )
        )
    if not normalized:
        raise ShapeError(
            Problem(
                layer=layer,
                argument="attention_axes",
                what="no attention axis given",
                expected=valid,
                received=_show(attention_axes),
                fix="pass None to attend over every axis between batch and features",
            )
        )
    return tuple(dict.fromkeys(normalized))


def check_position_masks(
    layer: str, attention_axes: tuple[int, ...], use_causal_mask: bool, sliding_window: object
) -> None:
    """Causal and sliding-window masks compare query and key positions along one axis."""
    named = [
        name
        for name, on in (("use_causal_mask", use_causal_mask), ("sliding_window", sliding_window))
        if on
    ]
    if not named or len(attention_axes) == 1:
        return
    raise ShapeError(
        Problem(
            layer=layer,
            argument=named[0],
            what=f"{' and '.join(named)} need{'s' if len(named) == 1 else ''} a single "
            "attention axis",
            expected="one attention axis",
            received=f"attention_axes={attention_axes}",
            fix="attend over one axis, or build the mask yourself and pass attention_mask",
        )
    )


def check_rank(layer: str, argument: str, rank: int, expected: int | None = None) -> None:
    """Inputs are (B, ..., features) with at least one axis to attend over."""
    if expected is None and rank < 3:
        problem = Problem(
            layer=layer,
            argument=argument,
            what="input rank is too small",
            expected="rank >= 3, e.g. (batch, sequence, features)",
            received=f"rank {rank}",
            fix=f"add a sequence axis, e.g. `ops.expand_dims({argument}, 1)` for a single token",
        )
    elif expected is not None and rank != expected:
        problem = Problem(
            layer=layer,
            argument=argument,
            what="input rank differs from `query`",
            expected=f"rank {expected}, like `query`",
            received=f"rank {rank}",
            fix="give query, value and key the same rank (batch, ..., features)",
        )
    else:
        return
    raise ShapeError(problem)


def check_built_rank(layer: str, argument: str, rank: int, built_rank: int) -> None:
    """The projections' weights and equations are fixed for the rank seen at build."""
    if rank == built_rank:
        return
    raise ShapeError(
        Problem(
            layer=layer,
            argument=argument,
            what="input rank differs from the rank this layer was built for",
            expected=f"rank {built_rank}",
            received=f"rank {rank}",
            fix=f"call the layer with rank-{built_rank} inputs, or build a new layer for "
            f"rank-{rank} inputs",
        )
    )


def output_feature_shape(output_shape: object, query_width: int | None) -> Shape:
    """Trailing output dims: ``output_shape`` if given, else the query width."""
    if output_shape is None:
        return (query_width,)
    if is_int(output_shape):
        return (int(output_shape),)
    return tuple(output_shape)


class DimRule(Record):
    """One axis of one argument that must equal an axis of another (or a constant).

    ``reference`` is ``(argument, axis)`` or an int. With ``broadcast`` the axis may also
    be 1. The layer checks rules on static shapes in Python and on dynamic ones as graph
    assertions; the linter checks them on config shapes. Both build messages with
    :meth:`problem`.
    """

    __slots__ = ("argument", "axis", "label", "reference", "fix", "broadcast", "reference_text")

    def __init__(
        self,
        argument: str,
        axis: int,
        label: str,
        reference: tuple[str, int] | int,
        fix: str,
        broadcast: bool = False,
        reference_text: str | None = None,
    ):
        self.argument, self.axis, self.label, self.reference = argument, axis, label, reference
        self.fix, self.broadcast, self.reference_text = fix, broadcast, reference_text

    def sizes(self, shapes: dict[str, Shape]) -> tuple[int | None, int | None]:
        """(received, expected) from static shapes; None where a size is unknown."""
        received = shapes[self.argument][self.axis]
        if isinstance(self.reference, int):
            return received, self.reference
        ref_argument, ref_axis = self.reference
        return received, shapes[ref_argument][ref_axis]

    def broken_by(self, layer: str, shapes: dict[str, Shape]) -> Problem | None:
        """The problem when known sizes break the rule; None when they keep it or are unknown."""
        received, expected = self.sizes(shapes)
        if received is None or expected is None or received == expected:
            return None
        if self.broadcast and received == 1:
            return None
        return self.problem(layer, received, expected)

    def problem(self, layer: str, received: object, expected: object) -> Problem:
        if self.reference_text is not None:
            source = self.reference_text
        elif isinstance(self.reference, int):
            source = "a fixed size"
        else:
            ref_arg, ref_axis = self.reference
            source = f"axis {ref_axis} of `{ref_arg}`"
        return Problem(
            layer=layer,
            argument=self.argument,
            axis=f"{self.axis} ({self.label})",
            what=f"size does not match {source}",
            expected=f"1 or {expected}" if self.broadcast else str(expected),
            received=str(received),
            fix=self.fix,
        )


def input_rules(rank: int, attention_axes: tuple[int, ...], has_key: bool) -> list[DimRule]:
    """Rules tying value and key to query: batch, non-attended axes, and key vs value."""
    rules = [
        DimRule("value", 0, "batch", ("query", 0), "give query, value and key the same batch size")
    ]
    for axis in range(1, rank - 1):
        if axis not in attention_axes:
            rules.append(
                DimRule(
                    "value",
                    axis,
                    "not attended",
                    ("query", axis),
                    "axes outside attention_axes are batch-like: make them equal, or attend "
                    "over this axis too",
                )
            )
    if has_key:
        rules.append(
            DimRule(
                "key", 0, "batch", ("query", 0), "give query, value and key the same batch size"
            )
        )
        for axis in range(1, rank - 1):
            rules.append(
                DimRule(
                    "key",
                    axis,
                    "sequence" if rank == 3 else "non-feature",
                    ("value", axis),
                    "key and value must have the same shape except the last (feature) axis; "
                    "each key position needs a value",
                )
            )
    return rules


# Each padding mask argument and the input whose positions it marks.
PADDING_MASK_SOURCES = {"query_mask": "query", "value_mask": "value", "key_mask": "key"}


def padding_mask_rules(argument: str, rank: int) -> list[DimRule]:
    """``query_mask`` is (B, T) for query, ``value_mask``/``key_mask`` are (B, S)."""
    source = PADDING_MASK_SOURCES[argument]
    labels = ["batch"] + ["sequence" if rank == 3 else "non-feature"] * (rank - 2)
    return [
        DimRule(
            argument,
            axis,
            labels[axis],
            (source, axis),
            f"pass a mask shaped like `{source}` without its feature axis",
        )
        for axis in range(rank - 1)
    ]


def scores_axes(
    rank: int, attention_axes: tuple[int, ...], num_heads: int
) -> list[tuple[str, tuple[str, int] | int]]:
    """(label, source) for each axis of the attention scores.

    The scores are (batch dims..., H, query attention dims..., key attention dims...);
    for rank-3 inputs that is (B, H, T, S).
    """
    batch_dims = [a for a in range(rank - 1) if a not in attention_axes]
    axes: list[tuple[str, tuple[str, int] | int]] = [
        ("B" if a == 0 else f"query axis {a}", ("query", a)) for a in batch_dims
    ]
    axes.append(("H", num_heads))
    single = len(attention_axes) == 1
    axes += [("T" if single else f"T{a}", ("query", a)) for a in attention_axes]
    axes += [("S" if single else f"S{a}", ("value", a)) for a in attention_axes]
    return axes


def attention_mask_rules(
    rank: int, attention_axes: tuple[int, ...], num_heads: int, mask_rank: int
) -> list[DimRule]:
    """Per-axis rules for ``attention_mask``, aligned as Keras aligns it.

    A mask of lower rank than the scores gets size-1 axes inserted just before the
    attention axes (so (B, T, S) means (B, 1, T, S) and (T, S) means (1, 1, T, S)).
    """
    labels, sources, form = attention_mask_layout(rank, attention_axes, num_heads)
    missing = len(labels) - mask_rank
    insert_at = len(labels) - 2 * len(attention_axes) - 1
    kept = [i for i in range(len(labels)) if not (insert_at - missing < i <= insert_at)]
    return [
        DimRule(
            "attention_mask",
            mask_axis,
            labels[score_axis],
            sources[score_axis],
            f"pass an attention_mask that broadcasts to {form}",
            broadcast=True,
        )
        for mask_axis, score_axis in enumerate(kept)
    ]


class MaskMixUp(Record):
    """A mask-shape mistake recognised by size equalities, with what to say about it."""

    __slots__ = ("what", "fix", "equal", "unequal")

    def __init__(
        self,
        what: str,
        fix: str,
        equal: list[tuple[object, object]],
        unequal: list[tuple[object, object]],
    ):
        self.what, self.fix, self.equal, self.unequal = what, fix, equal, unequal


def mask_mix_ups(mask_dims: Sequence, sizes: Sequence) -> list[MaskMixUp]:
    """The classic attention_mask mistakes, for (B, H, T, S) scores.

    Sizes may be ints or run-time tensors: each mix-up is described by equalities so the
    layer can test them in Python or in a graph.
    """
    if len(sizes) != 4:
        return []
    batch, _, query_len, key_len = sizes
    mix_ups = []
    if len(mask_dims) == 2:
        mix_ups.append(
            MaskMixUp(
                "it looks like a (B, S) padding mask",
                "pass a (B, S) padding mask as `value_mask=`, not `attention_mask=`; or "
                "expand it to (B, 1, S) with `mask[:, None, :]`",
                [(mask_dims[0], batch), (mask_dims[1], key_len)],
                [],
            )
        )
        mix_ups.append(
            MaskMixUp(
                "it looks like a (B, T) query mask",
                "pass a (B, T) mask of valid query positions as `query_mask=`",
                [(mask_dims[0], batch), (mask_dims[1], query_len)],
                [],
            )
        )
    mix_ups.append(
        MaskMixUp(
            "its last two axes look swapped, (..., S, T)",
            "transpose the last two axes of the mask so that it is (..., T, S): one row per query",
            [(mask_dims[-2], key_len), (mask_dims[-1], query_len)],
            [(query_len, key_len)],
        )
    )
    return mix_ups


def attention_mask_layout(
    rank: int, attention_axes: tuple[int, ...], num_heads: int
) -> tuple[list[str], list[tuple[str, int] | int], str]:
    """Labels and size sources of the scores axes, and the usual mask forms in words."""
    axes = scores_axes(rank, attention_axes, num_heads)
    labels = [label for label, _ in axes]
    form = "(" + ", ".join(labels) + ")"
    if len(attention_axes) == 1 and len(labels) == 4:
        form += ", e.g. (B, T, S), (T, S) or (B, 1, S)"
    return labels, [source for _, source in axes], form


def attention_mask_mismatch(
    layer: str,
    *,
    labels: Sequence[str],
    what: str,
    sizes: str,
    received: str,
    fix: str,
) -> Problem:
    """The message for an attention_mask that does not broadcast to the scores."""
    return Problem(
        layer=layer,
        argument="attention_mask",
        what=what,
        expected=f"a shape that broadcasts to ({', '.join(labels)}) = {sizes}",
        received=received,
        fix=fix,
    )


def attention_mask_problem(
    layer: str,
    mask_shape: Shape,
    rank: int,
    attention_axes: tuple[int, ...],
    num_heads: int,
    dims: dict[str, Shape],
) -> Problem | None:
    """Check a whole ``attention_mask`` shape; ``dims`` maps argument names to shapes.

    Returns None when the mask broadcasts (or when unknown sizes leave it open), and
    names the likely mix-up (padding or query mask, swapped axes) when one fits.
    """
    labels, _, form = attention_mask_layout(rank, attention_axes, num_heads)
    sizes = scores_shape(rank, attention_axes, num_heads, dims)
    message = dict(
        labels=labels,
        sizes="(" + ", ".join("?" if s is None else str(s) for s in sizes) + ")",
        received=str(tuple(mask_shape)),
    )
    fix = f"pass an attention_mask that broadcasts to {form}"
    if not 2 * len(attention_axes) <= len(mask_shape) <= len(sizes):
        return attention_mask_mismatch(
            layer,
            what=f"attention_mask has rank {len(mask_shape)}, but it needs one axis per "
            "query and key attention axis and at most one per scores axis",
            fix=fix,
            **message,
        )
    for rule in attention_mask_rules(rank, attention_axes, num_heads, len(mask_shape)):
        got = mask_shape[rule.axis]
        want = sizes[labels.index(rule.label)]
        if got is None or want is None or got in (1, want):
            continue
        what = f"attention_mask axis {rule.axis} ({rule.label}) does not broadcast"
        for mix_up in mask_mix_ups(mask_shape, sizes):
            if all(a == b for a, b in mix_up.equal) and all(a != b for a, b in mix_up.unequal):
                what, fix = f"{what}; {mix_up.what}", mix_up.fix
                break
        return attention_mask_mismatch(layer, what=what, fix=fix, **message)
    return None


def scores_shape(
    rank: int, attention_axes: tuple[int, ...], num_heads: int, dims: dict[str, Shape]
) -> tuple[int | None, ...]:
    """The attention scores' shape, (B, H, T, S) for rank-3 inputs, from the input shapes."""
    return tuple(
        src if isinstance(src, int) else dims[src[0]][src[1]]
        for _, src in scores_axes(rank, attention_axes, num_heads)
    )


def attention_mask_ambiguity(layer: str, mask_shape: Shape, sizes: Shape) -> str | None:
    """A warning when a 2-D attention_mask fits both (T, S) and a (B, S) padding mask.

    ``sizes`` is the scores shape (:func:`scores_shape`). With B == T nothing in the shape
    tells the two apart; the mask is read as (T, S), as in Keras, and a padding mask passed
    here would be silently wrong.
    """
    if len(sizes) != 4 or len(mask_shape) != 2:
        return None
    batch, _, query_len, key_len = sizes
    if batch is None or batch != query_len or tuple(mask_shape) != (query_len, key_len):
        return None
    return (
        f"Layer `{layer}`, argument `attention_mask`: the mask {tuple(mask_shape)} is read as "
        f"(T, S), but the batch size equals T ({batch}), so it could also be a (B, S) padding "
        "mask. If it is one, pass it as `value_mask=`; if it is (T, S), pass it as (1, T, S) "
        "(`mask[None]`) to silence this warning."
    )


def built_width_rules(rank: int, built_widths: dict[str, int]) -> list[DimRule]:
    """Feature axes must keep the widths the layer's weights were built for."""
    return [
        DimRule(
            argument,
            rank - 1,
            "features",
            width,
            f"feed `{argument}` with {width} features (project or slice it first), or build a "
            "new layer for the new width"
            + (" (when `key` is omitted, `value` is used as the key)" if argument == "key" else ""),
            reference_text="the width this layer was built for",
        )
        for argument, width in built_widths.items()
    ]


def padding_mask_rank_problem(layer: str, argument: str, mask_rank: int, rank: int):
    """``query_mask`` has the rank of `query` minus the feature axis; likewise value/key."""
    source = PADDING_MASK_SOURCES[argument]
    if mask_rank == rank - 1:
        return None
    form = "(B, T)" if argument == "query_mask" else "(B, S)"
    return Problem(
        layer=layer,
        argument=argument,
        what=f"mask rank does not match `{source}`",
        expected=f"rank {rank - 1}: the shape of `{source}` without the feature axis"
        + (f", {form}" if rank == 3 else ""),
        received=f"rank {mask_rank}",
        fix=f"pass one boolean per position of `{source}` (True = attend); put (B, T, S) "
        "masks in `attention_mask`",
    )


def head_dims_rule(error: ShapeError):
    """The rule a :func:`resolve_head_dims` failure belongs to."""
    from kmha_lint import rules

    return {
        "query": rules.D_MODEL_MISMATCH,
        "num_key_value_heads": rules.KEY_VALUE_HEADS,
        "key_dim": rules.UNKNOWN_FEATURE_WIDTH,
    }.get(error.argument, rules.HEADS_DO_NOT_DIVIDE_WIDTH)


def unknown_width_problem(layer: str, argument: str, rank: int) -> Problem:
    """A weight-sized feature axis that is None (the layer and the linter both say this)."""
    return Problem(
        layer=layer,
        argument=argument,
        axis=f"{rank - 1} (features)",
        what="the feature axis must be known to size the weights",
        expected="an int",
        received="None",
        fix=f"give `{argument}` a fixed last dimension, e.g. keras.Input(shape=(None, 64))",
    )


# -- Projection weights (issue 16): what the layer builds, what `--summary` counts -------------


def projection_weight_shapes(
    widths: dict[str, int],
    dims: HeadDims,
    output_dims: Shape,
    *,
    use_bias: bool,
    use_gate: bool = False,
) -> dict[str, tuple[Shape, Shape | None]]:
    """Kernel and bias shape of each projection, in the layer's weight order.

    ``widths``: the feature widths of ``query``, ``key`` and ``value``; ``output_dims``: the
    output's trailing dims (:func:`output_feature_shape`). Query (and the gate) project to
    ``(H, K)`` / ``(H, V)``, key and value to ``(Hkv, K)`` / ``(Hkv, V)``, and the output
    contracts ``(H, V)``; a bias has the projected dims. Keras's MultiHeadAttention is the
    case Hkv = H without a gate, Keras's GroupQueryAttention the case K = V (its head_dim)
    with the query width as output.
    """
    heads, kv_heads = dims.num_heads, dims.num_key_value_heads
    plan = [
        ("query", (widths["query"],), (heads, dims.key_dim)),
        ("key", (widths["key"],), (kv_heads, dims.key_dim)),
        ("gate", (widths["query"],), (heads, dims.value_dim)),
        ("value", (widths["value"],), (kv_heads, dims.value_dim)),
        ("attention_output", (heads, dims.value_dim), tuple(output_dims)),
    ]
    return {
        name: (contracted + projected, projected if use_bias else None)
        for name, contracted, projected in plan
        if use_gate or name != "gate"
    }


def projection_params(shapes: dict[str, tuple[Shape, Shape | None]]) -> int:
    """The number of weights of :func:`projection_weight_shapes`' kernels and biases."""

    def size(shape: Shape | None) -> int:
        count = 1
        for dim in shape or ():
            count *= dim
        return count if shape is not None else 0

    return sum(size(kernel) + size(bias) for kernel, bias in shapes.values())


# -- Keras's attention_axes (issue 16): axes of the projected tensor ---------------------------


def keras_projected_axes(attention_axes: object, rank: int, keras_major: int) -> tuple[int, ...]:
    """keras.layers.MultiHeadAttention's ``attention_axes`` as non-negative indices of the
    projected query ``(batch, ..., heads, key_dim)``, which has ``rank + 1`` axes (the axes
    must be ints in range). A non-negative axis is that index; a negative one counts from the
    end: Keras 3 adds ``rank`` (-1 is the heads axis), tf.keras ``rank + 1`` (-1 is key_dim,
    -2 the heads axis). Where it names an input axis, the index is that axis."""
    if attention_axes is None:
        return tuple(range(1, rank - 1))
    axes = (attention_axes,) if is_int(attention_axes) else tuple(attention_axes)
    shift = rank if keras_major == 3 else rank + 1
    return tuple(int(a) if a >= 0 else int(a) + shift for a in axes)


def heads_axis_attention_problem(
    layer: str, projected_axes: Sequence[int], shapes: dict[str, Shape]
) -> Problem | None:
    """Keras's layer attending over the heads axis (``rank - 1`` of the projected tensor:
    ``attention_axes=[2]`` on rank-3 inputs): the axes it does not attend are batch axes of
    its einsum, so query, key and value must have the same size on each of them (T = S for
    rank-3 inputs). The first broken one, or None."""
    rank = len(shapes["query"])
    if rank - 1 not in projected_axes:
        return None
    for axis in range(1, rank - 1):
        if axis in projected_axes:
            continue
        size = shapes["query"][axis]
        for argument in ("value", "key"):
            other = shapes[argument][axis] if len(shapes[argument]) == rank else None
            if size is None or other is None or other == size:
                continue
            attended = ", ".join(map(str, sorted(projected_axes)))
            return Problem(
                layer=layer,
                argument=argument,
                axis=str(axis),
                what=f"attention_axes ({attended}) index the projected (batch, ..., heads, "
                f"key_dim) tensor, so axis {rank - 1} is the heads axis: the layer attends over "
                f"heads, and axis {axis}, not attended, is a batch axis that query, key and "
                "value must share",
                expected=f"{size}, as in `query` {_show_shape(shapes['query'])}",
                received=f"{other} ({argument} shape {_show_shape(shapes[argument])})",
                fix=f"to attend over the sequence, use attention_axes=None (or {axis}); to "
                "attend over heads, give query, key and value the same positions",
            )
    return None


def _show_shape(shape: Shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ------------------------------------------------------------------------------------------
# Multi-head latent attention (DeepSeek-V2/V3): the projection weights of one layer. Pure
# arithmetic, self-contained (issue 16); the config checks live in kmha_lint.hparams.
# ------------------------------------------------------------------------------------------


def mla_head_sizes(qk_nope_head_dim: int, qk_rope_head_dim: int, v_head_dim: int) -> tuple:
    """(query/key head size, value head size): the query and key heads are the position-free
    part and the rotary part side by side; values have their own size."""
    return qk_nope_head_dim + qk_rope_head_dim, v_head_dim


def mla_projection_params(
    width: int,
    heads: int,
    *,
    q_lora_rank: int | None,
    kv_lora_rank: int,
    qk_nope_head_dim: int,
    qk_rope_head_dim: int,
    v_head_dim: int,
    bias: bool = False,
) -> int:
    """Weights of one multi-head latent attention layer (transformers' DeepseekV2Attention /
    DeepseekV3Attention): the query, directly (``q_proj``, no bias) or through a low-rank
    bottleneck (``q_a_proj``, an RMSNorm of ``q_lora_rank``, ``q_b_proj``); the joint
    key/value down-projection that also yields the shared rotary key (``kv_a_proj_with_mqa``,
    ``kv_lora_rank + qk_rope_head_dim`` outputs), its RMSNorm; the up-projection to every
    head's position-free key and value (``kv_b_proj``); the output projection from
    ``heads * v_head_dim``. ``bias`` (attention_bias) adds biases to ``q_a_proj``,
    ``kv_a_proj_with_mqa`` and ``o_proj`` only."""
    qk, v = mla_head_sizes(qk_nope_head_dim, qk_rope_head_dim, v_head_dim)
    if q_lora_rank is None:
        query = width * heads * qk
    else:
        query = width * q_lora_rank + q_lora_rank + q_lora_rank * heads * qk
        query += q_lora_rank if bias else 0
    latent = kv_lora_rank + qk_rope_head_dim
    key_value = width * latent + (latent if bias else 0) + kv_lora_rank
    key_value += kv_lora_rank * heads * (qk_nope_head_dim + v)
    output = heads * v * width + (width if bias else 0)
    return query + key_value + output


# Keras's phrase for its key/value check, kept in every message about `key`'s shape so that
# code matching Keras's errors keeps working.
KERAS_KEY_VALUE_PHRASE = "all dimensions of `value` and `key`, except the last one, must be equal"


def with_keras_phrase(problem: Problem) -> Problem:
    """``problem`` with Keras's key/value phrase where Keras has a check for it: every
    problem about `key` except its feature axis."""
    if problem.argument != "key" or (problem.axis or "").endswith("(features)"):
        return problem
    return problem.replace(what=f"{problem.what} ({KERAS_KEY_VALUE_PHRASE})")


# ---------------------------------------------------------------------------------------
# The call check: the one sequence of checks that the layer runs (in `build` and at each
# call) and that the linter runs on a config's call sites.


class AttentionConfig(Record):
    """The settings of one attention layer that its shape checks read.

    ``num_heads`` may be None where a config's value is invalid (the schema reports it);
    ``resolve_heads`` is False for layers whose head sizes are not kmha's (Keras's own).
    """

    __slots__ = (
        "num_heads",
        "num_key_value_heads",
        "key_dim",
        "value_dim",
        "d_model",
        "attention_axes",
        "sliding_window",
        "resolve_heads",
    )

    def __init__(
        self,
        num_heads: int | None,
        num_key_value_heads: int | None = None,
        key_dim: int | None = None,
        value_dim: int | None = None,
        d_model: int | None = None,
        attention_axes: object = None,
        sliding_window: int | None = None,
        resolve_heads: bool = True,
    ):
        self.num_heads, self.num_key_value_heads = num_heads, num_key_value_heads
        self.key_dim, self.value_dim, self.d_model = key_dim, value_dim, d_model
        self.attention_axes, self.sliding_window = attention_axes, sliding_window
        self.resolve_heads = resolve_heads


# What each step of the call check is about; `call_rule` maps them to the linter's rules.
CHECKS = (
    "unknown_rank",  # an input of unknown rank (only while tracing)
    "rank",  # input ranks, attention_axes and the single axis of position masks
    "built",  # ranks and feature widths the weights were built for
    "inputs",  # batch and non-attended axes of value and key, key vs value
    "feature_width",  # a weight-sized feature axis that is None
    "head_dims",  # d_model and divisibility
    "mask",  # query/value/key masks and attention_mask
)


class CallError(ShapeError):
    """A :class:`ShapeError` from the call check, with the step (:data:`CHECKS`) it
    failed at."""

    def __init__(self, problem: Problem, check: str):
        self.check = check
        super().__init__(with_keras_phrase(problem))

    def __reduce__(self):
        return (type(self), (self.problem, self.check))


def call_rule(error: CallError):
    """The linter's rule for a call-check failure."""
    from kmha_lint import rules

    if error.check == "head_dims":
        return head_dims_rule(error)
    return {
        "unknown_rank": rules.ATTENTION_RANK_OR_AXES,
        "rank": rules.ATTENTION_RANK_OR_AXES,
        "built": rules.STALE_BUILD_SHAPE,
        "inputs": rules.KEY_VALUE_AXES,
        "feature_width": rules.UNKNOWN_FEATURE_WIDTH,
        "mask": rules.ATTENTION_MASK_SHAPE,
    }[error.check]


class CheckedCall(Record):
    """What a passed call check leaves to the caller.

    ``open_rules`` are the rules whose sizes are unknown (None) until run time, in the
    order checked; ``warning`` is a message to warn with (an ambiguous 2-D mask), or None;
    ``widths`` and ``head_dims`` are set by :func:`check_build`.
    """

    __slots__ = ("rank", "axes", "open_rules", "warning", "widths", "head_dims")

    def __init__(self, rank, axes, open_rules, warning=None, widths=None, head_dims=None):
        self.rank, self.axes, self.open_rules, self.warning = rank, axes, open_rules, warning
        self.widths, self.head_dims = widths, head_dims


def _static(layer: str, rules: list[DimRule], shapes: dict[str, Shape], check: str):
    """Raise for the first rule that known sizes break; return the rules left open."""
    open_rules = []
    for rule in rules:
        problem = rule.broken_by(layer, shapes)
        if problem:
            raise CallError(problem, check)
        if None in rule.sizes(shapes):
            open_rules.append(rule)
    return open_rules


def _structure(
    layer: str,
    shapes: dict[str, Shape | None],
    config: AttentionConfig,
    use_causal_mask: bool,
    built_rank: int | None,
) -> tuple[int, tuple[int, ...], str | None]:
    """Ranks, attention axes and mask forms: what must hold before any per-axis rule.
    Returns (rank, axes in the order given, a warning or None)."""
    for argument, shape in shapes.items():
        if shape is None:
            raise CallError(unknown_rank_problem(layer, argument, built_rank), "unknown_rank")
    rank = len(shapes["query"])
    try:
        check_rank(layer, "query", rank)
    except ShapeError as error:
        raise CallError(error.problem, "rank") from None
    if built_rank is not None:
        try:
            check_built_rank(layer, "query", rank, built_rank)
        except ShapeError as error:
            raise CallError(error.problem, "built") from None
    try:
        for argument in ("value", "key"):
            check_rank(layer, argument, len(shapes[argument]), expected=rank)
        axes = normalize_attention_axes(layer, config.attention_axes, rank)
        check_position_masks(layer, axes, use_causal_mask, config.sliding_window)
    except ShapeError as error:
        raise CallError(error.problem, "rank") from None
    for argument in PADDING_MASK_SOURCES:
        if argument in shapes:
            problem = padding_mask_rank_problem(layer, argument, len(shapes[argument]), rank)
            if problem:
                raise CallError(problem, "mask")
    warning = None
    if "attention_mask" in shapes and config.num_heads is not None:
        mask = shapes["attention_mask"]
        problem = attention_mask_problem(layer, mask, rank, axes, config.num_heads, shapes)
        if problem:
            raise CallError(problem, "mask")
        sizes = scores_shape(rank, axes, config.num_heads, shapes)
        warning = attention_mask_ambiguity(layer, mask, sizes)
    return rank, axes, warning


def check_build(
    layer: str,
    shapes: dict[str, Shape | None],
    config: AttentionConfig,
    *,
    has_key: bool,
    built_rank: int | None = None,
) -> CheckedCall:
    """The checks of ``build(query_shape, value_shape, key_shape)``, in order: ranks and
    axes, value and key against query, known feature widths, then the head sizes.

    ``shapes`` holds "query", "value" and "key" (the value's shape when key is omitted).
    Raises :class:`CallError`; returns the widths and resolved head sizes.
    """
    rank, axes, _ = _structure(layer, shapes, config, False, built_rank)
    open_rules = _static(layer, input_rules(rank, axes, has_key), shapes, "inputs")
    widths = {}
    for argument in ("query", "value", "key"):
        width = shapes[argument][-1]
        if width is None:
            raise CallError(unknown_width_problem(layer, argument, rank), "feature_width")
        widths[argument] = int(width)
    dims = None
    if config.resolve_heads and config.num_heads is not None:
        try:
            dims = resolve_head_dims(
                layer=layer,
                num_heads=config.num_heads,
                num_key_value_heads=config.num_key_value_heads,
                key_dim=config.key_dim,
                value_dim=config.value_dim,
                d_model=config.d_model,
                query_width=widths["query"],
            )
        except ShapeError as error:
            raise CallError(error.problem, "head_dims") from None
    return CheckedCall(rank, axes, open_rules, widths=widths, head_dims=dims)


def check_call(
    layer: str,
    shapes: dict[str, Shape | None],
    config: AttentionConfig,
    *,
    has_key: bool,
    use_causal_mask: bool = False,
    built_rank: int | None = None,
    built_widths: dict[str, int] | None = None,
) -> CheckedCall:
    """The checks of a call, in order: ranks, the built rank, attention axes, position
    masks, mask ranks and the attention_mask's form; then value and key against query,
    the built feature widths, and each mask axis.

    ``shapes`` maps the call's arguments (query, value, key and the masks given) to their
    static shapes, None for an unknown rank. Raises :class:`CallError` for the first
    problem known sizes show; returns the rules whose sizes are unknown until run time.
    """
    rank, axes, warning = _structure(layer, shapes, config, use_causal_mask, built_rank)
    open_rules = _static(layer, input_rules(rank, axes, has_key), shapes, "inputs")
    open_rules += _static(layer, built_width_rules(rank, built_widths or {}), shapes, "built")
    mask_rules = []
    for argument in PADDING_MASK_SOURCES:
        if argument in shapes:
            mask_rules += padding_mask_rules(argument, rank)
    if "attention_mask" in shapes and config.num_heads is not None:
        mask_rank = len(shapes["attention_mask"])
        mask_rules += attention_mask_rules(rank, axes, config.num_heads, mask_rank)
    open_rules += _static(layer, mask_rules, shapes, "mask")
    return CheckedCall(rank, axes, open_rules, warning=warning)


def unknown_rank_problem(layer: str, argument: str, built_rank: int | None) -> Problem:
    """An input whose rank is unknown while tracing (e.g. ``tf.TensorSpec(None)``)."""
    rank = built_rank or 3
    return Problem(
        layer=layer,
        argument=argument,
        what="the rank is unknown while tracing, so no shape rule can be checked",
        expected=f"a known rank (rank {rank}"
        + (
            ", the rank this layer was built for)"
            if built_rank
            else " or more: (batch, ..., features))"
        ),
        received="a tensor of unknown rank",
        fix="give the tf.function an input_signature with a rank, e.g. "
        "tf.TensorSpec([None, None, 64]), or `tf.ensure_shape` the input",
    )

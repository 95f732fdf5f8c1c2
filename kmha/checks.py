"""The layer's shape checks: what `kmha_lint.geometry` decides, applied to tensors.

`geometry.check_build` and `geometry.check_call` decide every static question (the linter
runs the same functions on configs). This module feeds them the shapes of a call's
tensors, caches what passed per layer, warns where geometry says to, and turns the rules
left open by unknown sizes into run-time checks: graph assertions under `tf.function`,
named shape ops under XLA (see `kmha.graph_assertions`). It also checks mask values (an
additive float mask) and the constructor arguments the layer validates itself.

Functions take the layer (`kmha.MultiHeadAttention`) for its name, settings
(``layer._geometry``) and built state.
"""

from __future__ import annotations

import numbers
import warnings

import keras
import numpy as np
from keras import ops
from kmha_lint import geometry
from kmha_lint.problem import RUNTIME_EXPECTED, RUNTIME_RECEIVED, Problem, ShapeError

from kmha import graph_assertions


def reject_unknown_rank(layer, args, kwargs):
    """Raise for a call input of unknown rank (`tf.TensorSpec(None)`), before Keras's
    `_maybe_build` reads every input's shape as a list and fails in TensorFlow's words.
    Only TensorFlow has tensors of unknown rank."""
    if keras.backend.backend() != "tensorflow":
        return
    for argument, value in call_arguments(args, kwargs):
        if shape_of(as_mask(value)) is None:
            raise geometry.CallError(
                geometry.unknown_rank_problem(layer.name, argument, layer._built_rank),
                "unknown_rank",
            )


def check_call(layer, shapes, has_key, use_causal_mask=False):
    """`geometry.check_call` with this layer's settings and built state."""
    return geometry.check_call(
        layer.name,
        shapes,
        layer._geometry,
        has_key=has_key,
        use_causal_mask=use_causal_mask,
        built_rank=layer._built_rank,
        built_widths=layer._built_widths,
    )


def validate(layer, tensors, has_key, use_causal_mask):
    """All call-time checks. Returns the tensors, gated by graph assertions when
    some sizes are only known at run time."""
    shapes = {k: shape_of(v) for k, v in tensors.items()}
    signature = (tuple(shapes.items()), has_key, use_causal_mask)
    checked = layer._checked.get(signature)
    if checked is None:
        checked = check_call(layer, shapes, has_key, use_causal_mask)
        if checked.warning:
            warnings.warn(checked.warning, UserWarning, stacklevel=3)
        elif None not in shapes.values():
            layer._checked.add(signature, checked)
    rank, axes, open_rules = checked.rank, checked.axes, checked.open_rules
    in_graph = graph_assertions.supported()
    if in_graph and graph_assertions.in_xla():
        # XLA drops Assert ops (and has no kernel for the string ops of their
        # messages): checks that survive are shape ops named after the check, which
        # fail while XLA compiles for the actual sizes. Mask values cannot be checked.
        return xla_checks(layer, tensors, open_rules)
    assertions = []
    for argument in MASK_ARGUMENTS:
        if argument in tensors:
            assertion = check_additive(layer, argument, tensors[argument], in_graph)
            if assertion is not None:
                assertions.append(assertion)
    if not in_graph:
        return tensors
    # Sizes fixed in a signature are checked too: a SavedModel signature function
    # does not check its inputs against its TensorSpecs.
    ranks = [
        graph_assertions.assert_rank(
            runtime_rank_problem(layer.name, argument, rank), tensors[argument], rank
        )
        for argument in ("query", "value", "key")
    ]
    fixed = geometry.built_width_rules(rank, layer._built_widths)
    if any(rule.argument == "attention_mask" for rule in open_rules):
        assertions.append(attention_mask_assertion(layer, tensors, shapes, rank, axes))
    others = [r for r in open_rules if r.argument != "attention_mask" and r not in fixed]
    for rule in fixed + others:
        received, expected = rule.sizes(shapes)
        problem = geometry.with_keras_phrase(
            rule.problem(
                layer.name,
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


def check_additive(layer, argument, mask, in_graph):
    """A float mask holding negative values is an additive mask: raise (or, when its
    values are only known at run time, return a graph assertion)."""
    dtype = keras.backend.standardize_dtype(mask.dtype)
    if "float" not in dtype or isinstance(mask, keras.KerasTensor):
        return None
    if in_graph:
        problem = additive_mask_problem(
            layer.name, argument, f"a {dtype} mask whose minimum is {RUNTIME_RECEIVED}"
        )
        return graph_assertions.assert_not_negative(problem, mask)
    if is_traced(mask):
        return None
    values = ops.convert_to_numpy(mask)
    if values.size and values.min() < 0:
        raise ShapeError(
            additive_mask_problem(
                layer.name, argument, f"a {dtype} mask whose minimum is {values.min():g}"
            )
        )
    return None


def xla_checks(layer, tensors, open_rules):
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
                layer.name,
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


def attention_mask_assertion(layer, tensors, shapes, rank, axes):
    labels, sources, form = geometry.attention_mask_layout(rank, axes, layer._num_heads)
    sizes = [
        src
        if isinstance(src, int)
        else (shapes[src[0]][src[1]] or ops.shape(tensors[src[0]])[src[1]])
        for src in sources
    ]
    rules = geometry.attention_mask_rules(
        rank, axes, layer._num_heads, len(shapes["attention_mask"])
    )
    return graph_assertions.assert_attention_mask(
        layer.name, tensors["attention_mask"], rules, sizes, labels, form
    )


def check_scores_mask(layer, mask, query, key, rank, axes):
    """A static check of the mask `_compute_attention` receives (subclasses may call
    it directly, with masks `call` never saw)."""
    signature = ("scores mask", tuple(mask.shape), tuple(query.shape), tuple(key.shape))
    if signature in layer._checked:
        return
    dims = {"query": tuple(query.shape[:-1]), "value": tuple(key.shape[:-1])}
    problem = geometry.attention_mask_problem(
        layer.name, tuple(mask.shape), rank, axes, layer._num_heads, dims
    )
    if problem:
        raise ShapeError(problem)
    layer._checked.add(signature, True)


class CheckedShapes:
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


MASK_ARGUMENTS = ("query_mask", "value_mask", "key_mask", "attention_mask")

TENSOR_ARGUMENTS = ("query", "value", "key", *MASK_ARGUMENTS)


def call_arguments(args, kwargs):
    """(name, value) of the tensors and masks a call was given, positional or by name."""
    given = dict(zip(TENSOR_ARGUMENTS, args, strict=False))
    given.update((k, v) for k, v in kwargs.items() if k in TENSOR_ARGUMENTS)
    return [(name, value) for name, value in given.items() if value is not None]


def as_mask(mask):
    """Masks in every form Keras takes: tensors as they are, lists and scalars as NumPy."""
    if mask is None or hasattr(mask, "shape"):
        return mask
    return np.asarray(mask)


def shape_of(x):
    """The static shape as a tuple, or None when even the rank is unknown."""
    shape = x.shape
    if getattr(shape, "rank", 0) is None:
        return None
    return tuple(shape)


def is_traced(x):
    """Whether ``x``'s values are unknown while this code runs (JAX tracing, TF graph)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return isinstance(x, jax.core.Tracer)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.is_tensor(x) and not hasattr(x, "numpy")
    return False


def validated_output_shape(output_shape, layer):
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


def validated_axes_type(attention_axes, layer):
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


def input_shapes(query_shape, value_shape, key_shape):
    value_shape = tuple(value_shape)
    return {
        "query": tuple(query_shape),
        "value": value_shape,
        "key": value_shape if key_shape is None else tuple(key_shape),
    }


def additive_mask_problem(layer: str, argument: str, received: str) -> Problem:
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


def runtime_rank_problem(layer: str, argument: str, rank: int) -> Problem:
    """A run-time input (e.g. a SavedModel request) whose rank differs from the traced one."""
    return Problem(
        layer=layer,
        argument=argument,
        what="input rank differs from the rank the layer was traced with",
        expected=f"rank {rank}",
        received=f"rank {RUNTIME_RECEIVED}",
        fix=f"send `{argument}` with rank {rank}, (batch, ..., features), as in the signature",
    )

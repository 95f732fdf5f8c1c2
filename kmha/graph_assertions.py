"""Run-time shape assertions for dimensions that are unknown while tracing.

Under `tf.function` with ``None`` dimensions the layer cannot compare sizes in Python, so
it places assertions in the graph. They survive SavedModel export and raise
`tf.errors.InvalidArgumentError` carrying the same message as the eager ShapeError. Other
backends trace with concrete shapes, so there the static checks already cover everything.
XLA drops `Assert` ops, so under ``jit_compile=True`` only the static checks apply.
"""

from __future__ import annotations

import re

import keras
from kmha_lint import geometry
from kmha_lint.problem import RUNTIME_EXPECTED, RUNTIME_RECEIVED, Problem, runtime_value

_TOKEN = re.compile("(\x00[a-z]+\x00)")


def supported() -> bool:
    """Whether graph assertions can be placed (TensorFlow backend, inside a graph)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def _assert(ok, problem: Problem, values: dict):
    """An op failing with ``problem``'s message, its run-time stand-ins filled from
    ``values`` (stand-in -> string tensor), unless ``ok``."""
    import tensorflow as tf

    pieces = [values.get(part, part) for part in _TOKEN.split(problem.message()) if part]
    return tf.debugging.Assert(ok, [tf.strings.join(pieces)])


def _size(tensor, axis):
    import tensorflow as tf

    return tf.shape(tensor)[axis]


def _shape_text(sizes):
    import tensorflow as tf

    joined = tf.strings.reduce_join(tf.strings.as_string(tf.stack(sizes)), separator=", ")
    return tf.strings.join(["(", joined, ")"])


def assert_dim(problem: Problem, received, expected, broadcast: bool):
    """Fail with ``problem``'s message unless the sizes match.

    ``received`` is ``(tensor, axis)``; ``expected`` is ``(tensor, axis)`` or an int.
    """
    import tensorflow as tf

    received = _size(*received)
    expected = _size(*expected) if isinstance(expected, tuple) else tf.constant(expected)
    ok = tf.equal(received, expected)
    if broadcast:
        ok = tf.logical_or(ok, tf.equal(received, 1))
    values = {
        RUNTIME_EXPECTED: tf.strings.as_string(expected),
        RUNTIME_RECEIVED: tf.strings.as_string(received),
    }
    return _assert(ok, problem, values)


def assert_attention_mask(layer: str, mask, rules, sizes, labels, form: str):
    """Fail with the same message `geometry.attention_mask_problem` gives eagerly, mix-up
    hints included, unless ``mask`` broadcasts to the scores.

    ``rules`` are the mask's per-axis rules; ``sizes`` the scores sizes (ints or scalar
    tensors) in the order of ``labels``.
    """
    import tensorflow as tf

    shape = tf.shape(mask)
    mask_dims = [shape[i] for i in range(len(mask.shape))]
    fits = tf.stack(
        [
            tf.logical_or(
                tf.equal(mask_dims[rule.axis], 1),
                tf.equal(mask_dims[rule.axis], sizes[labels.index(rule.label)]),
            )
            for rule in rules
        ]
    )
    first_bad = tf.argmin(tf.cast(fits, tf.int32))
    axis_what = tf.gather(
        [f"attention_mask axis {rule.axis} ({rule.label}) does not broadcast" for rule in rules],
        first_bad,
    )
    what, fix = axis_what, tf.constant(f"pass an attention_mask that broadcasts to {form}")
    for mix_up in reversed(geometry.mask_mix_ups(mask_dims, sizes)):
        matches = [tf.equal(a, b) for a, b in mix_up.equal]
        matches += [tf.not_equal(a, b) for a, b in mix_up.unequal]
        applies = tf.reduce_all(tf.stack(matches))
        what = tf.where(applies, tf.strings.join([axis_what, "; ", mix_up.what]), what)
        fix = tf.where(applies, mix_up.fix, fix)
    problem = geometry.attention_mask_mismatch(
        layer,
        labels=labels,
        what=runtime_value("what"),
        sizes=runtime_value("sizes"),
        received=RUNTIME_RECEIVED,
        fix=runtime_value("fix"),
    )
    values = {
        runtime_value("what"): what,
        runtime_value("fix"): fix,
        runtime_value("sizes"): _shape_text([tf.cast(s, tf.int32) for s in sizes]),
        RUNTIME_RECEIVED: _shape_text(mask_dims),
    }
    return _assert(tf.reduce_all(fits), problem, values)


def after(assertions, tensors):
    """``tensors`` (None allowed) made to depend on ``assertions``, so a bad shape fails
    with our message before any op can fail with its own."""
    import tensorflow as tf

    if not assertions:
        return tensors
    with tf.control_dependencies(assertions):
        return [None if t is None else tf.identity(t) for t in tensors]

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

from kmha.errors import RUNTIME_EXPECTED, RUNTIME_RECEIVED, Problem

_SPLIT = re.compile(f"({re.escape(RUNTIME_EXPECTED)}|{re.escape(RUNTIME_RECEIVED)})")


def supported() -> bool:
    """Whether graph assertions can be placed (TensorFlow backend, inside a graph)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def assert_dim(problem: Problem, received, expected, broadcast: bool):
    """An op failing with ``problem``'s message unless the sizes match.

    ``received`` is ``(tensor, axis)``; ``expected`` is ``(tensor, axis)`` or an int.
    ``problem`` holds :data:`RUNTIME_EXPECTED` and :data:`RUNTIME_RECEIVED` where the
    run-time sizes go.
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
    pieces = [values.get(part, part) for part in _SPLIT.split(problem.message()) if part]
    return tf.debugging.Assert(ok, [tf.strings.join(pieces)])


def after(assertions, tensors):
    """``tensors`` (None allowed) made to depend on ``assertions``, so a bad shape fails
    with our message before any op can fail with its own."""
    import tensorflow as tf

    if not assertions:
        return tensors
    with tf.control_dependencies(assertions):
        return [None if t is None else tf.identity(t) for t in tensors]


def _size(tensor, axis):
    import tensorflow as tf

    return tf.shape(tensor)[axis]

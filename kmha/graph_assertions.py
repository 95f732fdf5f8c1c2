"""Run-time shape assertions for dimensions that are unknown while tracing.

Under `tf.function` with ``None`` dimensions the layer cannot compare sizes in Python, so
it places assertions in the graph. They survive SavedModel export and raise
`tf.errors.InvalidArgumentError` carrying the same message as the eager ShapeError. Other
backends trace with concrete shapes, so there the static checks already cover everything.
XLA drops `Assert` ops, so under ``jit_compile=True`` the run-time checks are shape ops
instead (`xla_check`), named after the check: XLA fails on them while it compiles for the
actual sizes, and its error quotes the op name (layer, argument, axis, rule).
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


def in_xla() -> bool:
    """Whether the graph being traced will be compiled by XLA (``jit_compile=True``, which
    Keras's ``fit`` turns on by default when a GPU is present): Assert ops are dropped
    there."""
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


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


def assert_dim(problem: Problem, received, expected, broadcast: bool, after=()):
    """Fail with ``problem``'s message unless the sizes match.

    ``received`` is ``(tensor, axis)``; ``expected`` is ``(tensor, axis)`` or an int.
    ``after``: assertions that must pass first (e.g. the rank ones).
    """
    import tensorflow as tf

    with tf.control_dependencies(list(after)):
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


def assert_rank(problem: Problem, tensor, rank: int):
    """Fail with ``problem``'s message unless ``tensor`` has ``rank`` at run time (a
    SavedModel signature function does not check its inputs against its specs)."""
    import tensorflow as tf

    # `tf.rank` (and Rank or Size ops) fold to the traced rank, even in a SavedModel fed a
    # tensor of another rank; a sum over the run-time shape does not.
    actual = tf.reduce_sum(tf.sign(tf.abs(tf.shape(tensor)) + 1))
    values = {RUNTIME_RECEIVED: tf.strings.as_string(actual)}
    return _assert(tf.equal(actual, rank), problem, values)


def assert_not_negative(problem: Problem, mask):
    """Fail with ``problem``'s message if the float ``mask`` holds a negative value."""
    import tensorflow as tf

    smallest = tf.reduce_min(tf.concat([tf.reshape(mask, [-1]), tf.zeros([1], mask.dtype)], 0))
    values = {RUNTIME_RECEIVED: tf.strings.as_string(smallest)}
    return _assert(tf.greater_equal(smallest, 0), problem, values)


def _node_name(text: str) -> str:
    """``text`` as a TensorFlow op name (which XLA errors quote)."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text)[:600]


def xla_check(name: str, received, expected, broadcast: bool):
    """A check that survives XLA, which drops Assert ops: a reshape named ``name`` of a
    zero-filled vector of the received size into the expected size.

    XLA compiles for concrete sizes, so a mismatch fails while compiling with
    ``Input to reshape is a tensor with <received> values, but the requested shape has
    <expected>`` and ``[[{{node .../<name>}}]]``: the op name carries the layer, the
    argument, the axis and the rule. Returns a float zero to add into the data path (an
    op whose result is unused would be pruned).
    """
    import tensorflow as tf

    got = _size(*received)
    want = _size(*expected) if isinstance(expected, tuple) else tf.constant(expected)
    if broadcast:
        want = tf.where(tf.equal(got, 1), got, want)
    zeros = tf.zeros(tf.reshape(got, [1]))
    return tf.reduce_sum(tf.reshape(zeros, tf.reshape(want, [1]), name=_node_name(name)))


def depend_in_xla(tensor, checks):
    """``tensor`` plus the (zero) results of ``checks``, so that XLA keeps them."""
    import tensorflow as tf

    return tensor + tf.cast(tf.add_n(checks), tensor.dtype)


def after(assertions, tensors):
    """``tensors`` (None allowed) made to depend on ``assertions``, so a bad shape fails
    with our message before any op can fail with its own."""
    import tensorflow as tf

    if not assertions:
        return tensors
    with tf.control_dependencies(assertions):
        return [None if t is None else tf.identity(t) for t in tensors]

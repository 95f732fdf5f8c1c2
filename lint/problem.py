"""The one exception kmha raises for shape and configuration mistakes.

Pure Python: the linter imports it without TensorFlow or Keras.
"""

from __future__ import annotations

from kmha_lint.record import Record


def runtime_value(name: str) -> str:
    """A stand-in, inside a message, for a value only known when a traced graph runs.

    The layer's graph assertions split messages on these and splice in run-time strings.
    """
    return f"\x00{name}\x00"


RUNTIME_EXPECTED = runtime_value("expected")
RUNTIME_RECEIVED = runtime_value("received")


class Problem(Record):
    """What went wrong, where, and how to fix it: the parts of every kmha message.

    ``expected`` and ``received`` may contain :data:`RUNTIME_EXPECTED` and
    :data:`RUNTIME_RECEIVED` when the numbers are only known inside a running graph.
    ``problem.replace(what=...)`` gives a changed copy.
    """

    __slots__ = ("layer", "argument", "what", "expected", "received", "fix", "axis")

    def __init__(
        self,
        layer: str,
        argument: str,
        what: str,
        expected: str,
        received: str,
        fix: str,
        axis: str | None = None,
    ):
        self.layer, self.argument, self.what = layer, argument, what
        self.expected, self.received, self.fix, self.axis = expected, received, fix, axis

    def message(self) -> str:
        where = f"Layer `{self.layer}`, argument `{self.argument}`"
        if self.axis is not None:
            where += f", axis {self.axis}"
        return compose(where, self.what, self.expected, self.received, self.fix)


def compose(where: str, what: str, expected: str, received: str, fix: str) -> str:
    """A message in kmha's style: where, what went wrong, expected, received, and a fix."""
    return f"{where}: {what}. Expected {expected}; received {received}. Fix: {fix}"


class ShapeError(ValueError):
    """A shape or size mistake in a kmha layer, its inputs or its config.

    The message names the layer, the argument, the axis (where one applies), what was
    expected, what was received, and a fix; the same parts are kept as attributes so
    that tools can show them their own way.
    """

    # Keras re-raises errors from `Layer.__call__` as `type(e)(new_message)` with the call
    # arguments appended; our message already says everything, and that would drop the
    # attributes. This marker tells Keras the error is complete.
    _keras_call_info_injected = True
    # Likewise autograph re-creates errors raised while tracing; let ours through as is.
    ag_pass_through = True

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.message())

    def __reduce__(self):
        return (type(self), (self.problem,))

    @property
    def layer(self) -> str:
        return self.problem.layer

    @property
    def argument(self) -> str:
        return self.problem.argument

    @property
    def axis(self) -> str | None:
        return self.problem.axis

    @property
    def expected(self) -> str:
        return self.problem.expected

    @property
    def received(self) -> str:
        return self.problem.received

    @property
    def fix(self) -> str:
        return self.problem.fix

"""What a check reports (:class:`Issue`, by JSON Pointer) and what users see (:class:`Finding`)."""

from __future__ import annotations

from kmha_lint.problem import Problem
from kmha_lint.record import Record
from kmha_lint.rules import RULES, Rule


class Finding(Record):
    """One diagnostic, positioned in the source text: 1-based line and column of its start,
    and of its end (exclusive, as in ruff and SARIF; by default one character)."""

    __slots__ = ("path", "line", "column", "pointer", "rule", "message", "hint")
    __slots__ += ("end_line", "end_column")

    def __init__(
        self,
        path: str,
        line: int,
        column: int,
        pointer: str,
        rule: Rule,
        message: str,
        hint: str,
        end_line: int = 0,
        end_column: int = 0,
    ):
        self.path, self.line, self.column, self.pointer = path, line, column, pointer
        self.rule, self.message, self.hint = rule, message, hint
        self.end_line = end_line or line
        self.end_column = end_column if end_line else column + 1

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def severity(self) -> str:
        return self.rule.severity

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "pointer": self.pointer,
            "code": self.code,
            "name": self.rule.name,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class Issue(Record):
    """A finding before it has a position: checks speak in JSON Pointers only.

    ``rule`` is the :class:`~kmha_lint.rules.Rule` object (a code string is accepted only
    for callers outside the checks, and looked up). ``at_key`` points the finding at the
    member's key (a missing, unknown or misplaced key) rather than at its value (a wrong
    type, size or range), the convention of cfn-lint and Spectral.
    """

    __slots__ = ("rule", "pointer", "message", "hint", "at_key")

    def __init__(self, rule: Rule, pointer: str, message: str, hint: str, at_key: bool = False):
        self.rule = RULES[rule] if isinstance(rule, str) else rule
        self.pointer, self.message, self.hint, self.at_key = pointer, message, hint, at_key

    @classmethod
    def from_problem(cls, rule: Rule, pointer: str, problem: Problem, at_key: bool = False):
        """Reuse a kmha_lint.geometry Problem: the message reads exactly like the layer's error."""
        where = f"Layer `{problem.layer}`, argument `{problem.argument}`"
        if problem.axis is not None:
            where += f", axis {problem.axis}"
        message = (
            f"{where}: {problem.what}. Expected {problem.expected}; received {problem.received}."
        )
        hint = problem.fix[:1].upper() + problem.fix[1:]
        return cls(rule, pointer, message, hint if hint.endswith(".") else hint + ".", at_key)

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def severity(self) -> str:
        return self.rule.severity

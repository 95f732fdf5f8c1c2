"""What a check reports (:class:`Issue`, by JSON Pointer) and what users see (:class:`Finding`)."""

from __future__ import annotations

from dataclasses import dataclass

from kmha_lint.problem import Problem
from kmha_lint.rules import RULES, Rule


@dataclass(frozen=True)
class Finding:
    """One diagnostic, positioned in the source text (line and column are 1-based)."""

    path: str
    line: int
    column: int
    pointer: str
    code: str
    severity: str
    message: str
    hint: str

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Issue:
    """A finding before it has a position: checks speak in JSON Pointers only.

    ``rule`` is the :class:`~kmha_lint.rules.Rule` object (a code string is accepted only
    for callers outside the checks, and looked up). ``at_key`` points the finding at the
    member's key (a missing, unknown or misplaced key) rather than at its value (a wrong
    type, size or range), the convention of cfn-lint and Spectral.
    """

    rule: Rule
    pointer: str
    message: str
    hint: str
    at_key: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rule, str):
            object.__setattr__(self, "rule", RULES[self.rule])

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

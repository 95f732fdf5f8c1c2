"""The rule catalogue: typed, unique, documented, each with fixtures, and used by name only."""

from __future__ import annotations

import re
from pathlib import Path

import kmha_lint.rules as rules_module
from kmha_lint import rules_page
from kmha_lint.findings import Issue
from kmha_lint.problem import Problem
from kmha_lint.rules import RULE_MODULES, RULES, Rule

ROOT = Path(__file__).parent.parent
CHECK_SOURCES = [
    p
    for p in (ROOT / "lint").rglob("*.py")
    if p.name not in ("rules.py", "cli.py", "settings.py") and "hparams" not in p.parts
]


def test_every_rule_is_a_module_constant_with_a_unique_code():
    constants = {v.code: v for v in vars(rules_module).values() if isinstance(v, Rule)}
    assert set(constants) <= set(RULES)
    assert list(RULES) == sorted(RULES)
    assert "kmha_lint.rules" in RULE_MODULES
    for code, rule in RULES.items():
        assert rule.code == code and re.fullmatch(r"KMHA\d{3}", code)
        assert rule.severity in ("error", "warning")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert rule.summary.endswith(".")
        # what, why and an example, as ruff's rule docs
        assert all(part in rule.explanation for part in ("What:", "Why:", "Example:")), code
        assert rule.fixtures == f"tests/fixtures/lint/{code}"
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names)), "two rules share a name"


def test_every_rule_has_a_fixture_folder():
    for rule in RULES.values():
        folder = ROOT / rule.fixtures
        assert {p.stem for p in folder.iterdir()} >= {"good", "bad"}, rule.code


def test_checks_name_rules_by_constant_never_by_code_string():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in CHECK_SOURCES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"[\"']KMHA\d{3}[\"']", line)
    ]
    assert not offenders, "\n".join(offenders)


def test_rules_page_is_generated_from_the_catalogue():
    page = (ROOT / "docs" / "rules.md").read_text()
    assert page == rules_page.page(), (
        "docs/rules.md differs from the rule catalogue; regenerate it with "
        f"`{rules_page.REGENERATE}`"
    )
    # each rule: a table row, an anchored heading, and its --explain text
    for code, rule in RULES.items():
        assert (
            f"| [{code}](#{code.lower()}) | {rule.name} | {rule.severity} | {rule.summary} |"
            in page
        )
        assert f'### <a id="{code.lower()}"></a>{code} `{rule.name}` ({rule.severity})' in page
        for part in rule.explanation.split("\n"):
            assert f"\n\n{part}\n" in page, (code, part)


def test_issue_holds_the_rule_object():
    problem = Problem("mha", "num_heads", "bad", "4", "3", "fix it")
    issue = Issue.from_problem(rules_module.HEADS_DO_NOT_DIVIDE_WIDTH, "/x", problem)
    assert issue.rule is rules_module.HEADS_DO_NOT_DIVIDE_WIDTH
    assert (issue.code, issue.severity) == ("KMHA201", "error")
    assert issue.message.startswith("Layer `mha`, argument `num_heads`: bad.")
    assert issue.hint == "Fix it."

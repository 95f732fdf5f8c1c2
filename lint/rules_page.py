"""docs/rules.md, generated from the rule catalogue (every module in ``RULE_MODULES``).

Regenerate after adding or changing a rule, from the repository root::

    .venv/bin/python -m kmha_lint.rules_page > docs/rules.md

``tests/test_lint_rules.py`` fails when the page differs from what this prints. Each rule
has a stable anchor, its code in lower case (``#kmha201``), which SARIF's ``helpUri``
links to (`kmha_lint.output.help_uri`).
"""

from __future__ import annotations

from kmha_lint.rules import RULES, Rule

REGENERATE = ".venv/bin/python -m kmha_lint.rules_page > docs/rules.md"
# The first digit of a code is its area.
AREAS = {
    "0": "Input and parsing",
    "1": "Schema: types, ranges and argument names",
    "2": "Attention geometry",
    "3": "Graph shapes",
    "4": "Hyperparameter configs (KerasHub and Hugging Face)",
}


def anchor(rule: Rule) -> str:
    """The rule's anchor on the page: its code in lower case."""
    return rule.code.lower()


def page() -> str:
    """The whole of docs/rules.md."""
    rules = list(RULES.values())
    out = [
        "# kmha-lint rules",
        "",
        "Part of the [kmha documentation](../README.md#documentation).",
        "",
        f"<!-- Generated from lint/rules.py and RULE_MODULES; do not edit. Regenerate with "
        f"`{REGENERATE}`. -->",
        "",
        "Codes are stable and one code names one condition: 0xx input and parsing, 1xx schema, "
        "2xx attention geometry, 3xx graph shapes, 4xx hyperparameter configs. "
        "`kmha-lint --explain CODE` prints a rule's text below; `kmha-lint --list-rules` lists "
        "them. Select or ignore rules by code or prefix in the [settings](settings.md).",
        "",
        "| Code | Name | Severity | What it finds |",
        "|---|---|---|---|",
    ]
    out += [f"| [{r.code}](#{anchor(r)}) | {r.name} | {r.severity} | {r.summary} |" for r in rules]
    area = None
    for rule in rules:
        if rule.code[4] != area:
            area = rule.code[4]
            out += ["", f"## {area}xx: {AREAS.get(area, 'Other')}"]
        out += [
            "",
            f'### <a id="{anchor(rule)}"></a>{rule.code} `{rule.name}` ({rule.severity})',
            "",
            rule.summary,
            "",
            # --explain prints the explanation with one line per part; a paragraph each here
            "\n\n".join(rule.explanation.split("\n")),
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(page(), end="")

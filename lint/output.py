"""Output formats: every format is a thin view of the same list of Findings.

Each Finding carries its Rule object; views read the code, name, severity and help link
from it, never from a table of code strings.
"""

from __future__ import annotations

from collections.abc import Callable

from kmha_lint import __version__
from kmha_lint.findings import Finding
from kmha_lint.rules import RULES, Rule

# The project's home and its documentation (pyproject's [project.urls], which
# tests/test_lint_output.py checks equal these). Each rule's help is its anchor on the
# generated rules page (`<a id="kmha201"></a>` in docs/rules.md; see kmha_lint.rules_page).
REPOSITORY = "https://github.com/kmha/kmha"
DOCUMENTATION = f"{REPOSITORY}/blob/main/docs"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def help_uri(rule: Rule) -> str:
    from kmha_lint.rules_page import anchor  # only SARIF links to the page

    return f"{DOCUMENTATION}/rules.md#{anchor(rule)}"


def text(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}")
        lines.append(f"  hint: {f.hint}")
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if findings:
        lines.append(f"Found {errors} error(s) and {warnings} warning(s).")
    return "\n".join(lines)


def _json(value: object) -> str:
    import json  # only the json and sarif views need it (see kmha_lint.jsonsource)

    return json.dumps(value, indent=2)


def json_array(findings: list[Finding]) -> str:
    return _json([f.as_dict() for f in findings])


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands, one annotation per finding."""

    def escape_data(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def escape_property(value: str) -> str:
        return escape_data(value).replace(":", "%3A").replace(",", "%2C")

    return "\n".join(
        f"::{f.severity} file={escape_property(_artifact(f.path))},line={f.line},col={f.column},"
        f"endLine={f.end_line},endColumn={f.end_column},"
        f"title={escape_property(f'kmha-lint ({f.code})')}::"
        + escape_data(f"{f.message} Hint: {f.hint}")
        for f in findings
    )


def sarif(findings: list[Finding]) -> str:
    """SARIF 2.1.0, for GitHub code scanning and other SARIF viewers."""
    catalogue = sorted(RULES.values(), key=lambda rule: rule.code)
    index = {rule.code: i for i, rule in enumerate(catalogue)}
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation},
            "help": {"text": rule.explanation, "markdown": rule.explanation},
            "helpUri": help_uri(rule),
            "defaultConfiguration": {"level": rule.severity},
        }
        for rule in catalogue
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kmha-lint",
                        "version": __version__,
                        "informationUri": f"{DOCUMENTATION}/linter.md",
                        "rules": rules,
                    }
                },
                "results": [_sarif_result(f, index[f.code]) for f in findings],
            }
        ],
    }
    return _json(log)


def _sarif_result(finding: Finding, rule_index: int) -> dict:
    location: dict = {
        "physicalLocation": {
            "artifactLocation": {"uri": _artifact(finding.path)},
            "region": {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endLine": finding.end_line,
                "endColumn": finding.end_column,
            },
        }
    }
    if finding.pointer:  # the whole document ("") has no logical location of its own
        location["logicalLocations"] = [{"fullyQualifiedName": finding.pointer, "kind": "element"}]
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": finding.severity,
        "message": {"text": f"{finding.message} Hint: {finding.hint}"},
        "locations": [location],
    }


def statistics(findings: list[Finding], linted: int, skipped: int, fmt: str) -> str:
    """`--statistics`: how often each rule fired (most first), and the files counted."""
    counts: dict[str, tuple[int, Finding]] = {}
    for f in findings:
        counts[f.code] = (counts.get(f.code, (0, f))[0] + 1, f)
    rows = sorted(counts.values(), key=lambda row: (-row[0], row[1].code))
    if fmt == "json":
        return _json(
            {
                "rules": [
                    {"code": f.code, "name": f.rule.name, "severity": f.severity, "count": n}
                    for n, f in rows
                ],
                "files": {"linted": linted, "skipped": skipped},
            }
        )
    width = max((len(str(n)) for n, _ in rows), default=1)
    lines = [f"{n:>{width}}\t{f.code}\t{f.rule.name} ({f.severity})" for n, f in rows]
    lines.append(f"Linted {linted} file(s); skipped {skipped} that are not model configs.")
    return "\n".join(lines)


def _artifact(path: str) -> str:
    """The file on disk: 'model.keras::config.json' is reported against model.keras."""
    return path.split("::", 1)[0]


FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": text,
    "json": json_array,
    "sarif": sarif,
    "github": github,
}

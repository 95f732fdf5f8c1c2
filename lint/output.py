"""Output formats: every format is a view of the same list of Findings."""

from __future__ import annotations

import json
from collections.abc import Callable

from kmha_lint import __version__
from kmha_lint.findings import Finding
from kmha_lint.rules import RULES

INFORMATION_URI = "https://github.com/kmha/kmha#kmha-lint"


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


def json_array(findings: list[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2)


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands, one annotation per finding."""

    def escape_data(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def escape_property(value: str) -> str:
        return escape_data(value).replace(":", "%3A").replace(",", "%2C")

    return "\n".join(
        f"::{f.severity} file={escape_property(_artifact(f.path))},line={f.line},col={f.column},"
        f"title={escape_property('kmha-lint ' + f.code)}::"
        + escape_data(f"{f.message} Hint: {f.hint}")
        for f in findings
    )


def sarif(findings: list[Finding]) -> str:
    """SARIF 2.1.0, for GitHub code scanning and other SARIF viewers."""
    codes = sorted(RULES)
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].summary},
            "fullDescription": {"text": RULES[code].explanation},
            "help": {"text": RULES[code].explanation},
            "helpUri": f"{INFORMATION_URI}-rules",
            "defaultConfiguration": {"level": RULES[code].severity},
        }
        for code in codes
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": f.severity,
            "message": {"text": f"{f.message} Hint: {f.hint}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _artifact(f.path)},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.pointer or "/"}],
                }
            ],
        }
        for f in findings
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kmha-lint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def _artifact(path: str) -> str:
    """The file on disk: 'model.keras::config.json' is reported against model.keras."""
    return path.split("::", 1)[0]


FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": text,
    "json": json_array,
    "sarif": sarif,
    "github": github,
}

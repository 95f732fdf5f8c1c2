"""Every output format is a view of one findings model: SARIF validates against the SARIF
2.1.0 schema (tests/data/sarif-schema-2.1.0.json, the OASIS file), spans have ends, and
every rule's help link is an anchor that exists on the rules page (docs/rules.md)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
from kmha_lint.api import lint_paths, lint_text
from kmha_lint.output import DOCUMENTATION, FORMATS, REPOSITORY, help_uri
from kmha_lint.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "lint"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
# One file per kind of position: a value, a key (duplicate), the whole document, an archive.
SAMPLES = [
    FIXTURES / "KMHA201" / "bad.json",
    FIXTURES / "KMHA002" / "bad.json",
    FIXTURES / "KMHA005" / "bad.json",
    FIXTURES / "KMHA006" / "bad.json",
    FIXTURES / "KMHA004" / "bad.keras",
]


@pytest.fixture(scope="module")
def findings():
    found = lint_paths([str(p) for p in SAMPLES])
    assert {f.code for f in found} >= {"KMHA201", "KMHA002", "KMHA005", "KMHA006", "KMHA004"}
    return found


def test_sarif_validates_against_the_sarif_2_1_0_schema(findings):
    log = json.loads(FORMATS["sarif"](findings))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["$schema"] == SARIF_SCHEMA["id"]
    # empty runs validate too
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(FORMATS["sarif"]([])))


def test_sarif_regions_pointers_and_rule_links(findings):
    run = json.loads(FORMATS["sarif"](findings))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result, finding in zip(run["results"], findings, strict=True):
        (location,) = result["locations"]
        region = location["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (finding.line, finding.column)
        assert (region["endLine"], region["endColumn"]) == (finding.end_line, finding.end_column)
        if finding.pointer:
            (logical,) = location["logicalLocations"]
            assert logical["fullyQualifiedName"] == finding.pointer
        else:  # the whole document: no "/" (which would name the key "")
            assert "logicalLocations" not in location
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.code
    for rule in rules:
        assert rule["helpUri"] == f"{REPOSITORY}/blob/main/docs/rules.md#{rule['id'].lower()}"
    assert run["tool"]["driver"]["informationUri"] == f"{DOCUMENTATION}/linter.md"


def test_every_rule_link_is_an_anchor_on_the_rules_page():
    page = (ROOT / "docs" / "rules.md").read_text()
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', page))
    missing = [code for code, rule in RULES.items() if help_uri(rule).split("#")[1] not in anchors]
    assert not missing, f"docs/rules.md has no anchor for: {missing}"
    # and each anchor heads its own rule
    for code in RULES:
        assert re.search(rf'<a id="{code.lower()}"></a>{code}\b', page), code


def test_links_point_where_pyproject_says_the_documentation_is():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls == {"Homepage": REPOSITORY, "Documentation": DOCUMENTATION}
    # SARIF wants absolute URIs
    assert all(help_uri(rule).startswith("https://") for rule in RULES.values())
    # every docs page the links name exists
    for page in ("rules.md", "linter.md"):
        assert (ROOT / "docs" / page).is_file()


def test_json_output_has_spans_and_the_rule_name(findings):
    rows = json.loads(FORMATS["json"](findings))
    assert {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "pointer",
        "code",
        "name",
        "severity",
        "message",
        "hint",
    } == set(rows[0])
    for row in rows:
        assert row["name"] == RULES[row["code"]].name
        assert (row["end_line"], row["end_column"]) >= (row["line"], row["column"] + 1)


def test_spans_cover_the_value_or_the_key():
    text = (
        '{"class_name": "Sequential", "config": {"name": "m", "layers": [\n'
        ' {"class_name": "Dense", "config": {"name": "d", "units": "64"}}]}}'
    )
    (finding,) = lint_text(text)
    # a wrong value: the span is the value `"64"`, quotes included
    assert (finding.code, finding.pointer) == ("KMHA101", "/config/layers/0/config/units")
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (2, 59, 2, 63)
    duplicated = '{"a": 1,\n "a": [1,\n 2]}'
    (dup,) = [f for f in lint_text(duplicated) if f.code == "KMHA002"]
    # a repeated key: the span is the second key, quotes included
    assert (dup.line, dup.column, dup.end_line, dup.end_column) == (2, 2, 2, 5)


def test_non_finite_numbers_and_huge_integers_are_positioned_findings():
    text = '{"class_name": "Sequential", "config": {"layers": [], "x": NaN, "y": -Infinity}}'
    odd = [f for f in lint_text(text) if f.code == "KMHA006"]
    assert [(f.pointer, f.severity) for f in odd] == [
        ("/config/x", "warning"),
        ("/config/y", "warning"),
    ]
    assert "`NaN` is not JSON. Expected a finite number; received NaN." in odd[0].message
    huge = '{"class_name": "Sequential",\n "config": {"layers": [], "units": ' + "9" * 5000 + "}}"
    (finding,) = lint_text(huge)
    assert (finding.code, finding.pointer, finding.line, finding.column) == (
        "KMHA007",
        "/config/units",
        2,
        36,
    )
    assert "(5000 characters)" in finding.message and "9" * 100 not in finding.message


# Rules about a key (repeated, unknown, or missing: then the key of the object that lacks it).
KEY_RULES = {"KMHA002", "KMHA103", "KMHA106", "KMHA410"}


def _resolve(document: object, pointer: str) -> object:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def _span_text(lines: list[str], finding) -> str:
    if finding.line == finding.end_line:
        return lines[finding.line - 1][finding.column - 1 : finding.end_column - 1]
    middle = lines[finding.line : finding.end_line - 1]
    return "\n".join(
        [lines[finding.line - 1][finding.column - 1 :], *middle],
    ) + ("\n" + lines[finding.end_line - 1][: finding.end_column - 1])


def test_every_fixture_finding_spans_its_value_or_its_key():
    """A wrong value is pointed at by the value, a key problem by the key, in every rule's
    bad fixture (the convention of cfn-lint and Spectral)."""
    checked = set()
    for bad in sorted(FIXTURES.glob("KMHA*/bad.json")):
        text = bad.read_text()
        if bad.parent.name in ("KMHA001", "KMHA003", "KMHA007"):
            continue  # not JSON, too deep, or not readable by Python: no value to point at
        document = json.loads(text)
        lines = text.split("\n")
        for finding in lint_paths([str(bad)]):
            span = _span_text(lines, finding)
            if finding.code in KEY_RULES:
                key = json.loads(span)
                assert isinstance(key, str) and key in finding.pointer.split("/"), (
                    finding.code,
                    span,
                )
            elif finding.pointer:
                assert json.loads(span.replace("NaN", "null")) == json.loads(
                    json.dumps(_resolve(document, finding.pointer)).replace("NaN", "null")
                ), (finding.code, finding.pointer, span[:80])
            checked.add(finding.code)
    assert len(checked) >= 30, sorted(checked)

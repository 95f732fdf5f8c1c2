"""Every rule has a good fixture (silent) and a bad one (exactly that rule, golden output).

Fixtures come from real Keras configs (tests/fixtures/lint/make_fixtures.py checked that
Keras accepts each good one and rejects each bad one). Rewrite the goldens after an
intended message change with: KMHA_LINT_UPDATE=1 .venv/bin/pytest tests/test_lint_fixtures.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kmha_lint.api import lint_paths
from kmha_lint.output import text
from kmha_lint.rules import RULES
from kmha_lint.settings import SettingsFinder

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name.startswith("KMHA"))


def _lint(path: Path):
    cwd = os.getcwd()
    os.chdir(FIXTURES)  # report paths relative to the fixtures, as in the goldens
    try:
        # Each fixture's own settings apply (kmha-lint.toml: custom-layer declarations).
        finder = SettingsFinder()
        return lint_paths([str(path.relative_to(FIXTURES))], custom_layers=finder.custom_layers)
    finally:
        os.chdir(cwd)


def _inputs(code: str, kind: str) -> list[Path]:
    return [p for p in (FIXTURES / code).glob(f"{kind}.*") if p.suffix in (".json", ".keras")]


def test_every_rule_has_fixtures():
    assert CASES == sorted(RULES)
    for code in CASES:
        assert len(_inputs(code, "good")) == len(_inputs(code, "bad")) == 1, code


@pytest.mark.parametrize("code", CASES)
def test_good_fixture_is_silent(code):
    (good,) = _inputs(code, "good")
    assert _lint(good) == []


@pytest.mark.parametrize("code", CASES)
def test_bad_fixture_reports_its_rule_only(code):
    (bad,) = _inputs(code, "bad")
    findings = _lint(bad)
    assert findings and {f.code for f in findings} == {code}
    assert all(f.severity == RULES[code].severity for f in findings)
    golden = FIXTURES / code / "bad.out"
    rendered = text(findings) + "\n"
    if os.environ.get("KMHA_LINT_UPDATE"):
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_keras2_configs():
    assert _lint(FIXTURES / "keras2" / "good.json") == []
    (finding,) = _lint(FIXTURES / "keras2" / "bad.json")
    assert finding.code == "KMHA206"
    assert "Expected 32; received 24" in finding.message
    assert finding.pointer == "/config/layers/3/inbound_nodes/0/1"

"""ruff's conventions for settings: closest file per input, --config, extend flags,
per-file ignores, --statistics, and folder walks that skip JSON which is not a config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kmha_lint.cli import main
from kmha_lint.settings import Layer, Selection, SettingsFinder, UsageError, read_settings_file

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
BAD_HEADS = FIXTURES / "KMHA201" / "bad.json"  # one KMHA201 error
WARN = FIXTURES / "KMHA105" / "bad.json"  # one KMHA105 warning
PACKAGE_JSON = '{"name": "web", "version": "1.0.0", "dependencies": {}}'


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A repository with two model folders that are configured differently."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.kmha-lint]\nignore = ["KMHA105"]\n')
    for folder in ("models/a", "models/b", "legacy"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copy(BAD_HEADS, tmp_path / "models/a/heads.json")
    shutil.copy(WARN, tmp_path / "models/a/rate.json")
    shutil.copy(BAD_HEADS, tmp_path / "models/b/heads.json")
    shutil.copy(WARN, tmp_path / "models/b/rate.json")
    shutil.copy(BAD_HEADS, tmp_path / "legacy/old.json")
    # models/b has its own settings file, which wins over the pyproject.toml above it
    (tmp_path / "models/b/kmha-lint.toml").write_text('select = ["KMHA1"]\n')
    return tmp_path


def lint(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def codes_by_file(out: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in json.loads(out):
        found.setdefault(Path(finding["path"]).as_posix(), []).append(finding["code"])
    return found


def test_each_file_gets_the_settings_closest_to_it(tree, capsys):
    status, out, _ = lint(capsys, ".", "--format", "json")
    assert status == 1
    assert codes_by_file(out) == {
        "models/a/heads.json": ["KMHA201"],  # root pyproject: KMHA105 ignored
        "models/b/rate.json": ["KMHA105"],  # kmha-lint.toml: only KMHA1xx selected
        "legacy/old.json": ["KMHA201"],
    }


def test_config_file_replaces_discovery_and_inline_settings_override(tree, capsys):
    (tree / "strict.toml").write_text("select = []\n")  # empty select: nothing reported
    status, out, _ = lint(capsys, ".", "--config", "strict.toml", "--format", "json")
    assert (status, json.loads(out)) == (0, [])
    status, out, _ = lint(capsys, "models/a", "--config", "ignore = ['KMHA2']", "--format", "json")
    assert (status, codes_by_file(out)) == (0, {})  # KMHA105 from the file, KMHA2 inline
    status, _, err = lint(capsys, ".", "--config", "no such = [")
    assert status == 2 and "--config 'no such = [': neither an existing file" in err
    (tree / "other.toml").write_text("")
    status, _, err = lint(capsys, ".", "--config", "strict.toml", "--config", "other.toml")
    assert status == 2 and "at most one settings file" in err


def test_extend_select_and_extend_ignore_add_to_the_file_settings(tree, capsys):
    status, out, _ = lint(capsys, "models/b", "--extend-select", "KMHA201", "--format", "json")
    assert codes_by_file(out) == {
        "models/b/heads.json": ["KMHA201"],
        "models/b/rate.json": ["KMHA105"],
    }
    status, out, _ = lint(capsys, "models/a", "--extend-ignore", "KMHA201", "--format", "json")
    assert (status, codes_by_file(out)) == (0, {})
    status, _, err = lint(capsys, ".", "--extend-ignore", "KMHA9")
    assert status == 2 and "--extend-ignore: 'KMHA9' matches no rule" in err


def test_per_file_ignores_by_glob_relative_to_the_settings_file(tree, capsys):
    (tree / "pyproject.toml").write_text(
        "[tool.kmha-lint]\n[tool.kmha-lint.per-file-ignores]\n"
        '"legacy/*.json" = ["KMHA201"]\n"rate.json" = ["KMHA1"]\n'
    )
    status, out, _ = lint(capsys, "models/a", "legacy", "--format", "json")
    # legacy/old.json's KMHA201 is ignored by path; rate.json by name in any folder
    assert codes_by_file(out) == {"models/a/heads.json": ["KMHA201"]}


def test_most_specific_selector_wins_as_in_ruff():
    selection = Selection(select=("KMHA2",), ignore=("KMHA20",))
    assert not selection.enabled("KMHA201", "x.json")
    assert selection.enabled("KMHA210", "x.json")
    assert Selection(select=("KMHA201",), ignore=("KMHA2",)).enabled("KMHA201", "x.json")
    assert not Selection(select=("KMHA201",), ignore=("KMHA201",)).enabled("KMHA201", "x.json")
    # a later layer with `select` starts afresh; one with only ignores adds to the earlier ones
    base = Selection().then(Layer(ignore=("KMHA201",)))
    assert base.then(Layer(select=("KMHA2",))).enabled("KMHA201", "x.json")
    assert not base.then(Layer(ignore=("KMHA3",))).enabled("KMHA201", "x.json")


def test_settings_files_are_validated(tmp_path):
    bad = tmp_path / "kmha-lint.toml"
    bad.write_text('per-file-ignores = {"*.json" = ["KMHA999"]}\n')
    with pytest.raises(UsageError, match=r"per-file-ignores.*'KMHA999' matches no rule"):
        read_settings_file(bad)
    bad.write_text("paths = 'models'\n")
    with pytest.raises(UsageError, match="`paths` must be a list of strings"):
        read_settings_file(bad)
    bad.write_text("select = [\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        read_settings_file(bad)
    # a pyproject.toml without the table is no settings file: the search goes on upwards
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bad.write_text('ignore = ["KMHA2"]\n')
    found = SettingsFinder().for_path(str(tmp_path / "sub" / "m.json"))
    assert found.origin == str(bad)


def test_folder_walk_skips_other_json_but_a_named_file_is_an_error(tree, capsys):
    (tree / "models/a/package.json").write_text(PACKAGE_JSON)
    (tree / "models/a/tsconfig.json").write_text('{\n  // comments are not JSON\n  "a": 1\n}\n')
    status, out, err = lint(capsys, "models/a", "--format", "json", "--verbose")
    assert codes_by_file(out) == {"models/a/heads.json": ["KMHA201"]}
    assert "skipped models/a/package.json: not a model config" in err
    assert "skipped models/a/tsconfig.json: not JSON, and not a model config" in err
    assert "linted models/a/heads.json (keras-model): 1 finding(s)" in err
    status, out, _ = lint(capsys, "models/a/package.json")
    assert status == 1 and "KMHA005 Not a Keras model config" in out


def test_a_broken_model_config_in_a_folder_is_still_reported(tree, capsys):
    text = BAD_HEADS.read_text()
    (tree / "models/a/broken.json").write_text(text[: len(text) // 2])
    status, out, _ = lint(capsys, "models/a", "--format", "json")
    assert codes_by_file(out)["models/a/broken.json"] == ["KMHA001"]


def test_statistics_count_rules_and_files(tree, capsys):
    (tree / "models/a/package.json").write_text(PACKAGE_JSON)
    status, out, _ = lint(capsys, ".", "--statistics")
    assert status == 1
    lines = out.splitlines()
    assert lines[0].split("\t") == ["2", "KMHA201", "heads-do-not-divide-width (error)"]
    assert lines[1].split("\t") == ["1", "KMHA105", "rate-drops-everything (warning)"]
    assert lines[-1] == "Linted 5 file(s); skipped 1 that are not model configs."
    status, out, _ = lint(capsys, ".", "--statistics", "--format", "json")
    stats = json.loads(out)
    assert stats["files"] == {"linted": 5, "skipped": 1}
    assert stats["rules"][0] == {
        "code": "KMHA201",
        "name": "heads-do-not-divide-width",
        "severity": "error",
        "count": 2,
    }


def test_a_folder_of_only_other_json_warns_and_passes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "package.json").write_text(PACKAGE_JSON)
    status, out, err = lint(capsys, ".")
    assert (status, out) == (0, "")
    assert "no model configs under the given paths (1 other JSON file(s) skipped)" in err

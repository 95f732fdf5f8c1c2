"""The command line: formats, exit codes, selection, settings, and no TensorFlow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kmha_lint import __version__
from kmha_lint.cli import main
from kmha_lint.rules import RULES

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
BAD_HEADS = FIXTURES / "KMHA201" / "bad.json"
GOOD = FIXTURES / "KMHA201" / "good.json"
WARN = FIXTURES / "KMHA105" / "bad.json"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no pyproject.toml above tmp_path's settings
    return tmp_path


def run(capsys, *args):
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_text_output_and_exit_codes(in_tmp, capsys):
    status, out, _ = run(capsys, BAD_HEADS)
    assert status == 1
    first, hint, summary = out.splitlines()
    assert first.startswith(f"{BAD_HEADS}:397:24: KMHA201 Layer `mha1`, argument `num_heads`")
    assert hint.startswith("  hint: Use num_heads in 2, 3, 4, 6")
    assert summary == "Found 1 error(s) and 0 warning(s)."
    assert run(capsys, GOOD)[:2] == (0, "")
    assert run(capsys, WARN)[0] == 0  # warnings alone do not fail


def test_unreadable_input_exits_2_but_lints_the_rest(in_tmp, capsys):
    status, out, _ = run(capsys, in_tmp / "missing.json", BAD_HEADS, "--format", "json")
    assert status == 2
    findings = json.loads(out)
    assert [f["code"] for f in findings] == ["KMHA004", "KMHA201"]
    assert set(findings[1]) >= {
        "path",
        "line",
        "column",
        "pointer",
        "code",
        "severity",
        "message",
        "hint",
    }


def test_directories_archives_and_stdin(in_tmp, capsys, monkeypatch):
    shutil.copy(BAD_HEADS, in_tmp / "a.json")
    (in_tmp / "sub").mkdir()
    shutil.copy(FIXTURES / "KMHA004" / "good.keras", in_tmp / "sub" / "m.keras")
    (in_tmp / "notes.txt").write_text("not linted")
    status, out, _ = run(capsys, in_tmp, "--format", "json")
    assert status == 1 and [f["path"] for f in json.loads(out)] == [str(in_tmp / "a.json")]
    monkeypatch.setattr(sys, "stdin", open(BAD_HEADS))  # noqa: SIM115
    status, out, _ = run(capsys, "-", "--format", "json")
    assert status == 1 and json.loads(out)[0]["path"] == "-"


def test_select_and_ignore_by_prefix(in_tmp, capsys):
    assert run(capsys, BAD_HEADS, "--ignore", "KMHA2")[:2] == (0, "")
    assert run(capsys, BAD_HEADS, "--select", "KMHA1")[0] == 0
    assert run(capsys, BAD_HEADS, "--select", "kmha20")[0] == 1
    status, _, err = run(capsys, BAD_HEADS, "--select", "KMHA9")
    assert status == 2 and "'KMHA9' matches no rule" in err


def test_settings_closest_to_each_file_apply(in_tmp, capsys, monkeypatch):
    (in_tmp / "pyproject.toml").write_text(
        '[tool.kmha-lint]\nignore = ["KMHA201"]\nformat = "json"\n'
    )
    deeper = in_tmp / "deep" / "er"
    deeper.mkdir(parents=True)
    shutil.copy(BAD_HEADS, deeper / "m.json")
    monkeypatch.chdir(deeper)
    assert run(capsys, "m.json")[:2] == (0, "[]\n")
    # The command line adds to the file's ignores; --select replaces its selection.
    assert run(capsys, "m.json", "--ignore", "KMHA3")[0] == 0
    assert run(capsys, "m.json", "--select", "KMHA201")[0] == 1
    # A file outside that folder tree does not get those settings.
    assert run(capsys, BAD_HEADS)[0] == 1
    models = in_tmp / "models"
    models.mkdir()
    shutil.copy(BAD_HEADS, models / "m.json")
    (in_tmp / "pyproject.toml").write_text('[tool.kmha-lint]\npaths = ["models"]\n')
    status, out, _ = run(capsys)  # no paths on the command line: the configured ones
    assert status == 1 and f"{models / 'm.json'}:397:24: KMHA201" in out
    (in_tmp / "pyproject.toml").write_text("[tool.kmha-lint]\nselct = []\n")
    status, _, err = run(capsys, "m.json")
    assert status == 2 and "unknown setting(s) ['selct']" in err


def test_archive_findings_name_the_member_and_the_archive(in_tmp, capsys):
    import zipfile

    archive = in_tmp / "m.keras"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(BAD_HEADS, "config.json")
    status, out, _ = run(capsys, archive)
    assert status == 1 and out.startswith(f"{archive}::config.json:397:24: KMHA201")
    status, out, _ = run(capsys, archive, "--format", "sarif")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == str(archive)
    status, out, _ = run(capsys, archive, "--format", "github")
    assert out.startswith(f"::error file={archive},line=397,col=24,")


def test_select_ignore_exit_zero_and_output_format_alias(in_tmp, capsys):
    assert run(capsys, BAD_HEADS, "--select", "KMHA2", "--ignore", "KMHA201")[:2] == (0, "")
    status, out, _ = run(capsys, BAD_HEADS, "--exit-zero", "--output-format", "json")
    assert status == 0 and json.loads(out)[0]["code"] == "KMHA201"
    status, _, err = run(capsys, BAD_HEADS, "--select", "KMHA9")
    assert status == 2 and err.startswith("kmha-lint: error: --select: 'KMHA9' matches no rule")


def test_byte_limit_settings_are_validated(in_tmp, capsys):
    status, _, err = run(capsys, BAD_HEADS, "--max-bytes", "0")
    assert status == 2 and "expected a positive number of bytes, got '0'" in err
    status, out, _ = run(capsys, BAD_HEADS, "--max-bytes", "100")
    assert status == 1 and "KMHA003" in out and f"is {BAD_HEADS.stat().st_size} bytes" in out
    (in_tmp / "pyproject.toml").write_text('[tool.kmha-lint]\nmax-bytes = "abc"\n')
    status, _, err = run(capsys, in_tmp / "x.json")
    assert status == 2 and "`max-bytes` must be a positive integer, got 'abc'" in err
    (in_tmp / "pyproject.toml").write_text("[tool.kmha-lint]\nmax-bytes = 100\n")
    assert run(capsys, BAD_HEADS)[0] == 1  # the configured limit applies


def test_missing_paths_and_empty_folders_say_what_to_do(in_tmp, capsys):
    status, out, _ = run(capsys, in_tmp / "missing.json")
    assert status == 2 and "No such file or directory" in out
    assert "hint: Check the path: pass existing files, directories" in out
    (in_tmp / "empty").mkdir()
    status, out, err = run(capsys, in_tmp / "empty")
    assert (status, out) == (0, "") and "no model configs under the given paths" in err


def test_an_internal_error_exits_2_without_a_traceback(in_tmp, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("kmha_lint.api.lint_reports", broken)
    status, out, err = run(capsys, BAD_HEADS)
    assert (status, out) == (2, "") and "Traceback" not in err
    assert err.startswith("kmha-lint: internal error: KeyError: 'surprise'. Please report it")


@pytest.mark.parametrize("page", ["README.md", "docs/linter.md"])
def test_docs_show_the_real_output_for_the_broken_example(capsys, monkeypatch, page):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    text = (root / page).read_text()
    block = text.split("$ kmha-lint examples/broken_model.json\n", 1)[1].split("$ echo $?")[0]
    status, out, _ = run(capsys, "examples/broken_model.json")
    assert status == 1 and out == block


def test_sarif_output(in_tmp, capsys):
    archive = in_tmp / "m.keras"
    shutil.copy(FIXTURES / "KMHA004" / "good.keras", archive)
    status, out, _ = run(capsys, BAD_HEADS, archive, "--format", "sarif")
    log = json.loads(out)
    assert status == 1 and log["version"] == "2.1.0"
    run_ = log["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == sorted(RULES)
    (result,) = run_["results"]
    assert result["ruleId"] == "KMHA201" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["region"] == {
        "startLine": 397,
        "startColumn": 24,
        "endLine": 397,
        "endColumn": 25,
    }
    assert location["artifactLocation"]["uri"] == str(BAD_HEADS)
    assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "KMHA201"


def test_github_annotations_escape_properties(in_tmp, capsys):
    status, out, _ = run(capsys, BAD_HEADS, "--format", "github")
    assert status == 1
    assert out.startswith(
        f"::error file={BAD_HEADS},line=397,col=24,endLine=397,endColumn=25,"
        "title=kmha-lint (KMHA201)::"
    )
    assert "%0A" not in out and "Hint: Use num_heads" in out
    archive = in_tmp / "a,b.keras"
    archive.write_text("x")
    assert (
        "file=" + str(archive).replace(",", "%2C") + ",line=1"
        in run(capsys, archive, "--format", "github")[1]
    )


def test_list_rules_explain_version(in_tmp, capsys):
    status, out, _ = run(capsys, "--list-rules")
    assert status == 0 and len(out.splitlines()) == len(RULES)
    assert "KMHA201  error    heads-do-not-divide-width" in out
    status, out, _ = run(capsys, "--explain", "kmha302")
    assert status == 0 and out.startswith("KMHA302 (stale-build-shape, error)")
    assert "What:" in out and "Why:" in out and "Example:" in out
    assert run(capsys, "--explain", "KMHA999")[0] == 2
    assert run(capsys, "--version")[:2] == (0, f"kmha-lint {__version__}\n")
    assert run(capsys)[0] == 2  # no input is a usage error


def test_cli_never_imports_tensorflow_or_keras(tmp_path):
    archive = FIXTURES / "KMHA004" / "good.keras"
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['kmha-lint', {str(BAD_HEADS)!r}, {str(archive)!r}]\n"
        "try:\n"
        "    runpy.run_module('kmha_lint', run_name='__main__')\n"
        "except SystemExit as exit_:\n"
        "    heavy = ('tensorflow', 'keras', 'tf_keras')\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "    print('STATUS', exit_.code, 'LOADED', loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert "KMHA201" in done.stdout
    assert done.stdout.strip().endswith("STATUS 1 LOADED []"), done.stdout + done.stderr


def test_options_parse_like_other_linters(in_tmp, capsys):
    from kmha_lint.arguments import parse
    from kmha_lint.cli import OPTIONS

    args = parse(
        OPTIONS,
        ["a.json", "--format=json", "--config", "x = 1", "-v", "--config=y = 2", "--", "-b"],
    )
    assert args.paths == ["a.json", "-b"]  # after `--`, a leading dash is a path
    assert (args.format, args.config, args.verbose, args.exit_zero) == (
        "json",
        ["x = 1", "y = 2"],
        True,
        False,
    )
    assert parse(OPTIONS, ["-", "--output-format", "sarif"]).format == "sarif"
    assert parse(OPTIONS, ["--max-bytes", "10", "--max-bytes", "20"]).max_bytes == 20


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--form", "json", "a.json"], "unknown option '--form'; did you mean '--format'?"),
        (["--format", "jsn"], "option --format: 'jsn' is not one of github, json, sarif, "),
        (["a.json", "--select"], "option --select expects a value (CODES)"),
        (["--exit-zero=yes"], "option --exit-zero takes no value (received 'yes')"),
        (["--max-bytes", "-3"], "--max-bytes: expected a positive number of bytes, got '-3'"),
        (["-x.json"], "unknown option '-x.json'"),
    ],
)
def test_usage_errors_say_what_is_wrong_and_exit_2(in_tmp, capsys, argv, said):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    usage, error, tip = err.splitlines()
    assert usage == "usage: kmha-lint [OPTIONS] [PATH ...]"
    assert error.startswith("kmha-lint: error: " + said)
    assert tip == "Run `kmha-lint --help` for the options."


def test_help_lists_every_option(in_tmp, capsys, monkeypatch):
    from kmha_lint.cli import OPTIONS

    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run(capsys, "--help")
    assert status == 0 and out.startswith("usage: kmha-lint [OPTIONS] [PATH ...]\n")
    assert max(len(line) for line in out.splitlines()) <= 78
    for option in OPTIONS:
        assert ", ".join(option.flags) in out
    assert "  --explain CODE        explain one rule\n" in out
    assert run(capsys, "-h", "--format", "nope")[0] == 0  # help wins: nothing else runs


def test_summary_shows_the_findings_and_exits_as_a_lint(in_tmp, capsys):
    status, lint_out, _ = run(capsys, BAD_HEADS)
    status, out, err = run(capsys, "--summary", BAD_HEADS)
    # The table on standard output, the findings as the text format writes them on stderr.
    assert status == 1
    assert f'{BAD_HEADS}: keras-model "' in out and "Total params:" in out
    assert "KMHA201 Layer" not in out and "hint:" not in out
    assert err.rstrip("\n") == lint_out.rstrip("\n")
    assert err.splitlines()[-1] == "Found 1 error(s) and 0 warning(s)."
    assert run(capsys, "--summary", BAD_HEADS, "--exit-zero")[0] == 0
    status, _, err = run(capsys, "--summary", BAD_HEADS, "--ignore", "KMHA201")
    assert (status, err) == (0, "")
    status, out, err = run(capsys, "--summary", WARN)  # warnings alone do not fail
    assert status == 0 and "KMHA105" in err and "Found 0 error(s) and 1 warning(s)." in err
    assert run(capsys, "--summary", GOOD)[0::2] == (0, "")


def test_summary_json_carries_the_findings_of_the_json_format(in_tmp, capsys):
    (in_tmp / "broken.json").write_text('{"class_name": ')
    _, lint_json, _ = run(capsys, BAD_HEADS, WARN, "broken.json", "--format", "json")
    status, out, err = run(capsys, "--summary", "--format", "json", BAD_HEADS, WARN, "broken.json")
    assert (status, err) == (1, "")
    heads, warn, broken = json.loads(out)
    assert heads["findings"] + warn["findings"] + broken["findings"] == json.loads(lint_json)
    assert [f["code"] for f in heads["findings"]] == ["KMHA201"]
    assert heads["kind"] == "keras-model" and heads["layers"]
    assert [f["severity"] for f in warn["findings"]] == ["warning"]
    # A file that is not JSON has no model: only its findings (and exit 1).
    assert (broken["path"], broken["kind"], broken["layers"]) == ("broken.json", None, [])
    assert [f["code"] for f in broken["findings"]] == ["KMHA001"]
    status, out, _ = run(capsys, "--summary", "--format", "json", GOOD, in_tmp / "missing.json")
    (good,) = json.loads(out)
    assert status == 2 and good["findings"] == []  # unreadable input: 2, as a lint


def test_linter_page_shows_the_real_summary_of_attention_layers(capsys, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    command = "--summary tests/fixtures/summary/attention_axes.json"
    text = (root / "docs" / "linter.md").read_text()
    block = text.split(f"$ kmha-lint {command}\n", 1)[1].split("```")[0]
    status, out, _ = run(capsys, *command.split())
    assert status == 0 and out.rstrip("\n") == block.rstrip("\n")

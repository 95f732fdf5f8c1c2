"""Hyperparameter configs as files: recognised by content in plain JSON, .keras archives,
KerasHub preset folders (config.json beside metadata.json) and Hugging Face model folders,
through the same API, formats, positions, suppressions and exit codes as Keras graphs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from kmha_lint import cli
from kmha_lint.api import lint_paths

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
KH_FLOORED = json.loads((FIXTURES / "KMHA405" / "bad.json").read_text())
KH_GOOD = json.loads((FIXTURES / "KMHA405" / "good.json").read_text())
HF_BAD = json.loads((FIXTURES / "KMHA404" / "bad.json").read_text())
HF_GOOD = json.loads((FIXTURES / "KMHA404" / "good.json").read_text())
METADATA = {
    "keras_version": "3.15.1",
    "keras_hub_version": "0.32.0",
    "parameter_count": 95552,
    "date_saved": "2026-11-30@08:00:00",
}


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    return path


def test_json_files_whatever_their_name(tmp_path):
    findings = lint_paths([str(_write(tmp_path / "weights_notes.json", KH_FLOORED))])
    assert [(f.code, f.severity, f.pointer) for f in findings] == [
        ("KMHA405", "warning", "/config/num_query_heads")
    ]
    (finding,) = lint_paths([str(_write(tmp_path / "anything.json", HF_BAD))])
    assert (finding.code, finding.line) == ("KMHA404", 17)


def test_keras_archive_holding_a_task_model(tmp_path):
    task = {
        "module": "keras_hub.src.models.llama.llama_causal_lm",
        "class_name": "LlamaCausalLM",
        "config": {"backbone": KH_FLOORED, "preprocessor": None},
        "registered_name": "keras_hub>LlamaCausalLM",
    }
    archive = tmp_path / "model.keras"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("config.json", json.dumps(task, indent=2))
        zipped.writestr("metadata.json", json.dumps(METADATA))
    (finding,) = lint_paths([str(archive)])
    assert finding.path == f"{archive}::config.json"
    assert finding.code == "KMHA405"
    assert finding.pointer == "/config/backbone/config/num_query_heads"
    text = json.dumps(task, indent=2).splitlines()
    assert '"num_query_heads": 6' in text[finding.line - 1]


def test_preset_folder(tmp_path):
    preset = tmp_path / "llama_tiny_en"
    _write(preset / "config.json", KH_FLOORED)
    _write(preset / "metadata.json", METADATA)
    _write(
        preset / "tokenizer.json",
        {
            "module": "keras_hub.src.models.llama.llama_tokenizer",
            "class_name": "LlamaTokenizer",
            "config": {},
            "registered_name": "keras_hub>LlamaTokenizer",
        },
    )
    findings = lint_paths([str(tmp_path)])
    assert [(Path(f.path).name, f.code) for f in findings] == [("config.json", "KMHA405")]


def test_hf_model_folder_skips_other_json(tmp_path):
    model = tmp_path / "tiny-llama"
    _write(model / "config.json", HF_BAD)
    _write(model / "generation_config.json", {"bos_token_id": 1, "eos_token_id": 2})
    _write(model / "tokenizer_config.json", {"model_max_length": 64})
    findings = lint_paths([str(tmp_path)])
    assert [(Path(f.path).name, f.code) for f in findings] == [("config.json", "KMHA404")]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_exit_codes_and_formats(in_tmp, capsys):
    _write(in_tmp / "good.json", HF_GOOD)
    _write(in_tmp / "bad.json", HF_BAD)
    _write(in_tmp / "floored.json", KH_FLOORED)
    assert cli.main(["good.json"]) == 0
    assert cli.main(["floored.json"]) == 0  # a warning only
    capsys.readouterr()
    assert cli.main(["bad.json", "--format", "json"]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["code"], entry["pointer"], entry["line"]) == (
        "KMHA404",
        "/num_attention_heads",
        17,
    )
    assert cli.main(["bad.json", "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith("::error file=bad.json,line=17,")
    assert cli.main(["bad.json", "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "KMHA404"
    assert cli.main(["bad.json", "--ignore", "KMHA4"]) == 0
    assert cli.main(["bad.json", "--exit-zero"]) == 0


def test_cli_explain_every_new_rule(capsys):
    from kmha_lint.rules import RULES

    codes = [code for code in RULES if code.startswith("KMHA4")]
    assert len(codes) == 12
    for code in codes:
        assert cli.main(["--explain", code]) == 0
        out = capsys.readouterr().out
        assert out.startswith(code) and "Example:" in out and "What:" in out and "Why:" in out


def test_summary_of_configs(in_tmp, capsys):
    _write(in_tmp / "floored.json", KH_FLOORED)
    _write(in_tmp / "hf.json", HF_GOOD)
    assert cli.main(["--summary", "--format", "json", "floored.json", "hf.json"]) == 0
    kh, hf = json.loads(capsys.readouterr().out)
    assert (kh["kind"], kh["family"], kh["total_params"]) == ("kerashub", "LlamaBackbone", 95552)
    assert kh["geometry"]["head_size"] == 10 and kh["geometry"]["query_width"] == 60
    assert (hf["kind"], hf["family"], hf["total_params"]) == ("hf", "llama", 86848)
    assert hf["geometry"] == {
        "hidden_width": 64,
        "heads": 4,
        "kv_heads": 2,
        "head_size": 16,
        "query_width": 64,
        "kv_width": 32,
        "layers": 2,
    }
    assert cli.main(["--summary", "floored.json"]) == 0
    out = capsys.readouterr().out
    assert 'kerashub "Llama (KerasHub LlamaBackbone)"' in out
    assert "Total params: 95,552" in out
    assert "6 heads, 2 key/value heads, head size 10, width 64, query projection 60" in out


def test_readme_shows_the_real_output(monkeypatch, capsys):
    """docs/hparams.md's examples (text and summary) are what kmha-lint prints."""
    import re

    root = Path(__file__).parent.parent
    section = (root / "docs" / "hparams.md").read_text()
    monkeypatch.chdir(root)
    blocks = re.findall(r"```console\n\$ kmha-lint (.*?)\n(.*?)```", section, re.S)
    checked = 0
    for arguments, shown in blocks:
        if "--format" in arguments:
            continue  # abbreviated on the page
        expected = shown.split("$ echo $?")[0]
        status = cli.main(arguments.split())
        out = capsys.readouterr().out
        assert out.rstrip("\n") == expected.rstrip("\n"), arguments
        if "$ echo $?" in shown:
            assert str(status) == shown.split("$ echo $?\n")[1].strip()
        checked += 1
    assert checked == 2


def test_summary_of_a_preset_folder_skips_its_metadata(in_tmp, capsys):
    _write(in_tmp / "preset" / "config.json", KH_FLOORED)
    _write(in_tmp / "preset" / "metadata.json", METADATA)
    assert cli.main(["--summary", "--format", "json", "preset"]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["path"].endswith("config.json")
    assert summary["total_params"] == METADATA["parameter_count"]

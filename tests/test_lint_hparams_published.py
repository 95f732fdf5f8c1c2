"""Real published Hugging Face config.json files, as the hub serves them (no framework needed).

tests/hparams_corpus/published/ holds config.json files of published models, copied byte for
byte from public repositories that hold verbatim copies of them, each with its provenance
(repository, path, commit) and labelled by tests/hparams_corpus/label_published.py with what
transformers did with it (the config class's ``from_dict``, ``AutoModel.from_config`` on the
meta device, ``num_parameters()``). Here the linter must:

- report no error on any published config the library builds;
- count exactly the parameters the library counted, for every family it models;
- give a family it does not model the KMHA411 note, and no error;
- not crash on a published config the library cannot read.

Each file is its own test case, so a mismatch names the file, the family and both counts.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from kmha_lint import hparams
from kmha_lint.api import lint_text
from kmha_lint.hparams import huggingface
from kmha_lint.summary import summarize_document

PUBLISHED = Path(__file__).parent / "hparams_corpus" / "published"
MANIFEST = PUBLISHED / "manifest.json"


@cache
def _manifest() -> dict:
    if not MANIFEST.is_file():
        pytest.fail(
            f"The published-config corpus is missing ({MANIFEST}); see "
            "tests/hparams_corpus/published/README.md.",
            pytrace=False,
        )
    return json.loads(MANIFEST.read_text())


def _entries() -> list[dict]:
    return list(json.loads(MANIFEST.read_text())["entries"]) if MANIFEST.is_file() else []


ENTRIES = _entries()
BUILT = [e for e in ENTRIES if e.get("labels", {}).get("builds")]
REJECTED = [e for e in ENTRIES if e.get("labels", {}).get("builds") is False]


def _id(entry: dict) -> str:
    return Path(entry["file"]).stem


@cache
def _text(file: str) -> str:
    return (PUBLISHED / file).read_text()


@cache
def _findings(file: str) -> tuple:
    return tuple(lint_text(_text(file), file))


def _errors(entry: dict) -> list[str]:
    return [
        f"{f.code} {f.pointer}: {f.message}"
        for f in _findings(entry["file"])
        if f.severity == "error"
    ]


def _family(entry: dict):
    """The linter's family for the file's top-level model_type, or None when not modelled."""
    name = huggingface.ALIASES.get(entry["model_type"], entry["model_type"])
    family = huggingface.FAMILIES.get(name)
    return family if family is not None and family.modelled else None


@cache
def _unmodelled_units(file: str) -> tuple:
    """The config objects of the file (the model, its text_config, vision_config, ...)
    whose family the linter does not model."""
    return tuple(u for u in hparams.units(json.loads(_text(file))) if not u.family.modelled)


def _counted(entry: dict) -> bool:
    """Every config object of the file is of a modelled family: the count must be exact."""
    return not _unmodelled_units(entry["file"])


def test_every_file_is_a_published_config_with_its_provenance_and_labels():
    manifest = _manifest()
    assert manifest["versions"].get("transformers"), manifest["versions"]
    files = {p.name for p in (PUBLISHED / "configs").glob("*.json")}
    listed = {Path(e["file"]).name for e in manifest["entries"]}
    assert files == listed, (sorted(files - listed), sorted(listed - files))
    for entry in manifest["entries"]:
        document = json.loads(_text(entry["file"]))
        source = entry["source"]
        assert document["model_type"] == entry["model_type"], entry["file"]
        assert Path(entry["file"]).name.startswith(entry["model_type"] + "__"), entry["file"]
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry["model"]), entry
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", source["repository"]), entry
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), entry
        assert source["path"].endswith(".json"), entry
        labels = entry["labels"]
        assert isinstance(labels["builds"], bool), entry["file"]
        if labels["builds"]:
            assert labels["params"] > 0 and labels["model_class"], entry["file"]
        else:
            assert labels["error"] and labels["error_stage"], entry["file"]


def test_the_corpus_covers_modelled_and_unmodelled_families():
    counted = {e["model_type"] for e in BUILT if _counted(e)}
    noted = {e["model_type"] for e in BUILT if not _counted(e)}
    assert len(counted) >= 5, sorted(counted)
    assert noted, "every published family is modelled: the KMHA411 test checks nothing"


@pytest.mark.parametrize("entry", BUILT, ids=_id)
def test_no_error_on_a_published_config_the_library_builds(entry):
    errors = _errors(entry)
    assert not errors, (
        f"{entry['file']} ({entry['model']}): transformers builds "
        f"{entry['labels']['model_class']}, the linter reports errors: {errors}"
    )


@pytest.mark.parametrize("entry", [e for e in BUILT if _counted(e)], ids=_id)
def test_parameter_count_equals_the_library(entry):
    summary = summarize_document(json.loads(_text(entry["file"])), entry["file"])
    expected = entry["labels"]["params"]
    got = summary.total_params if summary is not None else None
    difference = f"{got - expected:+d}" if got is not None else "unknown"
    assert got == expected, (
        f"{entry['file']} ({entry['model']}, family {entry['model_type']}): the linter counts "
        f"{got}, transformers {entry['labels']['model_class']}.num_parameters() is {expected} "
        f"(difference {difference})"
    )


@pytest.mark.parametrize("entry", [e for e in BUILT if not _counted(e)], ids=_id)
def test_a_family_not_modelled_gets_the_note_and_no_error(entry):
    """Each config object of a family the linter does not model (the file's own, or a
    nested text/vision config of a modelled container) gets KMHA411 at its model_type, and
    the total is unknown rather than a guess."""
    notes = {f.pointer for f in _findings(entry["file"]) if f.code == "KMHA411"}
    for unit in _unmodelled_units(entry["file"]):
        assert unit.family_pointer in notes, (
            f"{entry['file']}: {unit.label} is not modelled, expected KMHA411 at "
            f"{unit.family_pointer}, got {[(f.code, f.pointer) for f in _findings(entry['file'])]}"
        )
    assert not _errors(entry), (entry["file"], _errors(entry))
    summary = summarize_document(json.loads(_text(entry["file"])), entry["file"])
    assert summary is not None and summary.total_params is None, entry["file"]


@pytest.mark.parametrize("entry", REJECTED, ids=_id)
def test_a_config_the_library_cannot_read_is_linted_without_a_crash(entry):
    findings = _findings(entry["file"])
    if _family(entry) is not None:
        assert _errors(entry), (
            f"{entry['file']}: transformers fails ({entry['labels']['error']}), the linter "
            f"reports no error: {[(f.code, f.severity) for f in findings]}"
        )
    else:
        assert any(f.code == "KMHA411" for f in findings), (entry["file"], findings)


def test_a_nested_config_omitting_keys_takes_its_own_familys_defaults():
    """llava-1.5-7b-hf's text_config names llama and gives no hidden_size: LlavaConfig
    builds LlamaConfig from that dict, so the projector is 4096 wide, as if it were given."""
    file = "configs/llava__llava-hf_llava-1.5-7b-hf.json"
    document = json.loads(_text(file))
    assert "hidden_size" not in document["text_config"]
    implicit = summarize_document(document, file).total_params
    document["text_config"]["hidden_size"] = 4096
    assert summarize_document(document, file).total_params == implicit
    document["text_config"]["hidden_size"] = 5120
    assert summarize_document(document, file).total_params != implicit

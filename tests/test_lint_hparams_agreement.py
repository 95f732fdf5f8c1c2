"""Agreement with the libraries themselves, on the stored corpus (no framework needed).

tests/hparams_corpus/ holds tiny KerasHub backbone configs and Hugging Face config.json
files, each edited as a person would, and labelled by tests/hparams_corpus/generate.py with
what the real library did (keras-hub deserializes the config and runs one batch;
transformers reads it with the config class, builds AutoModel and runs one forward pass),
including the parameter count of every model it built. Here the linter must:

- report no error on any config the library builds and runs;
- report an error on at least 99% of the configs the library rejects;
- warn (KMHA405) on every config whose head size the library floors silently;
- count the parameters the library counted, and derive its attention geometry.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from kmha_lint.api import lint_text, read_config
from kmha_lint.findings import Finding
from kmha_lint.summary import summarize_document

CORPUS = Path(__file__).parent / "hparams_corpus"
MANIFEST = CORPUS / "manifest.json"
GEOMETRY_KEYS = ("hidden_width", "heads", "kv_heads", "head_size", "layers")


@cache
def _entries() -> tuple[dict, ...]:
    if not MANIFEST.is_file():
        pytest.fail(
            f"The hyperparameter corpus is missing ({MANIFEST}); regenerate it with "
            "tests/hparams_corpus/generate.py (see its docstring).",
            pytrace=False,
        )
    entries = json.loads(MANIFEST.read_text())["entries"]
    if not entries:
        pytest.fail("The hyperparameter corpus manifest has no entries.", pytrace=False)
    return tuple(entries)


@cache
def _text(file: str) -> str:
    """The config text of a corpus file (a .keras archive's config.json, read in place)."""
    read = read_config(str(CORPUS / file))
    assert not isinstance(read, Finding), read
    return read[0]


@cache
def _findings(file: str):
    return tuple(lint_text(_text(file), file))


def _runs(entry: dict) -> bool:
    return bool(entry["builds"] and entry["runs"])


def _errors(entry: dict) -> list:
    return [f for f in _findings(entry["file"]) if f.severity == "error"]


def test_corpus_covers_both_libraries_and_their_families():
    entries = _entries()
    families = {(e["library"], e["family"]) for e in entries}
    keras_hub = {f for lib, f in families if lib == "keras_hub"}
    transformers = {f for lib, f in families if lib == "transformers"}
    assert len(keras_hub) >= 20, sorted(keras_hub)
    assert len(transformers) >= 20, sorted(transformers)
    assert all((CORPUS / e["file"]).is_file() for e in entries)


def test_no_error_on_configs_the_library_runs():
    false_errors = [
        (e["file"], [f"{f.code} {f.message}" for f in _errors(e)])
        for e in _entries()
        if _runs(e) and _errors(e)
    ]
    assert not false_errors, false_errors


def test_configs_the_library_rejects_are_caught():
    broken = [e for e in _entries() if not _runs(e)]
    missed = [(e["file"], e["error"]) for e in broken if not _errors(e)]
    caught = len(broken) - len(missed)
    assert broken, "the corpus has no broken configs"
    assert caught >= 0.99 * len(broken), (caught, len(broken), missed)


def test_every_silently_floored_head_size_is_a_warning():
    floored = [e for e in _entries() if e.get("silent_floor")]
    assert floored, "the corpus has no silently floored configs"
    for entry in floored:
        codes = {(f.code, f.severity) for f in _findings(entry["file"])}
        assert ("KMHA405", "warning") in codes, (entry["file"], codes)


def _summary(entry: dict):
    return summarize_document(json.loads(_text(entry["file"])), entry["file"])


def test_parameter_counts_equal_the_libraries():
    built = [e for e in _entries() if e["builds"] and e.get("params") is not None]
    assert built
    wrong = [
        (e["file"], _summary(e).total_params, e["params"])
        for e in built
        if _summary(e).total_params != e["params"]
    ]
    assert not wrong, wrong


def test_geometry_equals_the_libraries():
    wrong = []
    for entry in _entries():
        expected = entry.get("geometry")
        if not expected:
            continue
        geometry = _summary(entry).geometry or {}
        first = geometry["stacks"][0] if "stacks" in geometry else geometry
        got = {key: first.get(key) for key in GEOMETRY_KEYS if key in expected}
        want = {key: expected[key] for key in GEOMETRY_KEYS if key in expected}
        if got != want:
            wrong.append((entry["file"], got, want))
    assert not wrong, wrong


def test_the_families_table_names_every_modelled_family():
    """docs/hparams.md's families table lists every family the linter models, by the name a
    config gives it (KerasHub's class_name, transformers' model_type)."""
    from kmha_lint.hparams import huggingface, kerashub

    page = (Path(__file__).parent.parent / "docs" / "hparams.md").read_text()
    table = page.split("| Library | Families | Head size |", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([^`]+)`", table))
    modelled = {
        name
        for family_table in (kerashub.FAMILIES, huggingface.FAMILIES)
        for name, family in family_table.items()
        if family.modelled and " " not in name  # "gemma3_text (in gemma3)": a nested variant
    }
    assert not modelled - named, sorted(modelled - named)

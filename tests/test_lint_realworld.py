"""kmha-lint on models nobody on this project wrote, labelled by real Keras.

tests/realworld/ (made by tests/realworld/generate.py, see its README) holds configs of
keras.applications models and of models from public Keras example code, in Keras 3 and
tf.keras, plus hand-style edits of them, each labelled by whether Keras rebuilds it and
predicts one batch, and for those that run, what `model.summary()` reports.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from kmha_lint import rules
from kmha_lint.api import lint_text
from kmha_lint.settings import read_settings_file
from kmha_lint.summary import MULTIPLE, as_dict, summarize_document

CORPUS = Path(__file__).parent / "realworld"
MANIFEST = CORPUS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text())["entries"] if MANIFEST.exists() else []
RUNS = [e for e in ENTRIES if e["runs"]]
BREAKS = [e for e in ENTRIES if not e["runs"]]
# The corpus's own settings: the shapes of its custom layers, declared as a project would
# (tests/realworld/kmha-lint.toml). Every test runs with them and without them.
DECLARED = read_settings_file(str(CORPUS / "kmha-lint.toml")).layer.custom_layers
MODES = {"undeclared": None, "declared": DECLARED}
# The issue asks for 90%. Without declarations, what is left are edits inside custom layers
# (their config, which the linter cannot interpret) or shapes that change only through one;
# with them, one edit tf.keras cannot see statically either. docs/agreement.md's "Agreement with
# Keras" section lists both.
REQUIRED_DETECTION = {"undeclared": 0.86, "declared": 0.98}

pytestmark = pytest.mark.skipif(not ENTRIES, reason="tests/realworld/manifest.json is missing")


@functools.cache
def errors(file: str, mode: str = "undeclared") -> tuple:
    findings = lint_text((CORPUS / file).read_text(), file, custom_layers=MODES[mode])
    return tuple(f for f in findings if f.severity == "error")


@functools.cache
def summary(file: str, mode: str = "undeclared") -> dict:
    document = json.loads((CORPUS / file).read_text())
    return as_dict(summarize_document(document, file, MODES[mode]))


def test_corpus_has_both_flavors_and_breaking_edits():
    assert {e["flavor"] for e in ENTRIES} == {"keras3", "keras2"}
    assert len(RUNS) > 100 and len(BREAKS) > 60


@pytest.mark.parametrize("mode", MODES)
def test_no_error_on_any_config_keras_runs(mode):
    false = [
        f"{e['file']} ({e['description']}): {f.code} at {f.pointer}: {f.message}"
        for e in RUNS
        for f in errors(e["file"], mode)
    ]
    assert not false, "\n".join(false)


@pytest.mark.parametrize("mode", MODES)
def test_breaking_edits_are_caught(mode):
    missed = [f"{e['file']}: {e['description']}" for e in BREAKS if not errors(e["file"], mode)]
    caught = 1 - len(missed) / len(BREAKS)
    assert caught >= REQUIRED_DETECTION[mode], (
        f"{caught:.1%} of {len(BREAKS)} breaking edits caught; missed:\n" + "\n".join(missed)
    )


def test_declarations_fit_every_custom_layer_of_the_corpus():
    """No KMHA316 (a declaration that cannot be read for its layer) on any config."""
    unfit = [
        f"{e['file']}: {f.message}"
        for e in ENTRIES
        for f in lint_text((CORPUS / e["file"]).read_text(), e["file"], custom_layers=DECLARED)
        if f.rule is rules.CUSTOM_LAYER_DECLARATION
    ]
    assert not unfit, "\n".join(unfit)


def test_what_declarations_catch_is_reported_at_the_custom_layer():
    """The edits of a custom layer's own config are reported by its declaration's rules."""
    for file, code, words in [
        ("configs/keras3/vit__num-patches.json", "KMHA314", "Expected 17 (`num_patches`"),
        ("configs/keras3/token_learner__sequence-length.json", "KMHA315", "received 64 > 32"),
        ("configs/keras2/text_classifier__input-size.json", "KMHA315", "received 17 > 16"),
    ]:
        found = errors(file, "declared")
        assert any(f.code == code and words in f.message for f in found), (file, found)
        assert not any(f.code == code for f in errors(file)), file


# The share of layer rows whose shape and count --summary knows (and gets right).
KNOWN_SHARE = {"undeclared": 0.99, "declared": 0.998}


def _expected_shape(row: dict):
    # The manifest writes null for a layer called more than once (Keras shows "multiple").
    return MULTIPLE if row["output_shape"] is None else row["output_shape"]


@pytest.mark.parametrize("mode", MODES)
def test_summary_equals_keras_where_known(mode):
    wrong, known, total = [], 0, 0
    for entry in RUNS:
        got = {row["name"]: row for row in summary(entry["file"], mode)["layers"]}
        for want in entry["summary"]["layers"]:
            row = got.get(want["name"])
            assert row is not None, f"{entry['file']}: no row for {want['name']}"
            for key, expected in (
                ("output_shape", _expected_shape(want)),
                ("params", want["params"]),
            ):
                total += 1
                if row[key] is None:
                    continue
                known += 1
                if row[key] != expected:
                    wrong.append(f"{entry['file']}: {want['name']} {key} {row[key]} != {expected}")
        found = summary(entry["file"], mode)["total_params"]
        if found is not None and found != entry["summary"]["total_params"]:
            wrong.append(f"{entry['file']}: total {found} != {entry['summary']['total_params']}")
    assert not wrong, "\n".join(wrong[:30])
    assert known / total > KNOWN_SHARE[mode], f"only {known} of {total} shapes and counts known"


# Unknown on purpose although every layer is modelled: tf.keras rebuilds an attention layer
# from the width-1 shapes recorded in its config and broadcasts the projection over the
# 8 features that now arrive (Keras runs it; the output keeps width 1).
UNKNOWN_ON_PURPOSE = {"configs/keras2/timeseries_transformer__attention-output-width.json"}


def test_unknown_only_in_models_with_a_layer_the_linter_does_not_model():
    for entry in RUNS:
        if entry["file"] in UNKNOWN_ON_PURPOSE:
            continue
        got = summary(entry["file"])
        unknown = [r for r in got["layers"] if r["output_shape"] is None or r["params"] is None]
        if unknown:
            assert any(note.startswith("Not modelled") for note in got["notes"]), (
                f"{entry['file']}: {unknown[0]['name']} unknown, yet every layer is modelled"
            )

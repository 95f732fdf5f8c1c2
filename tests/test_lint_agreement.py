"""kmha-lint agrees with real Keras on a corpus of generated and mutated configs.

The corpus in tests/corpus/ (made by hand with tests/corpus/generate.py) holds Keras 3 and
tf.keras configs, each labelled by whether real Keras rebuilds it and predicts one batch.
Keras is the test of truth: the linter must report no error on a config that Keras runs
(unless the config is surely a mistake, such as zero heads), and at least one error on at
least 99% of the configs that Keras cannot run. The linter itself runs in this process; the
spot checks that re-derive labels with the installed Keras run in a subprocess, so that no
TensorFlow import leaks into the linter's own tests.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from kmha_lint.api import Finding, lint_text

CORPUS = Path(__file__).parent / "corpus"
ENTRIES = json.loads((CORPUS / "manifest.json").read_text())["entries"]
BY_FILE = {entry["file"]: entry for entry in ENTRIES}
REQUIRED_DETECTION = 0.99
# (family, runs) of the Keras 3 configs whose labels are re-derived live: an original, a
# consistently renamed graph, and failures at deserialization (a head count the layer
# rejects), at graph rebuild (a dangling reference) and at a stale recorded build shape.
SPOT_CHECKS = (
    ("original", True),
    ("consistent_rename", True),
    ("size:num_key_value_heads", False),
    ("dangling_reference", False),
    ("stale_build", False),
)


@functools.cache
def lint_corpus_file(file: str) -> tuple[Finding, ...]:
    return tuple(lint_text((CORPUS / file).read_text(), path=file))


def error_findings(file: str) -> list[Finding] | None:
    """Error-severity findings of a corpus file; None when the linter raised (reported by
    `test_linter_never_raises` with its traceback)."""
    try:
        findings = lint_corpus_file(file)
    except Exception:  # noqa: BLE001 - a crash is its own test's failure
        return None
    return [finding for finding in findings if finding.severity == "error"]


def describe(entry: dict) -> str:
    keras = "runs" if entry["runs"] else f"fails: {entry['keras_error']}"
    return f"{entry['file']} [{entry['mutation']}]\n    Keras ({entry['kind']}): {keras}"


def describe_finding(finding: Finding) -> str:
    return f"{finding.code} at {finding.pointer or '/'} ({finding.line}:{finding.column}): " + (
        finding.message
    )


def test_manifest_labels_every_file_once() -> None:
    on_disk = {
        f"{folder.name}/{path.name}"
        for folder in (CORPUS / "keras3", CORPUS / "keras2")
        for path in folder.glob("*.json")
    }
    assert len(BY_FILE) == len(ENTRIES), "duplicate files in manifest.json"
    only_listed, only_on_disk = sorted(set(BY_FILE) - on_disk), sorted(on_disk - set(BY_FILE))
    assert not only_listed and not only_on_disk, (
        f"manifest.json and the corpus folders disagree: {len(only_listed)} files only in the "
        f"manifest (first: {only_listed[:5]}), {len(only_on_disk)} only on disk (first: "
        f"{only_on_disk[:5]}). Regenerate: .venv/bin/python tests/corpus/generate.py"
    )
    kinds = {entry["kind"] for entry in ENTRIES}
    assert kinds == {"keras3", "keras2"}, f"corpus kinds: {kinds}"
    for entry in ENTRIES:
        assert entry["runs"] == (entry["keras_error"] is None), describe(entry)


@pytest.mark.parametrize("file", sorted(BY_FILE))
def test_linter_never_raises(file: str) -> None:
    findings = lint_corpus_file(file)
    for finding in findings:
        assert finding.severity in ("error", "warning"), describe_finding(finding)
        assert finding.line >= 1 and finding.column >= 1, describe_finding(finding)
        assert finding.message, f"{file}: {finding.code} has an empty message"


def test_no_error_on_configs_keras_runs() -> None:
    runnable = [entry for entry in ENTRIES if entry["runs"] and not entry["mistake"]]
    offenders = []
    for entry in runnable:
        errors = error_findings(entry["file"])
        if errors:
            listed = "\n".join(f"    linter: {describe_finding(e)}" for e in errors)
            offenders.append(f"{describe(entry)}\n{listed}")
    assert not offenders, (
        f"false errors on {len(offenders)} of {len(runnable)} configs that Keras runs:\n"
        + "\n".join(offenders)
    )


def test_error_on_configs_keras_cannot_run() -> None:
    failing = [entry for entry in ENTRIES if not entry["runs"]]
    crashed = [entry for entry in failing if error_findings(entry["file"]) is None]
    misses = [entry for entry in failing if error_findings(entry["file"]) == []]
    detected = len(failing) - len(misses) - len(crashed)
    report = "\n".join(describe(entry) for entry in misses)
    print(f"linter errors on {detected} of {len(failing)} configs Keras cannot run")
    print(f"misses:\n{report}" if misses else "no misses")
    assert not crashed, f"the linter raised on {[entry['file'] for entry in crashed]}"
    assert detected >= REQUIRED_DETECTION * len(failing), (
        f"the linter reports an error on {detected} of {len(failing)} configs that Keras cannot "
        f"run ({detected / len(failing):.1%}); at least {REQUIRED_DETECTION:.0%} are required. "
        f"Misses:\n{report}"
    )


SPOT_CHECK_SCRIPT = """
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, sys.argv[1])
from truth import keras_outcome
outcomes = {}
for file in sys.argv[2:]:
    with open(os.path.join(sys.argv[1], file)) as handle:
        outcomes[file] = keras_outcome(handle.read(), "keras3")
print("OUTCOMES" + json.dumps(outcomes))
"""


# Edits whose failure one rule names, whatever else the linter also reports.
RULE_OF_FAMILY = {
    "activation": "KMHA104",
    "attention_axes": "KMHA205",
    "dangling_reference": "KMHA301",
    "reference_typo": "KMHA301",
    "stale_build": "KMHA302",
    "unknown_argument": "KMHA106",
    "permute": "KMHA312",
}


def _names_the_failure(entry: dict) -> bool:
    """The family's rule is reported, or a finding says word for word the kmha.ShapeError
    Keras raised (the layer and the linter run one call check: an edit meant as one
    mistake, e.g. a stale build width, can first break a check that comes earlier)."""
    findings = error_findings(entry["file"]) or []
    if RULE_OF_FAMILY[entry["family"]] in {f.code for f in findings}:
        return True
    error = entry["keras_error"] or ""
    return error.startswith("ShapeError: ") and any(
        error.removeprefix("ShapeError: ").startswith(f.message) for f in findings
    )


def test_each_edit_is_named_by_its_rule() -> None:
    """Detection by the right rule, not by any error: a typo'd reference is KMHA301."""
    wrong = [
        f"{describe(entry)}\n    expected {RULE_OF_FAMILY[entry['family']]}, found "
        + ", ".join(f.code for f in error_findings(entry["file"]) or [])
        for entry in ENTRIES
        if not entry["runs"] and entry["family"] in RULE_OF_FAMILY and not _names_the_failure(entry)
    ]
    checked = [e for e in ENTRIES if not e["runs"] and e["family"] in RULE_OF_FAMILY]
    assert len(checked) > 80, "the corpus lost the edits this test is about"
    assert not wrong, "\n".join(wrong)


def spot_check_files() -> list[str]:
    """The first Keras 3 file of each (family, runs) in `SPOT_CHECKS`, in corpus order."""
    return [
        next(
            (e["file"] for e in ENTRIES if e["kind"] == "keras3" and (e["family"], e["runs"]) == c),
            f"<no keras3 config with (family, runs) = {c}>",
        )
        for c in SPOT_CHECKS
    ]


def test_spot_checks_still_hold_with_installed_keras() -> None:
    files = spot_check_files()
    assert all(file in BY_FILE for file in files), files
    done = subprocess.run(
        [sys.executable, "-c", SPOT_CHECK_SCRIPT, str(CORPUS), *files],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.rsplit("OUTCOMES", 1)[1])
    for file in files:
        entry, error = BY_FILE[file], outcomes[file]
        assert (error is None) == entry["runs"], (
            f"{describe(entry)}\n    installed Keras now: {error or 'runs'}\n"
            "Regenerate the corpus: .venv/bin/python tests/corpus/generate.py"
        )
        if error is not None:
            assert error[: len(entry["keras_error"])] == entry["keras_error"], (
                f"{describe(entry)}\n    installed Keras now says: {error}"
            )

"""Check one parsed document: recognise its kind, then run that kind's checks.

Positions are added later (by the caller); checks speak in JSON Pointers only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import kmha_lint.layers  # noqa: F401 - registers every layer family's rules
from kmha_lint import rules, schema
from kmha_lint.document import LayerSpec, ModelSpec, is_model, keras_major, read_model
from kmha_lint.findings import Issue
from kmha_lint.graph import SHAPE_KEYS, Walk

WHAT_TO_LINT = "Lint the output of `model.to_json()`, a .keras archive, or its config.json."


def document_kind(document: object) -> str | None:
    """The kind of a parsed document ("keras-model"), or None when it is none the linter
    knows. Cheap: no schema work, so a folder walk can use it to skip other JSON files."""
    if is_model(document):
        return "keras-model"
    from kmha_lint import hparams  # KerasHub and Hugging Face hyperparameter configs

    return hparams.document_kind(document)


def check_document(document: object, declarations: Mapping | None = None) -> list[Issue]:
    """All Issues of a parsed document, dispatched on its kind. ``declarations``: the
    project's custom-layer shape declarations (:mod:`kmha_lint.signatures`), by class key."""
    kind = document_kind(document)
    if kind == "keras-model":
        return check_keras_model(document, declarations)
    if kind in ("kerashub", "hf"):
        from kmha_lint import hparams

        return hparams.check(document, kind)
    return [unknown_document(document)]


def unknown_document(document: object) -> Issue:
    kind = type(document).__name__ if not isinstance(document, dict) else "an object"
    found = document.get("class_name") if isinstance(document, dict) else None
    return Issue(
        rules.UNKNOWN_DOCUMENT,
        "",
        "Not a Keras model config: expected an object with `class_name` (Functional, "
        "Model or Sequential) and `config.layers`; received "
        + (f"class_name {found!r}." if found else f"{kind} without them."),
        WHAT_TO_LINT,
    )


def check_keras_model(document: dict, declarations: Mapping | None = None) -> list[Issue]:
    """Schema and config pass per layer, then the graph walk, on a Keras model config."""
    major = keras_major(document)
    issues = schema.check_envelope(document, major == 3)
    model = read_model(document, "", major)
    skipped: set[str] = set()
    for layer in all_layers(model):
        layer_issues = schema.check_layer(layer, major)
        if any(_affects_shapes(issue, layer) for issue in layer_issues):
            skipped.add(layer.pointer)
        # Config checks guard their own inputs, so they run beside any schema finding.
        issues += layer_issues + schema.config_checks(layer, layer_issues)
    Walk(issues.append, skipped, declarations=declarations).run(model)
    return issues


def _affects_shapes(issue: Issue, layer: LayerSpec) -> bool:
    """A bad `units` leaves the layer's output unknown; a bad dropout rate, or an argument
    the layer does not take (which no shape rule reads), does not."""
    if issue.rule is rules.UNKNOWN_ARGUMENT:
        return False
    within = issue.pointer[len(layer.config_pointer()) :]
    return within == "" or within.split("/")[1] in SHAPE_KEYS


def all_layers(model: ModelSpec) -> Iterator[LayerSpec]:
    for layer in model.layers:
        yield layer
        if layer.submodel is not None:
            yield from all_layers(layer.submodel)

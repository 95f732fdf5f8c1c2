"""`kmha-lint --summary`: the graph as the linter sees it, like Keras's `model.summary()`.

Independent of findings: each layer's class, output shape and parameter count, and the
model's total, from the same graph walk and layer rules as the checks (no TensorFlow).
Unknown is None (a layer the linter does not model), never a guess; a layer called
several times with different output shapes shows "multiple", as Keras's summary does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from kmha_lint import check
from kmha_lint.document import LayerSpec, ModelSpec, TensorRef, keras_major, read_model
from kmha_lint.graph import PARAM_RULES, Applied, Walk, rule_for
from kmha_lint.layers import custom

MULTIPLE = "multiple"
OP_LAYERS = ("TFOpLambda", "SlicingOpLambda")
OutputShape = tuple | list | str | None


@dataclass
class LayerRow:
    name: str
    class_name: str
    output_shape: OutputShape  # a shape, a list of shapes, "multiple", or None (unknown)
    params: int | None  # None: unknown


@dataclass
class ModelSummary:
    path: str
    kind: str
    family: str | None
    layers: list[LayerRow]
    total_params: int | None
    geometry: dict | None = None
    notes: list[str] = field(default_factory=list)
    name: str | None = None
    # The file's findings, as the lint reports them (kmha_lint.findings.Finding); `--summary`
    # sets them, after the selection of codes.
    findings: list = field(default_factory=list)

    @classmethod
    def without_model(cls, path: str) -> ModelSummary:
        """A file with findings but no model to show (e.g. not JSON): kind None, nothing known."""
        return cls(path, None, None, [], None)


def summarize_document(
    document: object, path: str, declarations: Mapping | None = None
) -> ModelSummary | None:
    """The summary of a parsed document, or None when it is not one the linter knows.
    ``declarations``: the project's custom-layer shape declarations, by class key."""
    kind = check.document_kind(document)
    if kind == "keras-model":
        return summarize_keras_model(document, path, declarations)
    if kind in ("kerashub", "hf"):
        from kmha_lint.hparams import summary

        return summary.summarize(document, kind, path)
    return None


class _Seen:
    """What the walk saw, by layer pointer: every call's outputs and the first site."""

    def __init__(self, declarations: Mapping | None = None) -> None:
        self.calls: dict[str, list[Applied]] = {}
        self.declarations = declarations

    def __call__(self, applied: Applied) -> None:
        self.calls.setdefault(applied.layer.pointer, []).append(applied)


def summarize_keras_model(
    document: dict, path: str, declarations: Mapping | None = None
) -> ModelSummary:
    major = keras_major(document)
    model = read_model(document, "", major)
    seen = _Seen(declarations)
    Walk(lambda issue: None, set(), seen, declarations).run(model)
    rows = [_row(layer, seen) for layer in _summary_layers(model)]
    total = _total(model, seen)
    notes = []
    unmodelled = list(_unmodelled(model, declarations))
    if unmodelled:
        notes.append(
            "Not modelled (shapes after them come from the config's records, or stay "
            "unknown): " + ", ".join(sorted({layer.class_name for layer in unmodelled})) + "."
        )
    if any(not (layer.builtin or layer.op) for layer in unmodelled):
        notes.append(
            "A custom layer's shapes can be declared under [tool.kmha-lint.custom-layers] "
            "(docs/custom-layers.md)."
        )
    unknown = sorted({row.class_name for row in rows if row.params is None})
    if unknown:
        notes.append("Parameters unknown for: " + ", ".join(unknown) + ".")
    return ModelSummary(path, "keras-model", None, rows, total, None, notes, model.name)


def _unmodelled(model: ModelSpec, declarations: Mapping | None):
    for layer in _summary_layers(model):
        if layer.submodel is not None:
            yield from _unmodelled(layer.submodel, declarations)
        elif layer.class_name != "InputLayer" and rule_for(layer) is None:
            if custom.declaration_for(layer, declarations) is None:
                yield layer


def _summary_layers(model: ModelSpec) -> list[LayerSpec]:
    if model.kind == "sequential":
        return [layer for layer in model.layers if layer.class_name != "InputLayer"]
    on_path = _on_path(model)
    return [layer for layer in model.layers if on_path is None or layer in on_path]


def _refs(value: object):
    if isinstance(value, TensorRef):
        yield value
    elif isinstance(value, dict | list | tuple):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _refs(item)


def _on_path(model: ModelSpec) -> set[LayerSpec] | None:
    """The layers of a Keras 3 functional model that Keras keeps: its inputs, and every
    layer whose call leads to an output (Keras 3 drops the others, and their weights;
    tf.keras keeps them, as "ancillary layers"). None when all layers count: tf.keras, or a
    reference that does not resolve (Keras does not load such a config)."""
    if model.keras_major == 2:
        return None
    by_name = {layer.name: layer for layer in model.layers}
    kept: set[LayerSpec] = set()
    for ref in model.inputs:
        if ref.layer not in by_name:
            return None
        kept.add(by_name[ref.layer])
    pending, visited = list(model.outputs), set()
    while pending:
        ref = pending.pop()
        layer = by_name.get(ref.layer)
        if layer is None:
            return None
        kept.add(layer)
        call = layer.node_index(ref.node)
        if call is not None:
            calls = [call]
        elif layer.submodel is not None or layer.class_name == "InputLayer":
            # A nested model's node numbering differs between Keras versions (node 0 may be
            # its own graph or its first call): follow every call, keeping more, never less.
            calls = range(len(layer.calls))
        else:
            return None
        for k in calls:
            if (layer.name, k) not in visited:
                visited.add((layer.name, k))
                pending += _refs([layer.calls[k].args, layer.calls[k].kwargs])
    return kept


def _row(layer: LayerSpec, seen: _Seen) -> LayerRow:
    return LayerRow(layer.name, layer.class_name, _output_shape(layer, seen), _params(layer, seen))


def _shape_value(outputs) -> OutputShape:
    if outputs is None or any(t.shape is None for t in outputs):
        return None
    shapes = [tuple(t.shape) for t in outputs]
    return shapes[0] if len(shapes) == 1 else shapes


def _output_shape(layer: LayerSpec, seen: _Seen) -> OutputShape:
    calls = seen.calls.get(layer.pointer, [])
    if layer.class_name == "InputLayer":
        return _shape_value(calls[0].outputs) if calls else None
    if layer.submodel is not None:
        # The walk runs a nested model once on its own inputs, then once per call.
        calls = calls or []
    if not calls:
        return None
    values = [_shape_value(applied.outputs) for applied in calls]
    return MULTIPLE if len(calls) > 1 else values[0]  # as Keras's summary shows it


def _params(layer: LayerSpec, seen: _Seen) -> int | None:
    if layer.class_name == "InputLayer":
        return 0
    if layer.submodel is not None:
        return _total(layer.submodel, seen)
    if layer.op or layer.class_name in OP_LAYERS:
        return 0 if rule_for(layer) is not None else None  # operations have no weights
    rule = PARAM_RULES.get(layer.class_name) if (layer.builtin or layer.kmha) else None
    declaration = custom.declaration_for(layer, seen.declarations)
    if declaration is not None:
        rule = functools.partial(custom.params, declaration=declaration)
    if rule is None:
        return None
    counts = [rule(applied.site) for applied in seen.calls.get(layer.pointer, [])]
    known = [count for count in counts if count is not None]
    return known[0] if known else None


def _total(model: ModelSpec, seen: _Seen) -> int | None:
    total = 0
    for layer in _summary_layers(model):
        count = _params(layer, seen)
        if count is None:
            return None
        total += count
    return total


# -- rendering ---------------------------------------------------------------------------------


def show_shape(value: OutputShape) -> str:
    if value is None:
        return "?"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(show_shape(v) for v in value) + "]"
    inner = ", ".join("None" if d is None else str(d) for d in value)
    return f"({inner},)" if len(value) == 1 else f"({inner})"


def render_text(summaries: list[ModelSummary]) -> str:
    """A table per file, like model.summary(): layer (class), output shape, params."""
    blocks = []
    for summary in summaries:
        rows = [
            (
                f"{row.name} ({row.class_name})",
                show_shape(row.output_shape),
                "?" if row.params is None else f"{row.params:,}",
            )
            for row in summary.layers
        ]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

        def line(cells, widths=widths) -> str:
            return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

        rule = "-" * (sum(widths) + 4)
        title = f'{summary.path}: {summary.kind} "{summary.name or "model"}"'
        total = "unknown" if summary.total_params is None else f"{summary.total_params:,}"
        lines = [title, rule, line(header), rule, *map(line, rows), rule, f"Total params: {total}"]
        lines += [f"Note: {note}" for note in summary.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _json_shape(value: OutputShape):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_json_shape(v) for v in value]
    return list(value)


def as_dict(summary: ModelSummary) -> dict:
    return {
        "path": summary.path,
        "kind": summary.kind,
        "family": summary.family,
        "name": summary.name,
        "layers": [
            {
                "name": row.name,
                "class": row.class_name,
                "output_shape": _json_shape(row.output_shape),
                "params": row.params,
            }
            for row in summary.layers
        ],
        "total_params": summary.total_params,
        "geometry": summary.geometry,
        "notes": summary.notes,
        "findings": [finding.as_dict() for finding in summary.findings],
    }


def render_json(summaries: list[ModelSummary]) -> str:
    """A JSON array, one object per file; ``findings`` as the json output format has them."""
    return json.dumps([as_dict(summary) for summary in summaries], indent=2) + "\n"

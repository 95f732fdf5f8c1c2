"""`kmha-lint --summary` for hyperparameter configs: the family, the attention geometry
(heads, key/value heads, head size, widths) and the parameter count, computed from the
config alone (what KerasHub's ``count_params()`` and transformers' ``num_parameters()``
report for the model it builds).
"""

from __future__ import annotations

from kmha_lint.hparams.checks import Report, head_size, is_int
from kmha_lint.hparams.spec import Unit


def _positive(value: object) -> int | None:
    return int(value) if is_int(value) and value > 0 else None


def geometry(unit: Unit) -> list[dict]:
    """One dict per attention stack of the unit (keys as in the corpus manifest)."""
    stacks = []
    values = unit.values
    report = Report(unit)
    layer_keys = list(unit.family.layers)
    for index, attention in enumerate(unit.family.attention):
        heads = _positive(values.get(attention.heads))
        kv = _positive(values.get(attention.kv_heads)) if attention.kv_heads else None
        if attention.kv_when is not None and not values.get(attention.kv_when):
            kv = None
        size = head_size(report, attention)
        layers_key = layer_keys[min(index, len(layer_keys) - 1)] if layer_keys else None
        layers = values.get(layers_key) if layers_key else None
        stack = {
            "hidden_width": _positive(values.get(attention.width)),
            "heads": heads,
            "kv_heads": kv if kv is not None else heads,
            "head_size": size,
            "query_width": heads * size if heads and size else None,
            "kv_width": (kv or heads) * size if (kv or heads) and size else None,
            "layers": layers if is_int(layers) else None,
        }
        if len(unit.family.attention) > 1:
            stack["stack"] = attention.heads
        stacks.append(stack)
    return stacks


def _describe(stack: dict) -> str:
    parts = [
        f"{stack['heads']} heads",
        f"{stack['kv_heads']} key/value heads",
        f"head size {stack['head_size']}",
        f"width {stack['hidden_width']}",
        f"query projection {stack['query_width']}",
    ]
    where = f" ({stack['stack']})" if "stack" in stack else ""
    layers = f", {stack['layers']} layers" if stack.get("layers") is not None else ""
    return f"Attention{where}: " + ", ".join("?" if "None" in p else p for p in parts) + layers


def summarize(document: object, kind: str, path: str):
    from kmha_lint import hparams
    from kmha_lint.summary import LayerRow, ModelSummary

    units = hparams.units(document, kind)
    if not units:
        return None  # a preset's metadata.json, a tokenizer: nothing to summarize
    rows, notes, stacks = [], [], []
    total: int | None = 0
    for unit in units:
        family = unit.family
        count = family.params(unit.values) if family.params is not None else None
        unit_stacks = geometry(unit)
        stacks += unit_stacks
        width = unit_stacks[0]["hidden_width"] if unit_stacks else None
        where = unit.pointer.rsplit("/", 1)[-1] if unit.pointer else "model"
        name = {"config": "backbone"}.get(where, where)
        rows.append(LayerRow(name, family.name, (None, None, width) if width else None, count))
        notes += [_describe(stack) for stack in unit_stacks]
        if not family.modelled:
            notes.append(f"{unit.label}: the family is not modelled; parameters unknown.")
        if count is None or total is None:
            total = None
        else:
            total += count
    if total is None and all(unit.family.modelled for unit in units):
        notes.append("Parameters unknown: a value the count needs is missing or invalid.")
    main = units[0].family
    title = None
    if main is not None:
        library = "KerasHub" if main.library == "keras_hub" else "transformers"
        title = f"{main.title or main.name} ({library} {main.name})"
        if not main.modelled:
            title = f"{main.name} ({library}, a family not modelled)"
    summary = ModelSummary(
        path,
        kind,
        main.name if main is not None else None,
        rows,
        total,
        (stacks[0] if len(stacks) == 1 else {"stacks": stacks}) if stacks else None,
        notes,
    )
    summary.name = title
    return summary

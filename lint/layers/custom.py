"""Custom layers a project declared: their shape signature applied at each call.

The declarations come from the settings (``[tool.kmha-lint.custom-layers]``, read by
:mod:`kmha_lint.settings` with :mod:`kmha_lint.signatures`); the walk asks
:func:`declaration_for` before it gives up on a layer it does not model. A declaration is
the project's word for what the layer's code does: inputs are checked against it
(KMHA314, KMHA315) and the outputs it gives are followed; where it cannot be read for a
layer (KMHA316) the layer is treated as undeclared.
"""

from __future__ import annotations

from collections.abc import Mapping

from kmha_lint import rules
from kmha_lint.document import LayerSpec
from kmha_lint.graph import Site, Tensor, show
from kmha_lint.signatures import Declaration, Match, Unfit, match, names

Declarations = Mapping[str, Declaration]


def declaration_for(layer: LayerSpec, declarations: Declarations | None) -> Declaration | None:
    """The declaration for a custom layer: by its registered name (``package>Class``, as the
    config writes it), else by its bare class name."""
    if not declarations or layer.builtin or layer.op or layer.kmha:
        return None
    for key in (layer.registered_name, layer.class_name, layer.class_name.rsplit(">", 1)[-1]):
        if key and key in declarations:
            return declarations[key]
    return None


def call_tensors(site: Site) -> list[Tensor]:
    """The tensors a layer is called on, in order: the positional arguments (the items of a
    list first argument), then keyword arguments in the order the config records them
    (tf.keras records every argument after the first as a keyword)."""
    args = site.args
    if len(args) == 1 and isinstance(args[0], list):
        args = args[0]
    return [a for a in (*args, *site.kwargs.values()) if isinstance(a, Tensor)]


def matched(site: Site, declaration: Declaration) -> Match | Unfit:
    shapes = [t.shape for t in call_tensors(site)]
    try:
        return match(declaration, shapes, site.config)
    except Unfit as unfit:
        return unfit


def apply(site: Site, declaration: Declaration) -> list | None:
    """Check one call against its declaration; the declared output shapes, or None."""
    result = matched(site, declaration)
    where = f"`{declaration.key}`" + (f" in {declaration.origin}" if declaration.origin else "")
    if isinstance(result, Unfit):
        problem = site.problem(
            "inputs",
            f"the shape declaration for {where} cannot be read for this layer",
            result.expected,
            result.received,
            "correct the declaration, or remove it to leave the layer unmodelled",
        )
        pointer = site.call.pointer if site.call is not None else site.layer.pointer
        site.report(rules.CUSTOM_LAYER_DECLARATION, pointer, problem)
        return None
    tensors = call_tensors(site)
    for mismatch in result.mismatches:
        if mismatch.condition is not None:
            _report_condition(site, where, mismatch)
            continue
        tensor = tensors[mismatch.input]
        several = len(declaration.inputs) > 1
        pattern = declaration.inputs[mismatch.input].text
        site.report(
            rules.CUSTOM_LAYER_INPUT,
            site.input_pointer(tensor),
            site.problem(
                f"inputs[{mismatch.input}]" if several else "inputs",
                f"the input does not fit the shape declared for {where} (`{pattern}`)",
                mismatch.expected,
                f"{mismatch.received} (shape {show(tensor.shape)})",
                "make the layer's config agree with what reaches it, or change what feeds "
                "it; if the layer does accept this shape, correct its declaration",
                mismatch.axis,
            ),
        )
    return result.outputs


def _report_condition(site: Site, where: str, mismatch) -> None:
    condition = mismatch.condition
    used = names(condition.left) | names(condition.right)
    keys = sorted(n for n in used if n in site.config)
    pointer = site.layer.config_pointer(keys[0]) if keys else site.input_pointer(None)
    site.report(
        rules.CUSTOM_LAYER_CONDITION,
        pointer,
        site.problem(
            "inputs",
            f"a condition declared for {where} does not hold",
            mismatch.expected,
            mismatch.received,
            "change the layer's config or its inputs so that the condition holds",
        ),
    )


def params(site: Site, declaration: Declaration) -> int | None:
    """The declared parameter count at one call (None: not declared, or unknown)."""
    if declaration.params is None:
        return None
    result = matched(site, declaration)
    if isinstance(result, Unfit) or result.mismatches:
        return None
    return result.value(declaration.params)

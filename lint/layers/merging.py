"""Merge layers: element-wise (Add, Subtract, ...), Concatenate and Dot."""

from __future__ import annotations

from kmha_lint import rules
from kmha_lint.graph import Shape, Site, Tensor, as_shape, is_int, param_rule, shape_rule, show
from kmha_lint.problem import Problem

ELEMENTWISE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


@shape_rule(*ELEMENTWISE)
def elementwise(site: Site):
    if not _recorded_shapes_agree(site, lambda shapes: elementwise_shape(shapes)[1]):
        return None
    tensors = site.input_list()
    if tensors is None or any(t.shape is None for t in tensors):
        return None
    result, conflict = elementwise_shape([t.shape for t in tensors])
    if conflict is not None:
        report_merge(site, tensors, conflict)
        return None
    return None if result is None else [result]


def elementwise_shape(shapes: list[Shape]) -> tuple[Shape | None, int | None]:
    """(merged shape or None if open, first axis whose sizes conflict or None)."""
    ranks = {len(shape) for shape in shapes}
    if len(ranks) != 1:
        return None, None  # Keras expands lower ranks; leave it open
    (rank,) = ranks
    result: list[int | None] = []
    for axis in range(rank):
        known = {shape[axis] for shape in shapes} - {None}
        sizes = known - {1} if axis else known
        if len(sizes) > 1:
            return None, axis
        if sizes:
            result.append(sizes.pop())
        elif len(known) == 1 and all(shape[axis] is not None for shape in shapes):
            result.append(1)
        else:
            result.append(None)
    return tuple(result), None


def _recorded_shapes_agree(site: Site, conflict) -> bool:
    """Keras builds a merge layer from its build_config first: those shapes must agree."""
    recorded = (site.layer.build_config or {}).get("input_shape")
    if not isinstance(recorded, list) or not recorded:
        return True
    shapes = [as_shape(shape) for shape in recorded]
    if any(shape is None for shape in shapes):
        return True
    axis = conflict(shapes)
    if axis is None:
        return True
    site.report(
        rules.STALE_BUILD_SHAPE,
        site.layer.pointer + "/build_config/input_shape",
        site.problem(
            "build_config",
            f"the input shapes recorded in build_config disagree on axis {axis}, and Keras "
            "builds the layer from them before any input arrives",
            "shapes that merge",
            ", ".join(show(shape) for shape in shapes),
            f"delete the stale `build_config` of `{site.name}` (Keras then builds it from "
            "the inputs that arrive), or fix the recorded shapes",
            axis=str(axis),
        ),
    )
    return False


def report_merge(site: Site, tensors: list[Tensor], axis: int) -> None:
    shapes = ", ".join(show(t.shape) for t in tensors)
    rank = len(tensors[0].shape)
    sizes = [t.shape[axis] for t in tensors]
    attention = next((t for t in tensors if t.attention is not None), None)
    if axis == rank - 1 and attention is not None:
        residual = next(
            (t.shape[axis] for t in tensors if t.attention is None and t.shape[axis] is not None),
            None,
        )
        if residual is not None and residual != attention.shape[axis]:
            site.report(
                rules.ATTENTION_RESIDUAL_WIDTH,
                site.input_pointer(attention),
                Problem(
                    attention.attention,
                    "output_shape",
                    axis=f"{axis} (features)",
                    what=f"the attention output is added to a residual of another width in "
                    f"`{site.name}` ({shapes})",
                    expected=str(residual),
                    received=str(attention.shape[axis]),
                    fix=f"set output_shape={residual} on `{attention.attention}` (or remove "
                    "output_shape so that the output keeps the query width)",
                ),
            )
            return
    site.report(
        rules.MERGE_SHAPE_MISMATCH,
        site.input_pointer(tensors[-1]),
        site.problem(
            "inputs",
            f"the inputs of {site.class_name} disagree on axis {axis}",
            "equal sizes (or 1) on every axis" if axis else "one batch size",
            f"sizes {sizes} from shapes {shapes}",
            "project the inputs to one width first (e.g. a Dense layer), or merge with Concatenate",
            axis=str(axis),
        ),
    )


def concatenated(site: Site, tensors: list[Tensor], axis: object, pointer_key: str = "axis"):
    """The concatenation of ``tensors`` along ``axis``, reporting what does not fit."""
    if any(t.shape is None for t in tensors) or not is_int(axis):
        return None
    rank = len(tensors[0].shape)
    if not -rank <= axis < rank:
        site.report(
            rules.AXIS_OUT_OF_RANGE,
            site.layer.config_pointer(pointer_key),
            site.problem(
                "axis",
                f"the concatenation axis is outside inputs of rank {rank}",
                f"an axis in {-rank}..{rank - 1}",
                str(axis),
                "concatenate along an existing axis, usually -1 (features)",
            ),
        )
        return None
    ranks = {len(t.shape) for t in tensors}
    shapes = ", ".join(show(t.shape) for t in tensors)
    if len(ranks) != 1:
        site.report(
            rules.MERGE_SHAPE_MISMATCH,
            site.input_pointer(tensors[-1]),
            site.problem(
                "inputs",
                f"{site.class_name} needs inputs of one rank",
                "equal ranks",
                f"shapes {shapes}",
                "reshape the inputs to one rank before concatenating",
            ),
        )
        return None
    axis %= rank
    result: list[int | None] = []
    for a in range(rank):
        sizes = [t.shape[a] for t in tensors]
        if a == axis:
            result.append(None if None in sizes else sum(sizes))
            continue
        known = set(sizes) - {None}
        if len(known) > 1:
            site.report(
                rules.MERGE_SHAPE_MISMATCH,
                site.input_pointer(tensors[-1]),
                site.problem(
                    "inputs",
                    f"{site.class_name} inputs differ on axis {a}, which is not the "
                    f"concatenation axis {axis}",
                    "equal sizes on every other axis",
                    f"sizes {sizes} from shapes {shapes}",
                    f"make axis {a} agree, or concatenate along axis {a}",
                    axis=str(a),
                ),
            )
            return None
        result.append(known.pop() if known else None)
    return tuple(result)


@shape_rule("Concatenate")
def concatenate(site: Site):
    tensors = site.input_list()
    if tensors is None:
        return None
    result = concatenated(site, tensors, site.config.get("axis", -1))
    return None if result is None else [result]


@shape_rule("Dot")
def dot(site: Site):
    tensors, axes = site.input_list(), site.config.get("axes")
    if tensors is None or len(tensors) != 2 or any(t.shape is None for t in tensors):
        return None
    first, second = (t.shape for t in tensors)
    axes = [axes, axes] if is_int(axes) else axes
    if not (isinstance(axes, list) and len(axes) == 2 and all(is_int(a) for a in axes)):
        return None
    if not all(-len(s) <= a < len(s) for a, s in zip(axes, (first, second), strict=True)):
        return None
    a, b = axes[0] % len(first), axes[1] % len(second)
    if first[a] is not None and second[b] is not None and first[a] != second[b]:
        site.report(
            rules.MERGE_SHAPE_MISMATCH,
            site.input_pointer(tensors[1]),
            site.problem(
                "inputs",
                f"Dot contracts axis {a} of the first input with axis {b} of the second, "
                "and their sizes differ",
                f"{first[a]}, as in {show(first)}",
                f"{second[b]} (shape {show(second)})",
                "choose axes of equal size, or project one input first",
            ),
        )
        return None
    rest = [d for i, d in enumerate(first) if i not in (0, a)]
    rest += [d for i, d in enumerate(second) if i not in (0, b)]
    return [(first[0], *(rest or [1]))]


@param_rule(*ELEMENTWISE, "Concatenate", "Dot")
def no_weights(site: Site):
    return 0

"""Operations on symbolic tensors: keras.ops nodes (Keras 3) and TFOpLambda (tf.keras).

Only static, common ones are modelled; anything else stays unknown (and the graph walk
continues from recorded shapes where it can)."""

from __future__ import annotations

from kmha_lint import rules
from kmha_lint.graph import Site, Tensor, all_ints, constant_shape, is_int, op_rule, show
from kmha_lint.layers.merging import concatenated
from kmha_lint.layers.reshaping import permuted, reshaped

BINARY = ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power")
TF_BINARY = ("math.add", "__operators__.add", "math.subtract", "math.multiply")
TF_BINARY += ("math.truediv", "math.divide", "math.maximum", "math.minimum")


def _operands(site: Site, names: tuple[str, str]) -> list[object]:
    return [site.argument(i, name) for i, name in enumerate(names)]


@op_rule(*BINARY, *TF_BINARY)
def broadcast(site: Site):
    names = ("y", "y") if site.layer.class_name == "TFOpLambda" else ("x1", "x2")
    first = site.argument(0, "x")
    second = site.argument(1, names[1]) if site.layer.op else site.kwargs.get("y")
    shapes = []
    for operand in (first, second):
        if isinstance(operand, Tensor):
            if operand.shape is None:
                return None
            shapes.append(operand.shape)
        elif isinstance(operand, int | float) and not isinstance(operand, bool):
            shapes.append(())
        elif constant_shape(operand) is not None:
            shapes.append(constant_shape(operand))
        else:
            return None
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    result = []
    for axis in range(rank):
        sizes = {s[axis] for s in padded}
        known = sizes - {None, 1}
        if len(known) > 1:
            tensors = [o for o in (first, second) if isinstance(o, Tensor)]
            site.report(
                rules.MERGE_SHAPE_MISMATCH,
                site.input_pointer(tensors[-1]),
                site.problem(
                    "inputs",
                    f"the operands of {site.class_name} do not broadcast on axis {axis}",
                    "equal sizes (or 1) on every axis",
                    " and ".join(show(s) for s in shapes),
                    "make the operands' shapes agree (project or reshape one of them)",
                    axis=str(axis),
                ),
            )
            return None
        if known:
            result.append(known.pop())
        elif None in sizes:
            result.append(None)
        else:
            result.append(1)
    return [tuple(result)]


def _tensor(site: Site, position: int = 0, keyword: str = "x"):
    value = site.argument(position, keyword)
    return value if isinstance(value, Tensor) and value.shape is not None else None


@op_rule("Reshape", "reshape")
def reshape(site: Site):
    tensor = site.argument(0, "x")
    key = "newshape" if site.layer.op else "shape"
    target = site.config.get(key) if site.layer.op else site.kwargs.get("shape")
    if site.layer.op and target is None:
        key, target = "new_shape", site.config.get("new_shape")
    if not isinstance(tensor, Tensor) or not all_ints(target) or not target:
        return None
    # The target includes the batch axis: reshape the whole tensor.
    if tensor.shape is None:
        return None
    if None in tensor.shape[1:] or -1 not in target and tensor.shape[0] is None:
        if tensor.shape[0] is None and target[0] == -1 and None not in tensor.shape[1:]:
            result = reshaped(site, tensor.shape, list(target[1:]), key)
            return None if result is None else [result]
        return None
    if tensor.shape[0] is None:
        if target.count(-1) != 1 or target[0] != -1:
            return None
        result = reshaped(site, tensor.shape, list(target[1:]), key)
        return None if result is None else [result]
    result = reshaped(site, (1, *tensor.shape), list(target), key)
    return None if result is None else [result[1:]]


@op_rule("Transpose", "transpose", "compat.v1.transpose")
def transpose(site: Site):
    tensor = _tensor(site)
    axes = site.config.get("axes") if site.layer.op else site.kwargs.get("perm")
    if tensor is None:
        return None
    if axes is None:
        return [tuple(reversed(tensor.shape))]
    if not all_ints(axes):
        return None
    rank = len(tensor.shape)
    axes = [a % rank if -rank <= a < rank else a for a in axes]
    result = permuted(site, tensor.shape, axes, "axes" if site.layer.op else "perm", offset=0)
    return None if result is None else [result]


def _axis(site: Site, default=0):
    return site.config.get("axis", default) if site.layer.op else site.kwargs.get("axis", default)


@op_rule("Concatenate", "concat")
def concatenate(site: Site):
    tensors = site.input_list()
    if tensors is None:
        return None
    result = concatenated(site, tensors, _axis(site))
    return None if result is None else [result]


@op_rule("Stack", "stack")
def stack(site: Site):
    tensors = site.input_list()
    axis = _axis(site)
    if tensors is None or any(t.shape is None for t in tensors) or not is_int(axis):
        return None
    merged = concatenated(site, tensors, 0) if len({len(t.shape) for t in tensors}) == 1 else None
    if merged is None:
        return None
    shape = list(tensors[0].shape)
    for a in range(1, len(shape)):
        shape[a] = merged[a]
    rank = len(shape) + 1
    if not -rank <= axis < rank:
        return None
    shape.insert(axis % rank, len(tensors))
    return [tuple(shape)]


@op_rule("ExpandDims", "expand_dims")
def expand_dims(site: Site):
    tensor, axis = _tensor(site), _axis(site, None)
    if tensor is None or not is_int(axis):
        return None
    rank = len(tensor.shape) + 1
    if not -rank <= axis < rank:
        return None
    shape = list(tensor.shape)
    shape.insert(axis % rank, 1)
    return [tuple(shape)]


@op_rule("Squeeze", "squeeze", "compat.v1.squeeze")
def squeeze(site: Site):
    tensor, axis = _tensor(site), _axis(site, None)
    if tensor is None:
        return None
    rank = len(tensor.shape)
    if axis is None:
        if None in tensor.shape:
            return None
        return [tuple(d for d in tensor.shape if d != 1)]
    axes = [axis] if is_int(axis) else axis
    if not all_ints(axes) or not all(-rank <= a < rank for a in axes):
        return None
    drop = {a % rank for a in axes}
    if any(tensor.shape[a] not in (1, None) for a in drop):
        return None
    return [tuple(d for i, d in enumerate(tensor.shape) if i not in drop)]


@op_rule("Matmul", "linalg.matmul", "matmul")
def matmul(site: Site):
    first = _tensor(site, 0, "x1" if site.layer.op else "a")
    second = site.argument(1, "x2") if site.layer.op else site.kwargs.get("b")
    if first is None or not isinstance(second, Tensor) or second.shape is None:
        return None
    a, b = first.shape, second.shape
    if len(a) < 2 or len(b) < 2:
        return None
    if not site.layer.op:  # tf.linalg.matmul's transpose_a / adjoint_b and the like
        flags = site.kwargs
        if flags.get("transpose_a") is True or flags.get("adjoint_a") is True:
            a = a[:-2] + (a[-1], a[-2])
        if flags.get("transpose_b") is True or flags.get("adjoint_b") is True:
            b = b[:-2] + (b[-1], b[-2])
    if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
        site.report(
            rules.CONTRACTION_SIZE_MISMATCH,
            site.input_pointer(second),
            site.problem(
                "inputs",
                "the inner sizes of a matrix product differ",
                f"{a[-1]}, the last axis of {show(a)}",
                f"{b[-2]} (axis -2 of {show(b)})",
                "make the contracted sizes agree, or transpose one operand",
            ),
        )
        return None
    batch_a, batch_b = a[:-2], b[:-2]
    if len(batch_a) != len(batch_b):
        return None
    batch = tuple(x if x not in (None, 1) else y for x, y in zip(batch_a, batch_b, strict=True))
    return [batch + (a[-2], b[-1])]


@op_rule("Einsum", "einsum")
def einsum(site: Site):
    equation = site.config.get("subscripts") if site.layer.op else site.kwargs.get("equation")
    if not site.layer.op and equation is None:
        return None
    tensors = [a for a in site.args if isinstance(a, Tensor)]
    if not site.layer.op:
        tensors = site.args[0] if isinstance(site.args[0], list) else [site.args[0]]
    if not isinstance(equation, str) or "." in equation or "->" not in equation:
        return None
    if any(not isinstance(t, Tensor) or t.shape is None for t in tensors):
        return None
    inputs, out = equation.replace(" ", "").split("->")
    operands = inputs.split(",")
    if len(operands) != len(tensors):
        return None
    sizes: dict[str, int | None] = {}
    for letters, tensor in zip(operands, tensors, strict=True):
        if len(letters) != len(tensor.shape):
            return None
        for letter, size in zip(letters, tensor.shape, strict=True):
            known = sizes.get(letter)
            if known is not None and size is not None and known != size and 1 not in (known, size):
                site.report(
                    rules.CONTRACTION_SIZE_MISMATCH,
                    site.input_pointer(tensor),
                    site.problem(
                        "inputs",
                        f"subscript `{letter}` of '{equation}' has two sizes",
                        str(known),
                        f"{size} in {show(tensor.shape)}",
                        "make the operands agree on every shared subscript",
                    ),
                )
                return None
            if known is None or known == 1:
                sizes[letter] = size
    if any(c not in sizes for c in out):
        return None
    return [tuple(sizes[c] for c in out)]


# Element-wise functions of one tensor: the output has the input's shape.
UNARY = ("Relu", "Relu6", "Sigmoid", "Tanh", "Gelu", "Silu", "Softmax", "LogSoftmax", "Exp")
UNARY += ("Log", "Sqrt", "Rsqrt", "Square", "Abs", "Negative", "Cast", "Erf", "Softplus")
TF_UNARY = ("nn.softmax", "math.softmax", "nn.relu", "nn.gelu", "math.sigmoid", "math.tanh")
TF_UNARY += ("math.exp", "math.log", "math.sqrt", "math.rsqrt", "math.square", "math.abs")
TF_UNARY += ("math.negative", "cast", "nn.silu", "math.erf", "nn.softplus", "nn.log_softmax")


@op_rule(*UNARY, *TF_UNARY)
def unary(site: Site):
    tensor = site.argument(0, "x")
    return [tensor.shape] if isinstance(tensor, Tensor) and tensor.shape is not None else None


REDUCTIONS = ("Mean", "Sum", "Max", "Min", "Prod", "Any", "All", "Std", "Var", "Argmax", "Argmin")
TF_REDUCTIONS = ("math.reduce_mean", "math.reduce_sum", "math.reduce_max", "math.reduce_min")
TF_REDUCTIONS += ("reduce_mean", "reduce_sum", "math.reduce_prod", "math.argmax", "math.argmin")


@op_rule(*REDUCTIONS, *TF_REDUCTIONS)
def reduction(site: Site):
    tensor = _tensor(site)
    if tensor is None:
        return None
    if site.layer.op:
        axis, keep = site.config.get("axis"), site.config.get("keepdims", False)
    else:
        axis = site.kwargs.get("axis")
        keep = site.kwargs.get("keepdims", site.kwargs.get("keep_dims", False))
    if site.class_name in ("Argmax", "Argmin"):
        keep = False  # no keepdims for these
    rank = len(tensor.shape)
    axes = list(range(rank)) if axis is None else [axis] if is_int(axis) else axis
    if not all_ints(axes) or not all(-rank <= a < rank for a in axes) or keep not in (True, False):
        return None
    drop = {a % rank for a in axes}
    if keep:
        return [tuple(1 if i in drop else d for i, d in enumerate(tensor.shape))]
    return [tuple(d for i, d in enumerate(tensor.shape) if i not in drop)]

"""Static shape propagation through a model graph, and the shape and geometry rules.

Shapes are tuples whose unknown sizes are None; a whole shape of None means "unknown",
which is what an opaque layer (Lambda, a custom class, a layer this module does not
model) produces. Every rule fires only on sizes that are known, so an unknown layer can
never cause an error after it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kmha_lint import geometry
from kmha_lint.document import Call, LayerSpec, ModelSpec, TensorRef
from kmha_lint.findings import Issue
from kmha_lint.problem import Problem, ShapeError

Shape = tuple[int | None, ...]
MAX_NESTING = 32
# The config keys the shape rules read: a schema error at any of them makes the layer's
# output unknown rather than guessed.
SHAPE_KEYS = frozenset(
    {"units", "output_dim", "equation", "output_shape", "num_heads", "key_dim", "value_dim"}
    | {"d_model", "num_key_value_heads", "attention_axes", "target_shape", "dims", "filters"}
    | {"kernel_size", "strides", "dilation_rate", "groups", "padding", "data_format", "axis"}
    | {"keepdims", "batch_shape", "batch_input_shape"}
)


@dataclass(frozen=True)
class Tensor:
    """A value flowing along an edge: its shape (None if unknown) and where it is referenced.

    ``attention`` names the attention layer this tensor comes from, through layers that keep
    its shape, so that a residual mismatch can be blamed on the attention output.
    """

    shape: Shape | None
    pointer: str
    attention: str | None = None


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _all_ints(value: object) -> bool:
    return isinstance(value, list) and all(_is_int(v) for v in value)


def as_shape(value: object) -> Shape | None:
    """A config shape list ([null, 12, 32]) as a Shape, or None when it is not one."""
    if isinstance(value, list) and all(v is None or (_is_int(v) and v >= 0) for v in value):
        return tuple(value)
    return None


def _declared_shape(layer: LayerSpec) -> Shape | None:
    """An InputLayer's batch shape (Keras 3 `batch_shape`, Keras 2 `batch_input_shape`)."""
    config = layer.config
    return as_shape(config.get("batch_shape", config.get("batch_input_shape")))


def _show(shape: Shape | None) -> str:
    if shape is None:
        return "an unknown shape"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


class Site:
    """One call of one layer: its resolved inputs and a way to report against it."""

    def __init__(self, layer: LayerSpec, call: Call | None, args: list, kwargs: dict, prop):
        self.layer, self.call, self.args, self.kwargs = layer, call, args, kwargs
        self.config = layer.config
        self._prop = prop

    @property
    def name(self) -> str:
        return self.layer.name

    def argument(self, position: int, keyword: str) -> object:
        if len(self.args) > position:
            return self.args[position]
        return self.kwargs.get(keyword)

    def report(self, code: str, pointer: str, problem: Problem, at_key: bool = False) -> None:
        self._prop.report(Issue.from_problem(code, pointer, problem, at_key))

    def input_pointer(self, tensor: object) -> str:
        if isinstance(tensor, Tensor):
            return tensor.pointer
        return self.call.pointer if self.call is not None else self.layer.pointer

    def problem(self, argument: str, what: str, expected: str, received: str, fix: str, axis=None):
        return Problem(self.name, argument, what, expected, received, fix, axis)


ShapeRule = Callable[[Site], list[Shape | None] | None]
_RULES: dict[str, ShapeRule] = {}


def shape_rule(*class_names: str):
    def register(function: ShapeRule) -> ShapeRule:
        for name in class_names:
            _RULES[name] = function
        return function

    return register


class Propagator:
    """Walks models in the order Keras rebuilds them and collects Issues."""

    def __init__(self, report: Callable[[Issue], None], skipped_layers: set[str]):
        self.report = report
        self._skipped = skipped_layers  # layers whose config failed the schema pass
        self._built_submodels: set[int] = set()

    # -- models ---------------------------------------------------------------------------

    def run(self, model: ModelSpec, arriving: list[Tensor] | None = None, depth: int = 0):
        if depth > MAX_NESTING:
            self.report(
                Issue(
                    "KMHA003",
                    model.pointer,
                    f"Model `{model.name}` nests more than {MAX_NESTING} models deep.",
                    "Flatten the model structure; the linter stops here.",
                )
            )
            return None
        if model.kind == "sequential":
            return self._run_sequential(model, arriving, depth)
        return self._run_functional(model, arriving, depth)

    def _run_sequential(self, model: ModelSpec, arriving, depth) -> list[Tensor]:
        declared = as_shape(model.input_shape)
        tensor = Tensor(declared, model.pointer + "/config")
        if arriving:
            tensor = self._accept(model, 0, arriving[0], declared)
        for layer in model.layers:
            if layer.class_name == "InputLayer":
                continue
            outputs = self._apply(layer, None, [tensor], {}, depth)
            tensor = outputs[0] if outputs else Tensor(None, layer.pointer)
        return [tensor]

    def _run_functional(self, model: ModelSpec, arriving, depth) -> list[Tensor]:
        by_name: dict[str, LayerSpec] = {}
        for layer in model.layers:
            if layer.name in by_name:
                self.report(
                    Issue(
                        "KMHA307",
                        layer.pointer + "/name",
                        f"Model `{model.name}`: two layers are named `{layer.name}`.",
                        f"Rename one of them; every layer of `{model.name}` needs its own name.",
                        at_key=True,
                    )
                )
            else:
                by_name[layer.name] = layer
        produced: dict[tuple[str, int], list[Tensor] | None] = {}
        for i, ref in enumerate(model.inputs):
            layer = by_name.get(ref.layer)
            if layer is not None and layer.class_name == "InputLayer":
                shape = _declared_shape(layer)
                tensor = Tensor(shape, ref.pointer)
                if arriving and i < len(arriving):
                    tensor = self._accept(model, i, arriving[i], shape)
                produced[(layer.name, 0)] = [tensor]
        for layer in model.layers:
            if layer.class_name == "InputLayer" and (layer.name, 0) not in produced:
                shape = _declared_shape(layer)
                produced[(layer.name, 0)] = [Tensor(shape, layer.pointer)]
        pending = [
            (layer, k + layer.first_node, call)
            for layer in model.layers
            if layer.class_name != "InputLayer"
            for k, call in enumerate(layer.calls)
        ]
        reported: set[str] = set()

        def resolve(ref: TensorRef) -> Tensor:
            return self._resolve(ref, by_name, produced, reported)

        # Calls run once their inputs exist (Kahn's order: linear in the calls, whatever
        # order the config lists the layers in).
        waits_on = [
            {(r.layer, r.node) for r in _refs(call) if self._waits_for(r, by_name, produced)}
            for _, _, call in pending
        ]
        users: dict[tuple[str, int], list[int]] = {}
        for i, keys in enumerate(waits_on):
            for key in keys:
                users.setdefault(key, []).append(i)
        ready = deque(i for i, keys in enumerate(waits_on) if not keys)
        applied = [False] * len(pending)
        while True:
            while ready:
                i = ready.popleft()
                layer, k, call = pending[i]
                args = [_map_refs(a, resolve) for a in call.args]
                kwargs = {key: _map_refs(v, resolve) for key, v in call.kwargs.items()}
                produced[(layer.name, k)] = self._apply(layer, call, args, kwargs, depth)
                applied[i] = True
                for j in users.get((layer.name, k), ()):
                    if (layer.name, k) in waits_on[j]:  # once, even for a duplicated name
                        waits_on[j].remove((layer.name, k))
                        if not waits_on[j]:
                            ready.append(j)
            waiting = [i for i, done in enumerate(applied) if not done]
            if not waiting:
                break
            # A cycle: report it; its calls then run on unknown inputs, and so does the rest.
            names = _cycle_members([pending[i] for i in waiting])
            self.report(
                Issue(
                    "KMHA308",
                    pending[waiting[0]][2].pointer,
                    f"Model `{model.name}`: layers {', '.join(f'`{n}`' for n in names)} "
                    "wait on each other's outputs; the graph has a cycle (the layers after "
                    "it are not checked).",
                    "Point each inbound node at a layer that comes earlier in the data "
                    "flow (a renamed or rewired keras_history is the usual cause).",
                )
            )
            for i in waiting:
                layer, k, _ = pending[i]
                produced.setdefault((layer.name, k), None)
                waits_on[i].clear()
            ready.extend(waiting)
        return [self._resolve(ref, by_name, produced, reported) for ref in model.outputs]

    def _waits_for(self, ref: TensorRef, by_name, produced) -> bool:
        layer = by_name.get(ref.layer)
        if layer is None or (ref.layer, ref.node) in produced:
            return False
        return layer.node_index(ref.node) is not None

    def _resolve(self, ref: TensorRef, by_name, produced, reported: set[str]) -> Tensor:
        layer = by_name.get(ref.layer)
        outputs = produced.get((ref.layer, ref.node), "missing")
        if layer is None:
            what, hint = f"there is no layer named `{ref.layer}`", self._names_hint(ref, by_name)
        elif outputs == "missing":
            nodes = range(layer.first_node, layer.first_node + max(1, len(layer.calls)))
            what = f"layer `{ref.layer}` has no call (node) {ref.node}"
            hint = f"Use a node index in {nodes.start}..{nodes.stop - 1}."
        elif outputs is not None and not 0 <= ref.index < len(outputs):
            what = f"layer `{ref.layer}` has no output {ref.index}"
            hint = f"Use an output index below {len(outputs)}."
        else:
            if outputs is None:
                return Tensor(None, ref.pointer)
            found = outputs[ref.index]
            return Tensor(found.shape, ref.pointer, found.attention)
        if ref.pointer not in reported:
            reported.add(ref.pointer)
            self.report(
                Issue(
                    "KMHA301",
                    ref.pointer,
                    f"Reference {json.dumps([ref.layer, ref.node, ref.index])}: {what}.",
                    hint,
                )
            )
        return Tensor(None, ref.pointer)

    @staticmethod
    def _names_hint(ref: TensorRef, by_name) -> str:
        import difflib

        close = difflib.get_close_matches(ref.layer, list(by_name), n=3)
        if close:
            return "Did you mean " + " or ".join(f"`{c}`" for c in close) + "? Fix the name."
        return "Reference a layer defined in this model's `layers` list."

    def _accept(self, model: ModelSpec, index: int, tensor: Tensor, declared: Shape | None):
        """A nested model's input: Keras checks the arriving shape against the declared one."""
        if tensor.shape is None or declared is None:
            return Tensor(tensor.shape or declared, tensor.pointer)

        def mismatch(what: str, expected: str, received: str, fix: str, axis=None) -> None:
            problem = Problem(model.name, f"inputs[{index}]", what, expected, received, fix, axis)
            self.report(Issue.from_problem("KMHA305", tensor.pointer, problem))

        if len(tensor.shape) == len(declared):
            merged = []
            for axis, (got, want) in enumerate(zip(tensor.shape, declared, strict=True)):
                if got is not None and want is not None and got != want:
                    mismatch(
                        "the input does not match the nested model's declared input",
                        str(want),
                        f"{got} (input shape {_show(tensor.shape)})",
                        f"feed `{model.name}` {want} features on this axis, or change "
                        "its InputLayer's batch_shape",
                        axis=str(axis),
                    )
                merged.append(got if got is not None else want)
            return Tensor(tuple(merged), tensor.pointer)
        # Keras squeezes or expands one trailing size-1 axis; any other rank change fails.
        longer, shorter = sorted((tensor.shape, declared), key=len, reverse=True)
        if len(longer) - len(shorter) != 1 or longer[-1] != 1:
            mismatch(
                "the input rank does not match the nested model's declared input",
                f"rank {len(declared)} {_show(declared)}",
                f"rank {len(tensor.shape)} {_show(tensor.shape)}",
                f"feed `{model.name}` a rank-{len(declared)} tensor, or change its "
                "InputLayer's batch_shape",
            )
        return Tensor(tensor.shape, tensor.pointer)

    # -- layers ---------------------------------------------------------------------------

    def _apply(self, layer: LayerSpec, call, args, kwargs, depth) -> list[Tensor] | None:
        pointer = call.pointer if call is not None else layer.pointer
        if layer.pointer in self._skipped:
            return None
        if layer.submodel is not None:
            first = args[0] if args else None
            arriving = first if isinstance(first, list) else [first]
            arriving = [t if isinstance(t, Tensor) else Tensor(None, pointer) for t in arriving]
            if id(layer.submodel) not in self._built_submodels:
                # Keras first builds a nested model on its own declared inputs, then calls
                # it on what arrives: both can fail.
                self._built_submodels.add(id(layer.submodel))
                self.run(layer.submodel, None, depth + 1)
            return self.run(layer.submodel, arriving, depth + 1)
        rule = _RULES.get(layer.class_name) if (layer.builtin or layer.kmha) else None
        if rule is None:
            return None
        site = Site(layer, call, args, kwargs, self)
        try:
            shapes = rule(site)
        except ShapeError as error:  # a geometry check that the rule did not catch itself
            site.report("KMHA205", pointer, error.problem)
            return None
        if shapes is None:
            return None
        passes_through = layer.class_name in _KEEPS_ATTENTION_ORIGIN
        first = args[0] if args and isinstance(args[0], Tensor) else None
        attention = layer.name if layer.class_name == "MultiHeadAttention" else None
        if passes_through and first is not None:
            attention = first.attention
        return [Tensor(shape, pointer, attention) for shape in shapes]


def _cycle_members(waiting: list[tuple[LayerSpec, int, Call]]) -> list[str]:
    """The names of the waiting layers that can reach themselves (not those downstream)."""
    edges = {layer.name: set() for layer, _, _ in waiting}
    for layer, _, call in waiting:
        edges[layer.name] |= {ref.layer for ref in _refs(call) if ref.layer in edges}
    members = []
    for start in edges:
        seen, stack = set(), list(edges[start])
        while stack:
            name = stack.pop()
            if name == start:
                members.append(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(edges[name])
    return sorted(members) or sorted(edges)


def _refs(call: Call):
    stack = [call.args, list(call.kwargs.values())]
    while stack:
        item = stack.pop()
        if isinstance(item, TensorRef):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _map_refs(value: object, resolve) -> object:
    if isinstance(value, TensorRef):
        return resolve(value)
    if isinstance(value, list):
        return [_map_refs(v, resolve) for v in value]
    if isinstance(value, dict):
        return {k: _map_refs(v, resolve) for k, v in value.items()}
    return value


# -- the layers ----------------------------------------------------------------------------

_IDENTITY = (
    "Dropout",
    "Activation",
    "LayerNormalization",
    "BatchNormalization",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpatialDropout1D",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "Identity",
    "UnitNormalization",
    "Masking",
    "ActivityRegularization",
)
_KEEPS_ATTENTION_ORIGIN = frozenset(_IDENTITY)


def _single_input(site: Site) -> Tensor | None:
    value = site.argument(0, "inputs")
    return value if isinstance(value, Tensor) else None


def _built_shape(site: Site, key: str = "input_shape") -> Shape | None:
    build = site.layer.build_config or {}
    if key == "input_shape":
        return as_shape(build.get("input_shape"))
    shapes = build.get("shapes_dict")
    return as_shape(shapes.get(key)) if isinstance(shapes, dict) else None


def _check_built_axes(site: Site, tensor: Tensor, built: Shape | None, axes, argument="inputs"):
    """Weights sized from build_config must fit the arriving shape (Keras rejects otherwise)."""
    shape = tensor.shape
    if built is None or shape is None or len(built) != len(shape):
        return
    for axis in sorted({a % len(shape) for a in axes if -len(shape) <= a < len(shape)}):
        got, want = shape[axis], built[axis]
        if got is None or want is None or got == want:
            continue
        (rule,) = geometry.built_width_rules(axis + 1, {argument: want})
        _report_stale_build(site, tensor, rule.problem(site.name, got, want))


def _report_stale_build(site: Site, tensor: Tensor, problem: Problem) -> None:
    fix = (
        problem.fix + f"; or delete the stale `build_config` of `{site.name}` "
        "so that Keras builds it for the new shape"
    )
    site.report("KMHA302", site.input_pointer(tensor), dataclasses.replace(problem, fix=fix))


def _int(site: Site, key: str, default=None):
    value = site.config.get(key, default)
    return int(value) if _is_int(value) else None


@shape_rule(*_IDENTITY)
def _identity(site: Site):
    tensor = _single_input(site)
    if tensor is None:
        return None
    axis = site.config.get("axis")
    if site.layer.class_name in ("LayerNormalization", "BatchNormalization") and axis is not None:
        axes = axis if isinstance(axis, list) else [axis]
        if tensor.shape is not None and _all_ints(axes):
            if not _normalized_axes_known(site, tensor, axes):
                return None
            _check_built_axes(site, tensor, _built_shape(site), axes)
    return [tensor.shape]


def _normalized_axes_known(site: Site, tensor: Tensor, axes: list[int]) -> bool:
    """Normalization weights have one entry per position of the normalized axes."""
    rank = len(tensor.shape)
    for axis in axes:
        inside = -rank <= axis < rank
        if inside and tensor.shape[axis] is not None:
            continue
        site.report(
            "KMHA305",
            site.layer.config_pointer("axis"),
            site.problem(
                "axis",
                f"axis {axis} "
                + ("is outside" if not inside else "has an unknown size in")
                + f" the input {_show(tensor.shape)}, so the scale and offset cannot be sized",
                f"an axis in {-rank}..{rank - 1} with a known size, usually -1 (features)",
                str(axis),
                "normalize over the feature axis: axis=-1",
            ),
            at_key=True,
        )
        return False
    return True


@shape_rule("Dense")
def _dense(site: Site):
    tensor, units = _single_input(site), _int(site, "units")
    if tensor is None or tensor.shape is None or units is None:
        return None
    shape = tensor.shape
    if len(shape) < 2 or shape[-1] is None:
        site.report(
            "KMHA305",
            site.input_pointer(tensor),
            site.problem(
                "inputs",
                "Dense needs a known feature (last) axis to size its kernel",
                "rank >= 2 with a known last axis",
                _show(shape),
                "give the input a fixed last dimension, e.g. keras.Input(shape=(None, 64))",
            ),
        )
        return None
    _check_built_axes(site, tensor, _built_shape(site), [-1])
    return [shape[:-1] + (units,)]


@shape_rule("Embedding")
def _embedding(site: Site):
    tensor, width = _single_input(site), _int(site, "output_dim")
    if tensor is None or tensor.shape is None or width is None:
        return None
    return [tensor.shape + (width,)]


@shape_rule("EinsumDense")
def _einsum_dense(site: Site):
    tensor, equation = _single_input(site), site.config.get("equation")
    partial = site.config.get("output_shape")
    partial = [partial] if _is_int(partial) else partial
    if tensor is None or tensor.shape is None or not isinstance(equation, str):
        return None
    try:
        operands, out = equation.replace(" ", "").split("->")
        source, kernel = operands.split(",")
    except ValueError:
        return None
    if "." in source + kernel + out or not isinstance(partial, list):
        return None  # ellipsis equations: leave the shape open rather than guess
    shape = tensor.shape
    if len(source) != len(shape):
        site.report(
            "KMHA305",
            site.input_pointer(tensor),
            site.problem(
                "inputs",
                f"the input rank does not match the equation '{equation}'",
                f"rank {len(source)}",
                f"rank {len(shape)} {_show(shape)}",
                "change the equation's input subscripts, or reshape the input",
            ),
        )
        return None
    stray = sorted(set(kernel) - set(source) - set(out))
    if stray:
        site.report(
            "KMHA104",
            site.layer.config_pointer("equation"),
            site.problem(
                "equation",
                f"weight subscript(s) {', '.join(stray)} appear in neither the input nor the "
                "output, so the kernel cannot be sized",
                "every kernel subscript in the input or the output",
                repr(equation),
                "use subscripts of the input (contracted) or the output (produced) in the kernel",
            ),
        )
        return None
    sizes = dict(zip(source, shape, strict=True))
    _check_built_axes(
        site, tensor, _built_shape(site), [i for i, letter in enumerate(source) if letter in kernel]
    )
    given = list(partial)
    if len(given) == len(out) - 1:
        given = [None] + given
    if len(given) != len(out):
        return None
    return [tuple(sizes[c] if c in sizes else given[i] for i, c in enumerate(out))]


def _list_input(site: Site) -> list[Tensor] | None:
    value = site.argument(0, "inputs")
    if isinstance(value, list) and all(isinstance(t, Tensor) for t in value) and value:
        return value
    return None


@shape_rule("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def _elementwise(site: Site):
    if not _recorded_shapes_agree(site, lambda shapes: _elementwise_shape(shapes)[1]):
        return None
    tensors = _list_input(site)
    if tensors is None or any(t.shape is None for t in tensors):
        return None
    result, conflict = _elementwise_shape([t.shape for t in tensors])
    if conflict is not None:
        _report_merge(site, tensors, conflict)
        return None
    return None if result is None else [result]


def _elementwise_shape(shapes: list[Shape]) -> tuple[Shape | None, int | None]:
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
        "KMHA302",
        site.layer.pointer + "/build_config/input_shape",
        site.problem(
            "build_config",
            f"the input shapes recorded in build_config disagree on axis {axis}, and Keras "
            "builds the layer from them before any input arrives",
            "shapes that merge",
            ", ".join(_show(shape) for shape in shapes),
            f"delete the stale `build_config` of `{site.name}` (Keras then builds it from "
            "the inputs that arrive), or fix the recorded shapes",
            axis=str(axis),
        ),
    )
    return False


def _report_merge(site: Site, tensors: list[Tensor], axis: int) -> None:
    shapes = ", ".join(_show(t.shape) for t in tensors)
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
                "KMHA206",
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
        "KMHA303",
        site.input_pointer(tensors[-1]),
        site.problem(
            "inputs",
            f"the inputs of {site.layer.class_name} disagree on axis {axis}",
            "equal sizes (or 1) on every axis" if axis else "one batch size",
            f"sizes {sizes} from shapes {shapes}",
            "project the inputs to one width first (e.g. a Dense layer), or merge with Concatenate",
            axis=str(axis),
        ),
    )


@shape_rule("Concatenate")
def _concatenate(site: Site):
    tensors, axis = _list_input(site), site.config.get("axis", -1)
    if tensors is None or any(t.shape is None for t in tensors) or not _is_int(axis):
        return None
    rank = len(tensors[0].shape)
    if not -rank <= axis < rank:
        site.report(
            "KMHA305",
            site.layer.config_pointer("axis"),
            site.problem(
                "axis",
                f"the concatenation axis is outside inputs of rank {rank}",
                f"an axis in {-rank}..{rank - 1}",
                str(axis),
                "concatenate along an existing axis, usually -1 (features)",
            ),
            at_key=True,
        )
        return None
    ranks = {len(t.shape) for t in tensors}
    shapes = ", ".join(_show(t.shape) for t in tensors)
    if len(ranks) != 1:
        site.report(
            "KMHA303",
            site.input_pointer(tensors[-1]),
            site.problem(
                "inputs",
                "Concatenate needs inputs of one rank",
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
                "KMHA303",
                site.input_pointer(tensors[-1]),
                site.problem(
                    "inputs",
                    f"Concatenate inputs differ on axis {a}, which is not the concatenation "
                    f"axis {axis}",
                    "equal sizes on every other axis",
                    f"sizes {sizes} from shapes {shapes}",
                    f"make axis {a} agree, or concatenate along axis {a}",
                    axis=str(a),
                ),
            )
            return None
        result.append(known.pop() if known else None)
    return [tuple(result)]


@shape_rule("Reshape")
def _reshape(site: Site):
    tensor, target = _single_input(site), site.config.get("target_shape")
    if tensor is None or not isinstance(target, list):
        return None
    if not all(_is_int(d) and (d > 0 or d == -1) for d in target):
        return None
    free = target.count(-1)
    pointer = site.layer.config_pointer("target_shape")
    if free > 1:
        site.report(
            "KMHA304",
            pointer,
            site.problem(
                "target_shape",
                "only one axis of target_shape may be -1",
                "at most one -1",
                str(tuple(target)),
                "give every axis but one a size",
            ),
        )
        return None
    if tensor.shape is None:
        # Whatever arrives, a valid reshape yields the target: shapes are known again.
        return [(None,) + tuple(None if d == -1 else d for d in target)]
    rest = tensor.shape[1:]
    fixed = math.prod(d for d in target if d != -1)
    fix = "make the target hold the same number of elements, or use -1 for one axis"
    if None in rest:
        return [(tensor.shape[0],) + tuple(None if d == -1 else d for d in target)]
    total = math.prod(rest)
    if (free and total % fixed) or (not free and total != fixed):
        site.report(
            "KMHA304",
            pointer,
            site.problem(
                "target_shape",
                f"the target holds {'a multiple of ' if free else ''}{fixed} elements per "
                f"sample, the input {total} {_show(tensor.shape)}",
                f"{total} elements" + (f" (a multiple of {fixed})" if free else ""),
                f"{tuple(target)} ({fixed} elements)",
                fix,
            ),
        )
        return None
    return [(tensor.shape[0],) + tuple(total // fixed if d == -1 else d for d in target)]


@shape_rule("Permute")
def _permute(site: Site):
    tensor, dims = _single_input(site), site.config.get("dims")
    if tensor is None or tensor.shape is None or not isinstance(dims, list):
        return None
    rank = len(tensor.shape)
    if not _all_ints(dims):
        return None
    if sorted(dims) != list(range(1, rank)):
        site.report(
            "KMHA305",
            site.layer.config_pointer("dims"),
            site.problem(
                "dims",
                "dims must be a permutation of the non-batch axes",
                f"a permutation of {list(range(1, rank))} for input {_show(tensor.shape)}",
                str(dims),
                "list every axis 1..rank-1 exactly once",
            ),
        )
        return None
    return [(tensor.shape[0],) + tuple(tensor.shape[d] for d in dims)]


@shape_rule("Flatten")
def _flatten(site: Site):
    tensor = _single_input(site)
    if tensor is None or tensor.shape is None:
        return None
    rest = tensor.shape[1:]
    return [(tensor.shape[0], None if None in rest else math.prod(rest))]


def _needs_rank(site: Site, tensor: Tensor, rank: int, form: str) -> bool:
    if len(tensor.shape) == rank:
        return True
    site.report(
        "KMHA305",
        site.input_pointer(tensor),
        site.problem(
            "inputs",
            f"{site.layer.class_name} needs rank-{rank} inputs {form}",
            f"rank {rank}",
            f"rank {len(tensor.shape)} {_show(tensor.shape)}",
            "reshape the input (e.g. a Reshape layer), or use the layer for this rank",
        ),
    )
    return False


@shape_rule("GlobalAveragePooling1D", "GlobalMaxPooling1D")
def _global_pooling_1d(site: Site):
    tensor = _single_input(site)
    if tensor is None or tensor.shape is None:
        return None
    if not _needs_rank(site, tensor, 3, "(batch, steps, features)"):
        return None
    batch, steps, channels = tensor.shape
    channels_first = site.config.get("data_format") == "channels_first"
    if channels_first:
        steps, channels = channels, steps
    if site.config.get("keepdims") is True:
        return [(batch, channels, 1) if channels_first else (batch, 1, channels)]
    return [(batch, channels)]


@shape_rule("Conv1D")
def _conv1d(site: Site):
    tensor, filters = _single_input(site), _int(site, "filters")
    if tensor is None or tensor.shape is None or filters is None:
        return None
    if len(tensor.shape) < 3 or (len(tensor.shape) > 3 and site.layer.keras_major == 3):
        _needs_rank(site, tensor, 3, "(batch, steps, channels)")
        return None
    if len(tensor.shape) > 3:
        return None  # tf.keras folds extra leading axes into the batch
    first = site.config.get("data_format") == "channels_first"
    batch, steps, channels = tensor.shape if not first else (tensor.shape[0], *tensor.shape[:0:-1])
    _check_built_axes(site, tensor, _built_shape(site), [1 if first else -1])
    groups = _int(site, "groups", 1) or 1
    if channels is not None and channels % groups:
        site.report(
            "KMHA305",
            site.layer.config_pointer("groups"),
            site.problem(
                "groups",
                "the input channels are not divisible by groups",
                f"a divisor of {channels}",
                str(groups),
                "choose groups that divides the number of input channels",
            ),
            at_key=True,
        )
        return None
    length = _conv_length(site, steps)
    if length is not None and length <= 0:
        site.report(
            "KMHA306",
            site.layer.config_pointer("kernel_size"),
            site.problem(
                "kernel_size",
                "the convolution leaves no output positions",
                f"a (dilated) kernel of at most {steps} steps with padding 'valid'",
                f"kernel_size {site.config.get('kernel_size')} on {steps} steps",
                "use a smaller kernel_size, padding='same', or a longer input",
            ),
            at_key=True,
        )
        return None
    return [(batch, filters, length) if first else (batch, length, filters)]


def _conv_length(site: Site, steps: int | None) -> int | None:
    def first_int(key: str) -> int | None:
        value = site.config.get(key, 1)
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        return int(value) if _is_int(value) else None

    kernel, stride, dilation = (
        first_int("kernel_size"),
        first_int("strides"),
        first_int("dilation_rate"),
    )
    if steps is None or None in (kernel, stride, dilation) or stride <= 0:
        return None
    if site.config.get("padding", "valid") in ("same", "causal"):
        return -(-steps // stride)
    return (steps - dilation * (kernel - 1) - 1) // stride + 1


# -- attention -----------------------------------------------------------------------------


@shape_rule("MultiHeadAttention")
def _attention(site: Site):
    query = site.argument(0, "query")
    value = site.argument(1, "value")
    key = site.argument(2, "key")
    if not isinstance(query, Tensor) or not isinstance(value, Tensor):
        return None
    has_key = isinstance(key, Tensor)
    key = key if has_key else value
    tensors = {"query": query, "value": value, "key": key}
    if any(t.shape is None for t in tensors.values()):
        return _attention_output(site, query.shape, None)
    shapes = {name: t.shape for name, t in tensors.items()}
    rank = len(shapes["query"])
    try:
        geometry.check_rank(site.name, "query", rank)
        for argument in ("value", "key"):
            geometry.check_rank(site.name, argument, len(shapes[argument]), expected=rank)
    except ShapeError as error:
        site.report("KMHA205", tensors[error.argument].pointer, error.problem)
        return None
    built = {name: _built_shape(site, f"{name}_shape") for name in ("query", "value", "key")}
    if built["query"] is not None:
        try:
            geometry.check_built_rank(site.name, "query", rank, len(built["query"]))
        except ShapeError as error:
            _report_stale_build(site, query, error.problem)
            return _attention_output(site, shapes["query"], None)
    axes_value = site.config.get("attention_axes")
    if not (axes_value is None or _is_int(axes_value) or _all_ints(axes_value)):
        return _attention_output(site, shapes["query"], None)  # Keras 2 leniency: 1.0
    if not site.layer.kmha and not _keras_axes_in_range(site, axes_value, rank):
        return None
    try:
        axes = geometry.normalize_attention_axes(site.name, axes_value, rank)
    except ShapeError as error:
        if not site.layer.kmha:
            # keras.layers.MultiHeadAttention counts attention_axes in the projected
            # (batch, ..., heads, key_dim) tensor and runs with "invalid" axes such as the
            # heads axis: nothing to check against, and never an error.
            return _attention_output(site, shapes["query"], None)
        site.report("KMHA205", site.layer.config_pointer("attention_axes"), error.problem)
        return None
    for rule in geometry.input_rules(rank, axes, has_key):
        problem = rule.broken_by(site.name, shapes)
        if problem:
            site.report("KMHA204", tensors[rule.argument].pointer, problem)
            # The output shape follows the query whatever the mistake: keep checking after it.
            return _attention_output(site, shapes["query"], None)
    if has_key and not site.layer.kmha and site.layer.keras_major == 3:
        _keras_key_value_shapes(site, key, shapes["key"], shapes["value"])
    _attention_masks(site, shapes, rank, axes)
    for name, tensor in tensors.items():
        if shapes[name][-1] is None:
            site.report(
                "KMHA207",
                tensor.pointer,
                site.problem(
                    name,
                    "the feature axis must be known to size the projection weights",
                    "an int",
                    "None",
                    f"give `{name}` a fixed last dimension, e.g. keras.Input(shape=(None, 64))",
                    axis=f"{rank - 1} (features)",
                ),
            )
            return None
    if site.layer.kmha and not _kmha_heads(site, shapes["query"][-1]):
        return _attention_output(site, shapes["query"], None)
    if built["key"] is None:
        built["key"] = built["value"]
    for name, tensor in tensors.items():
        if name != "key" or has_key:  # an omitted key is the value, checked once
            _check_built_axes(site, tensor, built[name], [-1], argument=name)
    return _attention_output(site, shapes["query"], (rank, axes, shapes))


# Call arguments after query, value and key, in the order both layers take them.
_MASK_ARGUMENTS = [*geometry.PADDING_MASK_SOURCES, "attention_mask"]


def _attention_masks(site: Site, shapes: dict[str, Shape], rank: int, axes: tuple[int, ...]):
    """Masks passed in the call: kmha's own checks. For Keras's layer only a (B, T, S)
    attention_mask with rank-3 inputs is checked: Keras broadcasts other forms its own way."""
    masks = {}
    for position, name in enumerate(_MASK_ARGUMENTS, start=3):
        tensor = site.argument(position, name)
        if isinstance(tensor, Tensor) and tensor.shape is not None:
            masks[name] = tensor
    if not site.layer.kmha:
        mask = masks.get("attention_mask")
        keras_checked = mask is not None and rank == 3 and len(mask.shape) == 3
        masks = {"attention_mask": mask} if keras_checked else {}
    heads = site.config.get("num_heads")
    dims = {**shapes, **{name: tensor.shape for name, tensor in masks.items()}}
    for name, tensor in masks.items():
        if name == "attention_mask":
            if not _is_int(heads):
                continue
            problem = geometry.attention_mask_problem(
                site.name, tensor.shape, rank, axes, int(heads), dims
            )
        else:
            problem = _padding_mask_problem(site.name, name, rank, dims)
        if problem:
            site.report("KMHA208", tensor.pointer, problem)


def _padding_mask_problem(layer: str, name: str, rank: int, dims: dict[str, Shape]):
    problem = geometry.padding_mask_rank_problem(layer, name, len(dims[name]), rank)
    for rule in [] if problem else geometry.padding_mask_rules(name, rank):
        problem = problem or rule.broken_by(layer, dims)
    return problem


def _keras_key_value_shapes(site: Site, key: Tensor, key_shape: Shape, value_shape: Shape):
    """Keras 3's MultiHeadAttention compares key and value shapes (but the last axis) as
    tuples when it builds: an unknown size differs from a known one there."""
    for axis in range(1, len(key_shape) - 1):
        if key_shape[axis] != value_shape[axis]:
            site.report(
                "KMHA204",
                key.pointer,
                site.problem(
                    "key",
                    "keras.layers.MultiHeadAttention requires key and value shapes to be "
                    "identical but for the last axis, unknown (None) sizes included",
                    f"{value_shape[axis]}, as in `value` {_show(value_shape)}",
                    f"{key_shape[axis]} (key shape {_show(key_shape)})",
                    "declare the same size for key and value on this axis (both None or both "
                    "the same number)",
                    axis=str(axis),
                ),
            )
            return


def _keras_axes_in_range(site: Site, axes_value: object, rank: int) -> bool:
    """keras.layers.MultiHeadAttention indexes attention_axes into the projected query,
    (batch, ..., heads, key_dim), of rank + 1 axes. Keras 3 first adds the input rank to
    a negative axis; tf.keras does not, and cannot attend over the key_dim axis."""
    axes = [axes_value] if _is_int(axes_value) else axes_value or []
    projected = rank + 1
    if site.layer.keras_major == 3:
        bad = [a for a in axes if not (0 <= a < projected or -projected - rank <= a < 0)]
    else:
        bad = [a for a in axes if not -projected <= a < projected or a % projected == rank]
    if not bad:
        return True
    site.report(
        "KMHA205",
        site.layer.config_pointer("attention_axes"),
        site.problem(
            "attention_axes",
            f"attention axis {bad[0]} is outside the rank-{projected} projected query "
            f"(rank-{rank} inputs)",
            f"axes 1..{rank - 2} (or -{rank - 1}..-2) of the inputs",
            str(axes_value),
            "pick attention axes between batch and features, or None for all of them",
        ),
        at_key=True,
    )
    return False


def _kmha_heads(site: Site, query_width: int) -> bool:
    """kmha's own geometry: divisibility, d_model and grouped-query heads."""
    config = site.config
    try:
        geometry.resolve_head_dims(
            layer=site.name,
            num_heads=config.get("num_heads"),
            num_key_value_heads=None,  # checked once per layer, see config_checks
            key_dim=config.get("key_dim"),
            value_dim=config.get("value_dim"),
            d_model=config.get("d_model"),
            query_width=query_width,
        )
    except ShapeError as error:
        # kmha's width checks: d_model against the query (KMHA203), else divisibility.
        code = "KMHA203" if error.argument == "query" else "KMHA201"
        if code == "KMHA203":
            pointer = site.input_pointer(site.argument(0, "query"))
        else:
            pointer = site.layer.config_pointer("num_heads")
        site.report(code, pointer, error.problem, at_key=code != "KMHA203")
        return False
    return True


def _attention_output(site: Site, query: Shape | None, solved):
    if query is None:
        return None
    output = site.config.get("output_shape")
    if output is not None and not (_is_int(output) or _all_ints(output)):
        return None
    result = tuple(query[:-1]) + geometry.output_feature_shape(output, query[-1])
    if site.kwargs.get("return_attention_scores") is not True:
        return [result]
    if solved is None:
        return [result, None]
    rank, axes, shapes = solved
    return [result, geometry.scores_shape(rank, axes, site.config.get("num_heads"), shapes)]


def config_checks(layer: LayerSpec) -> list[Issue]:
    """Checks on a layer's config alone, made once per layer whatever its calls."""
    issues = []
    rate_key = {"Dropout": "rate", "MultiHeadAttention": "dropout"}.get(layer.class_name)
    if rate_key and (layer.builtin or layer.kmha) and layer.config.get(rate_key) == 1:
        issues.append(
            Issue(
                "KMHA105",
                layer.config_pointer(rate_key),
                f"Layer `{layer.name}`, argument `{rate_key}`: a rate of 1 drops every unit "
                "during training. Expected a fraction below 1; received 1.",
                f"Use a small rate such as {rate_key}=0.1 (0 disables dropout).",
            )
        )
    if layer.kmha and layer.class_name == "MultiHeadAttention":
        heads, kv_heads = layer.config.get("num_heads"), layer.config.get("num_key_value_heads")
        if _is_int(heads) and _is_int(kv_heads) and heads > 0 and kv_heads > 0:
            try:
                geometry.check_key_value_heads(layer.name, heads, kv_heads)
            except ShapeError as error:
                issues.append(
                    Issue.from_problem(
                        "KMHA202", layer.config_pointer("num_key_value_heads"), error.problem, True
                    )
                )
    return issues

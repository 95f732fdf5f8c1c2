"""The graph walk: follow tensors through a model in the order Keras rebuilds it.

Shapes are tuples whose unknown sizes are None; a whole shape of None means "unknown".
Each layer family's rules live in :mod:`kmha_lint.layers` and register here by class
name (:func:`shape_rule`, :func:`param_rule`); this module only connects calls, resolves
references, and, where no rule models a layer, continues from the shapes a Keras 3 config
recorded, but only when the layer's inputs are what was recorded (never a guess).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from kmha_lint import rules
from kmha_lint.document import MAX_SIZE, Call, LayerSpec, ModelSpec, TensorRef
from kmha_lint.findings import Issue
from kmha_lint.geometry import is_int
from kmha_lint.problem import Problem
from kmha_lint.record import Record
from kmha_lint.rules import Rule

Shape = tuple[int | None, ...]
MAX_NESTING = 32
# The config keys the shape rules read: a schema error at any of them makes the layer's
# output unknown rather than guessed.
SHAPE_KEYS = frozenset(
    {"units", "output_dim", "equation", "output_shape", "num_heads", "key_dim", "value_dim"}
    | {"d_model", "num_key_value_heads", "attention_axes", "target_shape", "dims", "filters"}
    | {"kernel_size", "strides", "dilation_rate", "groups", "padding", "data_format", "axis"}
    | {"keepdims", "batch_shape", "batch_input_shape", "pool_size", "size", "cropping", "n"}
    | {"depth_multiplier", "output_padding", "num_query_heads", "head_dim", "layer"}
    | {"merge_mode", "return_sequences", "return_state", "height", "width", "bias_axes"}
    | {"input_dim", "use_bias", "center", "scale", "newshape", "axes", "subscripts"}
)


class Tensor(Record):
    """A value flowing along an edge: its shape (None if unknown) and where it is referenced.

    ``attention`` names the attention layer this tensor comes from, through layers that keep
    its shape, so that a residual mismatch can be blamed on the attention output.
    ``recorded`` is the shape the config recorded at this reference (Keras 3), if any.
    """

    __slots__ = ("shape", "pointer", "attention", "recorded")

    def __init__(self, shape, pointer: str, attention: str | None = None, recorded=None):
        self.shape, self.pointer, self.attention, self.recorded = (
            shape,
            pointer,
            attention,
            recorded,
        )


def product(sizes) -> int:
    """The product of sizes (1 for none): math.prod, without loading the math module."""
    result = 1
    for size in sizes:
        result *= size
    return result


def all_ints(value: object) -> bool:
    return isinstance(value, list) and all(is_int(v) for v in value)


def as_shape(value: object) -> Shape | None:
    """A config shape list ([null, 12, 32]) as a Shape, or None when it is not one."""
    if isinstance(value, list | tuple) and all(
        v is None or (is_int(v) and 0 <= v < MAX_SIZE) for v in value
    ):
        return tuple(value)
    return None


def show(shape: Shape | None) -> str:
    if shape is None:
        return "an unknown shape"
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def constant_shape(value: object) -> Shape | None:
    """The shape of a constant array passed in a call (Keras 3 `__numpy__` or `__tensor__`),
    if it is rectangular."""
    if not (isinstance(value, dict) and value.get("class_name") in ("__numpy__", "__tensor__")):
        return None
    config = value.get("config")
    data = config.get("value") if isinstance(config, dict) else None
    shape: list[int] = []
    level = [data]
    while all(isinstance(item, list) for item in level) and len(shape) < 16:
        sizes = {len(item) for item in level}
        if len(sizes) != 1:
            return None
        shape.append(sizes.pop())
        level = [element for item in level for element in item]
        if not level:
            break
    return tuple(shape) if shape and not any(isinstance(i, list | dict) for i in level) else None


def declared_shape(layer: LayerSpec) -> Shape | None:
    """An InputLayer's batch shape (Keras 3 `batch_shape`, Keras 2 `batch_input_shape`)."""
    config = layer.config
    return as_shape(config.get("batch_shape", config.get("batch_input_shape")))


class Site:
    """One call of one layer: its resolved inputs, its config, and a way to report."""

    def __init__(self, layer: LayerSpec, call: Call | None, args: list, kwargs: dict, report):
        self.layer, self.call, self.args, self.kwargs = layer, call, args, kwargs
        self.config = layer.config
        self._report = report

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def class_name(self) -> str:
        return self.layer.class_name

    def argument(self, position: int, keyword: str) -> object:
        if len(self.args) > position:
            return self.args[position]
        return self.kwargs.get(keyword)

    def input(self) -> Tensor | None:
        """The single tensor input (the first argument), or None."""
        value = self.argument(0, "inputs")
        return value if isinstance(value, Tensor) else None

    def known_input(self) -> Tensor | None:
        tensor = self.input()
        return tensor if tensor is not None and tensor.shape is not None else None

    def input_list(self) -> list[Tensor] | None:
        """A merge layer's list of tensors, or None when it is not one."""
        value = self.argument(0, "inputs")
        if isinstance(value, list) and value and all(isinstance(t, Tensor) for t in value):
            return value
        return None

    def int(self, key: str, default=None) -> int | None:
        value = self.config.get(key, default)
        return int(value) if is_int(value) and abs(value) < MAX_SIZE else None

    def ints(self, key: str, rank: int, default=1) -> tuple[int, ...] | None:
        """An int-or-tuple argument (kernel_size, strides...) as ``rank`` ints."""
        value = self.config.get(key, default)
        if is_int(value):
            value = [value] * rank
        if not all_ints(value) or len(value) != rank or any(abs(v) >= MAX_SIZE for v in value):
            return None
        return tuple(int(v) for v in value)

    def report(self, rule: Rule, pointer: str, problem: Problem, at_key: bool = False) -> None:
        self._report(Issue.from_problem(rule, pointer, problem, at_key))

    def input_pointer(self, tensor: object) -> str:
        if isinstance(tensor, Tensor):
            return tensor.pointer
        return self.call.pointer if self.call is not None else self.layer.pointer

    def problem(self, argument: str, what: str, expected: str, received: str, fix: str, axis=None):
        return Problem(self.name, argument, what, expected, received, fix, axis)

    def needs_rank(self, tensor: Tensor, rank: int, form: str, at_least: bool = False) -> bool:
        got = len(tensor.shape)
        if got == rank or (at_least and got >= rank):
            return True
        self.report(
            rules.INPUT_RANK,
            self.input_pointer(tensor),
            self.problem(
                "inputs",
                f"{self.class_name} needs {'at least ' if at_least else ''}rank-{rank} "
                f"inputs {form}",
                f"rank {'>= ' if at_least else ''}{rank}",
                f"rank {got} {show(tensor.shape)}",
                "reshape the input (e.g. a Reshape layer), or use the layer for this rank",
            ),
        )
        return False

    def needs_known_axis(self, tensor: Tensor, axis: int, argument: str = "inputs") -> bool:
        """Weights sized from an input axis need its size (KMHA207 on the feature axis)."""
        if tensor.shape[axis] is not None:
            return True
        from kmha_lint import geometry

        problem = geometry.unknown_width_problem(self.name, argument, len(tensor.shape))
        self.report(rules.UNKNOWN_FEATURE_WIDTH, self.input_pointer(tensor), problem)
        return False

    def built_shape(self, key: str = "input_shape") -> Shape | None:
        build = self.layer.build_config or {}
        if key == "input_shape":
            return as_shape(build.get("input_shape"))
        shapes = build.get("shapes_dict")
        return as_shape(shapes.get(key)) if isinstance(shapes, dict) else None

    def check_built_axes(self, tensor: Tensor, axes, argument="inputs", built=None) -> bool:
        """Weights sized from build_config must fit the arriving shape (Keras rejects
        otherwise). False when a stale record was reported."""
        from kmha_lint import geometry

        built = self.built_shape() if built is None else built
        shape = tensor.shape
        if built is None or shape is None or len(built) != len(shape):
            return True
        for axis in sorted({a % len(shape) for a in axes if -len(shape) <= a < len(shape)}):
            got, want = shape[axis], built[axis]
            if got is None or want is None or got == want:
                continue
            (rule,) = geometry.built_width_rules(axis + 1, {argument: want})
            self.report_stale_build(tensor, rule.problem(self.name, got, want))
            return False
        return True

    def report_stale_build(self, tensor: Tensor, problem: Problem) -> None:
        fix = (
            problem.fix + f"; or delete the stale `build_config` of `{self.name}` "
            "so that Keras builds it for the new shape"
        )
        self.report(
            rules.STALE_BUILD_SHAPE,
            self.input_pointer(tensor),
            _with_fix(problem, fix),
        )


def _with_fix(problem: Problem, fix: str) -> Problem:
    return Problem(
        problem.layer,
        problem.argument,
        problem.what,
        problem.expected,
        problem.received,
        fix,
        problem.axis,
    )


ShapeRule = Callable[[Site], list[Shape | None] | None]
ParamRule = Callable[[Site], int | None]


class RuleTable(dict):
    """Rules by class or operation name. A name not found loads the layer families that
    load on demand (:func:`kmha_lint.layers.load_all`), then is looked up again."""

    def get(self, name, default=None):
        if name not in self:
            from kmha_lint import layers

            layers.load_all()
        return super().get(name, default)


SHAPE_RULES: RuleTable = RuleTable()
PARAM_RULES: RuleTable = RuleTable()
OP_RULES: RuleTable = RuleTable()  # keras.ops nodes and tf.keras TFOpLambda functions
# Layers whose output keeps the input's shape and its attention origin.
KEEPS_ATTENTION_ORIGIN: set[str] = set()


def _registrar(table: dict, names: tuple[str, ...], also: set | None = None):
    """A decorator that files its function in ``table`` under each of ``names``."""

    def register(function):
        for name in names:
            table[name] = function
            if also is not None:
                also.add(name)
        return function

    return register


def shape_rule(*class_names: str, keeps_attention_origin: bool = False):
    """Register a layer's shape rule: Site -> output shapes (None: unknown)."""
    origin = KEEPS_ATTENTION_ORIGIN if keeps_attention_origin else None
    return _registrar(SHAPE_RULES, class_names, origin)


def param_rule(*class_names: str):
    """Register a layer's parameter count: Site (its first call) -> count (None: unknown)."""
    return _registrar(PARAM_RULES, class_names)


def op_rule(*names: str):
    """Register an operation's shape rule (keras.ops class names, TFOpLambda functions)."""
    return _registrar(OP_RULES, names)


def rule_for(layer: LayerSpec) -> ShapeRule | None:
    if layer.op:
        return OP_RULES.get(layer.class_name)
    if layer.builtin and layer.class_name in ("TFOpLambda", "SlicingOpLambda"):
        return OP_RULES.get(str(layer.config.get("function")))
    if layer.builtin or layer.kmha:
        return SHAPE_RULES.get(layer.class_name)
    return None


class Applied(Record):
    """What the walk saw at one call: for the summary."""

    __slots__ = ("layer", "site", "outputs")

    def __init__(self, layer: LayerSpec, site: Site | None, outputs: list[Tensor] | None):
        self.layer, self.site, self.outputs = layer, site, outputs


Observer = Callable[[Applied], None]


class Walk:
    """Walks models in the order Keras rebuilds them, reporting Issues."""

    def __init__(
        self,
        report: Callable[[Issue], None],
        skipped_layers: set[str],
        observe: Observer | None = None,
        declarations: Mapping | None = None,
    ):
        self.report = report
        self.declarations = declarations  # custom layers' declared shapes, by class key
        self._skipped = skipped_layers  # layers whose config failed the schema pass
        self._observe = observe
        self._last: Applied | None = None  # the call observed last
        self._built_submodels: set[int] = set()
        self.submodel_outputs: dict[int, list[Tensor] | None] = {}

    # -- models ---------------------------------------------------------------------------

    def run(self, model: ModelSpec, arriving: list[Tensor] | None = None, depth: int = 0):
        if depth > MAX_NESTING:
            self.report(
                Issue(
                    rules.INPUT_TOO_LARGE,
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
                if self._observe:
                    self._observe(Applied(layer, None, [tensor]))
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
                        rules.DUPLICATE_LAYER_NAME,
                        layer.pointer + "/name",
                        f"Model `{model.name}`: two layers are named `{layer.name}`.",
                        f"Rename one of them; every layer of `{model.name}` needs its own name.",
                    )
                )
            else:
                by_name[layer.name] = layer
        produced: dict[tuple[str, int], list[Tensor] | None] = {}
        for i, ref in enumerate(model.inputs):
            layer = by_name.get(ref.layer)
            if layer is not None and layer.class_name == "InputLayer":
                shape = declared_shape(layer)
                tensor = Tensor(shape, ref.pointer)
                if arriving and i < len(arriving):
                    tensor = self._accept(model, i, arriving[i], shape)
                produced[(layer.name, 0)] = [tensor]
        for layer in model.layers:
            if layer.class_name == "InputLayer":
                if (layer.name, 0) not in produced:
                    produced[(layer.name, 0)] = [Tensor(declared_shape(layer), layer.pointer)]
                if self._observe:
                    self._observe(Applied(layer, None, produced[(layer.name, 0)]))
        for layer in model.layers:
            if layer.submodel is not None and layer.first_node == 1:
                # Node 0 of a nested model is its own graph, on its declared inputs.
                produced[(layer.name, 0)] = self._build_submodel(layer, depth)
        pending = [
            (layer, k + layer.first_node, call)
            for layer in model.layers
            if layer.class_name != "InputLayer"
            for k, call in enumerate(layer.calls)
        ]
        recorded: dict | None = None  # the recorded output shapes, read when first needed
        reported: set[str] = set()

        def resolve(ref: TensorRef) -> Tensor:
            return self._resolve(ref, by_name, produced, reported)

        # Calls run once their inputs exist (Kahn's order: linear in the calls, whatever
        # order the config lists the layers in).
        waits_on = [
            {(r.layer, r.node) for r in refs(call) if self._waits_for(r, by_name, produced)}
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
                args = [map_refs(a, resolve) for a in call.args]
                kwargs = {key: map_refs(v, resolve) for key, v in call.kwargs.items()}
                outputs = self._apply(layer, call, args, kwargs, depth)
                if outputs is None and _inputs_as_recorded(layer, k, args, kwargs):
                    if recorded is None:
                        recorded = _recorded_outputs(pending)
                    outputs = recorded.get((layer.name, k))
                    if self._last is not None and self._last.layer is layer:
                        self._last.outputs = outputs  # what the summary shows, too
                produced[(layer.name, k)] = outputs
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
                    rules.GRAPH_CYCLE,
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
            what, hint = f"there is no layer named `{ref.layer}`", _names_hint(ref, by_name)
        elif outputs == "missing":
            nodes = range(layer.first_node, layer.first_node + max(1, len(layer.calls)))
            what = f"layer `{ref.layer}` has no call (node) {ref.node}"
            hint = f"Use a node index in {nodes.start}..{nodes.stop - 1}."
        elif outputs is not None and not 0 <= ref.index < len(outputs):
            what = f"layer `{ref.layer}` has no output {ref.index}"
            hint = f"Use an output index below {len(outputs)}."
        else:
            recorded = ref.recorded  # validated when read
            if outputs is None:
                return Tensor(None, ref.pointer, recorded=recorded)
            found = outputs[ref.index]
            return Tensor(found.shape, ref.pointer, found.attention, recorded)
        if ref.pointer not in reported:
            import json  # only to word this finding

            reported.add(ref.pointer)
            self.report(
                Issue(
                    rules.UNDEFINED_REFERENCE,
                    ref.pointer,
                    f"Reference {json.dumps([ref.layer, ref.node, ref.index])}: {what}.",
                    hint,
                )
            )
        return Tensor(None, ref.pointer)

    def _accept(self, model: ModelSpec, index: int, tensor: Tensor, declared: Shape | None):
        """A nested model's input: Keras checks the arriving shape against the declared one."""
        if tensor.shape is None or declared is None:
            return Tensor(tensor.shape or declared, tensor.pointer)

        keys = model.input_keys
        argument = f'inputs["{keys[index]}"]' if keys and index < len(keys) else f"inputs[{index}]"

        def mismatch(what: str, expected: str, received: str, fix: str, axis=None) -> None:
            problem = Problem(model.name, argument, what, expected, received, fix, axis)
            self.report(Issue.from_problem(rules.NESTED_MODEL_INPUT, tensor.pointer, problem))

        if len(tensor.shape) == len(declared):
            merged = []
            for axis, (got, want) in enumerate(zip(tensor.shape, declared, strict=True)):
                if got is not None and want is not None and got != want:
                    # Keras stops at this check: the nested layers see the declared shape.
                    got = want
                    mismatch(
                        "the input does not match the nested model's declared input",
                        str(want),
                        f"{tensor.shape[axis]} (input shape {show(tensor.shape)})",
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
                f"rank {len(declared)} {show(declared)}",
                f"rank {len(tensor.shape)} {show(tensor.shape)}",
                f"feed `{model.name}` a rank-{len(declared)} tensor, or change its "
                "InputLayer's batch_shape",
            )
        return Tensor(tensor.shape, tensor.pointer)

    # -- layers ---------------------------------------------------------------------------

    def _apply(self, layer: LayerSpec, call, args, kwargs, depth) -> list[Tensor] | None:
        outputs = self._outputs(layer, call, args, kwargs, depth)
        if self._observe and layer.submodel is None:
            self._last = Applied(layer, Site(layer, call, args, kwargs, self.report), outputs)
            self._observe(self._last)
        return outputs

    def _build_submodel(self, layer: LayerSpec, depth: int) -> list[Tensor] | None:
        """Keras first builds a nested model on its own declared inputs, then calls it on
        what arrives: both can fail. The first is walked once per nested model."""
        key = id(layer.submodel)
        if key not in self._built_submodels:
            self._built_submodels.add(key)
            self.submodel_outputs[key] = self.run(layer.submodel, None, depth + 1)
        return self.submodel_outputs[key]

    def _outputs(self, layer: LayerSpec, call, args, kwargs, depth) -> list[Tensor] | None:
        pointer = call.pointer if call is not None else layer.pointer
        if layer.pointer in self._skipped:
            return None
        if layer.submodel is not None:
            first = args[0] if args else None
            keys = layer.submodel.input_keys
            if isinstance(first, dict) and keys is not None:
                arriving = [first.get(key) for key in keys]  # Keras matches dict inputs by name
            else:
                arriving = first if isinstance(first, list) else [first]
            arriving = [t if isinstance(t, Tensor) else Tensor(None, pointer) for t in arriving]
            self._build_submodel(layer, depth)
            outputs = self.run(layer.submodel, arriving, depth + 1)
            if self._observe:
                self._last = Applied(layer, Site(layer, call, args, kwargs, self.report), outputs)
                self._observe(self._last)
            return outputs
        rule = rule_for(layer)
        site = Site(layer, call, args, kwargs, self.report)
        if rule is None:
            _check_recorded_build(site)
            if not self.declarations:
                return None
            from kmha_lint.layers import custom

            declaration = custom.declaration_for(layer, self.declarations)
            shapes = None if declaration is None else custom.apply(site, declaration)
            return None if shapes is None else [Tensor(s, pointer) for s in shapes]
        shapes = rule(site)
        if shapes is None:
            return None
        first = args[0] if args and isinstance(args[0], Tensor) else None
        attention = layer.name if layer.class_name == "MultiHeadAttention" else None
        if layer.class_name in KEEPS_ATTENTION_ORIGIN and first is not None:
            attention = first.attention
        return [Tensor(shape, pointer, attention) for shape in shapes]


def _check_recorded_build(site: Site) -> None:
    """Keras 3 builds a custom layer from its recorded build shape (build_config) before
    calling it, so weights and sizes fixed there no longer fit another shape: what reaches
    its first call must still match the record (known sizes only; tf.keras does not
    rebuild from build_config)."""
    layer = site.layer
    if layer.builtin or layer.op or layer.build_config is None or not layer.calls:
        return
    if site.call is not layer.calls[0]:
        return
    tensor, built = site.input(), as_shape(layer.build_config.get("input_shape"))
    if tensor is None or tensor.shape is None or built is None:
        return
    if len(tensor.shape) != len(built):
        mismatch = [None]
    else:
        mismatch = [
            axis
            for axis, (got, want) in enumerate(zip(tensor.shape, built, strict=True))
            if got is not None and want is not None and got != want
        ]
    if not mismatch:
        return
    site.report_stale_build(
        tensor,
        site.problem(
            "inputs",
            "the input differs from the shape this layer was built for (its build_config)",
            show(built),
            show(tensor.shape),
            "feed the layer what it was built for, or delete its stale build_config",
        ),
    )


def _names_hint(ref: TensorRef, by_name) -> str:
    import difflib

    close = difflib.get_close_matches(ref.layer, list(by_name), n=3)
    if close:
        return "Did you mean " + " or ".join(f"`{c}`" for c in close) + "? Fix the name."
    return "Reference a layer defined in this model's `layers` list."


def _recorded_outputs(pending) -> dict[tuple[str, int], list[Tensor]]:
    """The output shapes a Keras 3 config recorded, from the references that consume them."""
    found: dict[tuple[str, int], dict[int, Shape]] = {}
    for _, _, call in pending:
        for ref in refs(call):
            shape = as_shape(ref.recorded)
            if shape is not None:
                found.setdefault((ref.layer, ref.node), {}).setdefault(ref.index, shape)
    # The build shape a consumer recorded is the shape of what reached its first call
    # (tf.keras records no tensor shapes in its nodes, but does record build shapes).
    for layer, k, call in pending:
        if k != layer.first_node or layer.recorded_input_shape is None or not call.args:
            continue
        first = call.args[0]
        recorded = layer.recorded_input_shape
        if isinstance(first, TensorRef):
            pairs = [(first, recorded)]
        elif isinstance(first, list) and isinstance(recorded, list) and len(first) == len(recorded):
            pairs = list(zip(first, recorded, strict=True))
        else:
            continue
        for ref, shape in pairs:
            shape = as_shape(shape)
            if isinstance(ref, TensorRef) and shape is not None:
                found.setdefault((ref.layer, ref.node), {}).setdefault(ref.index, shape)
    result = {}
    for key, by_index in found.items():
        if sorted(by_index) == list(range(len(by_index))):
            result[key] = [Tensor(by_index[i], "") for i in range(len(by_index))]
    return result


def _inputs_as_recorded(layer: LayerSpec, node: int, args: list, kwargs: dict) -> bool:
    """Every tensor input has a known shape equal to the one recorded for it: in the node
    (Keras 3), or else in the layer's build shape (its first call, tf.keras too)."""
    tensors = [t for t in _tensors([args, kwargs])]
    if not tensors or any(t.shape is None for t in tensors):
        return False
    if all(t.recorded is not None for t in tensors):
        return all(t.shape == t.recorded for t in tensors)
    if node != layer.first_node or not args:
        return False
    recorded, first = layer.recorded_input_shape, args[0]
    if isinstance(first, Tensor) and len(tensors) == 1:
        return first.shape == as_shape(recorded)
    if isinstance(first, list) and isinstance(recorded, list) and len(first) == len(tensors):
        return len(recorded) == len(first) and all(
            isinstance(t, Tensor) and t.shape == as_shape(r)
            for t, r in zip(first, recorded, strict=True)
        )
    return False


def _leaves(value: object, kind: type):
    """The items of type ``kind`` nested in lists and dicts of ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, kind):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _tensors(value: object):
    return _leaves(value, Tensor)


def _cycle_members(waiting: list[tuple[LayerSpec, int, Call]]) -> list[str]:
    """The names of the waiting layers that can reach themselves (not those downstream)."""
    edges = {layer.name: set() for layer, _, _ in waiting}
    for layer, _, call in waiting:
        edges[layer.name] |= {ref.layer for ref in refs(call) if ref.layer in edges}
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


def refs(call: Call):
    return _leaves([call.args, list(call.kwargs.values())], TensorRef)


def map_refs(value: object, resolve) -> object:
    if isinstance(value, TensorRef):
        return resolve(value)
    if isinstance(value, list):
        return [map_refs(v, resolve) for v in value]
    if isinstance(value, dict):
        return {k: map_refs(v, resolve) for k, v in value.items()}
    return value

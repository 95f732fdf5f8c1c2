"""Read a parsed config into a plain graph: models, layers, calls and tensor references.

Nothing here executes anything: class names are strings to look up in the linter's own
tables, and unknown classes (Lambda, custom layers) stay opaque.
"""

from __future__ import annotations

from functools import cache

from kmha_lint.record import Record

MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
MAX_SIZE = 2**62  # larger sizes are not real; they leave the shape unknown


class TensorRef(Record):
    """``keras_history``: output ``index`` of call ``node`` of layer ``layer``; ``recorded``
    is the shape Keras 3 recorded for this tensor, if any."""

    __slots__ = ("layer", "node", "index", "pointer", "recorded")

    def __init__(self, layer: str, node: int, index: int, pointer: str, recorded=None):
        self.layer, self.node, self.index = layer, node, index
        self.pointer, self.recorded = pointer, recorded


class Call(Record):
    """One call of a layer (an inbound node): arguments keep their structure, tensors as refs."""

    __slots__ = ("args", "kwargs", "pointer")

    def __init__(self, args: list, kwargs: dict, pointer: str):
        self.args, self.kwargs, self.pointer = args, kwargs, pointer


class LayerSpec(Record):
    """One layer entry of a model config.

    ``op``: a keras.ops call recorded as a node (module keras.src.ops.*). ``first_node``: the
    node index of ``calls[0]``. ``recorded_input_shape``: the shape(s) the layer was first
    built for, as recorded (Keras 3 and tf.keras alike; only Keras 3 rebuilds from it, so
    only ``build_config`` there is checked).
    """

    __slots__ = (
        "name",
        "class_name",
        "config",
        "pointer",
        "builtin",
        "kmha",
        "build_config",
        "op",
        "recorded_input_shape",
        "calls",
        "submodel",
        "first_node",
        "keras_major",
        "registered_name",
    )

    def __init__(
        self,
        name: str,
        class_name: str,
        config: dict,
        pointer: str,
        builtin: bool,
        kmha: bool,
        build_config: dict | None,
        op: bool = False,
        recorded_input_shape: object = None,
        calls: list | None = None,
        submodel: ModelSpec | None = None,
        first_node: int = 0,
        keras_major: int = 3,
        registered_name: str | None = None,
    ):
        self.name, self.class_name, self.config, self.pointer = name, class_name, config, pointer
        self.builtin, self.kmha, self.build_config, self.op = builtin, kmha, build_config, op
        self.recorded_input_shape = recorded_input_shape
        self.calls = [] if calls is None else calls
        self.submodel, self.first_node, self.keras_major = submodel, first_node, keras_major
        self.registered_name = registered_name  # Keras 3's "package>Class" of a custom layer

    __hash__ = object.__hash__  # mutable: identity

    def __eq__(self, other: object) -> bool:
        return self is other

    def node_index(self, node: int) -> int | None:
        """The call behind a reference's node index, or None if there is none."""
        call = node - self.first_node
        return call if 0 <= call < len(self.calls) else None

    def config_pointer(self, key: str | None = None) -> str:
        return self.pointer + "/config" + ("" if key is None else "/" + key)


class ModelSpec(Record):
    """A functional or sequential model: ``pointer`` is its own entry (its "config" member
    holds the layers); ``input_shape`` is for sequential models only."""

    __slots__ = ("kind", "name", "layers", "inputs", "outputs", "pointer", "keras_major")
    __slots__ += ("input_shape", "input_keys")

    def __init__(
        self,
        kind,
        name,
        layers,
        inputs,
        outputs,
        pointer,
        keras_major,
        input_shape=None,
        input_keys=None,
    ):
        self.kind, self.name, self.layers = kind, name, layers  # kind: functional, sequential
        self.inputs, self.outputs, self.pointer = inputs, outputs, pointer
        self.keras_major, self.input_shape = keras_major, input_shape
        # The names of a functional model's inputs when it takes a dict (input_layers is one).
        self.input_keys = input_keys

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


def is_model(document: object) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("class_name"), str)
        and isinstance(document.get("config"), dict)
        and isinstance(document["config"].get("layers"), list)
    )


def keras_major(document: dict) -> int:
    """2 for tf.keras / Keras 2 JSON, 3 for Keras 3.

    tf.keras 2.13+ also writes `module` keys, so the tell-tales are `keras_version` and
    the Keras 2 inbound-node form (lists, not {"args", "kwargs"} objects).
    """
    version = document.get("keras_version")
    if isinstance(version, str) and version[:1].isdigit():
        return 2 if version.split(".")[0] in ("1", "2") else 3
    for layer in document["config"]["layers"]:
        nodes = layer.get("inbound_nodes") if isinstance(layer, dict) else None
        if isinstance(nodes, list) and nodes:
            return 2 if isinstance(nodes[0], list) else 3
    if "module" in document:
        return 3
    layers = document["config"]["layers"]
    return 3 if any(isinstance(layer, dict) and "module" in layer for layer in layers) else 2


def read_model(entry: dict, pointer: str, major: int) -> ModelSpec:
    config = entry["config"]
    layers = [
        read_layer(item, f"{pointer}/config/layers/{i}", major)
        for i, item in enumerate(config["layers"])
        if isinstance(item, dict)
    ]
    name = config.get("name") if isinstance(config.get("name"), str) else "model"
    if "input_layers" not in config and entry.get("class_name") == "Sequential":
        return ModelSpec("sequential", name, layers, [], [], pointer, major, _sequence_input(entry))
    inputs = config.get("input_layers")
    return ModelSpec(
        "functional",
        name,
        layers,
        _endpoints(inputs, f"{pointer}/config/input_layers"),
        _endpoints(config.get("output_layers"), f"{pointer}/config/output_layers"),
        pointer,
        major,
        input_keys=[k for k, v in inputs.items() if _history(v, "") is not None]
        if isinstance(inputs, dict)
        else None,
    )


# Where Keras (3 and 2) serializes its own layers and models from. Operations called on
# symbolic tensors (`keras.ops.reshape(x, ...)` records module "keras.src.ops.numpy", class
# "Reshape") share class names with layers but not their arguments or semantics: opaque.
_LAYER_PACKAGES = {"layers", "models", "engine", "applications"}  # LayerScale


_KERAS_PACKAGES = ("keras", "tf_keras")


@cache
def _inner_module(module: str) -> tuple[str, ...]:
    """`keras.src.layers.core` -> [layers, core]; `tf_keras.src.engine.functional` too."""
    parts = tuple(module.split("."))
    if parts[0] not in _KERAS_PACKAGES:
        return ()
    return parts[2:] if parts[1:2] == ("src",) else parts[1:]


def _is_layer_module(module: object) -> bool:
    if module is None or module in _KERAS_PACKAGES:
        return True
    if not isinstance(module, str):
        return False
    inner = _inner_module(module)
    return bool(inner) and inner[0] in _LAYER_PACKAGES


def is_ops_module(module: object) -> bool:
    """`keras.src.ops.numpy` and the like: an operation called on symbolic tensors."""
    inner = _inner_module(module) if isinstance(module, str) else ()
    return bool(inner) and inner[0] == "ops"


def read_layer(entry: dict, pointer: str, major: int) -> LayerSpec:
    config = entry.get("config")
    config = config if isinstance(config, dict) else {}
    name = entry.get("name", config.get("name"))
    class_name = entry.get("class_name")
    class_name = class_name if isinstance(class_name, str) else ""
    module = entry.get("module")
    registered = entry.get("registered_name")
    kmha = (isinstance(registered, str) and registered.startswith("kmha>")) or (
        isinstance(module, str) and module.split(".")[0] == "kmha"
    )
    keras_own = not kmha and registered in (None, class_name)
    build_config = entry.get("build_config")
    build_config = build_config if isinstance(build_config, dict) else None
    layer = LayerSpec(
        name=name if isinstance(name, str) else f"<layer {pointer.rsplit('/', 1)[-1]}>",
        class_name=class_name,
        config=config,
        pointer=pointer,
        builtin=keras_own and _is_layer_module(module),
        kmha=kmha,
        build_config=build_config if major == 3 else None,
        keras_major=major,
        op=keras_own and is_ops_module(module),
        recorded_input_shape=build_config.get("input_shape") if build_config else None,
        registered_name=registered if isinstance(registered, str) else None,
    )
    nodes = entry.get("inbound_nodes")
    if isinstance(nodes, list):
        for k, node in enumerate(nodes):
            call = _read_call(node, f"{pointer}/inbound_nodes/{k}")
            if call is not None:
                layer.calls.append(call)
    if class_name in MODEL_CLASSES and layer.builtin and is_model(entry):
        layer.submodel = read_model(entry, pointer, major)
        # A nested model built from its own Input has a node 0 that links that InputLayer
        # to its outputs, which the config leaves out: its calls are nodes 1, 2, ... (tf.keras
        # models and Sequentials; Keras 3 functional models).
        first = next((item for item in entry["config"]["layers"] if isinstance(item, dict)), {})
        if first.get("class_name") == "InputLayer" and (major == 2 or class_name == "Functional"):
            layer.first_node = 1
    return layer


def _read_call(node: object, pointer: str) -> Call | None:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args = node.get("args") if isinstance(node.get("args"), list) else []
        kwargs = node.get("kwargs") if isinstance(node.get("kwargs"), dict) else {}
        return Call(
            [_structure(a, f"{pointer}/args/{i}") for i, a in enumerate(args)],
            {k: _structure(v, f"{pointer}/kwargs/{k}") for k, v in kwargs.items()},
            pointer,
        )
    if isinstance(node, list) and node:  # Keras 2: [[name, node, index, kwargs], ...]
        # TFOpLambda writes its one entry unwrapped: [name, node, index, kwargs].
        unwrapped = isinstance(node[0], str)
        entries = [node] if unwrapped else node
        where = [pointer] if unwrapped else [f"{pointer}/{i}" for i in range(len(node))]
        refs = [_legacy_ref(item, at) for item, at in zip(entries, where, strict=True)]
        first = entries[0]
        kwargs = first[3] if isinstance(first, list) and len(first) > 3 else {}
        kwargs = kwargs if isinstance(kwargs, dict) else {}
        return Call(
            [refs[0] if len(refs) == 1 else refs],
            {k: _legacy_structure(v, f"{where[0]}/3/{k}") for k, v in kwargs.items()},
            pointer,
        )
    return None


def _structure(value: object, pointer: str) -> object:
    """Replace Keras 3 `__keras_tensor__` objects by TensorRefs, keeping everything else."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config") if isinstance(value.get("config"), dict) else {}
            ref = _history(config.get("keras_history"), f"{pointer}/config/keras_history")
            shape = config.get("shape")
            if ref is not None and isinstance(shape, list) and all(_size(d) for d in shape):
                return TensorRef(ref.layer, ref.node, ref.index, ref.pointer, tuple(shape))
            return ref
        return {
            k: _structure(v, f"{pointer}/{k}") if isinstance(v, dict | list) else v
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _structure(v, f"{pointer}/{i}") if isinstance(v, dict | list) else v
            for i, v in enumerate(value)
        ]
    return value


def _size(value: object) -> bool:
    return value is None or (type(value) is int and 0 <= value < MAX_SIZE)


def _legacy_structure(value: object, pointer: str) -> object:
    ref = _history(value, pointer)
    if ref is not None:
        return ref
    if isinstance(value, list):
        return [_legacy_structure(v, f"{pointer}/{i}") for i, v in enumerate(value)]
    return value


def _legacy_ref(item: object, pointer: str) -> TensorRef | None:
    return _history(item[:3] if isinstance(item, list) else None, pointer)


def _history(value: object, pointer: str) -> TensorRef | None:
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
    ):
        return TensorRef(value[0], value[1], value[2], pointer)
    return None


def _endpoints(value: object, pointer: str) -> list[TensorRef]:
    """input_layers / output_layers: one [name, node, index] or a list (or dict) of them."""
    single = _history(value, pointer)
    if single is not None:
        return [single]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    refs = [_history(v, f"{pointer}/{k}") for k, v in items]
    return [ref for ref in refs if ref is not None]


def _sequence_input(entry: dict) -> list | None:
    """The input shape of a Sequential model, from wherever Keras 2 or 3 recorded it."""
    config = entry["config"]
    layers = [layer for layer in config["layers"] if isinstance(layer, dict)]
    if layers and isinstance(layers[0].get("config"), dict):
        first = layers[0]["config"]
        for key in ("batch_shape", "batch_input_shape"):
            if isinstance(first.get(key), list):
                return first[key]
    for shape in (
        config.get("build_input_shape"),
        (entry.get("build_config") or {}).get("input_shape")
        if isinstance(entry.get("build_config"), dict)
        else None,
    ):
        if isinstance(shape, list):
            return shape
    return None

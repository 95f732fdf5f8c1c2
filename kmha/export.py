"""Export a Keras model holding kmha layers as a SavedModel that TF Serving can run.

TF Serving runs the graph in C++, without Python and without kmha, so everything the
model needs must be in the SavedModel: this module writes one with the ``serve`` tag and a
``serving_default`` signature whose inputs and outputs have names a client can use, whose
batch and sequence dimensions stay ``None``, and whose functions are not XLA-compiled. The
kmha layers' run-time shape checks are graph assertions, so they are exported too: a
request of the wrong shape fails with the kmha message inside TF Serving's
``InvalidArgumentError``. Before the model runs, the signature checks each request input
at the door, in the graph, whatever layer comes first: its rank and every size the
signature fixes (``Input `features`, axis 2: ... Expected 16; received 20.``); a signature
function does not check its inputs against its TensorSpecs on its own. A request of another
dtype never reaches the graph: the runtime refuses it (``Expects arg[0] to be float but
double is provided``), and TF Serving's REST API converts JSON numbers to the signature's
dtype.

Keras masks (``_keras_mask``) do not travel through a SavedModel (keras-team/keras#21133),
so a padding mask must be a signature input: either a ``keras.Input`` of the model wired to
the attention layers (``value_mask=``...), or, for a model that reads its Keras mask from
``model(x, mask=...)``, a signature input named by ``mask_input``.

Example::

    import kmha.export

    kmha.export.export_for_serving(
        model,
        "serving/my_model/1",  # TF Serving wants numbered version folders
        inputs={"tokens": ((None, None), "int32"), "mask": ((None, None), "int32")},
    )
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
from kmha_lint.problem import RUNTIME_RECEIVED, compose
from kmha_lint.record import Record

from kmha import graph_assertions

SERVE_TAG = "serve"
SIGNATURE_NAME = "serving_default"

# The XLA marker that must not reach a served graph (TF Serving on GPU then fails with
# "Could not find compiler for platform CUDA", tensorflow/serving#2214).
_XLA_MARKER = b"_XlaMustCompile"
# What TensorFlow accepts as a placeholder name, hence as a SignatureDef key we control.
_VALID_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class ServingSignature:
    """What was written: enough to build a request or run ``saved_model_cli``.

    Attributes:
        path: The SavedModel folder (holds ``saved_model.pb`` and ``variables/``).
        inputs: Signature input name -> (shape, dtype name); None is a free dimension.
        outputs: Signature output names, in the model's output order.
        mask_input: The input passed as the model's Keras ``mask=``, if any.
    """

    path: pathlib.Path
    inputs: dict[str, tuple[Shape, str]]
    outputs: tuple[str, ...]
    mask_input: str | None = None

    @property
    def tag(self) -> str:
        return SERVE_TAG

    @property
    def signature_name(self) -> str:
        return SIGNATURE_NAME


def export_for_serving(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    inputs: Mapping[str, tuple[Sequence[int | None], str]] | None = None,
    mask_input: str | None = None,
    output_names: Sequence[str] | None = None,
) -> ServingSignature:
    """Write ``model`` as a SavedModel for TF Serving and return its signature.

    Args:
        model: A built Keras model (Functional, Sequential or subclassed) on the
            TensorFlow backend.
        path: Folder to write. TF Serving's ``--model_base_path`` must hold numbered
            version folders, so pass e.g. ``base/1``.
        inputs: Signature input name -> (full shape with batch axis, dtype), e.g.
            ``{"tokens": ((None, None), "int32")}``. Put None for every batch and sequence
            axis: a number there is frozen into the signature and every request must match
            it. Defaults to the ``keras.Input`` names, shapes and dtypes of a Functional
            model. The model is called with the single tensor when there is one input
            (besides ``mask_input``), else with a dict keyed by these names.
        mask_input: Name of one of ``inputs`` to pass as the model's Keras mask
            (``model(x, mask=...)``) instead of as a model input, for models that read
            their padding mask that way. Leave None when the mask is a ``keras.Input``.
        output_names: Names for the signature outputs when the model does not return a
            dict. Default: the Functional model's output names, else ``output_0``...

    Returns:
        The ServingSignature written.

    Raises:
        ValueError: The backend is not TensorFlow, the model is not built, or the input
            or output names do not fit the model (the message says which and how to fix).
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"A SavedModel needs the tensorflow backend; Keras runs on "
            f"{keras.backend.backend()!r}. Fix: set KERAS_BACKEND=tensorflow before importing "
            "keras."
        )
    if not model.built:
        raise ValueError(
            f"Model `{model.name}` is not built, so it has no weights to export. Fix: call it "
            "once on example inputs (or train it) before exporting."
        )
    specs = _input_specs(model, inputs)
    _check_mask_input(model, specs, mask_input)
    output_names = None if output_names is None else tuple(output_names)
    written_outputs: list[tuple[str, ...]] = []

    def serve(features):
        features = _checked_at_the_door(specs, dict(features))
        mask = features.pop(mask_input) if mask_input else None
        model_inputs = _model_inputs(model, features)
        kwargs = {} if mask is None else {"mask": mask}
        named = _named_outputs(model, model(model_inputs, training=False, **kwargs), output_names)
        written_outputs.append(tuple(named))
        return named

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SERVE_TAG, serve, input_signature=[specs])
    archive.write_out(os.fspath(path), verbose=False)
    path = pathlib.Path(path)
    _check_no_xla(path)
    return ServingSignature(
        path=path,
        inputs={
            name: (tuple(spec.shape.as_list()), spec.dtype.name) for name, spec in specs.items()
        },
        outputs=written_outputs[-1],
        mask_input=mask_input,
    )


def _input_specs(model, inputs):
    """Signature input name -> tf.TensorSpec, each spec named like its key."""
    import tensorflow as tf

    if inputs is None:
        declared = getattr(model, "inputs", None)
        if not declared or not all(isinstance(x, keras.KerasTensor) for x in declared):
            raise ValueError(
                f"Model `{model.name}` has no keras.Input to take the serving signature from. "
                "Fix: pass inputs={'tokens': ((None, None), 'int32'), ...} with None for the "
                "batch and sequence axes."
            )
        inputs = {x.name: (x.shape, x.dtype) for x in declared}
    if not inputs:
        raise ValueError("`inputs` is empty. Fix: name at least one signature input.")
    specs = {}
    for name, entry in inputs.items():
        _check_name(name, "inputs")
        try:
            shape, dtype = entry
            specs[name] = tf.TensorSpec(tuple(shape), tf.as_dtype(dtype), name=name)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Signature input `{name}`: expected (shape, dtype), e.g. ((None, None), "
                f"'int32'); received {entry!r} ({error}). Fix: give a tuple of ints or None, "
                "and a dtype name."
            ) from None
    return specs


class InputMismatch(Record):
    """A request input that does not fit the serving signature, named by its signature key.

    Worded like the layer's :class:`~kmha_lint.problem.Problem` (where, what, expected,
    received, fix); `kmha.graph_assertions` places it in the graph as it does a Problem.
    """

    __slots__ = ("name", "axis", "what", "expected", "received", "fix")

    def __init__(self, name, axis, what, expected, received, fix):
        self.name, self.axis, self.what = name, axis, what
        self.expected, self.received, self.fix = expected, received, fix

    def message(self) -> str:
        where = f"Input `{self.name}`" + ("" if self.axis is None else f", axis {self.axis}")
        return compose(where, self.what, self.expected, self.received, self.fix)


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"


def door_problems(name: str, spec) -> tuple[InputMismatch, list[tuple[int, int, InputMismatch]]]:
    """What a request input is checked for against its TensorSpec: the rank, then each
    fixed size (axis, size, problem). Received values are filled in while the graph runs."""
    shape = spec.shape.as_list()
    declared = f"the serving signature, {_shape_text(shape)}"
    rank = InputMismatch(
        name,
        None,
        f"rank differs from {declared}",
        f"rank {len(shape)}",
        f"rank {RUNTIME_RECEIVED}",
        f"send `{name}` with {len(shape)} axes, shaped {_shape_text(shape)} (None: any size)",
    )
    sizes = [
        (
            axis,
            size,
            InputMismatch(
                name,
                axis,
                f"size differs from {declared}",
                str(size),
                RUNTIME_RECEIVED,
                f"send `{name}` shaped {_shape_text(shape)} (None: any size), or export "
                f"with None at axis {axis} if its size may vary",
            ),
        )
        for axis, size in enumerate(shape)
        if size is not None
    ]
    return rank, sizes


def _checked_at_the_door(specs, features):
    """``features`` made to depend on graph assertions of each input's rank and fixed
    sizes: a signature function does not check a request against its TensorSpecs (TF
    Serving feeds the graph as it is), so without them a wrong width fails inside the first
    layer that uses it, with that op's words (``Matrix size-incompatible``)."""
    import tensorflow as tf

    checked = {}
    for name, tensor in features.items():
        rank_problem, size_problems = door_problems(name, specs[name])
        rank = graph_assertions.assert_rank(rank_problem, tensor, len(specs[name].shape))
        sizes = [
            graph_assertions.assert_dim(
                problem, (tensor, axis), size, broadcast=False, after=[rank]
            )
            for axis, size, problem in size_problems
        ]
        with tf.control_dependencies([rank, *sizes]):
            checked[name] = tf.identity(tensor)
    return checked


def _check_name(name, argument):
    if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
        raise ValueError(
            f"`{argument}`: {name!r} cannot be a signature key. Expected a letter followed by "
            "letters, digits, '_', '.' or '-'. Fix: rename it, e.g. 'padding_mask'."
        )


def _check_mask_input(model, specs, mask_input):
    if mask_input is None:
        return
    if mask_input not in specs:
        raise ValueError(
            f"mask_input={mask_input!r} is not a signature input; the inputs are "
            f"{sorted(specs)}. Fix: add it to `inputs`, e.g. "
            f"inputs={{..., {mask_input!r}: ((None, None), 'bool')}}."
        )
    features = [name for name in specs if name != mask_input]
    if len(features) != 1:
        raise ValueError(
            f"mask_input={mask_input!r} becomes the Keras mask of the model's one input, but "
            f"the signature has {len(features)} other inputs ({features}). Fix: make the mask "
            "a keras.Input of the model, pass it to the attention layers (value_mask=...), "
            "and leave mask_input=None."
        )
    model_inputs = getattr(model, "inputs", None)
    if model_inputs and len(model_inputs) != 1:
        raise ValueError(
            f"mask_input={mask_input!r} becomes the Keras mask of the model's one input, but "
            f"model `{model.name}` has {len(model_inputs)} inputs. Fix: leave mask_input=None "
            "and name the mask in `inputs` like the model's mask keras.Input."
        )


def _model_inputs(model, features):
    """The single tensor, or the dict, in the structure the model was built with."""
    if len(features) == 1 and not isinstance(getattr(model, "_inputs_struct", None), dict):
        return next(iter(features.values()))
    return features


def _named_outputs(model, outputs, output_names):
    """The model's outputs as a dict with one signature key per output."""
    if isinstance(outputs, Mapping):
        if output_names is not None:
            raise ValueError(
                f"Model `{model.name}` returns a dict, whose keys {sorted(outputs)} name the "
                f"outputs; received output_names={list(output_names)}. Fix: leave "
                "output_names=None, or rename the model's output keys."
            )
        named = dict(outputs)
    else:
        named = _name_flat_outputs(model, outputs, output_names)
    for name in named:
        _check_name(name, "output names")
    return named


def _name_flat_outputs(model, outputs, output_names):
    flat = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if output_names is None:
        declared = tuple(getattr(model, "output_names", None) or ())
        fallback = tuple(f"output_{i}" for i in range(len(flat)))
        output_names = declared if len(declared) == len(flat) else fallback
    if len(output_names) != len(flat):
        raise ValueError(
            f"Model `{model.name}` returns {len(flat)} outputs; received "
            f"{len(output_names)} output_names {list(output_names)}. Fix: give one name per "
            "output."
        )
    return dict(zip(output_names, flat, strict=True))


def _check_no_xla(path):
    graph = (path / "saved_model.pb").read_bytes()
    if _XLA_MARKER in graph:
        raise ValueError(
            f"{path / 'saved_model.pb'} holds XLA-compiled functions ({_XLA_MARKER.decode()}); "
            "TF Serving cannot run them on every platform. Fix: remove jit_compile=True from "
            "any tf.function inside the model and export again."
        )

"""SavedModel export for TF Serving: the checks that stand in for a real model server.

No `tensorflow_model_server` can be installed here, so the export is checked the ways TF
Serving would meet it: loaded in a fresh process where kmha cannot be imported, loaded by
the TF1 session loader (TF Serving's C++ loading rules: tag set, SignatureDef tensor
names), and read and run by `saved_model_cli`. The model is the quickstart's transformer,
exported once per module; requests use B=3, T=7 (the model width is 32, with 4 heads).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmha
import kmha.export

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVING_EXAMPLES = ROOT / "examples" / "serving"
SAVED_MODEL_CLI = pathlib.Path(sys.executable).with_name("saved_model_cli")
BATCH, LENGTH = 3, 7
SUBPROCESS_TIMEOUT_S = 600  # a guard against hangs, not a speed limit (2 loaded cores)


def _load_quickstart():
    spec = importlib.util.spec_from_file_location(
        "kmha_quickstart", ROOT / "examples/quickstart.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


quickstart = _load_quickstart()


# Runs in a fresh interpreter: removes every route to kmha (the editable-install finder,
# any sys.path entry holding it), then serves the SavedModel with TensorFlow alone.
_SERVE_WITHOUT_KMHA = textwrap.dedent(
    """
    import importlib, importlib.machinery, json, sys

    sys.meta_path[:] = [
        finder for finder in sys.meta_path
        if finder is importlib.machinery.PathFinder or finder.find_spec("kmha", None) is None
    ]
    sys.path[:] = [
        entry for entry in sys.path
        if importlib.machinery.PathFinder.find_spec("kmha", [entry]) is None
    ]
    importlib.invalidate_caches()
    try:
        import kmha
    except ModuleNotFoundError as error:
        import_error = str(error)
    else:
        raise SystemExit(f"kmha is still importable from {kmha.__file__}")

    import numpy as np
    import tensorflow as tf

    saved_model, features_file, outputs_file = sys.argv[1:]
    features = dict(np.load(features_file))
    loaded = tf.saved_model.load(saved_model)
    by_signature = loaded.signatures["serving_default"](**features)
    by_endpoint = loaded.serve(features)
    try:
        loaded.signatures["serving_default"](tokens=features["tokens"], mask=features["mask"][:1])
        wrong_shape_error = None
    except tf.errors.InvalidArgumentError as error:
        wrong_shape_error = error.message
    try:  # one axis too many: refused at the signature's door
        loaded.signatures["serving_default"](
            tokens=tf.constant(features["tokens"][..., None]), mask=tf.constant(features["mask"])
        )
        door_error = None
    except tf.errors.InvalidArgumentError as error:
        door_error = error.message
    np.savez(
        outputs_file,
        **{f"signature/{k}": v.numpy() for k, v in by_signature.items()},
        **{f"endpoint/{k}": v.numpy() for k, v in by_endpoint.items()},
    )
    print(json.dumps({
        "import_error": import_error,
        "wrong_shape_error": wrong_shape_error,
        "door_error": door_error,
        "kmha_modules": sorted(m for m in sys.modules if m.split(".")[0] == "kmha"),
    }))
    """
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The quickstart model exported once, a request, and the Keras answer to it."""
    keras.utils.set_random_seed(3)
    model = quickstart.build_model()
    path = tmp_path_factory.mktemp("export") / "quickstart" / "1"
    signature = kmha.export.export_for_serving(model, path, inputs=quickstart.SERVING_INPUTS)
    features, _ = quickstart.make_examples(BATCH, LENGTH, seed=5)
    expected = {name: np.asarray(value) for name, value in model(features).items()}
    return {"path": path, "signature": signature, "features": features, "expected": expected}


@pytest.fixture(scope="module")
def serving_fn(served):
    return tf.saved_model.load(str(served["path"])).signatures[kmha.export.SIGNATURE_NAME]


class _Background:
    """A subprocess check running alongside the others (each one mostly imports TF)."""

    def __init__(self, command, logs: pathlib.Path, cwd: pathlib.Path):
        self.command = [str(part) for part in command]
        self._stdout, self._stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
        with self._stdout.open("w") as stdout, self._stderr.open("w") as stderr:
            self.process = subprocess.Popen(self.command, stdout=stdout, stderr=stderr, cwd=cwd)

    def stdout(self) -> str:
        """The output once it has exited with 0 (fails the test otherwise)."""
        try:
            self.process.wait(timeout=SUBPROCESS_TIMEOUT_S)
        finally:
            self.stop()
        output = self._stdout.read_text()
        assert self.process.returncode == 0, (
            f"{self.command[:3]} exited with {self.process.returncode}:\n{output}\n"
            f"{self._stderr.read_text()[-4000:]}"
        )
        return output

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def checks(served, tmp_path_factory):
    """Every subprocess check, started at once: name -> (_Background, its folder)."""
    folder = tmp_path_factory.mktemp("checks")
    for name, value in served["features"].items():
        np.save(folder / f"{name}.npy", value)
    np.savez(folder / "features.npz", **served["features"])
    saved_model = ["--dir", served["path"], "--tag_set", "serve"]
    saved_model += ["--signature_def", "serving_default"]
    commands = {
        "cli_show": [SAVED_MODEL_CLI, "show", *saved_model],
        "cli_run": [SAVED_MODEL_CLI, "run", *saved_model, "--outdir", folder / "cli_run"]
        + ["--inputs", f"tokens={folder / 'tokens.npy'};mask={folder / 'mask.npy'}"],
        "fresh": [sys.executable, "-P", "-c", _SERVE_WITHOUT_KMHA, served["path"]]
        + [folder / "features.npz", folder / "fresh.npz"],
        "quickstart": [sys.executable, ROOT / "examples/quickstart.py"]
        + ["--out", folder / "quickstart"],
    }
    started = {
        name: _Background(command, folder / name, folder) for name, command in commands.items()
    }
    yield {"folder": folder, **started}
    for check in started.values():
        check.stop()


def _assert_outputs_match(actual, expected):
    assert sorted(actual) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-6, atol=1e-6)


def test_signature_is_named_dynamic_and_without_xla(served):
    signature = served["signature"]
    assert signature.inputs == {"tokens": ((None, None), "int32"), "mask": ((None, None), "int32")}
    assert signature.outputs == ("logits", "probabilities")
    assert b"_XlaMustCompile" not in (served["path"] / "saved_model.pb").read_bytes()


def test_tf1_session_loader_feeds_by_signature_tensor_names(served):
    features = served["features"]
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(served["path"]))
        signature = meta_graph.signature_def["serving_default"]
        feed = {signature.inputs[name].name: value for name, value in features.items()}
        names = sorted(signature.outputs)
        fetched = session.run([signature.outputs[name].name for name in names], feed_dict=feed)
        _assert_outputs_match(dict(zip(names, fetched, strict=True)), served["expected"])

        feed[signature.inputs["mask"].name] = features["mask"][:1]
        with pytest.raises(tf.errors.InvalidArgumentError) as caught:
            session.run(signature.outputs["logits"].name, feed_dict=feed)
    assert _BATCH_MISMATCH in caught.value.message


_BATCH_MISMATCH = (
    f"Layer `attention_0`, argument `query_mask`, axis 0 (batch): size does not match axis 0 "
    f"of `query`. Expected {BATCH}; received 1."
)
_LENGTH_MISMATCH = (
    f"Layer `attention_0`, argument `query_mask`, axis 1 (sequence): size does not match "
    f"axis 1 of `query`. Expected {LENGTH}; received {LENGTH - 2}."
)


@pytest.mark.parametrize(
    ("mask_rows", "mask_columns", "message"),
    [(slice(0, 1), slice(None), _BATCH_MISMATCH), (slice(None), slice(0, -2), _LENGTH_MISMATCH)],
    ids=["mask batch != tokens batch", "mask length != tokens length"],
)
def test_wrong_shape_request_fails_with_kmha_message(
    served, serving_fn, mask_rows, mask_columns, message
):
    features = served["features"]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        serving_fn(tokens=features["tokens"], mask=features["mask"][mask_rows, mask_columns])
    assert message in caught.value.message
    assert "Fix: pass a mask shaped like `query`" in caught.value.message


def _request(name):
    return json.loads((SERVING_EXAMPLES / name).read_text())


def test_rest_bodies_in_examples_answer_alike(served, serving_fn):
    rows = quickstart.answer(served["path"], _request("predict_instances.json"))["predictions"]
    columnar = _request("predict_inputs.json")
    assert columnar["signature_name"] == "serving_default"
    outputs = serving_fn(**{k: tf.constant(v, tf.int32) for k, v in columnar["inputs"].items()})
    assert len(rows) == 2
    for name, column in outputs.items():
        np.testing.assert_allclose([row[name] for row in rows], column.numpy(), rtol=0, atol=0)


def test_rest_bad_mask_body_gets_kmha_message(serving_fn):
    inputs = _request("predict_bad_mask.json")["inputs"]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        serving_fn(**{k: tf.constant(v, tf.int32) for k, v in inputs.items()})
    assert "Layer `attention_0`, argument `query_mask`, axis 0 (batch)" in caught.value.message
    assert "Expected 2; received 1." in caught.value.message


# A model whose first layer is a Dense: a request of the wrong width would fail inside its
# matmul ("Matrix size-incompatible: In[0]: [10,20], In[1]: [16,48]") without the door check.
WIDTH = 16


@pytest.fixture(scope="module")
def dense_first(tmp_path_factory):
    keras.utils.set_random_seed(6)
    features = keras.Input((None, WIDTH), name="features")
    hidden = keras.layers.Dense(48, name="project")(features)
    model = keras.Model(features, kmha.MultiHeadAttention(4, name="attn")(hidden, hidden))
    path = tmp_path_factory.mktemp("dense_first") / "1"
    signature = kmha.export.export_for_serving(model, path)
    assert signature.inputs == {"features": ((None, None, WIDTH), "float32")}
    return model, path


def _by_loaded_signature(path):
    """tf.saved_model.load's signature, fed tensors: the graph runs on them as they are."""
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda features: next(iter(serve(features=tf.constant(features)).values())).numpy()


@contextlib.contextmanager
def _by_session(path):
    """The TF1 session loader, fed through tensor handles: Session::Run gets the tensor as
    TF Serving's C++ gives it (plain NumPy feeds are shape-checked in Python first)."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        signature = signature.signature_def["serving_default"]
        (output,) = signature.outputs.values()

        def run(features):
            handle = session.run(tf.compat.v1.get_session_handle(tf.constant(features)))
            return session.run(output.name, {signature.inputs["features"].name: handle})

        yield run


_DOOR_WIDTH = (
    f"Input `features`, axis 2: size differs from the serving signature, (None, None, {WIDTH}). "
    f"Expected {WIDTH}; received 20. Fix: send `features` shaped (None, None, {WIDTH}) (None: "
    "any size), or export with None at axis 2 if its size may vary"
)
_DOOR_RANK = (
    f"Input `features`: rank differs from the serving signature, (None, None, {WIDTH}). "
    f"Expected rank 3; received rank 2. Fix: send `features` with 3 axes, shaped "
    f"(None, None, {WIDTH}) (None: any size)"
)


@pytest.mark.parametrize(
    ("shape", "message"),
    [((BATCH, LENGTH, 20), _DOOR_WIDTH), ((BATCH, WIDTH), _DOOR_RANK)],
    ids=["width", "rank"],
)
@pytest.mark.parametrize("loader", ["loaded signature", "session"])
def test_request_is_checked_at_the_door_whatever_layer_comes_first(
    dense_first, loader, shape, message
):
    model, path = dense_first
    good = np.random.default_rng(1).normal(size=(BATCH, LENGTH, WIDTH)).astype("float32")
    expected = np.asarray(model(good))
    with contextlib.ExitStack() as stack:
        if loader == "session":
            serve = stack.enter_context(_by_session(path))
        else:
            serve = _by_loaded_signature(path)
        np.testing.assert_allclose(serve(good), expected, rtol=1e-5, atol=1e-5)
        with pytest.raises(tf.errors.InvalidArgumentError) as caught:
            serve(np.ones(shape, "float32"))
    assert message in caught.value.message
    assert "Matrix size-incompatible" not in caught.value.message
    assert message in (ROOT / "docs" / "serving.md").read_text()  # as the docs show it


def test_wrong_dtype_is_refused_before_the_graph_runs(dense_first):
    """The dtype needs no check in the graph: the runtime refuses another dtype before any
    op runs (TF Serving's gRPC answer is this Session::Run message)."""
    _, path = dense_first
    request = np.ones((BATCH, LENGTH, WIDTH), "float64")
    with _by_session(path) as serve, pytest.raises(tf.errors.InvalidArgumentError) as caught:
        serve(request)
    assert "Expects arg[0] to be float but double is provided" in caught.value.message
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        _by_loaded_signature(path)(request)
    assert "expected to be a float tensor but is a double tensor" in caught.value.message


def test_without_the_door_a_wrong_width_fails_in_the_first_layer(dense_first, tmp_path):
    """What docs/serving.md says happens without the check: Keras's own export of the same
    model answers in the Dense's matmul words."""
    model, _ = dense_first
    model.export(str(tmp_path / "plain"), format="tf_saved_model", verbose=False)
    serve = tf.saved_model.load(str(tmp_path / "plain")).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        serve(features=tf.ones((BATCH, LENGTH, 20)))
    assert "Matrix size-incompatible: In[0]: [21,20], In[1]: [16,48]" in caught.value.message


def test_numpy_feeds_are_shape_checked_in_python_first(dense_first):
    _, path = dense_first
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        signature = signature.signature_def["serving_default"]
        (output,) = signature.outputs.values()
        feed = {signature.inputs["features"].name: np.ones((BATCH, LENGTH, 20), "float32")}
        with pytest.raises(ValueError) as caught:
            session.run(output.name, feed)
    assert str(caught.value) == (
        "Cannot feed value of shape (3, 7, 20) for Tensor serving_default_features:0, which has "
        f"shape (None, None, {WIDTH})"
    )


def test_door_problems_name_each_fixed_axis():
    spec = tf.TensorSpec((None, 7, None, 4), tf.float32, name="patches")
    rank, sizes = kmha.export.door_problems("patches", spec)
    assert rank.expected == "rank 4"
    assert [(axis, size) for axis, size, _ in sizes] == [(1, 7), (3, 4)]
    assert (
        sizes[0][2]
        .message()
        .startswith(
            "Input `patches`, axis 1: size differs from the serving signature, (None, 7, None, 4). "
            "Expected 7; received "
        )
    )


class MaskedEncoder(keras.Model):
    """A subclassed model that reads its padding mask from the Keras ``mask=`` argument."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = kmha.MultiHeadAttention(num_heads=2, key_dim=5)
        self.supports_masking = True  # it consumes the mask; Keras warns otherwise

    def call(self, features, mask=None):
        return self.attention(features, features, query_mask=mask, value_mask=mask)


def test_subclassed_model_with_mask_input_keeps_lengths_free(tmp_path):
    keras.utils.set_random_seed(4)
    model = MaskedEncoder()
    model(np.zeros((2, 5, 6), "float32"))  # built on T=5; the export must not freeze it
    signature = kmha.export.export_for_serving(
        model,
        tmp_path / "1",
        inputs={"features": ((None, None, 6), "float32"), "padding": ((None, None), "bool")},
        mask_input="padding",
        output_names=["encoded"],
    )
    assert signature.inputs["features"] == ((None, None, 6), "float32")
    serve = tf.saved_model.load(str(tmp_path / "1")).signatures["serving_default"]
    features = np.random.default_rng(0).normal(size=(BATCH, LENGTH + 2, 6)).astype("float32")
    padding = np.arange(LENGTH + 2)[None, :] < np.array([[4], [LENGTH + 2], [6]])
    served = serve(features=features, padding=padding)["encoded"].numpy()
    np.testing.assert_allclose(served, model(features, mask=padding), rtol=1e-6, atol=1e-6)
    assert np.abs(served - model(features)).max() > 1e-3, "the mask did not reach the layer"


class XlaDoubler(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._double = tf.function(lambda x: 2.0 * x, jit_compile=True)

    def call(self, x):
        return self._double(x)


def test_export_refuses_xla_compiled_functions(tmp_path):
    features = keras.Input((None, 4), name="features")
    model = keras.Model(features, XlaDoubler()(features))
    with pytest.raises(ValueError, match="holds XLA-compiled functions") as caught:
        kmha.export.export_for_serving(model, tmp_path / "1")
    assert "Fix: remove jit_compile=True" in str(caught.value)


def _functional_model():
    tokens = keras.Input((None, 6), name="tokens")
    return keras.Model(tokens, kmha.MultiHeadAttention(2, key_dim=3)(tokens, tokens))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mask_input": "padding"},
            "mask_input='padding' is not a signature input; the inputs are ['tokens']. "
            "Fix: add it to `inputs`",
        ),
        (
            {"inputs": {"input 1": ((None, None, 6), "float32")}},
            "`inputs`: 'input 1' cannot be a signature key.",
        ),
        (
            {"inputs": {"tokens": "float32"}},
            "Signature input `tokens`: expected (shape, dtype)",
        ),
        (
            {"output_names": ["a", "b"]},
            "returns 1 outputs; received 2 output_names ['a', 'b']. Fix: give one name per",
        ),
    ],
    ids=["unknown mask_input", "bad name", "bad input entry", "output count"],
)
def test_export_argument_errors_say_what_and_how_to_fix(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as caught:
        kmha.export.export_for_serving(_functional_model(), tmp_path / "1", **kwargs)
    assert message in str(caught.value)


def test_export_of_unbuilt_subclassed_model_says_to_call_it_first(tmp_path):
    with pytest.raises(ValueError, match=r"Model `unbuilt` is not built.*Fix: call it once"):
        kmha.export.export_for_serving(MaskedEncoder(name="unbuilt"), tmp_path / "1")


def test_saved_model_cli_show(checks):
    shown = checks["cli_show"].stdout()
    for name in ("mask", "tokens"):
        assert (
            f"inputs['{name}'] tensor_info:\n      dtype: DT_INT32\n      shape: (-1, -1)\n"
            f"      name: serving_default_{name}:0"
        ) in shown
    for name in ("logits", "probabilities"):
        assert (
            f"outputs['{name}'] tensor_info:\n      dtype: DT_FLOAT\n      shape: (-1, 2)" in shown
        )
    assert "Method name is: tensorflow/serving/predict" in shown


def test_saved_model_cli_run_with_npy_inputs(served, checks):
    checks["cli_run"].stdout()
    outdir = checks["folder"] / "cli_run"
    actual = {name: np.load(outdir / f"{name}.npy") for name in served["expected"]}
    _assert_outputs_match(actual, served["expected"])


def test_fresh_process_without_kmha_gives_same_outputs(served, checks):
    report = json.loads(checks["fresh"].stdout().strip().splitlines()[-1])
    assert report["import_error"] == "No module named 'kmha'"
    assert report["kmha_modules"] == []
    outputs = np.load(checks["folder"] / "fresh.npz")
    for route in ("signature", "endpoint"):
        actual = {name: outputs[f"{route}/{name}"] for name in served["expected"]}
        _assert_outputs_match(actual, served["expected"])
    # The layer's shape check runs without kmha: its message is in the graph; so does the
    # signature's own check of each input.
    assert _BATCH_MISMATCH in report["wrong_shape_error"]
    assert (
        "Input `tokens`: rank differs from the serving signature, (None, None). "
        "Expected rank 2; received rank 3." in report["door_error"]
    )


def test_quickstart_runs_end_to_end(checks):
    stdout = checks["quickstart"].stdout()
    for step in ("[1/5] Building", "[2/5] Linting", "[3/5] Training", "[4/5] Exported"):
        assert step in stdout
    assert "[5/5] Answering a REST body of 3 instances" in stdout
    assert (checks["folder"] / "quickstart/serving/quickstart/1/saved_model.pb").is_file()
    assert '"predictions": [{"logits": [' in stdout

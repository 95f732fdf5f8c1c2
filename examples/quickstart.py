"""kmha quickstart: build, lint, train, export for TF Serving, and answer a request.

    python examples/quickstart.py [--out DIR]

The model is a two-block transformer encoder built from kmha.MultiHeadAttention that
tells whether a padded token sequence contains the token 1. Its padding mask is an
explicit input, so it survives export. Everything is written under DIR (by default a
temporary folder that is deleted at the end); nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's info lines once it runs
# TensorFlow's C++ start-up lines (oneDNN, CUDA probing) held back: kmha imports Keras, and
# with it TensorFlow, quietly when this is set before its first import (docs/layer.md).
os.environ.setdefault("KMHA_QUIET_TENSORFLOW", "1")

import kmha  # noqa: E402, I001 - first, so that TensorFlow starts quietly
import keras  # noqa: E402
import numpy as np  # noqa: E402

import kmha.export  # noqa: E402

VOCAB_SIZE = 40
WIDTH = 32
NUM_HEADS = 4
MAX_LENGTH = 12
MARKER_TOKEN = 1  # the token the model learns to detect
PAD_TOKEN = 0
# The serving signature: batch and sequence free, the mask an explicit input (1 = real token).
SERVING_INPUTS = {"tokens": ((None, None), "int32"), "mask": ((None, None), "int32")}


def build_model(blocks: int = 2) -> keras.Model:
    """A small transformer encoder classifier with kmha attention in every block."""
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    mask = keras.Input((None,), dtype="int32", name="mask")
    x = keras.layers.Embedding(VOCAB_SIZE, WIDTH, name="embedding")(tokens)
    for block in range(blocks):
        attended = kmha.MultiHeadAttention(
            NUM_HEADS, key_dim=WIDTH // NUM_HEADS, name=f"attention_{block}"
        )(x, x, query_mask=mask, value_mask=mask)
        x = keras.layers.LayerNormalization(name=f"attention_norm_{block}")(
            keras.layers.Add(name=f"attention_residual_{block}")([x, attended])
        )
        hidden = keras.layers.Dense(2 * WIDTH, activation="relu", name=f"ffn_in_{block}")(x)
        update = keras.layers.Dense(WIDTH, name=f"ffn_out_{block}")(hidden)
        x = keras.layers.LayerNormalization(name=f"ffn_norm_{block}")(
            keras.layers.Add(name=f"ffn_residual_{block}")([x, update])
        )
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(x, mask=mask)
    logits = keras.layers.Dense(2, name="logits")(pooled)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(
        {"tokens": tokens, "mask": mask},
        {"logits": logits, "probabilities": probabilities},
        name="quickstart_transformer",
    )


def make_examples(count: int, length: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Padded token sequences of random lengths, their masks, and 0/1 labels."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(MARKER_TOKEN + 1, VOCAB_SIZE, size=(count, length), dtype=np.int32)
    lengths = rng.integers(2, length + 1, size=count)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int32)
    labels = rng.integers(0, 2, size=count).astype(np.int32)
    for row in np.flatnonzero(labels):
        tokens[row, rng.integers(0, lengths[row])] = MARKER_TOKEN
    tokens[mask == 0] = PAD_TOKEN
    return {"tokens": tokens, "mask": mask}, labels


def rest_request(features: dict[str, np.ndarray]) -> dict:
    """A TF Serving REST predict body in the row ("instances") format."""
    rows = len(next(iter(features.values())))
    return {
        "signature_name": kmha.export.SIGNATURE_NAME,
        "instances": [
            {name: value[i].tolist() for name, value in features.items()} for i in range(rows)
        ],
    }


def answer(saved_model_dir: pathlib.Path, body: dict) -> dict:
    """Answer a REST predict body the way TF Serving does, with the exported graph only."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model_dir))
    signature = loaded.signatures[body.get("signature_name", kmha.export.SIGNATURE_NAME)]
    specs = signature.structured_input_signature[1]
    columns = {
        name: tf.constant([row[name] for row in body["instances"]], dtype=spec.dtype)
        for name, spec in specs.items()
    }
    outputs = {name: value.numpy() for name, value in sorted(signature(**columns).items())}
    rows = len(body["instances"])
    return {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(rows)]}


def run(out: pathlib.Path) -> None:
    keras.utils.set_random_seed(0)
    print(f"[1/5] Building a 2-block transformer with kmha.MultiHeadAttention (outputs in {out})")
    model = build_model()
    print(f"      {model.count_params()} parameters; inputs {sorted(model.input)}")

    config_path = out / "model_config.json"
    config_path.write_text(model.to_json(indent=2))
    print(f"[2/5] Linting the saved config: python -m kmha_lint {config_path}")
    lint = subprocess.run(
        [sys.executable, "-m", "kmha_lint", str(config_path)], capture_output=True, text=True
    )
    print(_indent(lint.stdout + lint.stderr) or "      no findings")
    if lint.returncode != 0:
        raise SystemExit(f"kmha-lint reported errors (exit {lint.returncode}); stopping.")

    features, labels = make_examples(256, MAX_LENGTH, seed=1)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
    )
    print("[3/5] Training 3 epochs of 8 steps (batch 32)")
    history = model.fit(features, {"logits": labels}, batch_size=32, epochs=3, verbose=0)
    print("      loss per epoch: " + ", ".join(f"{v:.4f}" for v in history.history["loss"]))

    serving_dir = out / "serving" / "quickstart" / "1"
    signature = kmha.export.export_for_serving(model, serving_dir, inputs=SERVING_INPUTS)
    print(f"[4/5] Exported for TF Serving to {signature.path}")
    print(f"      tag '{signature.tag}', signature '{signature.signature_name}'")
    print(f"      inputs {signature.inputs}; outputs {list(signature.outputs)}")

    request_length = MAX_LENGTH - 5  # any length works: the signature leaves it free
    request_features, request_labels = make_examples(3, request_length, seed=2)
    body = rest_request(request_features)
    (out / "request.json").write_text(json.dumps(body))
    instances = len(body["instances"])
    print(f"[5/5] Answering a REST body of {instances} instances of length {request_length}")
    print("      with tf.saved_model.load, i.e. the exported graph alone, as TF Serving runs it:")
    print(_indent(json.dumps(body)))
    reply = answer(serving_dir, body)
    print(_indent(json.dumps(reply, default=float)))
    predicted = [int(np.argmax(row["probabilities"])) for row in reply["predictions"]]
    keras_probabilities = np.asarray(model(request_features)["probabilities"])
    served_probabilities = np.array([row["probabilities"] for row in reply["predictions"]])
    gap = float(np.max(np.abs(served_probabilities - keras_probabilities)))
    print(f"      predicted {predicted}, labels {request_labels.tolist()}")
    print(f"      max |served - Keras model| = {gap:.2e}")


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, help="folder for outputs (default: temp)")
    args = parser.parse_args(argv)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        run(args.out)
        return
    with tempfile.TemporaryDirectory(prefix="kmha-quickstart-") as tmp:
        run(pathlib.Path(tmp))


if __name__ == "__main__":
    main()

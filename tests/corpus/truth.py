"""The test of truth for the lint corpus: can real Keras rebuild a config and run a batch?

Shared by `generate.py` (which records the labels) and the spot checks in
`tests/test_lint_agreement.py` (which re-derive a few of them with the installed Keras), so
both use one definition of "Keras runs it". Keras is imported only inside the functions.
"""

from __future__ import annotations

import re
import signal

import numpy as np

BATCH = 2
# Unknown non-batch axes get small, distinct sizes so that swapped axes cannot pass.
FREE_AXIS_SIZES = (5, 3, 7, 4, 6, 9)
# Token ids are drawn from [0, MAX_TOKEN_ID); every Embedding in the corpus is larger.
MAX_TOKEN_ID = 2
# tf_keras rebuilds a graph by retrying until every node's inputs exist, so a reference to
# a node that never appears hangs it; a small model otherwise takes about a second.
HANG_SECONDS = 60


def load_keras(flavor: str):
    """The Keras module that judges `flavor` ("keras3" or "keras2") configs."""
    if flavor == "keras3":
        import keras

        import kmha

        kmha.MultiHeadAttention  # noqa: B018 - registers the layer for deserialization
        return keras
    if flavor == "keras2":
        import tf_keras

        return tf_keras
    raise ValueError(f"unknown flavor {flavor!r}; expected 'keras3' or 'keras2'")


def concrete_batch(model, seed: int = 0) -> list[np.ndarray]:
    """Random inputs for every model input, with unknown axes set to small distinct sizes."""
    rng = np.random.default_rng(seed)
    free_sizes = iter(FREE_AXIS_SIZES * 4)
    batch = []
    for tensor in model.inputs:
        shape = [BATCH] + [d if d is not None else next(free_sizes) for d in tensor.shape[1:]]
        dtype = np.dtype(getattr(tensor.dtype, "name", tensor.dtype))
        if np.issubdtype(dtype, np.integer):
            batch.append(rng.integers(0, MAX_TOKEN_ID, size=shape).astype(dtype))
        else:
            batch.append(rng.standard_normal(shape).astype(dtype))
    return batch


def keras_outcome(text: str, flavor: str) -> str | None:
    """None when Keras rebuilds the config and predicts one batch; else the error text."""
    keras = load_keras(flavor)
    keras.backend.clear_session()
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(HANG_SECONDS)
    try:
        model = keras.models.model_from_json(text)
        batch = concrete_batch(model)
        model.predict(batch[0] if len(batch) == 1 else batch, batch_size=BATCH, verbose=0)
    except Exception as error:  # noqa: BLE001 - any failure means "Keras cannot run it"
        return f"{type(error).__name__}: {root_cause(str(error))}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return None


def _hang(signum, frame):
    raise TimeoutError(
        f"Keras did not finish within {HANG_SECONDS} s: its rebuild loops forever waiting "
        "for a layer node that the config never creates"
    )


def root_cause(message: str) -> str:
    """The innermost cause of a Keras error on one line, without colour codes or noise.

    Keras 3 wraps a failing layer's error in one "could not be deserialized" message per
    enclosing model, so the cause is the text after the last "Exception encountered:".
    tf.function errors add a traceback, and both Kerases list the call arguments: those
    paragraphs are dropped.
    """
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)
    message = message.rsplit("Exception encountered: ", 1)[-1]
    kept = [
        " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in re.split(r"\n\s*\n", message)
        if paragraph.strip()
        and 'File "' not in paragraph
        and not paragraph.strip().startswith(NOISE_PARAGRAPHS)
    ]
    return " ".join(kept)


NOISE_PARAGRAPHS = ("in user code:", "Call arguments received", "Arguments received by")

"""How `import kmha` imports Keras: the one-line error without it, and the quiet start.

TensorFlow's C++ libraries write start-up lines (absl's "All log messages before
absl::InitializeLog()", oneDNN, "Could not find cuda drivers", cpu_feature_guard, and at
the first device probe "failed call to cuInit") straight to file descriptor 2, before
any log level applies, so neither Python's logging nor ``TF_CPP_MIN_LOG_LEVEL`` alone
keeps them out of a script's output. With ``KMHA_QUIET_TENSORFLOW=1`` in the environment
when kmha is imported first, kmha holds descriptor 2 back while Keras (and with it the
backend) is imported and TensorFlow lists its devices, and drops what was written there;
if the import fails, what was held back is written out before the error.

Pure Python: imported by ``kmha/__init__.py`` before anything imports a framework.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_VARIABLE = "KMHA_QUIET_TENSORFLOW"


def quiet_requested() -> bool:
    """Whether the environment asks for a quiet start (any value but empty or ``0``)."""
    return os.environ.get(QUIET_VARIABLE, "").strip() not in ("", "0")


@contextmanager
def held_stderr() -> Iterator[None]:
    """Hold file descriptor 2 back; drop what was written on success, replay it on error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            sys.stderr.flush()
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras() -> bool:
    """Import Keras (quietly when asked and TensorFlow is not loaded yet); False if it is
    not installed."""
    if not quiet_requested() or "tensorflow" in sys.modules:
        return _import_keras()
    # TensorFlow's info lines after the start (device creation on a GPU, for one); a
    # user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with held_stderr():
        found = _import_keras()
        if found and "tensorflow" in sys.modules:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe (cuInit) happens here
        return found


# A missing one of these means "install Keras and a backend"; any other ImportError is a
# broken install, shown as it is.
_FRAMEWORKS = ("keras", "tensorflow", "jax", "torch")


def _import_keras() -> bool:
    try:
        import keras  # noqa: F401
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in _FRAMEWORKS:
            return False
        raise
    return True

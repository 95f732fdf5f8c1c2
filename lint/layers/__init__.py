"""Shape rules, one module per layer family. Importing this package registers them all
with :mod:`kmha_lint.graph` (a new family is a new module listed here)."""

from kmha_lint.layers import (  # noqa: F401 - imported to register their rules
    attention,
    convolution,
    core,
    merging,
    ops,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
)

"""Shape rules, one module per layer family, registered with :mod:`kmha_lint.graph` by class
name.

The families a transformer is made of (attention, core, merging) load with this package.
The others load the first time the walk looks up a class or operation that the loaded ones
do not know (:func:`load_all`, called by the graph's rule tables), so that the cold lint of a
transformer, the common case in a pre-commit hook, does not pay for importing them. A new
family is a new module, listed here in one of the two groups.
"""

from kmha_lint.layers import (  # noqa: F401 - imported to register their rules
    attention,
    core,
    merging,
)

_loaded_all = False


def load_all() -> None:
    """Register every family's rules (idempotent)."""
    global _loaded_all
    if not _loaded_all:
        from kmha_lint.layers import (  # noqa: F401 - imported to register their rules
            convolution,
            ops,
            pooling,
            preprocessing,
            recurrent,
            reshaping,
        )

        _loaded_all = True

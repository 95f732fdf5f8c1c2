"""What the linter knows about a family, as data: argument names, which checks apply, how
the head size is derived, and how the parameters are counted.

A :class:`Family` is read from the library's own code (KerasHub's backbone and attention
classes, transformers' configuration and modeling files); ``kerashub.py`` and
``huggingface.py`` hold one per family. A :class:`Unit` is one config object to check with
one family (a backbone inside a task, a text_config inside a multimodal config).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# How a family gets its head size from the width and the head count.
DIVISIBLE = "divisible"  # width / heads, and the library checks it or fails when it is not whole
FLOORS = "floors"  # width // heads, silently: a narrower attention projection
EXPLICIT = "explicit"  # an explicit head size; width and heads need not agree


@dataclass(frozen=True)
class Attention:
    """One attention stack of a family (encoder-decoders may have two)."""

    width: str  # the model width argument (hidden_size, hidden_dim, d_model, ...)
    heads: str  # query heads
    kv_heads: str | None = None  # key/value heads (grouped-query attention)
    head_dim: str | None = None  # explicit head size argument, if the family takes one
    # Without an explicit head_dim (or when it is null): DIVISIBLE or FLOORS.
    derived: str = DIVISIBLE
    # With an explicit head_dim: does the family still need width % heads == 0? (transformers
    # Llama checks it whatever head_dim says.)
    divisible_even_with_head_dim: bool = False
    # Rotary embeddings: the argument holding the rotated fraction of each head (dotted for
    # nested keys), its default, or rotary=True with the whole head rotated.
    rotary: bool = False
    rotary_fraction: str | tuple[str, ...] | None = None  # candidates: the first present wins
    rotary_fraction_default: float = 1.0
    # Odd rotary dimensions: the library fails (True), or rotates one feature more than the
    # config says (False: transformers' partial rotary, which takes the size from cos, and
    # fails when an odd rotary dimension is the whole head: no feature is left to round to).
    rotary_odd_fails: bool = True
    # A rotary fraction above 1: the library fails (True) or rotates the whole head.
    rotary_above_one_fails: bool = False
    # The key/value heads only count when this argument is true (Falcon's
    # new_decoder_architecture).
    kv_when: str | None = None
    # Rotary embeddings only when this argument is false (Falcon's alibi).
    rotary_unless: str | None = None


@dataclass(frozen=True)
class Family:
    name: str  # the class name (KerasHub) or model_type (transformers)
    library: str  # "keras_hub" or "transformers"
    title: str  # what people call it: "Llama", "BERT"
    attention: tuple[Attention, ...] = ()
    sizes: tuple[str, ...] = ()  # positive integers (widths, vocabularies, positions)
    layers: tuple[str, ...] = ()  # layer counts
    rates: tuple[str, ...] = ()  # probabilities in [0, 1]
    windows: tuple[str, ...] = ()  # positive integers or null (sliding windows)
    vocab: str | None = None
    token_ids: tuple[str, ...] = ()
    padding_id: str | None = None  # a token id used as nn.Embedding(padding_idx=...)
    required: tuple[str, ...] = ()  # constructor arguments without a default (KerasHub)
    defaults: dict = field(default_factory=dict)  # values the library uses when a key is absent
    # Keys whose zero (or negative) value the library accepts and builds a degenerate model
    # with: a warning instead of an error.
    zero_ok: frozenset[str] = frozenset()
    negative_ok: frozenset[str] = frozenset()
    # Layer counts of zero or less make the library fail (most build an empty stack).
    strict_layers: bool = False
    # Layer counts whose negative value fails although zero builds and runs (transformers'
    # decoders, BART-style decoder stacks: "__len__() should return >= 0" at the first batch).
    negative_layers_fail: frozenset[str] = frozenset()
    # Sliding windows of zero or less make the library fail (else: a warning).
    strict_windows: bool = False
    # Sizes for which zero is a valid value (DeBERTa-v2's type_vocab_size: no embedding).
    zero_valid: frozenset[str] = frozenset()
    # Integer arguments the library takes as any number (floats pass through unnoticed).
    float_ok: frozenset[str] = frozenset()
    # Integer arguments the library passes through int() before use: a numeric string builds
    # (a warning, not an error).
    str_ok: frozenset[str] = frozenset()
    # Booleans where integers belong: KerasHub reads them as 0 and 1 (Python bools are ints);
    # transformers' strict fields reject them.
    bool_as_int: bool = False
    # Rates the library only applies while training (functional dropout): a value outside
    # [0, 1] builds and runs one batch, so it is a warning there.
    rates_unchecked: frozenset[str] = frozenset()
    params: Callable[[Values], int | None] | None = None
    extra: tuple[Callable, ...] = ()  # family-specific checks: f(unit, report)
    modelled: bool = True
    # transformers' attribute_map, argument -> the other name the config class reads into it
    # (bart: d_model <- hidden_size): when the file has the other name, its value wins.
    aliases: dict = field(default_factory=dict)


class Values:
    """Read access to a unit's config with the family's defaults: ``v["hidden_size"]``.

    ``nested_defaults(model_type)``: the defaults of the family a nested config names (a
    container's ``text_config``/``vision_config``). A key missing from a nested config that
    is present is the nested family's default, as the library builds the nested config
    class from that dict; a nested config that is absent takes the container's default.
    """

    def __init__(
        self,
        config: dict,
        defaults: dict,
        nested_defaults: Callable[[object], dict] | None = None,
        aliases: dict | None = None,
    ):
        self.config, self.defaults = config, defaults
        self.nested_defaults = nested_defaults
        self.aliases = aliases or {}

    def __getitem__(self, key: str):
        return self.get(key)

    def spelled(self, key: str) -> str:
        """The name the config holds ``key`` under: its alias when the file has that."""
        alias = self.aliases.get(key)
        return alias if alias is not None and self._has(alias) else key

    def get(self, key: str, default=None):
        key_read = self.spelled(key)
        node: object = self.config
        parts = key_read.split(".")
        for index, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                if index and isinstance(node, dict) and self.nested_defaults is not None:
                    prefix = ".".join(parts[:index])
                    kind = node.get("model_type", self.defaults.get(prefix + ".model_type"))
                    nested = self.nested_defaults(kind)
                    rest = ".".join(parts[index:])
                    if rest in nested:
                        return nested[rest]
                return self.defaults.get(key, default)
            node = node[part]
        return node

    def has(self, key: str) -> bool:
        return self._has(self.spelled(key))

    def _has(self, key: str) -> bool:
        node: object = self.config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True


@dataclass(frozen=True)
class Unit:
    """One config object checked with one family."""

    family: Family
    config: dict
    pointer: str  # JSON Pointer of the config object
    label: str  # how messages name it: "LlamaBackbone (KerasHub)", "llama (transformers)"
    family_pointer: str = ""  # the value that names the family (class_name, model_type)

    def pointer_of(self, key: str) -> str:
        from kmha_lint.jsonsource import escape_token

        key = self.values.spelled(key)
        return self.pointer + "".join("/" + escape_token(p) for p in key.split("."))

    @property
    def values(self) -> Values:
        nested = None
        if self.family.library == "transformers":
            from kmha_lint.hparams.huggingface import nested_defaults as nested
        return Values(self.config, self.family.defaults, nested, self.family.aliases)

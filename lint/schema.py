"""The schema pass: JSON Schema (draft 2020-12) for the model envelope and known layers.

Schemas ship as package data in ``kmha_lint.schemas`` and are read from beside that
package's ``__init__``, so an installed wheel finds them outside the repository (without
importlib.resources, which costs more start-up time than the lint of a small config).

Importing jsonschema costs more than linting a large model (0.1 to 0.4 s, mostly building
attrs classes), and most configs are valid. So each schema is also compiled into a plain
predicate (:func:`_compile`) that only answers "valid?"; jsonschema is imported, and
reports, only when that predicate says no. The predicate covers a small keyword subset,
refuses schemas outside it, and tests check it agrees with jsonschema.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache

from kmha_lint import geometry, rules
from kmha_lint.document import LayerSpec
from kmha_lint.findings import Issue
from kmha_lint.geometry import is_number
from kmha_lint.jsonsource import loads
from kmha_lint.problem import ShapeError

_RANGE_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
)
_JSON_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


@cache
def _folder() -> str:
    from kmha_lint import schemas

    return os.path.dirname(schemas.__file__)


@cache
def schema_file(name: str) -> dict:
    """One shipped schema, by file name without .json."""
    with open(os.path.join(_folder(), name + ".json"), encoding="utf-8") as handle:
        return loads(handle.read())


def schema_files() -> dict[str, dict]:
    """Every shipped schema, by file name without .json."""
    return {name: schema_file(name) for name in sorted(_names())}


def _schema(name: str) -> dict:
    """A shipped schema by file name, or a reference into one (`<$id>#/$defs/...`)."""
    return {"$ref": name} if name.startswith(_ID_PREFIX) else schema_file(name)


@cache
def _validator(name: str, strict_integers: bool):
    """A compiled validator for a schema (see :func:`_schema`); Keras 3 means an int is a
    Python int, tf.keras also takes 8.0."""
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource

    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schema_files().values()
    )
    cls = Draft202012Validator
    if strict_integers:
        checker = cls.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
        )
        cls = validators.extend(cls, type_checker=checker)
    return cls(_schema(name), registry=registry)


ARGUMENTS_ID = "urn:kmha:schema:arguments:1"
# Each shipped schema's $id is "urn:kmha:schema:<file name>:1".
_ID_PREFIX = "urn:kmha:schema:"


@cache
def _names() -> frozenset[str]:
    return frozenset(n[: -len(".json")] for n in os.listdir(_folder()) if n.endswith(".json"))


def layer_schemas(layer: LayerSpec, major: int) -> list[str]:
    """The schemas a layer's config must satisfy: types and ranges, and argument names."""
    if layer.kmha:
        names = [f"kmha.{layer.class_name}", f"kmha.{layer.class_name}"]
    elif layer.builtin:
        flavour = "keras3" if major == 3 else "tf_keras"
        names = [f"keras.{layer.class_name}", f"{flavour}.{layer.class_name}"]
    else:
        return []
    found = [names[0]] if names[0] in _names() else []
    if names[1] in schema_file("arguments")["$defs"]:
        found.append(f"{ARGUMENTS_ID}#/$defs/{names[1]}")
    return found


def check_envelope(document: dict, strict: bool) -> list[Issue]:
    return _issues("keras-model", document, "", "model", strict)


# tf.keras layers whose sizes reach a TensorShape unconverted, so that 8.0 fails there too
# (Dense or Conv1D take 8.0 in tf.keras; MultiHeadAttention raises a TypeError).
_KERAS2_STRICT_INTEGERS = {"MultiHeadAttention"}


def check_layer(layer: LayerSpec, major: int) -> list[Issue]:
    subject = f"Layer `{layer.name}`"
    strict = major == 3 or layer.class_name in _KERAS2_STRICT_INTEGERS
    return [
        issue
        for name in layer_schemas(layer, major)
        for issue in _issues(name, layer.config, layer.config_pointer(), subject, strict)
    ]


def _issues(name: str, instance: object, base: str, subject: str, strict: bool) -> list[Issue]:
    if fast_check(name, strict)(instance):
        return []
    validator = _validator(name, strict)
    return [
        _issue(error, base, subject)
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def _issue(error, base: str, subject: str) -> Issue:
    import json  # words a jsonschema finding (jsonschema itself imports it)

    path = list(error.absolute_path)
    pointer = base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
    argument = ".".join(str(p) for p in path) or "config"
    if "propertyNames" in error.relative_schema_path:
        accepted = error.validator_value
        import difflib  # only for an unknown argument: a suggestion

        close = difflib.get_close_matches(str(error.instance), accepted, n=1, cutoff=0.8)
        return Issue(
            rules.UNKNOWN_ARGUMENT,
            pointer + "/" + str(error.instance).replace("~", "~0").replace("/", "~1"),
            f"{subject}: unknown argument `{error.instance}`. Expected one of the layer's "
            f"arguments ({', '.join(accepted)}); received `{error.instance}`.",
            (f"Did you mean `{close[0]}`? " if close else "")
            + f"Remove `{error.instance}`, or use a layer that takes it"
            + (
                " (kmha.MultiHeadAttention takes num_key_value_heads and d_model)."
                if "num_heads" in accepted and error.instance in ("num_key_value_heads", "d_model")
                else "."
            ),
            at_key=True,
        )
    if error.validator == "anyOf" and error.context:
        # Report the alternative meant for this type (e.g. the list of activation names).
        same_type = [e for e in error.context if e.validator == "enum"] or list(error.context)
        return _issue(same_type[0], base, subject)
    where = f"{subject}, argument `{argument}`"
    received = f"{json.dumps(error.instance)} ({_type_word(error.instance)})"
    keyword = error.validator
    if keyword == "type":
        types = (
            error.validator_value
            if isinstance(error.validator_value, list)
            else [error.validator_value]
        )
        expected = " or ".join(_JSON_TYPES.get(t, t) for t in types)
        return Issue(
            rules.WRONG_TYPE,
            pointer,
            f"{where}: wrong type. Expected {expected}; received {received}.",
            f"Write `{argument}` as {expected}"
            + (", without quotes or a fractional part" if "integer" in types else "")
            + ".",
        )
    if keyword in _RANGE_KEYWORDS:
        bound = _bound_text(keyword, error.validator_value)
        return Issue(
            rules.OUT_OF_RANGE,
            pointer,
            f"{where}: out of range. Expected {bound}; received {received}.",
            f"Use a value {bound} for `{argument}`.",
        )
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return Issue(
            rules.MISSING_KEY,
            pointer,
            f"{subject}: missing key `{missing}` in `{argument}`. Expected it to be present; "
            "received no such key.",
            f"Add `{missing}` to `{argument}`.",
            at_key=True,  # the key of the object that lacks it
        )
    expected = (
        "one of " + ", ".join(json.dumps(v) for v in error.validator_value)
        if keyword == "enum"
        else f"a value satisfying `{keyword}`: {json.dumps(error.validator_value)}"
    )
    return Issue(
        rules.INVALID_VALUE,
        pointer,
        f"{where}: invalid value. Expected {expected}; received {received}.",
        f"Use {expected} for `{argument}`.",
    )


def _type_word(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "list", dict: "object", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _bound_text(keyword: str, bound: object) -> str:
    return {
        "minimum": f">= {bound}",
        "maximum": f"<= {bound}",
        "exclusiveMinimum": f"> {bound}",
        "exclusiveMaximum": f"< {bound}",
        "minItems": f"at least {bound} item(s)",
        "maxItems": f"at most {bound} item(s)",
    }[keyword]


Check = Callable[[object], bool]
_FAST_KEYWORDS = frozenset(
    {"$schema", "$id", "$defs", "title", "description", "type", "properties", "required"}
    | {"items", "enum", "const", "not", "pattern", "$ref", "anyOf", "propertyNames"}
    | _RANGE_KEYWORDS
)


@cache
def fast_check(name: str, strict_integers: bool) -> Check:
    """A predicate equivalent to jsonschema's ``is_valid`` for the named shipped schema."""
    schema = _schema(name)
    return _compile(schema, schema, strict_integers)


_TYPE_NAMES = {type(None): "null", str: "string", list: "array", dict: "object"}


def _type_check(allowed: frozenset[str], strict_integers: bool) -> Check:
    def check(value: object) -> bool:
        kind = type(value)
        if kind is bool:
            return "boolean" in allowed
        if kind is int:
            return "integer" in allowed or "number" in allowed
        if kind is float:
            whole = "integer" in allowed and not strict_integers and value.is_integer()
            return "number" in allowed or whole
        return _TYPE_NAMES.get(kind) in allowed

    return check


def _resolve(ref: str, root: dict) -> tuple[dict, dict]:
    """A `$ref` to `#/$defs/x` in ``root`` or to `<shipped $id>#/$defs/x`."""
    base, _, fragment = ref.partition("#")
    if base:
        root = schema_file(base[len(_ID_PREFIX) :].rpartition(":")[0])
    target = root
    for token in fragment.strip("/").split("/") if fragment else []:
        target = target[token.replace("~1", "/").replace("~0", "~")]
    return target, root


# Compiled predicates by (schema object, strict), so that a definition many schemas reference
# (an activation, an initializer) compiles once. Each entry keeps its schema object alive,
# so that no other object can take its id.
_COMPILED: dict[tuple[int, bool], tuple[dict, Check]] = {}


def _compile(schema: dict, root: dict, strict: bool) -> Check:
    key = (id(schema), strict)
    if key not in _COMPILED:
        _COMPILED[key] = (schema, _compile_new(schema, root, strict))
    return _COMPILED[key][1]


def _compile_new(schema: dict, root: dict, strict: bool) -> Check:
    unknown = set(schema) - _FAST_KEYWORDS
    if unknown:
        raise ValueError(f"fast_check does not support {sorted(unknown)}")
    checks: list[Check] = []
    if "$ref" in schema:
        checks.append(_compile(*_resolve(schema["$ref"], root), strict))
    if "type" in schema:
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        checks.append(_type_check(frozenset(allowed), strict))
    if "enum" in schema:
        options = schema["enum"]
        strings = frozenset(o for o in options if type(o) is str)
        others = [o for o in options if type(o) is not str]
        checks.append(
            lambda v: (v in strings) if type(v) is str else any(_same(v, o) for o in others)
        )
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: _same(v, const))
    if "not" in schema:
        negated = _compile(schema["not"], root, strict)
        checks.append(lambda v: not negated(v))
    if "anyOf" in schema:
        options = [_compile(option, root, strict) for option in schema["anyOf"]]
        checks.append(lambda v: any(option(v) for option in options))
    if "propertyNames" in schema:
        name_check = _compile(schema["propertyNames"], root, strict)
        checks.append(lambda v: type(v) is not dict or all(name_check(k) for k in v))
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
    checks += [_bound(keyword, schema[keyword]) for keyword in _RANGE_KEYWORDS & set(schema)]
    if "items" in schema:
        item = _compile(schema["items"], root, strict)
        checks.append(lambda v: not isinstance(v, list) or all(item(i) for i in v))
    if "required" in schema:
        required = schema["required"]
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
    if "properties" in schema:
        properties = [(k, _compile(s, root, strict)) for k, s in schema["properties"].items()]
        checks.append(_properties_check(properties))
    return _all_of(checks)


def _properties_check(properties: list[tuple[str, Check]]) -> Check:
    def check(value: object) -> bool:
        if type(value) is not dict:
            return True
        for key, check_member in properties:
            if key in value and not check_member(value[key]):
                return False
        return True

    return check


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(value: object) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


def _bound(keyword: str, limit: float) -> Check:
    if keyword in ("minItems", "maxItems"):
        compare = (lambda n: n >= limit) if keyword == "minItems" else (lambda n: n <= limit)
        return lambda v: not isinstance(v, list) or compare(len(v))
    compare = {
        "minimum": lambda n: n >= limit,
        "maximum": lambda n: n <= limit,
        "exclusiveMinimum": lambda n: n > limit,
        "exclusiveMaximum": lambda n: n < limit,
    }[keyword]
    return lambda v: not is_number(v) or compare(v)


def _same(value: object, option: object) -> bool:
    """JSON equality: 1 equals 1.0, but true does not equal 1."""
    if isinstance(value, bool) or isinstance(option, bool):
        return type(value) is type(option) and value == option
    return value == option


# -- config checks: a layer's config alone, once per layer whatever its calls ------------------

# Dropout-like rates, by layer class: Keras takes [0, 1] (kmha [0, 1), in its schema).
RATE_KEYS = {
    "Dropout": ("rate",),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "SpatialDropout3D": ("rate",),
    "GaussianDropout": ("rate",),
    "AlphaDropout": ("rate",),
    "MultiHeadAttention": ("dropout",),
    "GroupQueryAttention": ("dropout",),
    "GroupedQueryAttention": ("dropout",),
    "Attention": ("dropout",),
    "AdditiveAttention": ("dropout",),
    "LSTM": ("dropout", "recurrent_dropout"),
    "GRU": ("dropout", "recurrent_dropout"),
    "SimpleRNN": ("dropout", "recurrent_dropout"),
}


def config_checks(layer: LayerSpec, schema_issues: list[Issue]) -> list[Issue]:
    """Checks on a layer's config alone (beside the schema's, which they do not repeat)."""
    if not (layer.builtin or layer.kmha):
        return []
    reported = {issue.pointer for issue in schema_issues}
    issues = []
    for key in RATE_KEYS.get(layer.class_name, ()):
        pointer = layer.config_pointer(key)
        if pointer not in reported:
            issues += _rate_issues(layer, key, pointer)
    if layer.class_name in ("MultiHeadAttention", "GroupQueryAttention", "GroupedQueryAttention"):
        issues += _key_value_heads(layer)
    return issues


def _rate_issues(layer: LayerSpec, key: str, pointer: str) -> list[Issue]:
    value = layer.config.get(key)
    if not isinstance(value, float) or value == value and abs(value) != float("inf"):
        if value == 1 and not isinstance(value, bool):
            return [
                Issue(
                    rules.RATE_DROPS_EVERYTHING,
                    pointer,
                    f"Layer `{layer.name}`, argument `{key}`: a rate of 1 drops every unit "
                    "during training. Expected a fraction below 1; received 1.",
                    f"Use a small rate such as {key}=0.1 (0 disables dropout).",
                )
            ]
        return []
    return [
        Issue(
            rules.OUT_OF_RANGE,
            pointer,
            f"Layer `{layer.name}`, argument `{key}`: out of range. Expected a number in "
            f"[0, 1]; received {value!r}.",
            f"Use a fraction such as {key}=0.1 (0 disables dropout).",
        )
    ]


def _key_value_heads(layer: LayerSpec) -> list[Issue]:
    """Grouped-query attention: query heads a multiple of key/value heads (kmha's layer
    and keras.layers.GroupQueryAttention, through kmha's geometry)."""
    if layer.class_name == "MultiHeadAttention" and not layer.kmha:
        return []
    heads_key = "num_heads" if layer.kmha else "num_query_heads"
    heads, kv_heads = layer.config.get(heads_key), layer.config.get("num_key_value_heads")
    if not (_positive_int(heads) and _positive_int(kv_heads)):
        return []
    try:
        geometry.check_key_value_heads(layer.name, heads, kv_heads)
    except ShapeError as error:
        return [
            Issue.from_problem(
                rules.KEY_VALUE_HEADS, layer.config_pointer("num_key_value_heads"), error.problem
            )
        ]
    return []


def _positive_int(value: object) -> bool:
    return type(value) is int and value > 0

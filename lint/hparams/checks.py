"""The checks every family shares, driven by its :class:`~kmha_lint.hparams.spec.Family`
data: types and ranges, head sizes and key/value heads (through ``kmha_lint.geometry``, the
layer's own geometry), rotary dimensions, special token ids.

Checks speak in JSON Pointers and :class:`~kmha_lint.findings.Issue` objects that carry
their :class:`~kmha_lint.rules.Rule`; positions are added by the caller.
"""

from __future__ import annotations

from kmha_lint import geometry
from kmha_lint.findings import Issue
from kmha_lint.geometry import is_int, is_number
from kmha_lint.hparams import rules
from kmha_lint.hparams.spec import DIVISIBLE, FLOORS, Attention, Unit
from kmha_lint.problem import Problem, ShapeError
from kmha_lint.rules import Rule

_MISSING = object()


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, dict | list):
        text = "an object" if isinstance(value, dict) else "a list"
    return f"{text} ({_type_name(value)})"


def _type_name(value: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        dict: "object",
        list: "list",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class Report:
    """Collects the issues of one unit and remembers which arguments were found wrong, so
    that the checks that read them (head sizes, token ids) stay quiet instead of piling up."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.issues: list[Issue] = []
        self.bad: set[str] = set()

    def add(
        self,
        rule: Rule,
        key: str | None,
        what: str,
        expected: str,
        received: str,
        fix: str,
        *,
        at_key: bool = False,
    ) -> None:
        unit = self.unit
        where = unit.label if key is None else f"{unit.label}, argument `{key}`"
        message = f"{where}: {what}. Expected {expected}; received {received}."
        hint = fix[:1].upper() + fix[1:]
        hint = hint if hint.endswith(".") else hint + "."
        pointer = unit.pointer if key is None else unit.pointer_of(key)
        if key is not None and not unit.values.has(key):
            # A default the library fills in: point at the config object's key.
            pointer, at_key = unit.pointer, True
        self.issues.append(Issue(rule, pointer, message, hint, at_key))
        if key is not None and rule.severity == "error":
            self.bad.add(key)

    def problem(self, rule: Rule, key: str, problem: Problem) -> None:
        self.add(rule, key, problem.what, problem.expected, problem.received, problem.fix)

    def value(self, key: str):
        return self.unit.values.get(key)


def check_unit(unit: Unit) -> list[Issue]:
    report = Report(unit)
    family = unit.family
    values = unit.values
    for key in family.required:
        if not values.has(key):
            report.add(
                rules.HPARAM_MISSING,
                None,
                f"the required argument `{key}` is missing",
                f"`{key}` in the config",
                "no such key",
                f"add `{key}` to the config (the backbone has no default for it)",
                at_key=True,
            )
            report.bad.add(key)
    for key in _integer_keys(family):
        check_size(report, key)
    for key in family.rates:
        check_rate(report, key)
    for attention in family.attention:
        check_attention(report, attention)
    check_token_ids(report)
    for extra in family.extra:
        extra(unit, report)
    if not family.modelled:
        what = "this family is not modelled" + (f" ({family.title})" if family.title else "")
        report.issues.append(
            Issue(
                rules.FAMILY_NOT_MODELLED,
                unit.family_pointer or unit.pointer,
                f"{unit.label}: {what}; only the checks that hold for every family ran "
                "(types, ranges, key/value heads, token ids).",
                "Nothing to fix: this is a note. Ignore KMHA411 to silence it.",
            )
        )
    return report.issues


def _integer_keys(family) -> list[str]:
    keys: list[str] = []
    for attention in family.attention:
        keys += [attention.width, attention.heads]
        keys += [k for k in (attention.kv_heads, attention.head_dim) if k]
    keys += list(family.sizes) + list(family.layers) + list(family.windows)
    if family.vocab:
        keys.append(family.vocab)
    return list(dict.fromkeys(keys))


def _nullable(report: Report, key: str) -> bool:
    family = report.unit.family
    if key in family.windows:
        return True
    if any(key in (a.kv_heads, a.head_dim) for a in family.attention):
        return True
    return key in family.defaults and family.defaults[key] is None


def check_size(report: Report, key: str) -> None:
    """A size, count or vocabulary: a positive integer (layer counts may be zero where the
    family accepts it, with a warning)."""
    unit, family = report.unit, report.unit.family
    if not unit.values.has(key) and key not in family.defaults:
        return
    value = report.value(key)
    if value is None and _nullable(report, key):
        return
    if key in report.bad:
        return
    if isinstance(value, bool) and family.bool_as_int:
        report.add(
            rules.HPARAM_DEGENERATE,
            key,
            f"a boolean where a number belongs; the library reads it as {int(value)}",
            "a positive integer",
            _show(value),
            f"write `{key}` as a whole number",
        )
        report.bad.add(key)
        return
    if isinstance(value, str) and key in family.str_ok and _integer_text(value):
        report.add(
            rules.HPARAM_DEGENERATE,
            key,
            "a string where a number belongs; the library reads it with int()",
            "a positive integer",
            _show(value),
            f"write `{key}` as a whole number without quotes",
        )
        report.bad.add(key)
        return
    if not is_int(value):
        if key in family.float_ok and is_number(value) and float(value).is_integer():
            return
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "wrong type",
            "a positive integer" + (" or null" if _nullable(report, key) else ""),
            _show(value),
            f"write `{key}` as a whole number without quotes or a decimal point",
        )
        return
    if value > 0 or (value == 0 and key in family.zero_valid):
        return
    lenient = (
        (
            key in family.layers
            and not family.strict_layers
            and not (value < 0 and key in family.negative_layers_fail)
        )
        or (key in family.windows and not family.strict_windows)
        or (value == 0 and key in family.zero_ok)
        or (value < 0 and key in family.negative_ok)
    )
    if key in family.layers:
        what, why = "a layer count of zero or less", "the model has no layers of this stack"
    else:
        what, why = "a size of zero or less", "what it sizes is left empty or unused"
    if lenient:
        report.add(
            rules.HPARAM_DEGENERATE,
            key,
            f"{what}; the library accepts it, but {why}",
            "a positive integer",
            str(value),
            f"set `{key}` to the size you meant",
        )
        return
    if value < 0 and key in family.negative_layers_fail:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "a negative layer count; the library builds an empty stack and fails at the first "
            "batch",
            "a positive integer (0 builds an empty stack)",
            str(value),
            f"set `{key}` to the number of layers you meant",
        )
        return
    report.add(
        rules.HPARAM_OUT_OF_RANGE,
        key,
        "out of range",
        "a positive integer",
        str(value),
        f"set `{key}` >= 1",
    )


def _integer_text(text: str) -> bool:
    """A string int() reads as a whole number ("8", " -2 ")."""
    try:
        int(text)
    except ValueError:
        return False
    return True


def check_rate(report: Report, key: str) -> None:
    unit, family = report.unit, report.unit.family
    if not unit.values.has(key):
        return
    value = report.value(key)
    if value is None and key in family.defaults and family.defaults[key] is None:
        return
    if not is_number(value):
        report.add(
            rules.HPARAM_WRONG_TYPE,
            key,
            "wrong type",
            "a number in [0, 1]",
            _show(value),
            f"write `{key}` as a number, e.g. 0.1",
        )
        return
    if (value < 0 or value > 1) and key in family.rates_unchecked:
        report.add(
            rules.HPARAM_DEGENERATE,
            key,
            "a rate or probability outside [0, 1]; the library builds the model and runs it "
            "in inference, but training fails or does nonsense",
            "a number in [0, 1]",
            str(value),
            f"set `{key}` to a fraction, e.g. 0.1 (0 disables it)",
        )
    elif value < 0 or value > 1:
        report.add(
            rules.HPARAM_OUT_OF_RANGE,
            key,
            "a rate or probability outside [0, 1]",
            "a number in [0, 1]",
            str(value),
            f"set `{key}` to a fraction, e.g. 0.1 (0 disables it)",
        )
    elif value == 1:
        report.add(
            rules.HPARAM_DEGENERATE,
            key,
            "a rate of 1 drops every unit during training",
            "a number in [0, 1)",
            str(value),
            f"set `{key}` to the fraction you meant, e.g. 0.1",
        )


def _positive(report: Report, key: str | None) -> int | None:
    if key is None or key in report.bad:
        return None
    value = report.value(key)
    if is_int(value) and value > 0:
        return int(value)
    if is_number(value) and key in report.unit.family.float_ok and value > 0:
        return int(value)
    return None


def _explicit_head_size(report: Report, attention: Attention) -> int | None:
    """An explicit head size: the head_dim argument, or the sum of head_dim_parts."""
    if not attention.head_dim_parts:
        return _positive(report, attention.head_dim)
    parts = [report.value(key) for key in attention.head_dim_parts]
    if any(key in report.bad for key in attention.head_dim_parts):
        return None
    if not all(is_int(part) and part >= 0 for part in parts) or sum(parts) <= 0:
        return None
    return int(sum(parts))


def head_size(report: Report, attention: Attention) -> int | None:
    """The head size the family uses (None where unknown), without reporting anything."""
    head_dim = _explicit_head_size(report, attention)
    if head_dim is not None:
        return head_dim
    width, heads = _positive(report, attention.width), _positive(report, attention.heads)
    if width is None or heads is None:
        return None
    return width // heads


def check_attention(report: Report, attention: Attention) -> None:
    unit = report.unit
    width = _positive(report, attention.width)
    heads = _positive(report, attention.heads)
    # (Zero or negative heads are reported by check_size: every family fails with them.)
    kv = _positive(report, attention.kv_heads)
    if attention.kv_when is not None and not report.value(attention.kv_when):
        kv = None
    if heads is not None and kv is not None:
        try:
            geometry.check_key_value_heads(unit.label, heads, kv)
        except ShapeError as error:
            problem = error.problem.replace(
                argument=attention.kv_heads,
                what=f"{attention.heads}={heads} is not a multiple of {attention.kv_heads}",
                expected=f"a divisor of {attention.heads}={heads}",
                fix=f"use {attention.kv_heads} in "
                + ", ".join(map(str, geometry.valid_head_counts(heads, kv)))
                + f" (1 is multi-query attention), or change {attention.heads}",
            )
            report.problem(rules.KEY_VALUE_HEADS, attention.kv_heads, problem)
    if width is None or heads is None:
        return
    head_dim_value = report.value(attention.head_dim) if attention.head_dim else None
    if head_dim_value == 0 and attention.head_dim in unit.family.zero_valid:
        head_dim_value = None  # "0 means derive it" (KerasHub Qwen3: `if not self.head_dim`)
    explicit = _explicit_head_size(report, attention)
    if attention.head_dim and head_dim_value is not None and explicit is None:
        return  # a wrong head_dim is reported by check_size
    if attention.head_dim_parts and explicit is None:
        return  # wrong parts are reported by check_size
    size: int | None = explicit
    if explicit is None or attention.divisible_even_with_head_dim:
        if attention.derived == DIVISIBLE or explicit is not None:
            try:
                derived = geometry.heads_divide_width(
                    unit.label,
                    width,
                    heads,
                    width_argument=attention.width,
                    heads_argument=attention.heads,
                )
            except ShapeError as error:
                problem = error.problem
                if explicit is not None:
                    problem = problem.replace(
                        what=problem.what + f" (checked even with {attention.head_dim} set)",
                    )
                report.problem(rules.HEADS_DO_NOT_DIVIDE_WIDTH, attention.heads, problem)
                return
            size = size or derived
        elif attention.derived == FLOORS:
            size, lost = geometry.floored_head_size(width, heads)
            if lost:
                choices = ", ".join(map(str, geometry.valid_head_counts(width, heads)))
                report.add(
                    rules.HEAD_SIZE_FLOORED,
                    attention.heads,
                    f"{attention.width}={width} is not divisible by {attention.heads}; the "
                    f"library floors the head size to {width} // {heads} = {size} without a "
                    f"word, so attention projects to {heads} * {size} = {heads * size} "
                    f"features, {lost} fewer than {attention.width}",
                    f"a divisor of {width}",
                    str(heads),
                    f"use {attention.heads} in {choices}"
                    + (f", or set {attention.head_dim} explicitly" if attention.head_dim else ""),
                )
                if size == 0:
                    return
    rotary = attention.rotary and not (
        attention.rotary_unless and report.value(attention.rotary_unless)
    )
    if rotary and size:
        check_rotary(report, attention, size)


def check_rotary(report: Report, attention: Attention, size: int) -> None:
    candidates = attention.rotary_fraction or ()
    candidates = (candidates,) if isinstance(candidates, str) else candidates
    key = next((k for k in candidates if report.unit.values.has(k)), None)
    fraction: object = attention.rotary_fraction_default
    if key is not None:
        fraction = report.value(key)
        if fraction is None:
            fraction = attention.rotary_fraction_default
        elif not is_number(fraction):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                "wrong type",
                "a number in (0, 1]",
                _show(fraction),
                f"write `{key}` as a number, e.g. 0.25",
            )
            return
        elif fraction > 1 and attention.rotary_above_one_fails and int(size * fraction) > size:
            report.add(
                rules.HPARAM_OUT_OF_RANGE,
                key,
                f"a rotary fraction above 1: int({size} * {fraction}) = {int(size * fraction)} "
                f"rotary features for heads of {size}, which the library cannot slice",
                "a number in (0, 1]",
                str(fraction),
                f"set `{key}` to the share of each head that is rotated, e.g. 0.25",
            )
            return
        elif fraction <= 0 or fraction > 1:
            report.add(
                rules.HPARAM_DEGENERATE,
                key,
                "a rotary fraction outside (0, 1]; the library slices the head with it, so "
                + ("no feature is rotated" if fraction <= 0 else "the whole head is rotated"),
                "a number in (0, 1]",
                str(fraction),
                f"set `{key}` to the share of each head that is rotated, e.g. 0.25",
            )
            return
    head_dim_set = attention.head_dim and report.value(attention.head_dim) is not None
    argument = key or (attention.head_dim if head_dim_set else attention.heads)
    if argument in report.bad:
        return
    try:
        geometry.rotary_dim(report.unit.label, size, float(fraction), argument=argument)
    except ShapeError as error:
        rotated = int(size * float(fraction))
        if attention.rotary_odd_fails:
            report.problem(rules.ROTARY_ODD, argument, error.problem)
        elif rotated + 1 > size:
            # The cos table has rotated + 1 features; a head of `size` cannot be sliced to it.
            problem = error.problem.replace(
                what=error.problem.what + f"; the library's rotary table has {rotated + 1} "
                f"features, one more than a head of {size}, and the first batch fails",
            )
            report.problem(rules.ROTARY_ODD, argument, problem)
        else:
            problem = error.problem.replace(
                what=error.problem.what + f"; the library rounds it up and rotates {rotated + 1} "
                "features without a word",
            )
            report.problem(rules.ROTARY_ODD_ROUNDED, argument, problem)


def _token_values(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def check_token_ids(report: Report) -> None:
    unit, family = report.unit, report.unit.family
    vocab = _positive(report, family.vocab) if family.vocab else None
    for key in family.token_ids:
        if not unit.values.has(key):
            continue
        value = report.value(key)
        if value is None:
            continue
        items = _token_values(value)
        if not all(is_int(item) for item in items) or (isinstance(value, list) and not value):
            report.add(
                rules.HPARAM_WRONG_TYPE,
                key,
                "wrong type",
                "an integer token id, or null" + (" (or a list of ids)" if "eos" in key else ""),
                _show(value),
                f"write `{key}` as a whole number",
            )
            continue
        if vocab is None:
            continue
        for item in items:
            if 0 <= item < vocab:
                continue
            if key == family.padding_id and not -vocab <= item < vocab:
                report.add(
                    rules.PADDING_ID_OUT_OF_VOCABULARY,
                    key,
                    "the pad token id is the embedding's padding index, and it is outside the "
                    "vocabulary (PyTorch refuses it when the model is built)",
                    f"an id in [0, {vocab}) ({family.vocab}={vocab})",
                    str(item),
                    f"set `{key}` to the tokenizer's pad id, below {family.vocab}, or null",
                )
                break
            report.add(
                rules.TOKEN_ID_OUT_OF_VOCABULARY,
                key,
                "a special token id outside the vocabulary; the model builds, but the id "
                "cannot be embedded",
                f"an id in [0, {vocab}) ({family.vocab}={vocab})",
                str(item),
                f"set `{key}` to the tokenizer's id, below {family.vocab}, or null",
            )
            break

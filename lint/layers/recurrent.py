"""Recurrent layers (LSTM, GRU, SimpleRNN) and the wrappers Bidirectional and TimeDistributed."""

from __future__ import annotations

from kmha_lint.document import read_layer
from kmha_lint.graph import PARAM_RULES, Site, Tensor, param_rule, rule_for, shape_rule

STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


@shape_rule(*STATES)
def recurrent(site: Site):
    tensor, units = site.known_input(), site.int("units")
    if tensor is None or units is None:
        return None
    if not site.needs_rank(tensor, 3, "(batch, timesteps, features)"):
        return None
    if not site.needs_known_axis(tensor, -1) or not site.check_built_axes(tensor, [-1]):
        return None
    batch, steps, _ = tensor.shape
    output = (
        (batch, steps, units) if site.config.get("return_sequences") is True else (batch, units)
    )
    if site.config.get("return_state") is True:
        return [output] + [(batch, units)] * STATES[site.class_name]
    return [output]


@param_rule(*STATES)
def recurrent_params(site: Site):
    tensor, units = site.known_input(), site.int("units")
    if tensor is None or units is None or len(tensor.shape) != 3 or tensor.shape[-1] is None:
        return None
    gates = GATES[site.class_name]
    bias = site.config.get("use_bias", True) is not False
    biases = gates * units * bias
    if site.class_name == "GRU" and site.config.get("reset_after", True) is not False:
        biases *= 2
    return gates * units * (tensor.shape[-1] + units) + biases


def _inner_site(site: Site, inner_input) -> Site | None:
    entry = site.config.get("layer")
    if not isinstance(entry, dict):
        return None
    inner = read_layer(entry, site.layer.config_pointer("layer"), site.layer.keras_major)
    if rule_for(inner) is None:
        return None
    return Site(inner, None, [inner_input], {}, site._report)


@shape_rule("Bidirectional")
def bidirectional(site: Site):
    tensor = site.known_input()
    if tensor is None:
        return None
    inner = _inner_site(site, tensor)
    if inner is None:
        return None
    outputs = rule_for(inner.layer)(inner)
    if not outputs or outputs[0] is None:
        return None
    forward = outputs[0]
    mode = site.config.get("merge_mode", "concat")
    if mode == "concat":
        merged = forward[:-1] + (None if forward[-1] is None else 2 * forward[-1],)
    elif mode in ("sum", "mul", "ave"):
        merged = forward
    elif mode is None:
        return [forward, forward]
    else:
        return None
    if inner.config.get("return_state") is True:
        return [merged, *outputs[1:], *outputs[1:]]
    return [merged]


@param_rule("Bidirectional")
def bidirectional_params(site: Site):
    tensor = site.known_input()
    inner = None if tensor is None else _inner_site(site, tensor)
    count = None if inner is None else PARAM_RULES.get(inner.class_name, lambda s: None)(inner)
    return None if count is None else 2 * count


def _time_distributed_inner(site: Site):
    tensor = site.known_input()
    if tensor is None or len(tensor.shape) < 3:
        return None
    folded = Tensor((tensor.shape[0],) + tensor.shape[2:], tensor.pointer)
    return tensor, _inner_site(site, folded)


@shape_rule("TimeDistributed")
def time_distributed(site: Site):
    found = _time_distributed_inner(site)
    if found is None or found[1] is None:
        return None
    tensor, inner = found
    outputs = rule_for(inner.layer)(inner)
    if not outputs or outputs[0] is None:
        return None
    return [(o[0], tensor.shape[1], *o[1:]) if o is not None else None for o in outputs]


@param_rule("TimeDistributed")
def time_distributed_params(site: Site):
    found = _time_distributed_inner(site)
    if found is None or found[1] is None:
        return None
    inner = found[1]
    return PARAM_RULES.get(inner.class_name, lambda s: None)(inner)

"""Search spaces: a recipe's ``SEARCH_SPACE`` dict as keras-tuner hyperparameters.

A search space maps a hyperparameter name to a spec::

    {
        "units": {"type": "int", "min": 32, "max": 256, "step": 32},
        "cell": {"type": "choice", "values": ["gru", "lstm"]},
        "attention": {"type": "choice", "values": [None, "bahdanau", "luong"]},
        "bidirectional": {"type": "bool"},
        "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
        "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log"},
        "batch_size": {"type": "choice", "values": [32, 64, 128]},
    }

Spec types: ``int`` and ``float`` (``min``, ``max``, optional ``step`` and
``sampling`` in ``linear``/``log``/``reverse_log``), ``choice`` (``values``),
``bool`` and ``fixed`` (``value``). Any spec may carry ``when``, a one-entry
dict ``{parent: [values]}`` naming a ``choice`` declared before it: the
hyperparameter is active only in trials whose parent takes one of those
values (keras-tuner's ``conditional_scope``) and is ``None`` in the others,
e.g. ``"chrono_init": {"type": "choice", "values": [100, 1000],
"when": {"cell": ["gru", "lstm"]}}``, which only gated cells take
(keras-tuner's ``Choice`` holds values of one type, so ``None`` cannot sit
beside numbers there). Every
spec may carry a ``default``; the
default actually used is the recipe configuration's current value when the
configuration has one and the spec admits it (so that empty hyperparameters
build the recipe's default model), else the spec's ``default`` (e.g. a TINY
configuration with 8 units under a spec starting at 16).

keras-tuner's ``Choice`` takes no ``None``: ``None`` in ``values`` is stored
as the string ``"none"`` and given back as ``None``.
"""

NONE_TOKEN = "none"
SPEC_TYPES = ("int", "float", "choice", "bool", "fixed")
_SAMPLINGS = ("linear", "log", "reverse_log")
_KEYS = {
    "int": {"type", "min", "max", "step", "sampling", "default", "when"},
    "float": {"type", "min", "max", "step", "sampling", "default", "when"},
    "choice": {"type", "values", "ordered", "default", "when"},
    "bool": {"type", "default", "when"},
    "fixed": {"type", "value", "default", "when"},
}


def _encode(value):
    return NONE_TOKEN if value is None else value


def _decode(value):
    return None if value == NONE_TOKEN else value


class SearchSpace:
    """A validated search space: specs with their defaults resolved.

    Args:
        specs: dict hyperparameter name -> spec (see the module docstring).
        defaults: dict name -> the value the recipe's configuration holds for
            it (it overrides the spec's ``default`` when it lies in the spec's
            range or choices). A name without either is an error: every
            hyperparameter has a default.

    Raises:
        ValueError: a spec that is not a dict, an unknown ``type`` or key,
            ``min > max``, an empty ``values`` list, or a default outside the
            spec's range or choices.
    """

    def __init__(self, specs, defaults=None):
        if not isinstance(specs, dict):
            raise ValueError(
                "A search space must be a dict of name -> spec. "
                f"Received: {type(specs).__name__} {specs!r}"
            )
        defaults = defaults or {}
        self.specs = {}
        for name, spec in specs.items():
            self.specs[name] = _check_spec(name, spec, defaults)
            _check_when(name, self.specs[name], self.specs)

    @property
    def names(self):
        return list(self.specs)

    def defaults(self):
        """Dict name -> default value (decoded: ``None`` stays ``None``)."""
        return {name: spec["default"] for name, spec in self.specs.items()}

    def register(self, hp):
        """Declare every hyperparameter on `hp` and return their current values.

        Called from ``HyperModel.build``/``fit``: with empty hyperparameters it
        returns the defaults; within a trial it returns the trial's values.
        """
        values = {}
        for name, spec in self.specs.items():
            if "when" not in spec:
                values[name] = _decode(_declare(hp, name, spec))
                continue
            ((parent, allowed),) = spec["when"].items()
            with hp.conditional_scope(parent, [_encode(v) for v in allowed]):
                value = _declare(hp, name, spec)
            # keras-tuner gives None for an inactive hyperparameter.
            values[name] = _decode(value) if values[parent] in allowed else None
        return values

    def decode(self, values):
        """The search-space entries of raw keras-tuner `values`, ``"none"`` as ``None``."""
        decoded = {name: _decode(values[name]) for name in self.specs if name in values}
        for name, spec in self.specs.items():
            if "when" in spec and name in decoded:
                ((parent, allowed),) = spec["when"].items()
                if decoded.get(parent) not in allowed:
                    decoded[name] = None  # inactive in that trial
        return decoded

    def __repr__(self):
        return f"SearchSpace({self.specs!r})"


def _check_when(name, spec, specs):
    """``when`` is ``{parent: [values]}`` with a ``choice`` parent declared earlier."""
    if "when" not in spec:
        return
    when = spec["when"]
    parent = next(iter(when)) if isinstance(when, dict) and len(when) == 1 else None
    earlier = [n for n in specs if n != name]
    if parent not in earlier or specs[parent]["type"] != "choice":
        raise ValueError(
            f"`when` of hyperparameter {name!r} must be a one-entry dict {{parent: [values]}} "
            f"whose parent is a 'choice' hyperparameter declared before it "
            f"(declared before: {earlier}). Received: when={when!r}")
    allowed = when[parent]
    if not isinstance(allowed, (list, tuple)) or not allowed or \
            any(v not in specs[parent]["values"] for v in allowed):
        raise ValueError(
            f"`when` of hyperparameter {name!r} must list values of {parent!r} "
            f"(one of {specs[parent]['values']}). Received: when={when!r}")
    spec["when"] = {parent: list(allowed)}


def _check_spec(name, spec, defaults):
    if not isinstance(name, str) or not name:
        raise ValueError(f"A hyperparameter name must be a non-empty string. Received: {name!r}")
    if not isinstance(spec, dict):
        raise ValueError(f"The spec of hyperparameter {name!r} must be a dict. Received: {spec!r}")
    kind = spec.get("type")
    if kind not in SPEC_TYPES:
        raise ValueError(
            f"Unknown type for hyperparameter {name!r}. Expected one of {SPEC_TYPES}. "
            f"Received: type={kind!r}"
        )
    unknown = sorted(set(spec) - _KEYS[kind])
    if unknown:
        raise ValueError(
            f"Unknown keys {unknown} in the spec of hyperparameter {name!r} "
            f"(type {kind!r} accepts {sorted(_KEYS[kind])})."
        )
    spec = dict(spec)
    if kind in ("int", "float"):
        _check_range(name, spec)
    elif kind == "choice":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(
                f"Hyperparameter {name!r} of type 'choice' needs a non-empty list `values`. "
                f"Received: values={values!r}"
            )
        spec["values"] = list(values)
    elif kind == "fixed" and "value" not in spec:
        raise ValueError(f"Hyperparameter {name!r} of type 'fixed' needs a `value`.")

    if name in defaults and _admits(spec, defaults[name]):
        default = defaults[name]
    elif "default" in spec:
        default = spec["default"]
    elif kind == "fixed":
        default = spec["value"]
    elif "when" in spec and kind == "choice":
        # A conditional hyperparameter the configuration leaves unset (None: the
        # factory's own default) starts from its first value where it is active.
        default = spec["values"][0]
    elif name in defaults:
        default = defaults[name]  # outside the spec: refused below, with the reason
    else:
        raise ValueError(
            f"Hyperparameter {name!r} has no default: give its spec a `default` or "
            "set it in the recipe's configuration."
        )
    spec["default"] = _check_default(name, spec, default)
    return spec


def _check_range(name, spec):
    for key in ("min", "max"):
        if not isinstance(spec.get(key), (int, float)) or isinstance(spec.get(key), bool):
            raise ValueError(
                f"Hyperparameter {name!r} of type {spec['type']!r} needs a numeric `{key}`. "
                f"Received: {key}={spec.get(key)!r}"
            )
    if spec["min"] > spec["max"]:
        raise ValueError(
            f"Hyperparameter {name!r}: `min` must be <= `max`. "
            f"Received: min={spec['min']}, max={spec['max']}"
        )
    sampling = spec.get("sampling", "linear")
    if sampling not in _SAMPLINGS:
        raise ValueError(
            f"Hyperparameter {name!r}: unknown sampling. Expected one of {_SAMPLINGS}. "
            f"Received: sampling={sampling!r}"
        )
    if sampling != "linear" and spec["min"] <= 0:
        raise ValueError(
            f"Hyperparameter {name!r}: {sampling!r} sampling needs min > 0. "
            f"Received: min={spec['min']}"
        )
    if spec["type"] == "int" and not all(
        isinstance(spec[k], int) for k in ("min", "max") if k in spec
    ):
        raise ValueError(
            f"Hyperparameter {name!r} of type 'int' needs integer bounds. "
            f"Received: min={spec['min']!r}, max={spec['max']!r}"
        )


def _admits(spec, value):
    """True when `value` is a valid default for the (otherwise checked) spec."""
    try:
        _check_default("", spec, value)
    except ValueError:
        return False
    return True


def _check_default(name, spec, default):
    kind = spec["type"]
    if kind in ("int", "float"):
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            raise ValueError(
                f"The default of hyperparameter {name!r} must be a number. "
                f"Received: default={default!r}"
            )
        if kind == "int" and int(default) != default:
            raise ValueError(
                f"The default of integer hyperparameter {name!r} must be an integer. "
                f"Received: default={default!r}"
            )
        tol = 1e-12 * max(1.0, abs(spec["max"]))
        if not spec["min"] - tol <= default <= spec["max"] + tol:
            raise ValueError(
                f"The default of hyperparameter {name!r} is outside its range "
                f"[{spec['min']}, {spec['max']}]. Received: default={default!r}"
            )
        return int(default) if kind == "int" else float(default)
    if kind == "choice" and default not in spec["values"]:
        raise ValueError(
            f"The default of hyperparameter {name!r} is not one of its values "
            f"{spec['values']}. Received: default={default!r}"
        )
    if kind == "bool" and not isinstance(default, bool):
        raise ValueError(
            f"The default of boolean hyperparameter {name!r} must be True or False. "
            f"Received: default={default!r}"
        )
    return default


def _declare(hp, name, spec):
    kind = spec["type"]
    if kind == "int":
        return hp.Int(
            name,
            spec["min"],
            spec["max"],
            step=spec.get("step"),
            sampling=spec.get("sampling", "linear"),
            default=spec["default"],
        )
    if kind == "float":
        step = spec.get("step")
        return hp.Float(
            name,
            float(spec["min"]),
            float(spec["max"]),
            step=None if step is None else float(step),
            sampling=spec.get("sampling", "linear"),
            default=spec["default"],
        )
    if kind == "choice":
        return hp.Choice(
            name,
            [_encode(v) for v in spec["values"]],
            ordered=spec.get("ordered"),
            default=_encode(spec["default"]),
        )
    if kind == "bool":
        return hp.Boolean(name, default=spec["default"])
    return hp.Fixed(name, _encode(spec["value"]))

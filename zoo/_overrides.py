"""Typed ``key=value`` overrides of a recipe's configuration (``--set``).

Part of the recipe contract (:mod:`zoo.recipe`); standard library only.
"""

import ast
import dataclasses
import sys
import typing

# ``jit``'s type. Compared with ``==``, never ``is``: typing caches
# subscriptions in a bounded LRU cache, so once enough other ``Union[...]``
# (or ``Optional[...]``) have been made (importing keras_tuner or every recipe
# does it), ``typing.Union[bool, str]`` is a new object, equal to the field's
# annotation but not identical to it.
_AUTO_OR_BOOL = typing.Union[bool, str]


def _type_name(tp):
    if tp == _AUTO_OR_BOOL:
        return "'auto', true or false"
    return getattr(tp, "__name__", str(tp))


def _parse(key, raw, tp):
    """Convert the string ``raw`` to ``tp`` or raise a ValueError naming ``key``."""
    text = raw.strip()
    low = text.lower()
    try:
        if tp is bool:
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if tp == _AUTO_OR_BOOL:
            if low == "auto":
                return "auto"
            return _parse(key, raw, bool)
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if tp is str:
            return text
        if tp is tuple:
            return _parse_tuple(text)
        if tp in (dict, list):
            value = ast.literal_eval(text)
            if not isinstance(value, tp):
                raise ValueError
            return value
        value = ast.literal_eval(text)
        return value
    except (ValueError, SyntaxError):
        raise ValueError(
            f"--set {key}: expected {_type_name(tp)}. Received: {key}={raw!r}"
        ) from None


def _parse_tuple(text):
    """A tuple from a Python literal (``(50, 200)``, ``[50]``, ``()``) or from
    comma-separated items (``100,200``, ``gru,lstm``, one item ``gru``), each item a
    literal or, when it is none, a bare word (a string)."""
    if not text:
        return ()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if "'" in text or '"' in text:
            raise ValueError from None  # a quoted item may hold a comma: write a literal
        value = tuple(_literal(item.strip()) for item in text.split(",") if item.strip())
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, tuple):
        raise ValueError
    return value


def _literal(raw):
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def apply_overrides(config, overrides):
    """Return a copy of ``config`` with ``key=value`` overrides applied.

    ``model.<arg>=value`` sets a ``zoo.create_model`` argument: its type is
    that of the default when the recipe sets one, else the value is read as
    a Python literal (a bare word stays a string). Any other dict field takes
    ``<field>.<key>=value`` the same way (``harmonizer.epochs=6``).

    Raises:
        ValueError: malformed item, unknown key (the known ones are listed)
            or a value of the wrong type (the expected type is named).
    """
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    nested = {f: dict(getattr(config, f)) for f in fields
              if isinstance(getattr(config, f), dict)}
    changes = {}
    for item in overrides or ():
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE. Received: {item!r}")
        key, raw = (s.strip() for s in item.split("=", 1))
        field, _, arg = key.partition(".")
        if arg and field in nested:
            default = getattr(config, field).get(arg)
            if default is None or isinstance(default, (list, tuple, dict)):
                nested[field][arg] = _literal(raw)
            else:
                nested[field][arg] = _parse(key, raw, type(default))
            continue
        if key not in fields:
            others = "".join(f", {f}.<key>" for f in sorted(nested) if f != "model")
            raise ValueError(
                f"Unknown config key {key!r} for {_owner(config)}. "
                f"Known keys: {', '.join(sorted(fields))} (and model.<create_model argument>"
                f"{others})."
            )
        value = _parse(key, raw, hints[key])
        if key in nested:  # a dict field given whole: later dotted keys update it
            nested[key] = dict(value)
        else:
            changes[key] = value
    for field, value in nested.items():
        if value != getattr(config, field):
            changes[field] = value
    return dataclasses.replace(config, **changes)


def _owner(config):
    """The importable name of the module that defines ``config``'s class (a recipe run
    with ``python -m`` is ``__main__`` to Python, not to its user)."""
    from zoo.recipe import module_name

    return module_name(sys.modules[type(config).__module__])


def make_config(recipe, *, tiny=False, overrides=(), epochs=None):
    """The recipe's ``Config``, with ``TINY`` then ``overrides`` then ``epochs`` applied."""
    config = recipe.Config()
    if tiny:
        config = dataclasses.replace(config, **getattr(recipe, "TINY", {}))
    config = apply_overrides(config, overrides)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    return config

"""The model registry: one strict name -> factory table.

A model variant is a short registered function with a docstring that calls a
private builder with keyword-only arguments::

    @register_model
    def many_to_one(**kwargs):
        '''A sequence in, one label out.'''
        return _build_many_to_one(**kwargs)

``create_model(name, **kwargs)`` looks the name up, refuses unknown names and
unknown keyword arguments with a ``ValueError`` that lists what is known, and
records the registry name and the keyword arguments on the returned model as
``model.zoo_spec`` (used by ``zoo.export`` to describe an export).
"""

import copy
import fnmatch
import inspect

_REGISTRY = {}


def register_model(fn=None, *, name=None):
    """Register a model factory under `name` (default: the function's name).

    Usable as ``@register_model`` or ``@register_model(name="...")``. The
    factory must take keyword-only arguments (or ``**kwargs``) and return a
    ``keras.Model``. Registering a name twice raises ``ValueError``.
    """

    def decorator(func):
        key = name or func.__name__
        if not isinstance(key, str) or not key:
            raise ValueError(f"A model name must be a non-empty string. Received: name={key!r}")
        if key in _REGISTRY:
            raise ValueError(
                f"A model named {key!r} is already registered "
                f"(by {_REGISTRY[key].__module__}.{_REGISTRY[key].__qualname__})."
            )
        params = inspect.signature(func).parameters.values()
        positional = [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        if positional:
            raise ValueError(
                f"Model factory {key!r} must take keyword-only arguments. "
                f"Received positional parameters: {positional}"
            )
        _REGISTRY[key] = func
        return func

    if fn is not None:
        return decorator(fn)
    return decorator


def list_models(pattern="*"):
    """Return the sorted names of the registered models matching `pattern`.

    Args:
        pattern: an ``fnmatch`` pattern, e.g. ``"many_*"``. Defaults to all.
    """
    if not isinstance(pattern, str):
        raise ValueError(f"`pattern` must be a string. Received: pattern={pattern!r}")
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def get_model_factory(name):
    """Return the registered factory function called `name`."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown model name: {name!r}. Known models: {', '.join(list_models())}"
        )
    return _REGISTRY[name]


def model_arguments(name):
    """Return the factory's keyword arguments and their defaults as a dict."""
    factory = get_model_factory(name)
    return {
        p.name: p.default
        for p in inspect.signature(factory).parameters.values()
        if p.kind == p.KEYWORD_ONLY
    }


def create_model(name, **kwargs):
    """Build the registered model `name` with keyword overrides.

    Args:
        name: a registered model name (see ``list_models()``).
        **kwargs: the factory's keyword-only arguments.

    Returns:
        An uncompiled ``keras.Model`` with named inputs. Its ``zoo_spec``
        attribute holds ``{"name": name, "kwargs": kwargs}``.

    Raises:
        ValueError: unknown `name` (the known ones are listed) or unknown
            keyword arguments (they are named with the accepted ones).
    """
    factory = get_model_factory(name)
    params = inspect.signature(factory).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise ValueError(
                f"Unknown keyword arguments for model {name!r}: {unknown}. "
                f"Accepted: {sorted(params)}"
            )
    model = factory(**kwargs)
    # Plain attribute, outside Keras's tracking: it is a description, not state.
    object.__setattr__(model, "zoo_spec", {"name": name, "kwargs": copy.deepcopy(kwargs)})
    return model

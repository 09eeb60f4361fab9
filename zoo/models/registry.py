"""The model registry: one strict name -> factory table.

A model variant is a short registered function with a docstring that calls
the private builder (``zoo.models._builder``) with its keyword-only
arguments, and carries an ``Example`` (small arguments and the inputs it
reads) as registry data::

    @register_model(example=Example(kwargs={"vocab_size": 20, "num_classes": 3},
                                    inputs={"tokens": ("tokens", 20)}, output=(3,)))
    def many_to_one(*, vocab_size=None, num_classes=None, ...):
        '''A sequence in, one label out.'''
        return build("many_to_one", _graph, locals(), one_of=(INPUTS, HEADS))

``create_model(name, **kwargs)`` looks the name up, refuses unknown names and
unknown keyword arguments with a ``ValueError`` that lists what is known, and
records the registry name and the keyword arguments on the returned model as
``model.zoo_spec`` (used by ``zoo.export`` to describe an export).
"""

import copy
import dataclasses
import fnmatch
import inspect

_REGISTRY = {}
_EXAMPLES = {}

INPUT_KINDS = ("vector", "ids", "tokens", "features", "target_in")


@dataclasses.dataclass(frozen=True)
class Example:
    """Example arguments and inputs of a registered model (registry data).

    The model tests build every registered model from its example and feed
    it inputs of the declared kinds, so a new model is tested as soon as it
    is registered with one.

    Args:
        kwargs: keyword arguments that build a small model.
        inputs: input name -> ``(kind, size)``, kind one of
            ``"vector"`` ``(batch, size)`` float32;
            ``"ids"`` ``(batch,)`` int32 in ``[0, size)``;
            ``"tokens"`` ``(batch, steps)`` int32 ids in ``[1, size)``,
            0-padded at the end (padding is masked);
            ``"features"`` ``(batch, steps, size)`` float32, all-zero steps
            at the end (padding with ``mask_value=0.0``);
            ``"target_in"`` ``(batch, steps)`` int32: the start token, then
            the target shifted right (ids in ``[3, size)``), 0-padded.
        output: the output shape after the batch axis, ``"steps"`` for the
            time axis: e.g. ``(3,)`` or ``("steps", 4)``.
        bidirectional: whether ``bidirectional=True`` is accepted.

    Example:
        >>> Example(kwargs={"input_dim": 3, "num_classes": 3},
        ...         inputs={"features": ("vector", 3)}, output=(3,))
    """

    kwargs: dict
    inputs: dict
    output: tuple
    bidirectional: bool = True

    def __post_init__(self):
        for input_name, spec in self.inputs.items():
            if (not isinstance(spec, tuple) or len(spec) != 2 or spec[0] not in INPUT_KINDS
                    or not isinstance(spec[1], int)):
                raise ValueError(
                    f"An example input is (kind, size) with kind one of {list(INPUT_KINDS)}. "
                    f"Received: {input_name}={spec!r}"
                )


def register_model(fn=None, *, name=None, example=None):
    """Register a model factory under `name` (default: the function's name).

    Usable as ``@register_model`` or ``@register_model(name="...",
    example=Example(...))``. The factory must take keyword-only arguments
    (or ``**kwargs``) and return a ``keras.Model``. Registering a name twice
    raises ``ValueError``. `example` (an ``Example``) is what the model tests
    build and run; a registered model without one fails them.
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
        if example is not None and not isinstance(example, Example):
            raise ValueError(
                f"`example` must be a zoo.models.registry.Example. Received: example={example!r}"
            )
        _REGISTRY[key] = func
        _EXAMPLES[key] = example
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


def get_model_example(name):
    """Return the ``Example`` registered with the model `name` (None if none)."""
    get_model_factory(name)  # refuses an unknown name
    return _EXAMPLES.get(name)


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

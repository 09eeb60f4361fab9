"""Argument checks shared by the cells, the layers and the model factories.

Each check raises a ValueError that names the argument, what was expected and
what was received (``Received: name=value``), and returns the checked value
(normalised where that helps: a rate as a float, sizes as a tuple).
"""

import keras


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")
    return value


def check_int(name, value, minimum=1, allow_none=False):
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return value


def check_token(name, value, vocabulary_name, vocabulary_size, allow_none=False):
    """A token id of a vocabulary of `vocabulary_size` ids, 0 (padding) excluded."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < vocabulary_size:
        raise ValueError(
            f"`{name}` must be an integer id in [1, {vocabulary_size - 1}]: one of the "
            f"{vocabulary_name}={vocabulary_size} ids, 0 (padding) excluded. "
            f"Received: {name}={value!r}"
        )
    return value


def check_tokens(vocabulary_name, vocabulary_size, start_token, end_token):
    """`start_token` and `end_token` (None: no end) as distinct ids of the vocabulary."""
    check_token("start_token", start_token, vocabulary_name, vocabulary_size)
    check_token("end_token", end_token, vocabulary_name, vocabulary_size, allow_none=True)
    if start_token == end_token:
        raise ValueError(
            "`start_token` and `end_token` must be different ids: every generated sequence "
            "would otherwise end as it starts. "
            f"Received: start_token={start_token!r}, end_token={end_token!r}"
        )
    return start_token, end_token


def check_units(units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
    return units


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={value!r}")
    return float(value)


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def check_sizes(name, value):
    """A deep-block size list: a tuple/list of positive ints (may be empty)."""
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
    ):
        raise ValueError(
            f"`{name}` must be a list of positive integers (layer sizes). "
            f"Received: {name}={value!r}"
        )
    return tuple(value)


def check_exactly_one(names_values):
    """Exactly one of the given (name, value) pairs must be set (not None)."""
    given = [n for n, v in names_values if v is not None]
    names = " / ".join(f"`{n}`" for n, _ in names_values)
    if len(given) != 1:
        received = ", ".join(f"{n}={v!r}" for n, v in names_values)
        raise ValueError(f"Pass exactly one of {names}. Received: {received}")
    return given[0]


def get_activation(name, value):
    """``keras.activations.get(value)``, with an error that names the argument."""
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Unknown activation for `{name}`: expected a Keras activation name "
            f"(e.g. 'tanh', 'sigmoid', 'relu'), a callable or None. Received: {name}={value!r}"
        ) from error

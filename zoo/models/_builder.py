"""The shared private builder of the model factories.

A registered factory is declarative: its keyword-only signature (the
arguments and their defaults), its docstring, and one call::

    return build("many_to_one", _graph, locals(), one_of=(INPUTS, HEADS))

``build`` checks the arguments against one table (the same rule and the same
"Received: x=..." message for an argument in every factory), then calls the
factory's graph function with the checked values and wraps its
``(inputs, outputs)`` in a ``keras.Model`` named after the factory. Shapes
are ``(batch, timesteps, features)``; masking is wired by the graph functions
(``zoo.models.blocks``).
"""

import functools

import keras

from zoo._checks import (
    check_bool,
    check_choice,
    check_exactly_one,
    check_int,
    check_rate,
    check_sizes,
    check_tokens,
)
from zoo.models.blocks import ATTENTIONS, CELLS, MERGE_MODES, check_cell_arguments

# The exactly-one groups of the factories: the kind of input, of head, of condition.
INPUTS = ("vocab_size", "input_dim")
HEADS = ("num_classes", "output_dim")
CONDITIONS = ("input_dim", "num_conditions")

_vocabulary = functools.partial(check_int, minimum=2)

# Argument -> check(name, value) returning the normalised value, applied in this order.
_CHECKS = {
    "cell": functools.partial(check_choice, choices=CELLS),
    "units": check_int,
    "num_layers": check_int,
    "merge_mode": functools.partial(check_choice, choices=MERGE_MODES),
    "dropout": check_rate,
    "bidirectional": check_bool,
    "vocab_size": _vocabulary,
    "source_vocab_size": _vocabulary,
    "target_vocab_size": _vocabulary,
    "embedding_dim": check_int,
    "attention": functools.partial(check_choice, choices=ATTENTIONS),
    "input_block": check_sizes,
    "transition_block": check_sizes,
    "output_block": check_sizes,
    "input_dim": check_int,
    "num_conditions": check_int,
    "num_classes": _vocabulary,
    "output_dim": check_int,
    "max_length": check_int,
    "max_output_length": check_int,
}

# `embedding_dim` is checked where an embedding is built: with a token input.
_EMBEDDED = ("vocab_size", "source_vocab_size", "num_conditions")


def refuse_bidirectional(bidirectional, model_name, part="the model"):
    if bidirectional:
        raise ValueError(
            f"`bidirectional=True` is not possible for {model_name}: {part} generates "
            "step by step and cannot read the future. Received: bidirectional=True"
        )


def check_arguments(name, arguments, *, one_of=(), step_by_step=None):
    """Check a factory's `arguments` (a dict) and return them normalised.

    Args:
        name: the factory's name (for messages).
        arguments: the factory's keyword arguments.
        one_of: groups of argument names of which exactly one must be set;
            only the one that is set is checked.
        step_by_step: ``(argument, part)`` for a model whose `part`
            generates step by step: the `argument` (a bidirectional flag)
            must be False; it is removed from the returned dict.

    A factory that takes `start_token` and `end_token` gets them checked as
    distinct ids of its output vocabulary (`target_vocab_size`, else
    `vocab_size`), 0 (padding) excluded.

    Returns:
        The arguments with checked values (sizes as tuples, rates as floats).
    """
    args = dict(arguments)
    if step_by_step is not None:
        flag, part = step_by_step
        refuse_bidirectional(args.pop(flag), name, part=part)
    optional = {member for group in one_of for member in group}
    embedded = any(args.get(key) is not None for key in _EMBEDDED)
    for key, check in _CHECKS.items():
        if key in args and key not in optional and (key != "embedding_dim" or embedded):
            args[key] = check(key, args[key])
    for group in one_of:
        key = check_exactly_one([(member, args[member]) for member in group])
        args[key] = _CHECKS[key](key, args[key])
    if "cell" in args and ("chrono_init" in args or "cell_options" in args):
        args["chrono_init"], args["cell_options"] = check_cell_arguments(
            args["cell"], args.get("chrono_init"), args.get("cell_options"))
    if "start_token" in args:
        # The generated tokens are ids of the output vocabulary.
        vocabulary = "target_vocab_size" if "target_vocab_size" in args else "vocab_size"
        check_tokens(vocabulary, args[vocabulary], args["start_token"], args["end_token"])
    return args


def build(name, graph, arguments, *, one_of=(), step_by_step=None):
    """Check `arguments`, build ``graph(**checked) -> (inputs, outputs)`` and
    return ``keras.Model(inputs, outputs, name=name)``."""
    args = check_arguments(name, arguments, one_of=one_of, step_by_step=step_by_step)
    inputs, outputs = graph(**args)
    return keras.Model(inputs, outputs, name=name)

"""Covering sets of option combinations for parametrized tests.

A test over several option axes (cell kind, mask, direction, ...) need not run
their full product to meet every interaction of two options: a *pairwise*
(all-pairs) covering set holds every pair of values of every two axes in at
least one case, in a few dozen cases where the product has hundreds or
thousands. :func:`cases` gives that set, or the full product when the
exhaustive tier runs (``ZOO_TEST_EXHAUSTIVE=1``, tests/README.md).

The generator is a deterministic greedy set cover over the valid cases of the
product: it repeatedly takes the first case that covers the most pairs still
uncovered. Every pair that some valid case holds is covered, so a constraint
(``allowed``) never costs a reachable pair. It enumerates the product, which
fits the test axes here (thousands of cases at most).
"""

import itertools
import os

EXHAUSTIVE = os.environ.get("ZOO_TEST_EXHAUSTIVE", "0") == "1"


def product(axes, allowed=None):
    """Every combination of `axes` ({name: [values]}) as a dict, in order, that
    `allowed(case)` accepts (all of them when `allowed` is None)."""
    names = list(axes)
    combos = (dict(zip(names, values)) for values in itertools.product(*axes.values()))
    return [c for c in combos if allowed is None or allowed(c)]


def pairs_of(case, names):
    """The set of ((axis, value), (axis, value)) pairs one case holds."""
    items = [(n, _key(case[n])) for n in names]
    return {(a, b) for a, b in itertools.combinations(items, 2)}


def _key(value):
    # Values may be unhashable (dicts, lists): compare them by their repr.
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def pairwise(axes, allowed=None):
    """A pairwise covering set of the valid cases of `axes` (see the module docstring).

    Args:
        axes: {axis name: list of values}; at least two axes, each non-empty.
        allowed: optional predicate on a whole case (a dict); cases it refuses
            are never chosen.

    Returns:
        A list of case dicts, deterministic for the same arguments.
    """
    if any(len(v) == 0 for v in axes.values()):
        raise ValueError(f"every axis needs at least one value. Received: {axes}")
    valid = product(axes, allowed)
    if len(axes) < 2:
        return valid
    names = list(axes)
    held = [pairs_of(c, names) for c in valid]
    uncovered = set().union(*held) if held else set()
    chosen = []
    while uncovered:
        best = max(range(len(valid)), key=lambda i: (len(held[i] & uncovered), -i))
        chosen.append(valid[best])
        uncovered -= held[best]
    return chosen


def cases(axes, allowed=None):
    """The full product under ``ZOO_TEST_EXHAUSTIVE=1``, else the pairwise set."""
    return product(axes, allowed) if EXHAUSTIVE else pairwise(axes, allowed)

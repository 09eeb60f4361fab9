"""The pairwise covering sets of tests/covering.py, checked against the full product."""

import itertools

import pytest

from tests import covering


def _all_pairs(cases, names):
    return set().union(*(covering.pairs_of(c, names) for c in cases)) if cases else set()


@pytest.mark.parametrize("sizes", [(2, 2), (2, 2, 2), (3, 4, 2, 2, 2), (4, 2, 2, 3, 2, 2, 2, 2, 2)])
def test_every_pair_of_values_is_covered_by_fewer_cases(sizes):
    axes = {f"a{i}": list(range(n)) for i, n in enumerate(sizes)}
    chosen = covering.pairwise(axes)
    everything = covering.product(axes)
    assert _all_pairs(chosen, list(axes)) == _all_pairs(everything, list(axes))
    assert len(chosen) >= max(a * b for a, b in itertools.combinations(sizes, 2))
    if len(sizes) > 2:
        assert len(chosen) < len(everything)
    assert chosen == covering.pairwise(axes)  # deterministic


def test_a_constraint_is_respected_and_costs_no_reachable_pair():
    axes = {"mask": [None, "padded"], "zero": [False, True], "kind": ["gru", "lstm", "simple"]}

    def allowed(case):
        return not (case["zero"] and case["mask"] is None)

    chosen = covering.pairwise(axes, allowed)
    assert all(allowed(c) for c in chosen)
    reachable = _all_pairs(covering.product(axes, allowed), list(axes))
    assert (("mask", None), ("zero", True)) not in reachable
    assert _all_pairs(chosen, list(axes)) == reachable


def test_unhashable_values_and_the_product():
    axes = {"options": [{"a": 1}, {"b": 2}], "flag": [False, True]}
    assert len(covering.pairwise(axes)) == 4
    assert covering.product(axes)[1] == {"options": {"a": 1}, "flag": True}
    with pytest.raises(ValueError, match="every axis needs at least one value"):
        covering.pairwise({"a": [], "b": [1]})


def test_cases_is_the_full_product_in_the_exhaustive_tier(monkeypatch):
    axes = {f"a{i}": [0, 1] for i in range(4)}
    monkeypatch.setattr(covering, "EXHAUSTIVE", False)
    assert covering.cases(axes) == covering.pairwise(axes)
    monkeypatch.setattr(covering, "EXHAUSTIVE", True)
    assert covering.cases(axes) == covering.product(axes)
    assert len(covering.cases(axes)) == 16

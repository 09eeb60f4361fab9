"""Fixtures of the layer tests."""

import pytest

from zoo.layers import rnn as zoo_rnn


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the sweeps that ran the hand-written backward pass (one cell class name each)."""
    calls = []
    original = zoo_rnn.fused_time_loop

    def counting(*args, **kwargs):
        calls.append(type(args[0]).__name__)
        return original(*args, **kwargs)

    monkeypatch.setattr(zoo_rnn, "fused_time_loop", counting)
    return calls

"""Keras's own recurrent-layer tests, run against the zoo layers.

The test files `simple_rnn_test.py`, `gru_test.py`, `lstm_test.py` and
`bidirectional_test.py` ship in the installed Keras wheel
(`keras/src/layers/rnn/`). They are imported from there at test time (no
copy lives in this repository) and their test classes are subclassed here;
while a test runs, the name `layers` in the upstream module (it does
`from keras.src import layers`) is a proxy whose `SimpleRNN`, `GRU` and
`LSTM` are `zoo.layers.SimpleRNN/GRU/LSTM` and whose every other name
(`Bidirectional`, `Input`, `Masking`, ...) is Keras's own.

A few upstream tests check Keras internals that a drop-in cannot share (its
cuDNN dispatch, private methods, one backend's bug fix). They are listed in
`NOT_APPLICABLE`, each with its reason, and the deliberate differences of the
zoo layers in `DELIBERATE`; those are not collected, and every other upstream
test must pass. `test_not_applicable_entries_exist` keeps the lists honest.

The whole suite takes about 50 s on TensorFlow (2 workers); the heaviest
tests (`SLOW`) are marked slow, so the default run keeps every other test of
every file. Run everything with `-m ""` (and `KERAS_BACKEND=jax`
for JAX).
"""

import importlib
import inspect

import keras
import pytest

import zoo.layers

pytestmark = pytest.mark.jax

_PACKAGE = "keras.src.layers.rnn"

# Upstream module -> its test class.
UPSTREAM = {
    "simple_rnn_test": "SimpleRNNTest",
    "gru_test": "GRUTest",
    "lstm_test": "LSTMTest",
    "bidirectional_test": "SimpleRNNTest",
}

_CUDNN = ("checks Keras's own dispatch to its fused cuDNN kernel; the zoo layers have no "
          "cuDNN path (use_cudnn='auto' and False run the zoo loop, True raises)")

# (module, test) -> (backends it does not apply to, or None for all; reason).
NOT_APPLICABLE = {
    ("gru_test", "test_torch_cudnn_dispatch_fires"): (
        None, "spies on torch._VF.gru: " + _CUDNN),
    ("bidirectional_test", "test_torch_cudnn_bidirectional_gru_dispatch_fires"): (
        None, "spies on torch._VF.gru: " + _CUDNN),
    ("bidirectional_test", "test_fused_lstm_eligibility"): (
        None, "asserts Bidirectional._can_attempt_fused_lstm (private) is True for an "
              "LSTM; it tests isinstance(layer, keras.layers.LSTM) and " + _CUDNN),
    ("bidirectional_test", "test_fused_gru_eligibility"): (
        None, "asserts Bidirectional._can_attempt_fused_gru (private) is True for a "
              "GRU; it tests isinstance(layer, keras.layers.GRU) and " + _CUDNN),
    ("gru_test", "test_stateful_with_symbolic_batch_size"): (
        ("jax",), "a TensorFlow-only regression test (tf.function with a symbolic "
                  "batch); upstream skips it on every other backend"),
}

# Deliberate differences of the zoo layers, (module, test) -> reason; not run.
DELIBERATE = {
    ("bidirectional_test", "test_keeps_use_cudnn"): (
        "constructs GRU/LSTM(use_cudnn=True): the zoo layers have no cuDNN path and raise "
        "a ValueError at construction (fail early), where Keras raises at the first call "
        "that cannot use cuDNN; use_cudnn='auto' and False are kept as in Keras "
        "(tests/layers/test_base_layer.py)"),
}

# Marked slow (CI, not the default tier): Keras's `run_layer_test` (trains, saves and
# reloads each layer configuration) takes 4-9 s per file, and the bidirectional output
# shapes 3 s on JAX; the default run keeps every other test (under 2 s each).
SLOW = {("simple_rnn_test", "test_basics"), ("gru_test", "test_basics"),
        ("lstm_test", "test_basics"), ("bidirectional_test", "test_basics"),
        ("bidirectional_test", "test_output_shape")}


class _ZooLayers:
    """`keras.src.layers` with the recurrent layers replaced by the zoo's."""

    SimpleRNN = zoo.layers.SimpleRNN
    GRU = zoo.layers.GRU
    LSTM = zoo.layers.LSTM

    def __init__(self, original):
        self._original = original

    def __getattr__(self, name):
        return getattr(self._original, name)


def _module(name):
    return importlib.import_module(f"{_PACKAGE}.{name}")


def _not_applicable(module_name, test_name):
    if (module_name, test_name) in DELIBERATE:
        return True
    entry = NOT_APPLICABLE.get((module_name, test_name))
    return entry is not None and (entry[0] is None or keras.config.backend() in entry[0])


def _test_names(cls):
    return [name for name, _ in inspect.getmembers(cls, callable) if name.startswith("test")]


def _base_name(name):
    """`test_correctness0` (an absl-parameterized case) -> `test_correctness`."""
    return name.rstrip("0123456789")


def _adapted(module_name):
    """A subclass of the upstream test class: not-applicable tests removed
    (an attribute that is not callable is not collected), the `SLOW` ones
    marked slow."""
    base = getattr(_module(module_name), UPSTREAM[module_name])
    namespace = {"__module__": __name__, "__qualname__": f"TestZoo_{module_name}"}
    for name in _test_names(base):
        if _not_applicable(module_name, _base_name(name)):
            namespace[name] = None
        elif (module_name, _base_name(name)) in SLOW:
            namespace[name] = pytest.mark.slow(getattr(base, name))
    return type(f"TestZoo_{module_name}", (base,), namespace)


TestZoo_simple_rnn_test = _adapted("simple_rnn_test")
TestZoo_gru_test = _adapted("gru_test")
TestZoo_lstm_test = _adapted("lstm_test")
TestZoo_bidirectional_test = _adapted("bidirectional_test")


@pytest.fixture(autouse=True)
def _zoo_layers_in_upstream_modules(monkeypatch):
    for name in UPSTREAM:
        module = _module(name)
        monkeypatch.setattr(module, "layers", _ZooLayers(module.layers))


def test_not_applicable_entries_exist():
    """Every entry names a test that exists upstream (so a renamed or removed
    upstream test cannot leave a stale exemption), and gives a reason."""
    for (module_name, test_name), (backends, reason) in NOT_APPLICABLE.items():
        assert test_name in _upstream_names(module_name), (module_name, test_name)
        assert reason and (backends is None or set(backends) <= {"tensorflow", "jax"})
    for (module_name, test_name), reason in DELIBERATE.items():
        assert test_name in _upstream_names(module_name) and reason, (module_name, test_name)
    for module_name, test_name in SLOW:
        assert test_name in _upstream_names(module_name), (module_name, test_name)


def _upstream_names(module_name):
    base = getattr(_module(module_name), UPSTREAM[module_name])
    return {_base_name(name) for name in _test_names(base)}


def test_the_upstream_modules_see_the_zoo_layers():
    for name in UPSTREAM:
        proxy = _module(name).layers
        assert proxy.GRU is zoo.layers.GRU and proxy.LSTM is zoo.layers.LSTM
        assert proxy.SimpleRNN is zoo.layers.SimpleRNN
        assert proxy.Bidirectional is keras.layers.Bidirectional

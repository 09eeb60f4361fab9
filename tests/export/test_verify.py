"""zoo.export.verify: the fresh verification process (``run_fresh``), and the tests'
long-lived stand-in for it (tests/verifier.py), which must answer exactly as a fresh
process does: the same report, the same refusal, and never with zoo imported."""

import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tests.verifier import Verifiers  # noqa: E402
from zoo.export import verify  # noqa: E402


class _Identity(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def serve(self, x):
        return {"output_0": x * 2.0}


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """A SavedModel, a cases file it passes and one it fails."""
    root = tmp_path_factory.mktemp("verify")
    module = _Identity()
    tf.saved_model.save(module, str(root / "sm"), signatures={"serve": module.serve})
    x = np.arange(6, dtype="float32").reshape(2, 3)
    for name, out in [("good", x * 2.0), ("bad", x * 2.0 + 0.5)]:
        book = verify.CaseBook()
        book.add("serve", {"x": x}, {"output_0": out}, {"batch": 2})
        book.save(root / f"{name}.npz")
    return root


def _verify(saved, cases):
    """verify_saved_model's report, or its error message."""
    try:
        return verify.verify_saved_model(saved / "sm", saved / cases)
    except RuntimeError as err:
        return str(err)


@pytest.mark.slow
def test_the_shared_verifier_answers_as_a_fresh_process(saved, monkeypatch,
                                                        _one_verifier_per_worker):
    # The tests' shared verifier (installed for the session) first, then the product's
    # own path: a new process per call.
    shared = [_verify(saved, "good.npz"), _verify(saved, "bad.npz")]
    monkeypatch.setattr(verify, "run_fresh", _one_verifier_per_worker)
    fresh = [_verify(saved, "good.npz"), _verify(saved, "bad.npz")]
    assert [c["signature"] for c in fresh[0]] == ["serve"]
    assert fresh[0] == shared[0]
    message = "serve: output output_0 max abs diff 0.5 > 1e-06 x scale 10.5"
    for error in (fresh[1], shared[1]):
        assert error.startswith(f"SavedModel verification failed for {saved / 'sm'}:")
        assert error.rstrip().endswith(message), error


def test_the_shared_verifier_never_imports_zoo_and_survives_a_crash():
    verifiers = Verifiers()
    probe = "import sys\nprint(sorted(m for m in ('zoo', 'keras') if m in sys.modules))"
    try:
        first = verifiers(probe, [], timeout=120)
        assert (first.returncode, first.stdout) == (0, "[]\n")
        pid = verifiers.servers["tensorflow"].proc.pid
        again = verifiers(probe, [], timeout=120)
        assert verifiers.servers["tensorflow"].proc.pid == pid  # one process serves both
        assert again.stdout == "[]\n"
        # An exit status and a message, as `python -c` gives them; then a hard crash.
        assert verifiers("raise SystemExit(3)", [], timeout=120).returncode == 3
        failed = verifiers("import sys\nsys.argv[1:] == ['a'] or exit(9)\nraise SystemExit('no')",
                           ["a"], timeout=120)
        assert (failed.returncode, failed.stderr) == (1, "no\n")
        crash = "import os\nos._exit(7)"
        assert verifiers(crash, [], timeout=120).returncode == 1
        assert "tensorflow" not in verifiers.servers  # replaced at the next request
        assert verifiers(probe, [], timeout=120).stdout == "[]\n"
    finally:
        verifiers.close()
    assert "zoo" in sys.modules  # the tests themselves did import it

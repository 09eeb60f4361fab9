"""The initial_state and step signatures: exported, verified, and run chunk by chunk in
a fresh process with tf.saved_model.load only, against serve on the whole sequence;
and the real-time loop of docs/streaming.md, run as written."""

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import zoo
from tests.helpers import zoo_free

export = pytest.importorskip("zoo.export")
from zoo.export import streaming as streaming_signatures  # noqa: E402

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_streaming_export")

DOC = Path(__file__).resolve().parents[2] / "docs" / "streaming.md"


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model


def _fresh_python(script, *args):
    """Run `script` in a Python process that never imported zoo
    (:func:`tests.helpers.zoo_free`); its last stdout line as JSON."""
    guard = "import sys\nassert 'zoo' not in sys.modules\n"
    done = zoo_free(guard + script, [str(a) for a in args], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tagger(tmp_path_factory):
    """A verified export of a 2-layer LSTM tagger over padded feature sequences."""
    model = _randomize(zoo.create_model("many_to_many", cell="lstm", units=5, num_layers=2,
                                        input_dim=3, mask_value=0.0, num_classes=4))
    path = export.export_saved_model(model, tmp_path_factory.mktemp("streaming") / "tagger")
    return model, path


@pytest.mark.slow
def test_export_has_streaming_signatures_and_verifies_them(tagger):
    _, path = tagger
    info = export.read_export_info(path)
    assert sorted(info["signatures"]) == ["initial_state", "predict", "preprocess", "serve", "step"]
    assert info["signatures"]["initial_state"]["inputs"] == {
        "batch_size": {"dtype": "int32", "shape": []}}
    step_inputs = info["signatures"]["step"]["inputs"]
    assert step_inputs["features"] == {"dtype": "float32", "shape": [None, None, 3]}
    assert {name: step_inputs[name] for name in step_inputs if name != "features"} == {
        f"state_{i}": {"dtype": "float32", "shape": [None, 5]} for i in range(4)}
    verified = [case for case in info["verification"]["cases"]
                if case["signature"] in ("initial_state", "step")]
    shapes = sorted((c["signature"], c["shapes"].get("batch"), c["shapes"].get("steps"),
                     c["shapes"].get("chunk")) for c in verified)
    assert shapes == sorted(
        [("initial_state", b, None, None) for b in (1, 3)]
        + [("step", b, s, part) for b in (1, 3) for s in (4, 7) for part in ("first", "next")])


def _doc_loop():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/streaming.md has one python block: the real-time loop"
    return blocks[0]


# Run in one fresh process (no zoo): step chunk by chunk (1, 3, the rest) against serve on
# the whole sequence at batch sizes 1 and 3; then the documented loop, as written.
FRESH_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    def chunked_against_serve(path, x):
        loaded = tf.saved_model.load(path)
        serve, step = loaded.signatures["serve"], loaded.signatures["step"]
        whole = serve(features=tf.constant(x))["output_0"].numpy()
        report = {}
        for batch in (1, 3):
            states = loaded.signatures["initial_state"](batch_size=tf.constant(batch))
            pieces = []
            for start, stop in ((0, 1), (1, 4), (4, x.shape[1])):
                out = step(features=tf.constant(x[:batch, start:stop]), **states)
                states = {k: v for k, v in out.items() if k.startswith("state_")}
                pieces.append(out["output_0"].numpy())
            chunked = np.concatenate(pieces, axis=1)
            report[batch] = {"shape": list(chunked.shape), "states": sorted(states),
                             "max_diff": float(np.abs(chunked - whole[:batch]).max())}
        return report

    export_dir = sys.argv[1]
    report = chunked_against_serve(export_dir, np.load(sys.argv[2]))
    stream = np.load(sys.argv[3])

    def incoming_chunks():
        for start, stop in ((0, 1), (1, 4), (4, 5), (5, 8)):
            yield stream[:, start:stop]
""")


@pytest.fixture(scope="session")
def fresh_run(tagger, tmp_path_factory):
    """The fresh process's report: the chunked step against serve, and the doc loop's outputs."""
    _, path = tagger
    folder = tmp_path_factory.mktemp("inputs")
    x = np.random.default_rng(5).uniform(0.2, 1.0, size=(3, 9, 3)).astype("float32")
    x[1, 3:] = 0.0  # padding: the last chunk is all padding for this row
    x[2, 6:] = 0.0
    live = np.random.default_rng(6).uniform(0.2, 1.0, size=(1, 8, 3)).astype("float32")
    np.save(folder / "x.npy", x)
    np.save(folder / "live.npy", live)
    script = FRESH_SCRIPT + _doc_loop() + (
        "\nprint(json.dumps({'report': report, "
        "'loop': np.concatenate(outputs, axis=1).tolist()}))\n")
    return _fresh_python(script, path, folder / "x.npy", folder / "live.npy"), live


def test_fresh_process_step_chunk_by_chunk_equals_serve(fresh_run):
    report = fresh_run[0]["report"]
    for batch in ("1", "3"):
        assert report[batch]["shape"] == [int(batch), 9, 4]
        assert report[batch]["states"] == [f"state_{i}" for i in range(4)]
        assert report[batch]["max_diff"] <= 1e-5, report


def test_the_documented_real_time_loop_runs_against_an_export(tagger, fresh_run):
    model, _ = tagger
    result, live = fresh_run
    got = np.array(result["loop"])
    want = np.asarray(model({"features": live}))
    assert got.shape == want.shape == (1, 8, 4)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_models_that_cannot_stream_export_without_step():
    model = zoo.create_model("many_to_one", input_dim=3, num_classes=2, bidirectional=True)
    _, endpoints, _ = export.build_archive(model)
    assert sorted(endpoints) == ["predict", "preprocess", "serve"]  # no initial_state, no step


def test_step_function_signature_names_inputs_then_states():
    model = zoo.create_model("one_to_many", num_conditions=4, vocab_size=9, embedding_dim=4,
                             units=5, cell="gru", end_token=3)
    fn, specs = streaming_signatures.step_function(model)
    assert [(s.name, s.shape.as_list(), s.dtype.name) for s in specs] == [
        ("condition", [None], "int32"), ("target_in", [None, None], "int32"),
        ("state_0", [None, 5], "float32"), ("state_1", [None, 1], "float32")]
    out = fn({"condition": np.array([1], "int32"), "target_in": np.array([[2, 4]], "int32")},
             [np.zeros((1, 5), "float32"), np.zeros((1, 1), "float32")])
    assert sorted(out) == ["output_0", "state_0", "state_1"]
    assert tuple(out["output_0"].shape) == (1, 2, 9)

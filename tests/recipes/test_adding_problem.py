import os
import warnings

from recipes import adding_problem

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny


def test_adding_problem_tiny_end_to_end(tmp_path, tfds_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary, run_dir, export_dir, info = run_tiny(adding_problem, tmp_path, tfds_dir,
                                                      compare_cells=("simple", "lstm"))
    # The comparison's own fits do not ask Keras to shuffle a dataset (it would warn).
    assert not [w for w in caught if "shuffle=True" in str(w.message)]
    assert set(summary["test"]) == {"mse", "mae", "baseline_mse"}
    assert info["signatures"]["serve"]["inputs"]["features"]["shape"] == [None, None, 2]
    assert os.path.getsize(os.path.join(run_dir, "gradient_flow.png")) > 1000
    import json

    report = json.load(open(os.path.join(run_dir, "metrics.json")))["report"]
    assert [(r["cell"], r["length"]) for r in report["comparison"]] == [
        ("simple", 50), ("lstm", 50)]
    assert set(report["gradient_ratio_first_to_last"]) == {"simple", "lstm"}
    # predict: raw (value, marker) steps in, the sum out (no normaliser: raw = model input).
    data = adding_problem.load_data(adding_problem.Config(train_examples=128, length=50,
                                                          batch_size=4), data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))
    out = check_raw_predict(run_dir, export_dir, {"features": inputs["features"].numpy()},
                            inputs)
    assert len(out["value"]) == 4

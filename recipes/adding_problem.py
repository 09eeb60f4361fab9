"""Adding problem: a plain RNN against GRU and LSTM cells on a long-range dependency.

Each sequence has two features per step (a value, and a marker set at two
steps); the target is the sum of the two marked values. Always predicting 1.0
gives a mean squared error of about 0.167, so a model has learned the task
when its test MSE is well below that. The main run trains one many-to-one
model (``Config.model``); the report then trains every cell of
``compare_cells`` at every length of ``compare_lengths`` for
``compare_epochs`` epochs, tabulates their test MSE, and draws the gradient
flow through time (``zoo.diagnostics``) of the three cells in one figure,
``gradient_flow.png``: the plain RNN's gradient vanishes toward the early
steps where the first marker sits.

Run: ``zoo train adding_problem`` or ``python -m recipes.adding_problem``.
"""

import dataclasses
import os

import keras

from recipes import base
from zoo.recipe import BaseConfig, Data, main_for

NAME = "adding_problem"
BASELINE_MSE = 1.0 / 6.0  # E[(a + b - 1)^2] for a, b ~ U[0, 1)


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    length: int = 100
    train_examples: int = 10000
    compare_cells: tuple = ("simple", "gru", "lstm")
    compare_lengths: tuple = (50, 100)
    compare_epochs: int = 3
    model: dict = dataclasses.field(
        default_factory=lambda: {"name": "many_to_one", "cell": "gru", "units": 32})


TINY = {"epochs": 1, "length": 50, "train_examples": 128, "batch_size": 32,
        "compare_lengths": (50,), "compare_epochs": 1}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 32},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_loss", "min")


def _split(config, length, split, n, data_dir):
    import tensorflow as tf

    import zoo.data
    from zoo.data import pipelines

    spec = split if n is None else f"{split}[:{n}]"
    ds = zoo.data.load(f"adding_problem/length_{length}", spec, data_dir=data_dir,
                       as_supervised=True)
    ds = ds.map(lambda x, y: ({"features": x}, tf.expand_dims(y, -1)))
    if split == "train":
        ds = pipelines.shuffle(ds, 4096, seed=config.seed)  # order: (seed, epoch)
    return ds.batch(config.batch_size).prefetch(2)


def load_data(config, data_dir=None, length=None):
    length = length or config.length
    small = config.train_examples
    evals = None if small >= 1000 else max(small // 2, config.batch_size)
    return Data(
        train=_split(config, length, "train", small, data_dir),
        validation=_split(config, length, "validation", evals, data_dir),
        test=_split(config, length, "test", evals, data_dir),
        model_kwargs={"input_dim": 2, "output_dim": 1},
        extras={"length": length, "data_dir": data_dir},
    )


def build_model(config, data):
    model = base.create_model(config, data)
    return base.compile_model(model, config, loss="mse", metrics=["mae"])


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"mse": float(results["loss"]), "mae": float(results["mae"]),
            "baseline_mse": BASELINE_MSE}


def _compare(config, data_dir, run_dir):
    from zoo import diagnostics

    table, flows = [], {}
    longest = max(config.compare_lengths)
    for length in config.compare_lengths:
        data = load_data(config, data_dir, length=length)
        probe_x, probe_y = next(iter(data.test))
        for cell in config.compare_cells:
            keras.utils.set_random_seed(config.seed)
            cfg = dataclasses.replace(config, model={**config.model, "cell": cell})
            model = build_model(cfg, data)
            # The pipeline shuffles; fit's own shuffle does not apply to a dataset.
            model.fit(data.train, epochs=config.compare_epochs, verbose=0, shuffle=False)
            mse = float(model.evaluate(data.test, verbose=0, return_dict=True)["loss"])
            table.append({"cell": cell, "length": length, "test_mse": mse,
                          "learned": mse < 0.5 * BASELINE_MSE})
            if length == longest:
                flow = diagnostics.gradient_flow(model, probe_x["features"], probe_y, loss="mse")
                flows[cell] = flow[-1]
    path = os.path.join(run_dir, "gradient_flow.png")
    diagnostics.plot_gradient_flow(
        flows, path, title=f"Adding problem, {longest} steps: mean ||dL/da<t>|| after training")
    ratios = {cell: float(f[0] / f[-1]) for cell, f in flows.items()}
    return table, ratios, path


def report(model, data, config, run_dir):
    """Compare the cells across lengths and draw their gradient flow."""
    if not config.compare_cells or not config.compare_lengths:
        return {}
    table, ratios, figure = _compare(config, data.extras["data_dir"], run_dir)
    for row in table:
        print(f"  {row['cell']:>6} length {row['length']:>4}: test MSE {row['test_mse']:.4f}"
              f" ({'learned' if row['learned'] else 'not learned'}; baseline {BASELINE_MSE:.3f})")
    for cell, ratio in ratios.items():
        print(f"  {cell:>6}: ||dL/da<1>|| / ||dL/da<T>|| = {ratio:.2e}")
    return {"comparison": table, "gradient_ratio_first_to_last": ratios,
            "gradient_flow_png": figure}


main = main_for(__name__)

if __name__ == "__main__":
    main()

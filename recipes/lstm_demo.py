"""A short demo: a zoo LSTM learns to add up variable-length sequences.

Each example is a sequence of 2 to 12 numbers in [0.1, 1], zero-padded to 12
steps (padding is masked by `keras.layers.Masking`); the target is the sum of
the numbers. The demo prints the loss before and after training and a few
predictions against their targets.

Run: `python -m recipes.lstm_demo [--epochs N] [--samples N] [--seed N]`.
"""

import argparse
import time

import keras
import numpy as np

import zoo

MAX_LENGTH = 12


def make_data(samples, rng):
    """Zero-padded sequences (samples, MAX_LENGTH, 1) and their sums (samples, 1)."""
    lengths = rng.integers(2, MAX_LENGTH + 1, size=samples)
    values = rng.uniform(0.1, 1.0, size=(samples, MAX_LENGTH))
    values[np.arange(MAX_LENGTH)[None, :] >= lengths[:, None]] = 0.0
    return values[..., None].astype("float32"), values.sum(axis=1, keepdims=True).astype("float32")


def build_model(units=32):
    return keras.Sequential([
        keras.Input((MAX_LENGTH, 1)),
        keras.layers.Masking(0.0),
        zoo.layers.LSTM(units),
        keras.layers.Dense(1),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(args.samples, rng)
    x_test, y_test = make_data(256, rng)

    model = build_model()
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    print(f"zoo LSTM demo on the {keras.config.backend()} backend: learn to add up "
          f"sequences of 2-{MAX_LENGTH} numbers (padding masked)")
    before = model.evaluate(x_test, y_test, verbose=0)
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    after = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss (mse) before training: {before[0]:.4f}   mae {before[1]:.4f}")
    print(f"test loss (mse) after {args.epochs} epochs ({seconds:.1f}s): {after[0]:.4f}   "
          f"mae {after[1]:.4f}")
    predictions = model.predict(x_test[:6], verbose=0)
    print("sequence -> prediction (target)")
    for x, prediction, target in zip(x_test[:6, :, 0], predictions[:, 0], y_test[:6, 0]):
        numbers = " + ".join(f"{v:.2f}" for v in x if v > 0)
        print(f"  {numbers} -> {prediction:.2f} ({target:.2f})")
    return after[0]


if __name__ == "__main__":
    main()

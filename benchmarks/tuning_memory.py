"""Memory over a long sweep: the process's RSS after each trial.

Two runs in one process, on the current Keras backend:

1. baseline: plain Keras, no tuner: N random configurations from the same
   search space, each built and fit, then ``keras.backend.clear_session()``
   and garbage collection;
2. the sweep: a random-search sweep of N trials through ``zoo.tuning``.

It prints the resident set size (and the peak RSS) after every model/trial,
the growth per trial over the second half of each run, the ratio of the last
RSS to the first (1.0 = flat), and the sweep's growth per trial divided by the
baseline's: about 1 means the tuner itself holds on to nothing.

    python benchmarks/tuning_memory.py                  # the test recipe, 20 trials
    KERAS_BACKEND=jax python benchmarks/tuning_memory.py
    python benchmarks/tuning_memory.py --isolate         # isolate_trials=True: flat
    python benchmarks/tuning_memory.py --recipe japanese_vowels --tiny --trials 20
"""

import argparse
import dataclasses
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import psutil  # noqa: E402

from zoo.tuning import HyperModel  # noqa: E402
from zoo.tuning.sweep import resolve_objective, resolve_recipe, sweep_callbacks  # noqa: E402
from zoo.tuning.tuners import SweepTuner, make_oracle  # noqa: E402

MIB = 1024 * 1024


def rss_mib():
    return psutil.Process().memory_info().rss / MIB


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB  # Linux: KiB


class MeasuredTuner(SweepTuner):
    """Records the RSS after each trial (after the session is cleared)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.samples = []

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.samples.append((rss_mib(), peak_rss_mib()))
        n, (rss, peak) = len(self.samples), self.samples[-1]
        print(
            f"trial {n:3d}  rss {rss:8.1f} MiB  peak {peak:8.1f} MiB",
            flush=True,
        )


def growth_per_trial(rss):
    half = len(rss) // 2
    return (rss[-1] - rss[half]) / max(1, len(rss) - 1 - half)


def report(label, rss, peak):
    print(
        f"{label}: rss after 1: {rss[0]:.1f} MiB; after {len(rss)}: {rss[-1]:.1f} MiB; "
        f"peak {peak:.1f} MiB; growth per trial over the second half "
        f"{growth_per_trial(rss):+.2f} MiB; ratio last/first {rss[-1] / rss[0]:.3f}"
    )


def baseline(recipe, config, trials, seed=1):
    """Plain Keras, no tuner: `trials` random configurations of the same search
    space, each built, fit, then ``clear_session()`` and garbage collected."""
    import gc

    hypermodel = HyperModel(recipe, config)
    data = hypermodel.data
    rss = []
    for i in range(trials):
        hp = keras_tuner.HyperParameters()
        hypermodel.values(hp)
        for param in hp.space:
            hp.values[param.name] = param.random_sample(seed + 1000 * i)
        trial_config = hypermodel.configure(hypermodel.space.decode(hp.values))
        model = recipe.build_model(trial_config, data)
        model.fit(data.train, validation_data=data.validation, epochs=config.epochs, verbose=0)
        del model
        keras.backend.clear_session()
        gc.collect()
        rss.append(rss_mib())
        print(
            f"model {i + 1:3d}  rss {rss[-1]:8.1f} MiB  peak {peak_rss_mib():8.1f} MiB", flush=True
        )
    return rss


def isolated(recipe_path, config, trials):
    """A sweep with ``isolate_trials=True``: the sweep process's RSS as trials finish."""
    import glob
    import json
    import threading

    from zoo.tuning import tune

    samples, done = [], threading.Event()
    with tempfile.TemporaryDirectory() as directory:

        def watch():
            seen = 0
            while not done.wait(0.2):
                finished = 0
                for path in glob.glob(os.path.join(directory, "*", "trial_*", "trial.json")):
                    try:
                        with open(path) as f:
                            finished += json.load(f)["status"] == "COMPLETED"
                    except (OSError, ValueError):
                        pass
                if finished > seen:
                    seen = finished
                    samples.append(rss_mib())
                    print(f"trial {seen:3d}  sweep-process rss {samples[-1]:8.1f} MiB", flush=True)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        start = time.perf_counter()
        tune(recipe_path, max_trials=trials, config=config, directory=directory, seed=1,
             isolate_trials=True, verbose=0)  # fmt: skip
        done.set()
        thread.join()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MIB
    print(
        f"{len(samples)} isolated trials in {time.perf_counter() - start:.0f} s; "
        f"largest trial process: {children:.1f} MiB"
    )
    report("isolated sweep (sweep process)", samples, peak_rss_mib())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="tests.tuning_recipe_fixture")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="start from the recipe's TINY config")
    parser.add_argument(
        "--isolate", action="store_true", help="measure a sweep with isolate_trials=True"
    )
    args = parser.parse_args(argv)

    recipe = resolve_recipe(args.recipe)
    config = recipe.Config()
    if args.tiny:
        config = dataclasses.replace(config, **getattr(recipe, "TINY", {}))
    config = dataclasses.replace(config, epochs=args.epochs)
    objective = resolve_objective(recipe)
    if args.isolate:
        print(f"recipe {args.recipe}, backend {keras.backend.backend()}, {args.trials} trials "
              f"in subprocesses; rss at start {rss_mib():.1f} MiB")  # fmt: skip
        isolated(args.recipe, config, args.trials)
        return
    print(
        f"recipe {args.recipe}, backend {keras.backend.backend()}, {args.trials} trials, "
        f"{args.epochs} epoch(s) each; rss at start {rss_mib():.1f} MiB"
    )
    base = baseline(recipe, config, args.trials)
    base_peak = peak_rss_mib()
    with tempfile.TemporaryDirectory() as directory:
        hypermodel = HyperModel(recipe, config)
        oracle = make_oracle(
            "random",
            keras_tuner.Objective(*objective),
            max_trials=args.trials,
            max_epochs=config.epochs,
            seed=1,
        )
        tuner = MeasuredTuner(oracle, hypermodel, directory=directory, project_name="memory")
        start = time.perf_counter()
        tuner.search(
            epochs=config.epochs, callbacks=sweep_callbacks(recipe, config, objective), verbose=0
        )
        seconds = time.perf_counter() - start
    rss = [s[0] for s in tuner.samples]
    print(f"{len(rss)} trials in {seconds:.0f} s")
    report("baseline (plain Keras)", base, base_peak)
    report("sweep (zoo.tuning)", rss, tuner.samples[-1][1])
    ratio = (
        growth_per_trial(rss) / growth_per_trial(base)
        if abs(growth_per_trial(base)) > 0.5
        else None
    )
    print(
        "sweep growth / baseline growth: "
        + (f"{ratio:.2f}" if ratio is not None else "n/a (the baseline is flat)")
    )


if __name__ == "__main__":
    main()

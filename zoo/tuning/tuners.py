"""The tuners of a sweep: keras-tuner's, with memory release, timing and heartbeats."""

import gc
import threading
import time

import keras
import keras_tuner

from zoo.training.runs import write_json
from zoo.tuning import _upstream, oracles
from zoo.tuning.options import TUNERS, is_chief, is_distributed, is_worker

__all__ = ["TUNERS", "is_chief", "is_distributed", "is_worker", "make_oracle", "make_tuner"]
# Extra per-trial metrics recorded beside the model's own.
EPOCHS_METRIC = "trial_epochs"
SECONDS_METRIC = "trial_seconds"


class _TrialLimit(Exception):
    """This process has run its share of trials (``trials_per_process``)."""


class _Heartbeat:
    """A daemon thread asking the chief about `trial_id` every `interval` seconds."""

    def __init__(self, oracle, trial_id, interval):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(oracle, trial_id, interval), daemon=True
        )
        self._thread.start()

    def _beat(self, oracle, trial_id, interval):
        while not self._stop.wait(interval):
            try:
                oracle.get_trial(trial_id)
            except Exception:  # the chief may be busy or gone; the next beat retries
                pass

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)


class _SweepTunerMixin:
    """What every zoo tuner adds to keras-tuner's.

    - The Keras session is cleared and garbage collected after every trial
      (keras-tuner also clears it before each build), so a long sweep does not
      accumulate models, graphs or optimizer state.
    - Each execution's epochs and wall time are recorded as two extra trial
      metrics, ``trial_epochs`` and ``trial_seconds`` (means over executions),
      through the public ``run_trial``.
    - In a distributed sweep a worker sends a heartbeat while it runs a trial,
      and the chief serves with ``zoo.tuning._upstream.serve`` (keras-tuner's
      own chief mode on versions that module was not checked against).
    - The tuner's own state file is written atomically.
    """

    def __init__(
        self,
        oracle,
        hypermodel,
        *,
        heartbeat_interval=5.0,
        trials_per_process=None,
        abort_serving=None,
        **kwargs,
    ):
        # Skip RandomSearch/Hyperband/BayesianOptimization.__init__: they only
        # build their own oracle, and ours is given.
        keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.heartbeat_interval = heartbeat_interval
        self.trials_per_process = trials_per_process
        self.abort_serving = abort_serving
        self._heartbeat = None
        self._trials_run = 0

    def search(self, *fit_args, **fit_kwargs):
        if is_chief() and _upstream.supported():
            if "verbose" in fit_kwargs:
                self.oracle.verbose = fit_kwargs["verbose"]
            self.save()
            _upstream.serve(self.oracle, abort=self.abort_serving)
            return None
        try:
            return super().search(*fit_args, **fit_kwargs)
        except _TrialLimit:
            return None

    def pre_create_trial(self):
        if self.trials_per_process and self._trials_run >= self.trials_per_process:
            raise _TrialLimit()
        super().pre_create_trial()

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if is_worker() and self.heartbeat_interval:
            self._heartbeat = _Heartbeat(self.oracle, trial.trial_id, self.heartbeat_interval)

    def run_trial(self, trial, *args, **kwargs):
        start = time.perf_counter()
        results = super().run_trial(trial, *args, **kwargs)
        histories = results if isinstance(results, list) else [results]
        seconds = (time.perf_counter() - start) / max(len(histories), 1)  # per execution
        for history in histories:
            if isinstance(history, keras.callbacks.History):
                epochs = len(history.epoch)
                history.history[EPOCHS_METRIC] = [float(epochs)] * epochs
                history.history[SECONDS_METRIC] = [seconds] * epochs
                history.set_model(None)  # keep no model alive through the history
        return results

    def on_trial_end(self, trial):
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        super().on_trial_end(trial)
        self._trials_run += 1
        keras.backend.clear_session()
        gc.collect()

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_json(self._get_tuner_fname(), self.get_state(), strict=True)


class SweepTuner(_SweepTunerMixin, keras_tuner.Tuner):
    """A ``keras_tuner.Tuner`` (random search, Bayesian optimization) for zoo sweeps."""


class HyperbandSweepTuner(_SweepTunerMixin, keras_tuner.Hyperband):
    """``keras_tuner.Hyperband``'s trial logic (epochs per round, warm starts) for zoo sweeps."""


def make_oracle(
    kind,
    objective,
    *,
    max_trials,
    max_epochs,
    seed=None,
    trial_timeout=None,
    hyperband_factor=3,
    max_consecutive_failed_trials=3,
):
    """The oracle for tuner `kind` (one of ``TUNERS``)."""
    if kind not in TUNERS:
        raise ValueError(f"Unknown tuner. Expected one of {list(TUNERS)}. Received: tuner={kind!r}")
    common = dict(
        objective=objective,
        seed=seed,
        trial_timeout=trial_timeout,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
    )
    if kind == "random":
        return oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if kind == "bayesian":
        return oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    return oracles.HyperbandOracle(
        max_trials=max_trials, max_epochs=max_epochs, factor=hyperband_factor, **common
    )


def make_tuner(kind, hypermodel, oracle, **kwargs):
    """The tuner for `kind` around `hypermodel` and `oracle` (kwargs: ``keras_tuner.Tuner``'s)."""
    cls = HyperbandSweepTuner if kind == "hyperband" else SweepTuner
    return cls(oracle, hypermodel, **kwargs)

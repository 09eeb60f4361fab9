"""Oracles that survive a SIGKILL and a dead worker.

keras-tuner 1.4.8 keeps the state of a sweep in ``<project>/oracle.json`` and
one ``trial_<id>/trial.json`` per trial, and on a restart sends the trials that
were running back to a retry queue, so finished trials are kept and not run
again. Three gaps remain, closed here:

1. Its JSON files are written in place: a kill in the middle of a write leaves
   a truncated file that cannot be reloaded. Here every state file is written
   to a temporary file and renamed over the old one.
2. keras-tuner saves the oracle before it drops an ended trial from the
   running ones; a chief, which saves nothing after the last trial, would
   thus run that trial again on a resume. Here the oracle saves again after.
3. Distributed sweeps: keras-tuner 1.4.8 has no timeout on running trials. A
   worker that dies keeps its trial in ``oracle.ongoing_trials`` and its id in
   ``oracle.tuner_ids`` forever; the trial is never run again, and the chief
   (which waits until both are empty) never exits. Here workers send a
   heartbeat every few seconds while they run a trial (a ``GetTrial`` call,
   see ``zoo.tuning.tuners``), and the chief gives the trial of a worker that
   has been silent for ``trial_timeout`` seconds back to the queue, where the
   next worker that asks picks it up. Workers that find no new trial while
   other workers still run one wait (``IDLE``) instead of leaving, so a
   requeued trial always finds a worker. The chief that polls for silent
   workers is :func:`zoo.tuning._upstream.serve` (keras-tuner's own server
   loop cannot).
"""

import os
import time

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from zoo.training.runs import write_json


class ResilientOracleMixin:
    """Atomic state files, heartbeat timeouts and waiting workers for an oracle.

    Args:
        trial_timeout: seconds without any call about a running trial (its
            worker's heartbeats included) after which the trial goes back to
            the queue. ``None`` disables the timeout (single-process sweeps).
        idle_wait: seconds a worker with nothing to run waits before it asks
            again.
    """

    def __init__(self, *args, trial_timeout=None, idle_wait=0.5, **kwargs):
        super().__init__(*args, **kwargs)
        if trial_timeout is not None and trial_timeout <= 0:
            raise ValueError(f"trial_timeout must be > 0 or None. Received: {trial_timeout!r}")
        self.trial_timeout = trial_timeout
        self.idle_wait = idle_wait
        self._last_seen = {}  # trial_id -> time.monotonic() of the last call about it
        self._tuner_seen = {}  # tuner_id -> time.monotonic() of its last create_trial

    # -- atomic state files ---------------------------------------------------

    def save(self):
        write_json(self._get_oracle_fname(), self.get_state(), strict=True)

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        write_json(path, trial.get_state(), strict=True)

    # -- heartbeats -------------------------------------------------------------

    def _seen(self, trial_id):
        if trial_id is not None:
            self._last_seen[trial_id] = time.monotonic()

    def get_trial(self, trial_id):
        self._seen(trial_id)
        return super().get_trial(trial_id)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self._seen(trial_id)
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def reap_stale_trials(self):
        """Requeue the trials of silent workers; returns the requeued trial ids."""
        if not self.trial_timeout:
            return []
        now = time.monotonic()
        reaped = []
        for tuner_id, trial in list(self.ongoing_trials.items()):
            seen = self._last_seen.setdefault(trial.trial_id, now)
            if now - seen <= self.trial_timeout:
                continue
            self.ongoing_trials.pop(tuner_id)
            self.tuner_ids.discard(tuner_id)
            self._tuner_seen.pop(tuner_id, None)
            self._last_seen.pop(trial.trial_id, None)
            if trial.trial_id not in self._retry_queue:
                self._retry_queue.append(trial.trial_id)
            reaped.append(trial.trial_id)
            print(
                f"[zoo.tuning] no heartbeat from tuner {tuner_id!r} for {now - seen:.0f}s: "
                f"trial {trial.trial_id} goes back to the queue.",
                flush=True,
            )
        busy = set(self.ongoing_trials)
        for tuner_id in list(self.tuner_ids):
            seen = self._tuner_seen.setdefault(tuner_id, now)
            if tuner_id not in busy and now - seen > self.trial_timeout:
                self.tuner_ids.discard(tuner_id)
                self._tuner_seen.pop(tuner_id, None)
        if reaped:
            self.save()
        return reaped

    # -- trials -----------------------------------------------------------------

    def create_trial(self, tuner_id):
        trial = self._create_trial(tuner_id)
        if trial.status == TrialStatus.IDLE and self.idle_wait:
            time.sleep(self.idle_wait)  # outside the lock: others may report meanwhile
        return trial

    @keras_tuner.synchronized
    def _create_trial(self, tuner_id):
        self.reap_stale_trials()
        self._tuner_seen[tuner_id] = time.monotonic()
        exhausted = bool(self.max_trials) and len(self.trials) >= self.max_trials
        others_running = any(t != tuner_id for t in self.ongoing_trials)
        if (
            exhausted
            and others_running
            and tuner_id not in self.ongoing_trials
            and not self._retry_queue
        ):
            # Wait: a running trial may still come back to the queue.
            self.tuner_ids.add(tuner_id)
            return Trial(self.get_space(), status=TrialStatus.IDLE)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.RUNNING:
            self._seen(trial.trial_id)
        return trial

    @keras_tuner.synchronized
    def end_trial(self, trial):
        trial_id = trial.trial_id
        self._last_seen.pop(trial_id, None)
        if trial_id in self.end_order:
            # A late report from a worker presumed dead: the trial already ended.
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == trial_id:
                    self.ongoing_trials.pop(tuner_id)
            self.save()
            return
        running = any(t.trial_id == trial_id for t in self.ongoing_trials.values())
        if trial_id in self._retry_queue and not running:
            self._retry_queue.remove(trial_id)  # requeued, then reported after all
        super().end_trial(trial)
        # keras-tuner saves before it drops the trial from `ongoing_trials`; a
        # chief saves nothing after the last trial, so a resume would run it again.
        self.save()

    def reload(self):
        super().reload()
        # Sweeps saved by keras-tuner itself may list ended trials as ongoing.
        self._retry_queue = [t for t in self._retry_queue if t not in self.end_order]

    @keras_tuner.synchronized
    def finished(self):
        """True when no trial is running and no worker is waiting for one."""
        return not self.ongoing_trials and not self.tuner_ids


class RandomSearchOracle(ResilientOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """``keras_tuner.oracles.RandomSearchOracle`` with ``ResilientOracleMixin``."""


class BayesianOptimizationOracle(
    ResilientOracleMixin, keras_tuner.oracles.BayesianOptimizationOracle
):
    """``keras_tuner.oracles.BayesianOptimizationOracle`` with ``ResilientOracleMixin``."""


class HyperbandOracle(ResilientOracleMixin, keras_tuner.oracles.HyperbandOracle):
    """``keras_tuner.oracles.HyperbandOracle`` with ``ResilientOracleMixin``.

    ``max_trials`` (not taken by keras-tuner's Hyperband) caps the number of
    trials when given.
    """

    def __init__(self, *args, max_trials=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_trials = max_trials

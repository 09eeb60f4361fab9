"""The one place that reaches into keras-tuner's private modules: the chief's server loop.

https://github.com/keras-team/keras-tuner/issues/915 -- in a distributed
sweep, keras-tuner 1.4.8 has no timeout on running trials: a worker that dies
keeps its trial in ``oracle.ongoing_trials`` forever, the trial never runs
again and the chief, which waits for that list to empty, never exits. Its
public chief mode (``KERASTUNER_TUNER_ID=chief``, then ``Tuner.search``)
serves on one thread and checks for the end every 20 seconds, with no hook
for anything else.

``zoo.tuning.oracles.ResilientOracleMixin`` adds heartbeats and the requeue
with public API; what needs the private gRPC servicer
(``keras_tuner.src.distribute.oracle_chief``, ``keras_tuner.src.protos``) is
the loop that requeues the trials of silent workers while serving, here in
:func:`serve`. It is used only on the keras-tuner versions it was checked
against (:func:`supported`); on any other version the chief falls back on
keras-tuner's own public chief mode (no requeue of dead workers' trials).
``tests/test_tuning_upstream.py`` reproduces the upstream bug with the plain
public API and fails once keras-tuner requeues such trials itself: the signal
to delete this module.
"""

import os
import time
from concurrent import futures

import keras_tuner

from zoo._versions import major_minor

# keras-tuner versions whose private layout `serve` was checked against.
CHECKED = ((1, 4),)
ISSUE = "https://github.com/keras-team/keras-tuner/issues/915"


def supported(version=None):
    """True when ``serve`` may be used with keras-tuner ``version`` (default: the installed one)."""
    return major_minor(version or keras_tuner.__version__) in CHECKED


def serve(oracle, *, poll_seconds=0.5, max_workers=16, abort=None):
    """Run the chief: serve `oracle` over gRPC until the sweep is finished.

    Listens on ``KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT``. Unlike
    keras-tuner's own loop (one server thread, a check every 20 seconds) it
    serves calls on several threads, requeues the trials of silent workers
    every `poll_seconds`, and returns once a worker has been told to stop, no
    trial runs and no worker waits. `abort`, a callable returning an error
    message or None, is polled too: a message stops serving with a
    RuntimeError.
    """
    import grpc
    from keras_tuner.src import protos  # private: see the module docstring
    from keras_tuner.src.distribute import oracle_chief

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    if server.add_insecure_port(address) == 0:
        raise RuntimeError(f"The chief oracle could not listen on {address}.")
    server.start()
    print(f"[zoo.tuning] chief oracle listening on {address}", flush=True)
    try:
        while True:
            time.sleep(poll_seconds)
            oracle.reap_stale_trials()
            if servicer.stop_triggered and oracle.finished():
                break
            message = abort() if abort is not None else None
            if message:
                raise RuntimeError(f"The sweep stopped: {message}")
    finally:
        server.stop(grace=2).wait()

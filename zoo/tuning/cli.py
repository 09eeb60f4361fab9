"""The command line of a sweep: ``zoo tune RECIPE ...`` and ``python -m zoo.tuning RECIPE ...``."""

import argparse
import json
import os
import sys

from zoo.tuning import options
from zoo.tuning.options import DEFAULT_DIRECTORY, DEFAULT_ORACLE_IP, DEFAULT_ORACLE_PORT

# Keras and keras-tuner are imported by the sweep (``main``), never here:
# ``zoo tune --help`` stays light.


def add_arguments(parser):
    """Register the arguments of ``zoo tune`` on an ``argparse`` parser."""
    parser.add_argument("recipe", metavar="RECIPE", help="recipe name, or a module path with a dot")
    parser.add_argument(
        "--tuner", default="random", help=f"one of {', '.join(options.TUNERS)} (default: random)"
    )
    parser.add_argument("--max-trials", type=int, default=10, help="most trials (default: 10)")
    parser.add_argument(
        "--executions-per-trial", type=int, default=1, help="trainings per trial, averaged"
    )
    parser.add_argument(
        "--directory", default=DEFAULT_DIRECTORY, help="sweep folder root (default: tuning)"
    )
    parser.add_argument("--project-name", help="sweep folder name (default: <recipe>_<tuner>)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (Hyperband: the most)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field (model.units=64 for a model argument); repeatable",
    )
    parser.add_argument("--tiny", action="store_true", help="start from the recipe's TINY config")
    parser.add_argument("--data-dir", help="dataset folder passed to the recipe")
    parser.add_argument("--objective", help="metric[:min|max] (default: the recipe's OBJECTIVE)")
    parser.add_argument("--patience", type=int, help="early-stopping patience per trial (0: off)")
    parser.add_argument("--seed", type=int, help="the oracle's random seed")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming the folder"
    )
    parser.add_argument(
        "--retrain-best",
        action="store_true",
        help="train the best configuration with zoo.training and export it",
    )
    parser.add_argument(
        "--export-dir", default="saved_models", help="export root (default: saved_models)"
    )
    group = parser.add_argument_group("distributed sweeps (keras-tuner chief oracle and workers)")
    group.add_argument("--distributed", choices=("chief", "worker"), help="this process's role")
    group.add_argument("--tuner-id", help="this worker's id (N or tunerN; env KERASTUNER_TUNER_ID)")
    group.add_argument(
        "--oracle-ip", help=f"chief address (env KERASTUNER_ORACLE_IP; default {DEFAULT_ORACLE_IP})"
    )
    group.add_argument(
        "--oracle-port",
        type=int,
        help=f"chief port (env KERASTUNER_ORACLE_PORT; default {DEFAULT_ORACLE_PORT})",
    )
    group.add_argument(
        "--trial-timeout",
        type=float,
        help="seconds without a worker's heartbeat before its trial is requeued (default 120)",
    )
    group.add_argument(
        "--heartbeat-interval", type=float, default=5.0, help="seconds between heartbeats"
    )
    parser.add_argument(
        "--isolate-trials",
        action="store_true",
        help="run every trial in a fresh subprocess (flat memory on TensorFlow)",
    )
    group.add_argument(
        "--trials-per-process", type=int, help="a worker leaves after this many trials"
    )
    group.add_argument("--config-json", help=argparse.SUPPRESS)  # the whole Config, for workers
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def config_from_args(recipe, args):
    """The recipe's configuration with ``--tiny`` and ``--set`` applied.

    Uses the recipe contract's ``zoo.recipe.make_config``, so ``--set`` means
    the same in ``zoo tune`` as in ``zoo train`` (``model.units=64`` sets a
    ``create_model`` argument; unknown keys and wrong types are refused with
    the key and the expected type named).
    """
    from zoo.recipe import make_config

    return make_config(recipe, tiny=args.tiny, overrides=args.overrides)


def configure_distributed(args, environ=None):
    """Set the ``KERASTUNER_*`` variables from the arguments; returns the role or None."""
    environ = os.environ if environ is None else environ
    role = args.distributed
    if role is None:
        if args.tuner_id is not None:
            raise ValueError("--tuner-id needs --distributed worker.")
        return "chief" if options.is_chief() else ("worker" if options.is_worker() else None)
    ip = args.oracle_ip or environ.get("KERASTUNER_ORACLE_IP") or DEFAULT_ORACLE_IP
    port = args.oracle_port or environ.get("KERASTUNER_ORACLE_PORT") or DEFAULT_ORACLE_PORT
    if role == "chief":
        tuner_id = "chief"
    else:
        tuner_id = args.tuner_id or environ.get("KERASTUNER_TUNER_ID")
        if not tuner_id:
            raise ValueError("--distributed worker needs --tuner-id N (or KERASTUNER_TUNER_ID).")
        tuner_id = f"tuner{tuner_id}" if str(tuner_id).isdigit() else str(tuner_id)
        if "chief" in tuner_id:
            raise ValueError(f"A worker's tuner id may not contain 'chief'. Received: {tuner_id!r}")
    environ.update(
        KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP=str(ip), KERASTUNER_ORACLE_PORT=str(port)
    )
    return role


def main(args):
    """Run ``zoo tune`` for the parsed `args` (from a parser set up by ``add_arguments``).

    Returns the sweep summary (``{"role": "worker"}`` on a worker). Bad input
    raises ``ValueError`` before any trial runs.
    """
    from zoo.tuning.sweep import resolve_recipe, tune

    configure_distributed(args)
    recipe = resolve_recipe(args.recipe)
    if args.config_json:
        config = recipe.Config(**json.loads(args.config_json))
    else:
        config = config_from_args(recipe, args)
    return tune(
        recipe,
        tuner=args.tuner,
        max_trials=args.max_trials,
        executions_per_trial=args.executions_per_trial,
        directory=args.directory,
        project_name=args.project_name,
        config=config,
        epochs=args.epochs,
        objective=args.objective,
        data_dir=args.data_dir,
        overwrite=args.overwrite,
        seed=args.seed,
        patience=args.patience,
        trial_timeout=args.trial_timeout,
        heartbeat_interval=args.heartbeat_interval,
        retrain_best=args.retrain_best,
        isolate_trials=args.isolate_trials,
        trials_per_process=args.trials_per_process,
        export_dir=args.export_dir,
        verbose=0 if args.quiet else 1,
        fit_verbose=0 if args.quiet else 2,
    )


def build_parser(prog="python -m zoo.tuning"):
    parser = argparse.ArgumentParser(
        prog=prog, description="Hyperparameter sweep of a recipe with keras-tuner."
    )
    return add_arguments(parser)


def run(argv=None):
    """Entry point of ``python -m zoo.tuning``: exit status 0, or 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        main(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0

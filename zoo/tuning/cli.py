"""The command line of a sweep: ``zoo tune RECIPE ...`` and ``python -m zoo.tuning RECIPE ...``."""

import argparse
import json
import os

from zoo.tuning import options
from zoo.tuning.options import DEFAULT_DIRECTORY, DEFAULT_ORACLE_IP, DEFAULT_ORACLE_PORT

# Keras and keras-tuner are imported by the sweep (``main``), never here:
# ``zoo tune --help`` stays light.

# --tiny in a sweep: its own help (the other shared options read as in `zoo train`).
TINY_HELP = ("the recipe's seconds-long TINY config for every trial; the sweep goes to "
             "<directory>/<recipe>_<tuner>-tiny and --retrain-best exports only with "
             "--export-dir (default: off)")


def add_arguments(parser):
    """Register the arguments of ``zoo tune`` on an ``argparse`` parser.

    The options ``zoo train`` has too (``--epochs``, ``--set``, ``--tiny``,
    ``--data-dir``, ``--data``, ``--mixed-precision``, ``--jit``, ``--export-dir``,
    ``--quiet``) come from ``zoo.recipe.add_shared_arguments``: the same names,
    meanings and defaults in both commands; only ``--tiny``'s help speaks of the
    sweep folder (:data:`TINY_HELP`).
    """
    from zoo.recipe import add_shared_arguments

    add = parser.add_argument
    add("recipe", metavar="RECIPE", help="recipe name, or a module path with a dot")
    add_shared_arguments(parser, tiny_help=TINY_HELP)
    add("--tuner", default="random",
        help=f"one of {', '.join(options.TUNERS)} (default: random)")
    add("--max-trials", type=int, default=10, metavar="N", help="most trials (default: 10)")
    add("--executions-per-trial", type=int, default=1, metavar="K",
        help="trainings per trial, their metrics averaged (default: 1)")
    add("--directory", default=DEFAULT_DIRECTORY, metavar="DIR",
        help=f"sweep folder root (default: {DEFAULT_DIRECTORY})")
    add("--project-name", metavar="NAME",
        help="sweep folder name (default: <recipe>_<tuner>, <recipe>_<tuner>-tiny with --tiny)")
    add("--objective", metavar="METRIC[:min|max]",
        help="the metric to optimise (default: the recipe's OBJECTIVE)")
    add("--patience", type=int, metavar="N",
        help="early-stopping patience per trial, 0: off (default: the recipe's Config)")
    add("--seed", type=int, metavar="S", help="the oracle's random seed (default: keras-tuner's)")
    add("--overwrite", action="store_true",
        help="start the sweep folder afresh instead of resuming it (default: resume)")
    add("--retrain-best", action="store_true",
        help="train the best configuration as `zoo train` would and export it to --export-dir "
             "(default: off)")
    add("--isolate-trials", action="store_true",
        help="run every trial in a fresh subprocess, flat memory on TensorFlow (default: off)")
    group = parser.add_argument_group("distributed sweeps (keras-tuner chief oracle and workers)")
    group.add_argument("--distributed", choices=("chief", "worker"),
                       help="this process's role (default: a lone sweep, unless the "
                            "KERASTUNER_* variables say otherwise)")
    group.add_argument("--tuner-id", metavar="N",
                       help="this worker's id, N or tunerN (default: $KERASTUNER_TUNER_ID)")
    group.add_argument("--oracle-ip", metavar="IP",
                       help=f"chief address (default: $KERASTUNER_ORACLE_IP, else "
                            f"{DEFAULT_ORACLE_IP})")
    group.add_argument("--oracle-port", type=int, metavar="P",
                       help=f"chief port (default: $KERASTUNER_ORACLE_PORT, else "
                            f"{DEFAULT_ORACLE_PORT})")
    group.add_argument("--trial-timeout", type=float, metavar="S",
                       help="seconds without a worker's heartbeat before its trial is "
                            "requeued (default: 120 in a distributed sweep, else off)")
    group.add_argument("--heartbeat-interval", type=float, default=5.0, metavar="S",
                       help="seconds between a worker's heartbeats (default: 5)")
    group.add_argument("--trials-per-process", type=int, metavar="N",
                       help="a worker leaves after this many trials (default: no limit)")
    group.add_argument("--config-json", help=argparse.SUPPRESS)  # the whole Config, for workers
    return parser


def config_from_args(recipe, args):
    """The recipe's configuration with ``--tiny``, ``--set``, ``--jit``,
    ``--mixed-precision`` and ``--data`` applied, checked.

    Uses the recipe contract's ``zoo.recipe.make_config`` and the checks of
    ``zoo train`` (``zoo._run_checks``), so ``--set`` and ``--data`` mean the
    same in ``zoo tune`` as in ``zoo train`` (``model.units=64`` sets a
    ``create_model`` argument; unknown keys and wrong types are refused with
    the key and the expected type named; the data path is recorded absolute).
    Standard library only: ``zoo tune`` calls it before Keras is imported.
    """
    from zoo._run_checks import check_config, flag_overrides, with_data
    from zoo.recipe import make_config, recipe_name

    config = make_config(recipe, tiny=args.tiny, overrides=flag_overrides(args))
    data = getattr(args, "data", None)
    if data is not None:
        config = with_data(recipe, recipe_name(recipe), config, data)
    return check_config(config)


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
    if getattr(config, "mixed_precision", False):  # the trials build under the dtype policy
        from zoo.training import placement

        placement.configure(mixed_precision=True)
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
        tiny=args.tiny,
        isolate_trials=args.isolate_trials,
        trials_per_process=args.trials_per_process,
        export_path=args.export_dir,
        verbose=0 if args.quiet else 1,
        fit_verbose=0 if args.quiet else 2,
    )


def build_parser(prog="python -m zoo.tuning"):
    parser = argparse.ArgumentParser(
        prog=prog, description="Hyperparameter sweep of a recipe with keras-tuner."
    )
    return add_arguments(parser)


def run(argv=None):
    """Entry point of ``python -m zoo.tuning`` (and of the ``--isolate-trials`` workers; it
    takes ``--verbose`` and ``--debug`` too): exit status 0, or that of
    :func:`zoo._cli_errors.run_command` (2 bad input, 1 a bug, 130 Ctrl-C), after one line
    and no traceback."""
    from zoo import _cli_errors, _quiet

    parser = build_parser()
    _cli_errors.add_flags(parser)
    args = parser.parse_args(argv)
    _cli_errors.apply_flags(args)
    _quiet.install()  # a sweep's worker processes start as quietly as `zoo tune`
    args.command = "tune"

    def sweep():
        main(args)
        return 0

    return _cli_errors.run_command(parser.prog, sweep, args)

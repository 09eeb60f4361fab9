"""The command line of a recipe module (``python -m <recipe module>``) and the options that
``zoo train`` and ``zoo tune`` share. Names are re-exported by :mod:`zoo.recipe`.

Standard library only until a run starts, so that ``--help`` and a bad
``--set`` or ``--data`` answer before TensorFlow or Keras is imported.
"""

import argparse
import sys

from zoo import _quiet
from zoo._overrides import make_config
from zoo._run_checks import check_config, flag_overrides, with_data

TINY_HELP = ("the recipe's seconds-long TINY config; its run goes to runs/<recipe>-tiny and it "
             "exports only with --export or --export-dir (default: off)")


def add_shared_arguments(parser, *, tiny_help=TINY_HELP):
    """The options ``zoo train`` and ``zoo tune`` share, defined once so that they have
    the same names, meanings and defaults in both (``zoo.tuning.cli`` calls it too,
    with ``tiny_help`` saying where a tiny sweep goes).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_shared_arguments(parser).parse_args(["--tiny", "--set", "epochs=2"]).overrides
        ['epochs=2']
    """
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="epochs of training (tune: per trial, Hyperband: the most) "
                             "(default: the recipe's Config, or its TINY with --tiny)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a config field, e.g. --set batch_size=64; "
                             "model.units=64 sets a create_model argument; repeat it for "
                             "several fields (default: none)")
    parser.add_argument("--tiny", action="store_true", help=tiny_help)
    parser.add_argument("--data-dir", metavar="DIR",
                        help="TFDS data folder, made when missing: datasets are built or "
                             "read there (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
    parser.add_argument("--data", metavar="PATH",
                        help="your own data, a CSV/TSV file or a folder, for the recipes "
                             "that take one (text_classification, text_to_text) "
                             "(default: none)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 (GPU) / bfloat16 (CPU) compute (default: off, float32)")
    parser.add_argument("--jit", choices=["auto", "on", "off"],
                        help="XLA compilation (default: the recipe's Config, 'auto': Keras "
                             "decides)")
    parser.add_argument("--export-dir", metavar="DIR",
                        help="the export folder itself, where saved_model.pb goes "
                             "(default: saved_models/<recipe>/<next version>)")
    parser.add_argument("--quiet", action="store_true",
                        help="less output, no progress bars: one line per epoch in train, "
                             "none per trial in tune (default: off)")
    return parser


def add_backend_argument(parser):
    """``--backend``: the Keras backend of ``zoo train`` and ``zoo tune`` (the command
    starts itself again on it when Keras was imported on another)."""
    parser.add_argument("--backend", choices=["tensorflow", "jax"],
                        help="Keras backend (default: $KERAS_BACKEND, else the recipe's "
                             "default)")
    return parser


def add_train_arguments(parser):
    """The options of ``python -m <recipe module>`` and ``zoo train``: the shared ones
    (:func:`add_shared_arguments`) and those of a single run.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_train_arguments(parser).parse_args(["--tiny", "--export"]).export
        True
    """
    add_shared_arguments(parser)
    parser.add_argument("--run-dir", metavar="DIR",
                        help="run folder (default: runs/<recipe>, runs/<recipe>-tiny with "
                             "--tiny)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start the run folder afresh instead of resuming it (default: "
                             "resume)")
    exports = parser.add_mutually_exclusive_group()
    exports.add_argument("--no-export", action="store_true",
                         help="skip the SavedModel export (default: export, except with "
                              "--tiny)")
    exports.add_argument("--export", action="store_true",
                         help="export even with --tiny (default: off)")
    return parser


def config_from_args(recipe, args):
    """The run's ``Config`` from parsed ``args`` (``--tiny``, ``--set``, ``--epochs``,
    ``--jit``, ``--mixed-precision``, ``--data``), checked, and the export options
    checked against each other.

    Standard library only: ``zoo train`` calls it before Keras is imported (or
    the command starts again on another backend), so that a bad ``--set`` or
    ``--data`` is refused at once.

    Example:
        >>> config_from_args(recipe, parser.parse_args(["--tiny", "--set", "epochs=0"]))
        ValueError: --set epochs: expected an integer >= 1. Received: epochs=0
    """
    from zoo.recipe import recipe_name

    config = make_config(recipe, tiny=args.tiny, overrides=flag_overrides(args),
                         epochs=args.epochs)
    data = getattr(args, "data", None)
    if data is not None:
        config = with_data(recipe, recipe_name(recipe), config, data)
    check_config(config)
    if getattr(args, "no_export", False) and _export_flags(args):
        raise ValueError(f"--no-export and {' and '.join(_export_flags(args))} contradict "
                         "each other; pass one of them.")
    return config


def _export_flags(args):
    return [flag for flag, given in (("--export", getattr(args, "export", False)),
                                     ("--export-dir", args.export_dir)) if given]


def run_from_args(recipe, args):
    """Build the config from parsed ``args`` (:func:`config_from_args`) and :func:`run`
    the recipe.

    ``--tiny`` runs go to ``runs/<recipe>-tiny`` (an explicit ``--run-dir``
    wins) and export only with ``--export`` or ``--export-dir``; ``--data``
    sets the Config's ``data`` field. Everything is checked before the run
    writes a file.
    """
    from zoo.recipe import run

    config = config_from_args(recipe, args)
    export = False if args.no_export else (True if _export_flags(args) else None)
    return run(recipe, config, data_dir=args.data_dir, run_dir=args.run_dir,
               overwrite=args.overwrite, export=export, export_dir=args.export_dir,
               tiny=args.tiny, verbose=2 if args.quiet else "auto")


def main_for(module):
    """A ``main(argv=None)`` for the recipe module named ``module`` (``main_for(__name__)``)."""

    def main(argv=None):
        from zoo.recipe import module_name

        recipe = sys.modules[module]
        doc = (recipe.__doc__ or "").strip()
        parser = argparse.ArgumentParser(prog=f"python -m {module_name(recipe)}",
                                         description=doc.splitlines()[0] if doc else None)
        from zoo import _cli_errors

        add_train_arguments(parser)
        _cli_errors.add_flags(parser)
        args = parser.parse_args(argv)
        _cli_errors.apply_flags(args)
        _quiet.install()  # as the zoo command: no TensorFlow start-up lines
        args.command = "train"
        result = []
        code = _cli_errors.run_command(
            parser.prog, lambda: result.append(run_from_args(recipe, args)), args)
        if result:
            return result[0]
        sys.exit(code)  # a mistake, a bug or Ctrl-C: its one line is printed

    return main

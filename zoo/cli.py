"""The ``zoo`` command.

The synopsis (``python -m zoo._cli_synopsis`` writes it from this parser; the
README shows it)::

    zoo [--help] [--verbose] [--debug] COMMAND ...
    zoo list [models|cells|recipes|datasets|all]
    zoo train RECIPE [--epochs N] [--set KEY=VALUE ...] [--tiny] [--data-dir DIR] ...
    zoo evaluate RUN_DIR [--data-dir DIR]
    zoo export RUN_DIR [--to DIR] [--format saved_model|litert|both] [--overwrite]
    zoo predict SAVED_MODEL [--text TEXT ...] [--inputs JSON|@FILE] [--signature NAME] [--json]
    zoo generate SAVED_MODEL [--condition NAME|ID] [--num N] [--max-length L] ...
    zoo tune RECIPE [the options train has too] [--tuner T] [--max-trials N] ...

``zoo train`` and ``zoo tune`` share their common options, defined once
(:func:`zoo.recipe.add_shared_arguments`). Every command ends with a one-line
summary. Bad input exits with status 2 and one line, ``zoo COMMAND: error:
MESSAGE``, naming what was received and what was expected, with the command
line's own flags (:mod:`zoo._cli_errors`); so do a busy run or sweep folder
(``zoo.training.lock.RunFolderBusy``) and a run-folder file that cannot be read
(``zoo.training.runs.CorruptRunFile``). An unexpected exception (a bug) is one
line and status 1; ``--debug`` (or ``ZOO_DEBUG=1``) shows its traceback instead.
Ctrl-C prints one line and exits with status 130; an interrupted ``zoo train``
or ``zoo tune`` resumes when the same command runs again. ``--verbose`` sets
``ZOO_VERBOSE=1`` before anything heavy is imported: the TensorFlow, absl and
CUDA logs that zoo silences are shown.

``zoo predict`` and ``zoo generate`` are thin clients of an export
(:mod:`zoo.client`): they call its ``predict`` (``predict_beam`` with ``--beam``)
signature on raw text and raw values, fill the options left out from its
``predict_defaults``, and tokenize or normalise nothing themselves;
``--signature NAME`` reaches any other signature (``serve``, ``beam_search``,
``initial_state``, ``step``...). Inputs are checked against the signature's specs
before the call, and an error raised inside a signature is shown as its one line.

Recipes are found through the entry-point group ``zoo.recipes``
(:mod:`zoo.recipe`), so this project's recipes and any installed package's
are listed, trained and tuned alike. ``zoo --help``, ``zoo CMD --help`` and
``zoo list`` import neither TensorFlow nor Keras: heavy libraries are imported
inside the command that needs them, and ``zoo list`` reads the model and
dataset names from :data:`MODELS` and :data:`DATASETS` (tests keep them equal
to ``zoo.list_models()`` and ``zoo.data.list_datasets()``) and the cells' from
``zoo._cell_names``, which the factories read too.
"""

import argparse
import json
import math
import os
import sys

from zoo import _quiet
from zoo._cell_names import CELLS, GATED_CELLS

# The names `zoo list` shows without importing Keras or TensorFlow Datasets;
# tests/test_cli.py checks them against zoo.list_models() and zoo.data.list_datasets().
MODELS = ("encoder_decoder", "many_to_many", "many_to_one", "one_to_many", "one_to_one")
DATASETS = (
    "adding_problem", "bach_chorales", "cmudict", "copy_memory", "human_dates",
    "japanese_vowels", "sequential_digits", "sunspots", "text_folder",
    "conll2003", "imdb_reviews", "ted_hrlr_translate", "tiny_shakespeare",
)  # fmt: skip


def _add_list(sub):
    p = sub.add_parser("list", help="list models, cells, recipes and datasets",
                       description="List the registered models, the cells every model takes "
                                   "as cell= (those marked take chrono_init too), the recipes "
                                   "and the datasets.")
    p.add_argument("what", nargs="?", choices=["models", "cells", "recipes", "datasets", "all"],
                   default="all", help="what to list (default: all)")
    _add_common(p)


def _add_train(sub):
    from zoo import recipe

    p = sub.add_parser("train", help="train a recipe",
                       description="Train, evaluate and export a recipe. An existing run "
                                   "folder is resumed unless --overwrite.")
    p.add_argument("recipe", metavar="RECIPE", help="recipe name (see `zoo list recipes`)")
    recipe.add_train_arguments(p)
    recipe.add_backend_argument(p)
    _add_common(p)


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="evaluate a run folder's model on its test split",
                       description="Evaluate a run folder's model on its recipe's test split.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder of `zoo train`")
    p.add_argument("--data-dir", metavar="DIR",
                   help="TFDS data folder (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
    _add_common(p)


def _add_export(sub):
    p = sub.add_parser("export", help="export a run folder's model (SavedModel, LiteRT)",
                       description="Export a run folder's model as a verified SavedModel "
                                   "and/or a verified LiteRT model.tflite (docs/litert.md).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder of `zoo train`")
    p.add_argument("--to", metavar="DIR",
                   help="target folder (default: saved_models/<recipe>/<next version>)")
    p.add_argument("--format", choices=["saved_model", "litert", "both"], default="saved_model",
                   help="saved_model (default); litert: <target>/model.tflite only; both: the "
                        "SavedModel with model.tflite beside its saved_model.pb")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing target (default: refuse it)")
    _add_common(p)


def _add_client_arguments(p):
    p.add_argument("saved_model", metavar="SAVED_MODEL", help="an export folder (saved_model.pb)")
    p.add_argument("--text", action="append",
                   help="raw text for the signature's text input (tokens or source); repeat for "
                        "a batch (default: none)")
    p.add_argument("--inputs", metavar="JSON|@FILE",
                   help="JSON object (or @file.json): input name -> value, in raw units "
                        "(features as numbers, conditions by name or id) (default: none)")
    p.add_argument("--signature", metavar="NAME",
                   help="call this signature instead: serve, beam_search, step, "
                        "initial_state... (default: predict)")
    p.add_argument("--json", action="store_true",
                   help="print the outputs as one JSON object, name -> nested list (default: "
                        "readable lines)")
    _add_common(p)


def _add_serving(sub):
    g = sub.add_parser("generate", help="generate sequences with an exported model",
                       description="Call the `predict` signature of an exported generator "
                                   "(--condition) or encoder-decoder (--text); options left out "
                                   "take the export's defaults (its `predict_defaults`).")
    _add_client_arguments(g)
    g.add_argument("--condition", metavar="NAME|ID",
                   help="the condition, by name (e.g. 'D major') or id; --num copies of it "
                        "(default: none)")
    g.add_argument("--num", type=int, metavar="N",
                   help="sequences to generate (default: one per condition or text)")
    g.add_argument("--max-length", type=int, metavar="L",
                   help="steps to generate (default: the export's)")
    g.add_argument("--temperature", type=float, metavar="T",
                   help="sampling temperature, <= 0 for greedy decoding (default: the export's)")
    g.add_argument("--top-k", type=int, metavar="K",
                   help="sample among the k best, 0 = all (default: the export's)")
    g.add_argument("--seed", type=int, metavar="S",
                   help="sampling seed, the same seed gives the same sequences (default: the "
                        "export's)")
    g.add_argument("--primer", metavar="FILE|TOKENS",
                   help="a melody to continue: a MIDI or MusicXML file (its top voice, on a "
                        "16th-note grid), or tokens such as '67 67 69 71' (MIDI pitches); "
                        "with a file and no --condition, the key music21 reads in it is the "
                        "condition where the export's conditions are keys (default: none)")
    g.add_argument("--include-primer", action="store_true",
                   help="print the primer before its continuation (default: the "
                        "continuation alone)")
    g.add_argument("--beam", action="store_true",
                   help="beam search: the `predict_beam` signature of an encoder-decoder "
                        "(default: off, sampling or greedy)")
    g.add_argument("--alpha", type=float, metavar="A",
                   help="beam length penalty (default: the export's)")
    p = sub.add_parser("predict", help="run an exported model on raw inputs",
                       description="Call the `predict` signature of an exported SavedModel on raw "
                                   "text (--text) or raw values (--inputs); --signature reaches "
                                   "any other signature.")
    _add_client_arguments(p)


def _add_tune(sub, argv):
    if _command_of(argv) == "tune":
        from zoo import recipe
        from zoo.tuning import cli as tuning_cli  # light: keras-tuner is imported by the sweep

        p = sub.add_parser("tune", help="hyperparameter sweep of a recipe (keras-tuner)",
                           description="Hyperparameter sweep of a recipe with keras-tuner "
                                       "(docs/tuning.md). An existing sweep folder is resumed "
                                       "unless --overwrite.")
        tuning_cli.add_arguments(p)
        recipe.add_backend_argument(p)
        _add_common(p)
    else:
        sub.add_parser("tune", help="hyperparameter sweep of a recipe (keras-tuner)",
                       add_help=False)


def _add_common(p, top=False):
    """--verbose and --debug, on the top parser and on every command's (either place works)."""
    from zoo import _cli_errors

    default = False if top else argparse.SUPPRESS  # a command's parser keeps the top's value
    _cli_errors.add_flags(p, default)


def _command_of(argv):
    """The command named in `argv` (the first argument that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv=()):
    """The parser of the ``zoo`` command (``zoo tune``'s options only when `argv` names it:
    the others stay free of its imports)."""
    parser = argparse.ArgumentParser(
        prog="zoo", description="rnn-zoo: train, evaluate, export and serve recurrent models.",
        epilog="Errors print one line `zoo COMMAND: error: ...` and exit with status 2 (your "
               "input) or 1 (a bug; --debug shows its traceback); Ctrl-C exits with 130.")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_list(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_serving(sub)
    _add_tune(sub, list(argv))
    return parser


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def cmd_list(args):
    from zoo import recipe

    shown = {}
    if args.what in ("models", "all"):
        shown["models"] = list(MODELS)
    if args.what in ("cells", "all"):
        # the gated cells also take chrono_init
        shown["cells"] = [f"{c} (chrono_init)" if c in GATED_CELLS else c for c in CELLS]
    if args.what in ("recipes", "all"):
        shown["recipes"] = recipe.list_recipes()
    if args.what in ("datasets", "all"):
        shown["datasets"] = list(DATASETS)
    for kind, names in shown.items():
        print(f"{kind}:")
        for name in names:
            print(f"  {name}")
    print(" | ".join(f"{len(v)} {k}" for k, v in shown.items()))


def _wanted_backend(args, module):
    from zoo import recipe

    return args.backend or os.environ.get("KERAS_BACKEND") or recipe.default_backend(module)


def _on_backend(args, argv, module):
    """Start this command again on the wanted Keras backend, unless Keras runs on it
    (the backend is fixed when Keras is imported)."""
    wanted = _wanted_backend(args, module)
    import keras

    if wanted != keras.backend.backend():
        env = dict(os.environ, KERAS_BACKEND=wanted)
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "zoo.cli", *argv], env)


def cmd_train(args, argv):
    from zoo import recipe

    module = recipe.get_recipe(args.recipe)
    recipe.config_from_args(module, args)  # a bad --set or --data: refused before Keras loads
    _on_backend(args, argv, module)
    summary = recipe.run_from_args(module, args)
    return 0 if summary["status"] != "stopped_nan" and "export_error" not in summary else 1


def cmd_tune(args, argv):
    from zoo import recipe
    from zoo.tuning import cli as tuning_cli

    module = recipe.get_recipe(args.recipe)
    if not args.config_json:  # a bad --set or --data: refused before Keras loads
        tuning_cli.config_from_args(module, args)
    _on_backend(args, argv, module)
    summary = tuning_cli.main(args)
    print(f"[tune] {args.recipe}: done")
    return 0 if summary is not None else 1


def cmd_evaluate(args):
    from zoo import recipe

    test = recipe.evaluate_run(args.run_dir, data_dir=args.data_dir)
    print(json.dumps(test, indent=2, sort_keys=True))
    metrics = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in test.items())
    print(f"[evaluate] {args.run_dir}: {metrics}")


def cmd_export(args):
    from zoo import recipe

    module, _ = recipe.load_run(args.run_dir)
    name = recipe.recipe_name(module)
    root = os.path.join(recipe.DEFAULT_EXPORTS, name)
    path = args.to or os.path.join(root, recipe.next_version(root))
    path = recipe.export_run(args.run_dir, path, overwrite=args.overwrite, format=args.format)
    if args.format in ("saved_model", "both"):
        print(f"[export] {args.run_dir} -> SavedModel {path}")
    if args.format in ("litert", "both"):
        print(f"[export] {args.run_dir} -> LiteRT {os.path.join(path, 'model.tflite')}")


# The options of `zoo generate`: flag -> input name of the signature.
OPTIONS = {"--max-length": "max_length", "--temperature": "temperature", "--top-k": "top_k",
           "--seed": "seed", "--alpha": "alpha"}


def _check_options(args):
    for flag, minimum in (("--num", 1), ("--max-length", 1), ("--top-k", 0)):
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None and value < minimum:
            raise ValueError(f"{flag}: expected an integer >= {minimum}. Received: {value}")
    for flag in ("--temperature", "--alpha"):
        value = getattr(args, flag[2:], None)
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{flag}: expected a finite number. Received: {value}")
    for i, text in enumerate(args.text or [], 1):
        if not text:
            raise ValueError(f"--text: received an empty string (text {i} of "
                             f"{len(args.text)}); expected non-empty text.")


def _given(args, client, fn, name):
    """The inputs named on the command line: --inputs, then --text."""
    given = client.read_inputs(args.inputs)
    if args.text:
        key = client.text_input(fn, name)
        if key in given:
            raise ValueError(f"--text and --inputs both give the input {key!r}; use one.")
        given[key] = list(args.text)
    return given


def _fill_defaults(given, specs, defaults):
    """Options the user left out, from the export's predict_defaults (a scalar default
    of a batch input is one per example)."""
    for key, value in defaults.items():
        if key in specs and key not in given:
            given[key] = value.tolist() if specs[key].shape.rank == 0 else [value.tolist()]


def _run(args, command, name, given, wanted=None):
    from zoo import client

    loaded = client.open_export(args.saved_model)
    fn = client.signature(loaded, name)
    given = given(loaded, fn) if callable(given) else given
    specs = client.input_specs(fn)
    _fill_defaults(given, specs, client.defaults(loaded))
    if wanted is not None:
        _repeat(given, specs, wanted)
    batch = {len(v) for k, v in given.items() if isinstance(v, list) and specs[k].shape.rank
             and specs[k].shape[0] is None} if all(k in specs for k in given) else set()
    out = client.call(loaded, name, given)
    n = client.rows(out)
    if wanted is not None and n != wanted:
        raise ValueError(f"--num {wanted}: the signature {name!r} returned {n} sequence(s), "
                         f"not {wanted}.")
    if len(batch) == 1 and n not in batch:
        raise ValueError(f"the signature {name!r} returned {n} example(s) for "
                         f"{batch.pop()} given.")
    print(client.as_json(out) if args.json else "\n".join(client.render(out)))
    line = (f"[{command}] {n} {'sequence' if command == 'generate' else 'example'}(s) through "
            f"{args.saved_model} ({name}): {client.summary(out)}")
    print(line, file=sys.stderr if args.json else sys.stdout)


def _repeat(given, specs, wanted):
    """Each batch input given once becomes `wanted` copies; one given for another
    number of examples is refused."""
    for key, spec in specs.items():
        if key not in given or not spec.shape.rank or spec.shape[0] is not None:
            continue
        value = given[key]
        size = len(value) if isinstance(value, list) else None
        if size == 1:
            given[key] = value * wanted
        elif size is not None and size != wanted:
            raise ValueError(f"--num {wanted}: the input {key!r} holds {size} example(s); give "
                             f"one (it is repeated) or {wanted}.")


def cmd_generate(args):
    from zoo import client

    _check_options(args)
    name = args.signature or ("predict_beam" if args.beam else "predict")

    def given(loaded, fn):
        out = _given(args, client, fn, name)
        specs = client.input_specs(fn)
        if args.condition is not None:
            if "condition" not in specs:
                raise ValueError(f"--condition: the signature {name!r} takes no condition; it "
                                 f"takes: {', '.join(specs)}.")
            if "condition" in out:
                raise ValueError("--condition and --inputs both give the input 'condition'; "
                                 "use one.")
            out["condition"] = [_condition(args.condition, specs["condition"], name,
                                           args.saved_model)]
        if args.primer is not None or args.include_primer:
            _primer(args, specs, name, out)
        # (A misspelt input is named by the client's check instead; a condition vector
        # comes by --inputs.)
        if ("condition" in specs and "condition" not in out and set(out) <= set(specs)
                and not specs["condition"].dtype.is_floating):
            raise ValueError(_no_condition(args.saved_model, "primer" in specs))
        for flag, key in OPTIONS.items():
            value = getattr(args, key)
            if value is None:
                continue
            if key not in specs:
                raise ValueError(f"{flag}: the signature {name!r} takes no input {key!r}; it "
                                 f"takes: {', '.join(specs)}.")
            out[key] = value
        return out

    _run(args, "generate", name, given, wanted=args.num)


def _primer(args, specs, name, out):
    """Add the ``primer`` (and ``include_primer``) inputs of --primer/--include-primer."""
    if "primer" not in specs:
        raise ValueError(f"--primer: the signature {name!r} takes no primer; it takes: "
                         f"{', '.join(specs)}. (Exports of generators written before "
                         "primed generation have none: export the run again.)")
    if args.include_primer:
        out["include_primer"] = True
    if args.primer is None:
        return
    if "primer" in out:
        raise ValueError("--primer and --inputs both give the input 'primer'; use one.")
    text, key = _read_primer(args.primer)
    out["primer"] = [text]
    names = _condition_names(args.saved_model)
    if key is not None and args.condition is None and "condition" not in out and key in names:
        out["condition"] = [key]
        print(f"[generate] --condition {key!r}: music21's key of {args.primer}", file=sys.stderr)


def _no_condition(path, primed):
    """The message for a conditioned export called without a condition."""
    names = _condition_names(path)
    shown = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
    listed = f" (one of {len(names)}: {shown})" if names else ""
    primer = (", or --primer with a MIDI or MusicXML file, whose key music21 reads"
              if primed and names else "")
    return f"the export is conditioned: give --condition NAME|ID{listed}{primer}."


def _read_primer(value):
    """(primer tokens as text, the key music21 reads in it or None) of --primer."""
    from zoo.music import notation

    if value.lower().endswith(notation.SCORE_FILE_SUFFIXES) or os.path.isfile(value):
        try:
            pitches, key = notation.read_melody(value)
        except ValueError as err:
            raise ValueError(f"--primer: {err}") from None
        return " ".join(str(int(p)) for p in pitches), key
    text = " ".join(value.replace(",", " ").split())
    if not text:
        raise ValueError("--primer: expected a MIDI/MusicXML file or tokens such as "
                         "'67 67 69 71'. Received: an empty string")
    return text, None


def _condition(value, spec, name, path):
    if spec.dtype.name == "string":
        return value
    try:
        return int(value)
    except ValueError:
        names = _condition_names(path)
        valid = (f"valid ids: {', '.join(f'{i} ({n})' for i, n in enumerate(names))}"
                 if names else "give an integer id")
        raise ValueError(f"--condition: the signature {name!r} takes condition ids "
                         f"({spec.dtype.name}), not names. Received: {value!r}; {valid}. "
                         "Leave out --signature to call `predict`, which takes names.") from None


def _condition_names(path):
    """The condition names an export records (``zoo_export.json``), for a message; [] if none."""
    try:
        with open(os.path.join(path, "zoo_export.json")) as f:
            info = json.load(f)
        names = info.get("metadata", {}).get("artifacts", {})["vocabulary"]["condition_classes"]
        return [str(n) for n in names]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def cmd_predict(args):
    from zoo import client

    _check_options(args)
    name = args.signature or "predict"
    _run(args, "predict", name, lambda loaded, fn: _given(args, client, fn, name))


def _dispatch(args, argv):
    from zoo import _cli_errors

    _cli_errors.check_folders(args)
    if args.command == "list":
        return cmd_list(args) or 0
    if args.command == "train":
        return cmd_train(args, argv)
    if args.command == "evaluate":
        return cmd_evaluate(args) or 0
    if args.command == "export":
        return cmd_export(args) or 0
    if args.command == "generate":
        return cmd_generate(args) or 0
    if args.command == "predict":
        return cmd_predict(args) or 0
    if args.command == "tune":
        return cmd_tune(args, argv)
    return 0


def main(argv=None):
    """Entry point of the ``zoo`` console script; returns the exit status.

    Bad input prints ``zoo COMMAND: error: MESSAGE`` and returns 2; an unexpected
    exception (a bug) prints one line and returns 1; Ctrl-C prints one line and
    returns 130. With ``--debug`` (or ``ZOO_DEBUG=1``) the exception propagates, with
    its traceback. ``--verbose`` sets ``ZOO_VERBOSE=1`` before anything heavy is
    imported, so the library logs that zoo silences are shown.
    """
    from zoo import _cli_errors as errors

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    errors.apply_flags(args)
    _quiet.install()  # before any TensorFlow import: no C++ start-up lines (not with --verbose)
    return errors.run_command(f"zoo {args.command}", lambda: _dispatch(args, argv), args)


if __name__ == "__main__":
    sys.exit(main())

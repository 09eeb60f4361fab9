"""The ``zoo`` command.

::

    zoo list [models|recipes|datasets]
    zoo train RECIPE [--epochs N] [--set KEY=VALUE ...] [--data-dir DIR] [--run-dir DIR]
                     [--overwrite] [--mixed-precision] [--jit auto|on|off] [--backend B]
    zoo evaluate RUN_DIR
    zoo export RUN_DIR [--to saved_models/<recipe>/<version>]
    zoo generate SAVED_MODEL [--num N] [--max-length L] [--temperature T] [--top-k K]
    zoo predict SAVED_MODEL (--text TEXT ... | --inputs JSON)
    zoo tune RECIPE ...            (see ``zoo tune --help``)

Every command ends with a one-line summary; bad input exits with status 2
and a message naming what was received and what was expected. So do a busy
run or sweep folder (``zoo.training.lock.RunFolderBusy``: the message names
the process working in it) and a run-folder file that cannot be read
(``zoo.training.runs.CorruptRunFile``: the message names the file and the way
out); both are ``ValueError`` subclasses.

Recipes are found through the entry-point group ``zoo.recipes``
(:mod:`zoo.recipe`), so this project's recipes and any installed package's
are listed, trained and tuned alike. ``zoo --help``, ``zoo CMD --help`` and
``zoo list`` import neither TensorFlow nor Keras: heavy libraries are imported
inside the command that needs them, and ``zoo list`` reads the model and
dataset names from :data:`MODELS` and :data:`DATASETS` (tests keep them equal
to ``zoo.list_models()`` and ``zoo.data.list_datasets()``).
"""

import argparse
import json
import os
import sys

# TensorFlow's C++ start-up chatter is not for the command line's users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SAMPLING = {"max_length", "temperature", "top_k", "seed", "alpha"}

# The names `zoo list` shows without importing Keras or TensorFlow Datasets;
# tests/test_cli.py checks them against zoo.list_models() and zoo.data.list_datasets().
MODELS = ("encoder_decoder", "many_to_many", "many_to_one", "one_to_many", "one_to_one")
DATASETS = (
    "adding_problem", "bach_chorales", "cmudict", "copy_memory", "human_dates",
    "japanese_vowels", "sequential_digits", "sunspots", "text_folder",
    "conll2003", "imdb_reviews", "ted_hrlr_translate", "tiny_shakespeare",
)  # fmt: skip


def _add_list(sub):
    p = sub.add_parser("list", help="list models, recipes and datasets",
                       description="List the registered models, the recipes and the datasets.")
    p.add_argument("what", nargs="?", choices=["models", "recipes", "datasets", "all"],
                   default="all")


def _add_train(sub):
    from zoo import recipe

    p = sub.add_parser("train", help="train a recipe",
                       description="Train, evaluate and export a recipe. An existing run "
                                   "folder is resumed unless --overwrite.")
    p.add_argument("recipe", metavar="RECIPE", help="recipe name (see `zoo list recipes`)")
    recipe.add_train_arguments(p)
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="Keras backend (default: $KERAS_BACKEND, else the recipe's default)")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="evaluate a run folder's model on its test split",
                       description="Evaluate a run folder's model on its recipe's test split.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", help="TFDS data folder")


def _add_export(sub):
    p = sub.add_parser("export", help="export a run folder's model (SavedModel, LiteRT)",
                       description="Export a run folder's model as a verified SavedModel "
                                   "and/or a verified LiteRT model.tflite (docs/litert.md).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--to", help="target folder (default: saved_models/<recipe>/<next version>)")
    p.add_argument("--format", choices=["saved_model", "litert", "both"], default="saved_model",
                   help="saved_model (default); litert: <target>/model.tflite only; both: the "
                        "SavedModel with model.tflite beside its saved_model.pb")
    p.add_argument("--overwrite", action="store_true", help="replace an existing target")


def _add_serving(sub):
    g = sub.add_parser("generate", help="sample sequences from an exported generative model",
                       description="Sample from the `generate` (or `translate`) signature "
                                   "of an exported SavedModel.")
    g.add_argument("saved_model", metavar="SAVED_MODEL")
    g.add_argument("--num", type=int, default=1, help="sequences to sample (default 1)")
    g.add_argument("--max-length", type=int, default=32, help="steps to generate (default 32)")
    g.add_argument("--temperature", type=float, default=1.0, help="<= 0 for greedy (default 1)")
    g.add_argument("--top-k", type=int, default=0, help="sample among the k best (0 = all)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--inputs", help="JSON object: other inputs of the signature (condition...)")
    g.add_argument("--text", action="append", help="source text, encoded with the vocabulary")
    p = sub.add_parser("predict", help="run an exported model's `serve` signature",
                       description="Run the `serve` signature of an exported SavedModel.")
    p.add_argument("saved_model", metavar="SAVED_MODEL")
    p.add_argument("--inputs", help="JSON object: input name -> nested list")
    p.add_argument("--text", action="append", help="text to encode with the export's vocabulary")


def _add_tune(sub, argv):
    if argv[:1] == ["tune"]:
        from zoo.tuning import cli as tuning_cli  # light: keras-tuner is imported by the sweep

        p = sub.add_parser("tune", help="hyperparameter sweep of a recipe (keras-tuner)")
        tuning_cli.add_arguments(p)
    else:
        sub.add_parser("tune", help="hyperparameter sweep of a recipe (keras-tuner)",
                       add_help=False)


def build_parser(argv=()):
    parser = argparse.ArgumentParser(
        prog="zoo", description="rnn-zoo: train, evaluate, export and serve recurrent models.")
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


def cmd_train(args, argv):
    from zoo import recipe

    module = recipe.get_recipe(args.recipe)
    wanted = _wanted_backend(args, module)
    import keras

    if wanted != keras.backend.backend():
        # The backend is fixed when Keras is imported: start again on the right one.
        env = dict(os.environ, KERAS_BACKEND=wanted)
        os.execve(sys.executable, [sys.executable, "-m", "zoo.cli", *argv], env)
    summary = recipe.run_from_args(module, args)
    return 0 if summary["status"] != "stopped_nan" and "export_error" not in summary else 1


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


def _export_info(path):
    info_path = os.path.join(path, "zoo_export.json")
    if not os.path.isdir(path):
        raise ValueError(f"No SavedModel folder at {path!r}.")
    if not os.path.exists(info_path):
        return {}
    with open(info_path) as f:
        return json.load(f)


def _vocabulary(info):
    artifacts = (info.get("metadata") or {}).get("artifacts") or info.get("artifacts") or {}
    return artifacts.get("vocabulary") or {}


def _tokenizer(vocab, role):
    """The training tokenizer of `role` ("input" / "output"), rebuilt from the export's
    vocabulary artifact (None when the export has none)."""
    from zoo.data import text

    return text.from_artifact(vocab, role)


def _encode(texts, tokenizer):
    """Ids (n, steps), 0-padded, of `texts`: exactly what the training pipeline fed."""
    if tokenizer is None:
        raise ValueError("--text needs an export with an input vocabulary; use --inputs instead.")
    return tokenizer.encode_batch(texts).tolist()


def _decode(ids, tokenizer):
    return None if tokenizer is None else tokenizer.decode(ids)


def _signature_inputs(fn):
    return {name: spec for name, spec in fn.structured_input_signature[1].items()}


def _call_signature(fn, given, batch):
    import numpy as np
    import tensorflow as tf

    args = {}
    for name, spec in _signature_inputs(fn).items():
        if name in given:
            args[name] = tf.constant(np.asarray(given[name]), dtype=spec.dtype)
        elif spec.shape.rank is not None and all(d is not None for d in spec.shape[1:]):
            args[name] = tf.zeros([batch, *spec.shape[1:]], dtype=spec.dtype)
        else:
            raise ValueError(f"The signature needs input {name!r} "
                             f"(shape {spec.shape}, {spec.dtype.name}); pass it with --inputs.")
    return {k: v.numpy() for k, v in fn(**args).items()}


def cmd_generate(args):
    import tensorflow as tf

    info = _export_info(args.saved_model)
    vocab = _vocabulary(info)
    loaded = tf.saved_model.load(args.saved_model)
    name = "generate" if "generate" in loaded.signatures else "translate"
    if name not in loaded.signatures:
        raise ValueError(f"{args.saved_model} has no generate/translate signature. "
                         f"Received signatures: {sorted(loaded.signatures)}")
    given = json.loads(args.inputs) if args.inputs else {}
    if args.text:
        given["source"] = _encode(args.text, _tokenizer(vocab, "input"))
    batch = len(given["source"]) if "source" in given else args.num
    given.update(max_length=args.max_length, temperature=args.temperature, top_k=args.top_k,
                 seed=args.seed)
    out = _call_signature(loaded.signatures[name], given, batch)
    output = _tokenizer(vocab, "output")
    for row in out["tokens"].tolist():
        text = _decode(row, output)
        print(text if text is not None else " ".join(map(str, row)))
    print(f"[generate] {len(out['tokens'])} sequence(s) of up to {args.max_length} steps "
          f"from {args.saved_model} ({name})")


def cmd_predict(args):
    import numpy as np
    import tensorflow as tf

    info = _export_info(args.saved_model)
    vocab = _vocabulary(info)
    loaded = tf.saved_model.load(args.saved_model)
    fn = loaded.signatures["serve"]
    given = json.loads(args.inputs) if args.inputs else {}
    if args.text:
        names = list(_signature_inputs(fn))
        given[names[0]] = _encode(args.text, _tokenizer(vocab, "input"))
    if not given:
        raise ValueError("predict needs --inputs JSON or --text.")
    out = _call_signature(fn, given, len(next(iter(given.values()))))
    result = out["output_0"]
    classes = vocab.get("classes")
    for row in result:
        if classes and row.ndim == 1:
            print(f"{classes[int(np.argmax(row))]}  {np.round(row, 4).tolist()}")
        else:
            print(np.round(row, 4).tolist())
    print(f"[predict] {len(result)} example(s) through {args.saved_model} -> shape "
          f"{tuple(result.shape)}")


def main(argv=None):
    """Entry point of the ``zoo`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
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
            from zoo.tuning import cli as tuning_cli

            summary = tuning_cli.main(args)
            print(f"[tune] {args.recipe}: done")
            return 0 if summary is not None else 1
    except (ValueError, FileExistsError) as err:  # RunFolderBusy, CorruptRunFile included
        print(f"zoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

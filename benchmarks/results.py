"""Results that regenerate: train (or read) each embedded recipe's default run, then write
the results tables from those runs.

    python -m benchmarks.results                         # train what is missing, write both
    python -m benchmarks.results --read-only             # never train: read finished runs
    python -m benchmarks.results --read-only --check     # exit 1 if the README table is stale
    python -m benchmarks.results --recipes japanese_vowels,sunspots --tiny --runs-dir /tmp/r

For each recipe whose data needs no download (a recipe over the standard TFDS sets, one that
imports ``recipes._standard``, is listed as "needs data" unless a finished run folder of it
is found), the run folder ``<runs-dir>/<recipe>`` (``<recipe>-tiny`` with ``--tiny``) is
read when it holds a finished run of the recipe's default configuration; otherwise
``zoo train <recipe> --run-dir ...`` trains it in a fresh process (resuming an unfinished
run). From each run it takes ``metrics.json`` (test metrics, epochs, training and total
seconds, backend) and counts the weights of ``model.keras``. It writes the full tables to
``docs/results.md`` (``--output-md``) and a short table between ``<!-- results:begin -->``
and ``<!-- results:end -->`` in ``README.md`` (``--readme``). Every figure in both comes
from the runs. ``--check`` writes nothing (and never trains): it exits 1 when the README's
table differs from the one the runs give.

Example, a smoke run in seconds (the tables then say "tiny configs — not results")::

    python -m benchmarks.results --tiny --recipes sunspots --runs-dir /tmp/runs \\
        --output-md /tmp/results.md --readme /tmp/README.md
"""

import argparse
import dataclasses
import datetime
import difflib
import io
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import zipfile

from benchmarks._results_tables import full_tables, short_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
TINY_BANNER = ("**TINY CONFIGS — NOT RESULTS.** Generated with `--tiny` (seconds-long smoke "
               "configs).")

FINISHED = ("complete", "already_complete")
KINDS = ("embedded", "download", "own data")


class ResultsError(ValueError):
    """A user's mistake (unknown recipe, missing markers): printed as one line, exit 2."""


# --------------------------------------------------------------------------
# Recipes and their runs
# --------------------------------------------------------------------------

def data_kind(module):
    """``"embedded"``, ``"download"`` (standard TFDS sets) or ``"own data"`` (a ``data`` field)."""
    if hasattr(module, "_standard"):
        return "download"
    if "data" in {f.name for f in dataclasses.fields(module.Config)}:
        return "own data"
    return "embedded"


def default_config(module, tiny):
    """The recipe's default (or TINY) configuration as ``config.json`` stores it."""
    from zoo.recipe import make_config

    return json.loads(json.dumps(dataclasses.asdict(make_config(module, tiny=tiny))))


def run_folder(runs_dir, name, tiny):
    return os.path.join(runs_dir, f"{name}-tiny" if tiny else name)


def train_command(name, run_dir, runs_dir, tiny):
    """The ``zoo train`` command line that trains the default run into ``run_dir``."""
    command = ["zoo", "train", name, "--run-dir", run_dir, "--quiet"]
    if tiny:
        return command + ["--tiny", "--no-export"]
    return command + ["--export-dir", os.path.join(runs_dir, "exports", name)]


def train(name, run_dir, runs_dir, tiny):
    """Train one run in a fresh process; returns ``(returncode, output tail, seconds)``."""
    command = train_command(name, run_dir, runs_dir, tiny)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    print(f"[results] training: {shlex.join(command)}", flush=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "zoo.cli"] + command[1:], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
    return done.returncode, "\n".join(tail), seconds


def count_weights(model_path):
    """Numbers in the saved model's weights (optimizer state and seed states excluded)."""
    import h5py

    with zipfile.ZipFile(model_path) as archive:
        weights = io.BytesIO(archive.read("model.weights.h5"))
    total = 0

    def add(path, item):
        nonlocal total
        if isinstance(item, h5py.Dataset) and not path.startswith("optimizer/") \
                and "seed_generator" not in path:
            total += item.size

    with h5py.File(weights, "r") as handle:
        handle.visititems(add)
    return total


def read_run(run_dir, expected_config):
    """The finished run in ``run_dir`` as a row, or ``(None, why not)``."""
    metrics_path = os.path.join(run_dir, "metrics.json")
    if not os.path.isfile(metrics_path):
        return None, f"no finished run in {run_dir}"
    try:
        with open(metrics_path) as handle:
            metrics = json.load(handle)
        with open(os.path.join(run_dir, "config.json")) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as err:
        return None, f"the run in {run_dir} cannot be read ({type(err).__name__}: {err})"
    summary = metrics.get("summary") or {}
    if metrics.get("status") not in FINISHED:
        return None, f"the run in {run_dir} has not finished (status {metrics.get('status')})"
    if not summary:
        return None, (f"the run in {run_dir} has trained but has no summary yet (its "
                      "evaluation, report or export is running or was interrupted)")
    if expected_config is not None and config != expected_config:
        return None, f"the run in {run_dir} is not the default configuration"
    model = os.path.join(run_dir, "model.keras")
    return {
        "test": metrics.get("test") or summary.get("test") or {},
        "epochs": summary.get("epochs", metrics.get("epochs_done")),
        "max_epochs": config.get("epochs"),
        "train_seconds": summary.get("train_seconds"),
        "total_seconds": summary.get("total_seconds"),
        "backend": summary.get("backend", metrics.get("backend")),
        "export": summary.get("export"),
        "export_error": summary.get("export_error"),
        "weights": count_weights(model) if os.path.isfile(model) else None,
        "report": metrics.get("report") or {},
        "run_dir": run_dir,
    }, ""


def collect(names, *, runs_dir, tiny, read_only):
    """One row per recipe: its run's figures, or why there are none."""
    from zoo import recipe as zoo_recipe

    rows = []
    for name in names:
        module = zoo_recipe.get_recipe(name)
        kind = data_kind(module)
        run_dir = run_folder(runs_dir, name, tiny)
        expected = default_config(module, tiny) if kind != "own data" else None
        row, why = read_run(run_dir, expected)
        trained = None
        if row is None and kind == "embedded" and not read_only:
            code, tail, seconds = train(name, run_dir, runs_dir, tiny)
            trained = round(seconds, 1)
            row, why = read_run(run_dir, expected)
            if code != 0 and row is None:
                why = f"training failed (exit {code}): {tail.splitlines()[-1] if tail else ''}"
        if row is None:
            if kind == "download":
                why = "needs data (TFDS download), not run"
            elif kind == "own data":
                why = "trains on your own data (--data), not run"
            elif read_only:
                why = f"not measured in this run ({why})"
        base = {"recipe": name, "kind": kind, "doc": _first_line(module), "why": why,
                "command": shlex.join(train_command(name, run_dir, runs_dir, tiny)),
                "process_seconds": trained,
                "reference_source": (getattr(module, "REFERENCE", None) or {}).get("source")}
        rows.append({**base, **(row or {})})
    return sorted(rows, key=lambda r: KINDS.index(r["kind"]))  # embedded first


def _first_line(module):
    return ((module.__doc__ or "").strip().splitlines() or [""])[0]


# --------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------

def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit(outputs=()):
    """``git rev-parse --short HEAD``, ``+dirty`` when files other than ``outputs`` changed."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    excluded = [f":!{os.path.relpath(os.path.abspath(p), ROOT)}" for p in outputs
                if os.path.abspath(p).startswith(ROOT + os.sep)]
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", *excluded)
    return head + ("+dirty" if status else "")


def machine():
    """CPU count and model, GPU (``nvidia-smi -L``) and library versions, in one line."""
    from importlib import metadata

    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle
                          if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                              timeout=30).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        gpus = []
    versions = []
    for package in ("tensorflow", "keras"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    cpu = f"{os.cpu_count()} CPUs" + (f" ({model})" if model else "")
    gpu = "; ".join(gpus) if gpus else "no GPU"
    return f"{cpu}, {gpu}, Python {platform.python_version()}, " + ", ".join(versions)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def readme_block(rows, meta):
    lines = []
    if meta["tiny"]:
        lines += [TINY_BANNER, ""]
    lines += ["Default configurations (`zoo train RECIPE`), generated by `python -m "
              f"benchmarks.results` from the run folders at commit {meta['commit']} on "
              f"{meta['date']} ({meta['machine_short']}); every figure below comes from the runs' "
              "`metrics.json`. The exact command, every metric, the adding-problem cell "
              "comparison and the backend/XLA measurement: [docs/results.md](docs/results.md)."
              + (f" {meta['note']}" if meta["note"] else ""), ""]
    return [BEGIN] + lines + short_table(rows) + [END]


def results_md(rows, meta):
    """docs/results.md's generated section (between the markers), as lines."""
    lines = [BEGIN, ""] + ([TINY_BANNER, ""] if meta["tiny"] else [])
    lines += [
        "Every recipe with embedded data, trained with its default configuration "
        "(`zoo train RECIPE`) or read from its finished run folder, and written by one "
        "command (this section is generated: do not edit it by hand):", "",
        "```bash", meta["command"], "```", "",
        f"- commit: {meta['commit']}", f"- date: {meta['date']}",
        f"- machine: {meta['machine']}", f"- run folders: `{meta['runs_dir']}`"]
    if meta["note"]:
        lines.append(f"- note: {meta['note']}")
    lines += [
        "",
        "\"Training\" is the time inside `model.fit` summed over the run; \"total\" adds data "
        "preparation, evaluation, the report (samples, figures, comparisons) and the export "
        "with its verification; both come from each run's `metrics.json`. Reference figures "
        "are those the recipe reports beside its metrics (baselines, published figures). "
        "The recipes over standard TFDS sets need their data from the internet and are "
        "listed without figures unless a finished run folder of theirs is found.", "",
        "## Summary", ""]
    return lines + short_table(rows) + ["", "## Per recipe", ""] + full_tables(rows) + [END]


def write_md(path, block):
    """Replace the generated section of ``path`` (a new file holds only a title and it)."""
    text = "# Results\n\n" + BEGIN + "\n" + END + "\n"
    if os.path.isfile(path):
        with open(path) as handle:
            text = handle.read()
    new = replace_block(text, block, path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(new)


def replace_block(text, block, path):
    """``text`` with the lines between the results markers replaced by ``block``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ResultsError(f"{path} has no results markers: expected a line {BEGIN} and, "
                           f"after it, a line {END} around the results table.")
    return text[:start] + "\n".join(block) + text[end + len(END):]


def table_lines(text):
    """The table lines (``|`` ...) between the markers of a README text."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return [line for line in text[start:end].splitlines() if line.startswith("|")]


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.results",
        description="Train or read each embedded recipe's default run and write the results "
                    "tables (docs/results.md and the README's) from those runs.")
    parser.add_argument("--recipes", help="comma-separated recipe names (default: every "
                        "registered recipe)")
    parser.add_argument("--read-only", action="store_true",
                        help="never train: read finished run folders only")
    parser.add_argument("--runs-dir", default="runs",
                        help="where the run folders are (default: runs)")
    parser.add_argument("--tiny", action="store_true",
                        help="the TINY configs, in <recipe>-tiny folders (for tests: not "
                             "results)")
    parser.add_argument("--output-md", default=os.path.join("docs", "results.md"),
                        help="the full results file (default: docs/results.md)")
    parser.add_argument("--readme", default="README.md",
                        help="the README whose results table is replaced (default: README.md)")
    parser.add_argument("--note", default="",
                        help="a sentence about the runs (e.g. a shared machine) for both tables")
    parser.add_argument("--check", action="store_true",
                        help="write nothing, never train: exit 1 if the README table differs "
                             "from the runs")
    return parser, parser.parse_args(argv)


def recipe_names(option):
    from zoo import recipe as zoo_recipe

    known = zoo_recipe.list_recipes()
    if not option:
        return known
    names = [n.strip() for n in option.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ResultsError(f"--recipes: unknown recipe(s) {', '.join(unknown) or '(none given)'}"
                           f". Expected names from: {', '.join(known)}.")
    return names


def main(argv=None):
    parser, args = parse_args(argv)
    try:
        return _main(args, argv)
    except ResultsError as err:
        parser.exit(2, f"error: {err}\n")


def _main(args, argv):
    if not os.path.isfile(args.readme):
        raise ResultsError(f"--readme: no such file {args.readme!r}.")
    with open(args.readme) as handle:
        readme = handle.read()
    if table_lines(readme) is None:
        replace_block(readme, [], args.readme)  # raises with the expected markers
    names = recipe_names(args.recipes)
    rows = collect(names, runs_dir=args.runs_dir, tiny=args.tiny,
                   read_only=args.read_only or args.check)
    argv = sys.argv[1:] if argv is None else list(argv)
    meta = {"tiny": args.tiny, "runs_dir": args.runs_dir, "note": args.note,
            "command": shlex.join(["python", "-m", "benchmarks.results", *argv]),
            "commit": commit([args.output_md, args.readme]),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine()}
    meta["machine_short"] = meta["machine"].split(", Python")[0]
    block = readme_block(rows, meta)
    if args.check:
        wanted = table_lines("\n".join(block))
        found = table_lines(readme)
        if found != wanted:
            diff = difflib.unified_diff(found, wanted, f"{args.readme} (now)",
                                        "from the runs", lineterm="")
            print(f"{args.readme}: the results table is stale:\n" + "\n".join(diff))
            return 1
        print(f"{args.readme}: the results table matches the runs in {args.runs_dir}.")
        return 0
    write_md(args.output_md, results_md(rows, meta))
    with open(args.readme, "w") as handle:
        handle.write(replace_block(readme, block, args.readme))
    print("\n".join(short_table(rows)))
    print(f"[results] wrote {args.output_md} and the table in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

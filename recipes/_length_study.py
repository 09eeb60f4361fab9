"""The sequence-length study shared by the long-range-memory recipes (adding_problem,
copy_memory): every cell, with its default and (for a gated cell) its chrono
initialisation, trained at every sequence length for the same number of parameter
updates, then scored on the test split.

Every run of a study has the same units, the same number of updates (batches),
Adam with the config's ``clipnorm`` at ``study_learning_rate`` and the same seed;
IndRNN gets ``cell_options={"max_length": T, "activation": "relu"}`` (its paper's
recurrent-weight bound for T steps), a chrono run ``chrono_init=T``.

A recipe describes its task with a :class:`Task` and calls :func:`check` from its
``load_data`` (so a bad cell name or a length without data is refused before any
training) and :func:`run` from its ``report``. ``run`` writes into the run folder
``<score>_by_length.png`` (the score against T, one line per cell and init, the
trivial baseline as a dotted horizontal line), ``gradient_flow.png`` (the mean
||dL/da<t>|| over t of every run at the longest T) and ``study.md`` (one row per
cell and init, one column per T), and returns the table for ``metrics.json``.
"""

import dataclasses
import os
import time

# The names every study may ask for: the factories' own (read without importing Keras).
from zoo._cell_names import CELLS, GATED_CELLS

INITS = ("default", "chrono")


@dataclasses.dataclass(frozen=True)
class Task:
    """What the study needs to know of one recipe's task.

    Attributes:
        name: the task's name in titles ("Adding problem").
        lengths: the sequence lengths its builder has data for.
        score: the score's key in the table ("test_mse", "recall_accuracy").
        score_label: the score in words, for the figure and study.md.
        baseline: the trivial (memoryless) score.
        perfect: the best possible score (0 for an error, 1 for an accuracy).
        load: ``load(config, length, train_examples) -> Data``.
        build: ``build(config, data) -> compiled model``.
        score_fn: ``score_fn(model, data) -> float`` on the test split.
        probe: ``probe(data) -> (x, y)``: one test batch for the gradient flow.
        loss: the loss the gradient flow differentiates (None: the compiled one).
        log_score: draw the score on a logarithmic axis.
        check_cells: construct every run's cell before the first run trains
            (:func:`check_cells`).
        horizon: ``horizon(length) -> steps``, the longest dependency of a sequence
            of that study length, which ``chrono_init`` and IndRNN's bound are set to
            (None: the length itself; copy memory: T + 20, its whole sequence).
    """

    name: str
    lengths: tuple
    score: str
    score_label: str
    baseline: float
    perfect: float
    load: object
    build: object
    score_fn: object
    probe: object
    loss: object = None
    log_score: bool = False
    check_cells: bool = True
    horizon: object = None

    def span(self, length):
        """The longest dependency, in steps, of the task at study length `length`."""
        return length if self.horizon is None else self.horizon(length)

    def learned(self, value):
        """Better than halfway from the trivial baseline to a perfect score (an MSE under
        half the baseline's; a recall accuracy above (1/8 + 1) / 2)."""
        return bool(abs(value - self.perfect) < 0.5 * abs(self.baseline - self.perfect))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check(config, task):
    """Refuse a study the task cannot run, before any training.

    Raises:
        ValueError: a cell that is not one of :data:`CELLS`, a length the
            task's builder has no data for, ``study_updates``/``study_units``/
            ``study_train_examples`` < 1, or ``study_learning_rate`` <= 0; the
            message names what was received and what is allowed.
    """
    cells, lengths = tuple(config.cells), tuple(config.lengths)
    bad = [c for c in cells if c not in CELLS]
    if bad:
        raise ValueError(f"--set cells: unknown cell(s) {bad}. Allowed: {', '.join(CELLS)}. "
                         f"Received: cells={','.join(map(str, cells))}")
    bad = [n for n in lengths if not _is_int(n) or n not in task.lengths]
    if bad:
        raise ValueError(
            f"--set lengths: the {task.name.lower()} has no data for length(s) {bad}. "
            f"Allowed: {', '.join(map(str, task.lengths))}. "
            f"Received: lengths={','.join(map(str, lengths))}")
    for key in ("study_updates", "study_units", "study_train_examples"):
        value = getattr(config, key)
        if not _is_int(value) or value < 1:
            raise ValueError(f"--set {key}: expected an integer >= 1. Received: {key}={value!r}")
    lr = config.study_learning_rate
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError("--set study_learning_rate: expected a number > 0. "
                         f"Received: study_learning_rate={lr!r}")
    return config


def check_cells(config, length):
    """Construct the cell of every run once (no weights), so that a cell this installation
    lacks, or a chrono initialisation its layer does not take, is refused before the study
    trains anything, naming the run.

    Raises:
        ValueError: ``the study's run <cell> (<init>) cannot be built: <why>``.
    """
    from zoo.models import blocks

    for cell, init in runs(config):
        args = model_arguments(config, cell, init, length)
        try:
            blocks.make_cell(cell, 2, chrono_init=args.get("chrono_init"),
                             cell_options=args.get("cell_options"))
        except (AttributeError, TypeError, ValueError) as err:
            raise ValueError(f"The study's run {cell} ({init}) cannot be built: {err} "
                             "Leave it out with --set cells=... or --set chrono=false.") from None


def runs(config):
    """(cell, init) of every run at one length, in order: each cell with its default
    init, then with chrono init when ``config.chrono`` and the cell is gated."""
    pairs = []
    for cell in dict.fromkeys(config.cells):  # a cell asked for twice runs once
        pairs.append((cell, "default"))
        if config.chrono and cell in GATED_CELLS:
            pairs.append((cell, "chrono"))
    return pairs


def model_arguments(config, cell, init, length):
    """``config.model`` for one run: the cell, ``study_units``, chrono_init=T for a
    chrono run, IndRNN's bound for T steps."""
    model = {**config.model, "cell": cell, "units": config.study_units}
    model.pop("chrono_init", None)
    model.pop("cell_options", None)
    if init == "chrono":
        model["chrono_init"] = length
    if cell == "indrnn":
        model["cell_options"] = {"max_length": length, "activation": "relu"}
    return model


def label(cell, init):
    return cell if init == "default" else f"{cell}+chrono"


def _fit(task, config, cell, init, length, data):
    import keras

    from zoo.data import pipelines

    keras.utils.set_random_seed(config.seed)
    # Every run sees the same batches in the same order: the shuffled pipeline's order
    # depends on (seed, epoch), and each earlier pass moved the epoch on.
    pipelines.set_epoch(0)
    cfg = dataclasses.replace(config, learning_rate=config.study_learning_rate,
                              model=model_arguments(config, cell, init, task.span(length)))
    model = task.build(cfg, data)
    start = time.perf_counter()
    # The same number of updates for every run, whatever the split's size; the
    # pipeline shuffles, so fit's own shuffle stays off.
    model.fit(data.train.repeat(), epochs=1, steps_per_epoch=config.study_updates, verbose=0,
              shuffle=False)
    seconds = time.perf_counter() - start
    return model, seconds


def run(config, task, run_dir):
    """Train and score every (cell, init, length) of the study; write its figures and
    study.md into ``run_dir``. Returns the dict the recipe's report records."""
    from zoo import diagnostics

    check(config, task)
    table, flows = [], {}
    lengths = tuple(dict.fromkeys(config.lengths))
    longest = max(lengths)
    if task.check_cells:
        check_cells(config, task.span(longest))
    for length in lengths:
        data = task.load(config, length, config.study_train_examples)
        probe_x, probe_y = task.probe(data)
        for cell, init in runs(config):
            model, seconds = _fit(task, config, cell, init, length, data)
            score = float(task.score_fn(model, data))
            row = {"cell": cell, "init": init, "length": length, task.score: score,
                   "learned": task.learned(score), "seconds": round(seconds, 2)}
            table.append(row)
            verdict = "learned" if row["learned"] else "not learned"
            print(f"  {label(cell, init):>14} length {length:>4}: "
                  f"test {task.score_label} {score:.4f} ({verdict}; baseline "
                  f"{task.baseline:.3f}; {seconds:.0f} s)", flush=True)
            if length == longest:
                flow = diagnostics.gradient_flow(model, probe_x, probe_y, loss=task.loss)
                flows[label(cell, init)] = flow[-1]
    flow_png = os.path.join(run_dir, "gradient_flow.png")
    diagnostics.plot_gradient_flow(
        flows, flow_png, styles=run_styles(flows),
        title=f"{task.name}, {longest} steps: mean ||dL/da<t>|| after training")
    score_png = os.path.join(run_dir, f"{task.score.split('_')[-1]}_by_length.png")
    plot_scores(table, task, score_png)
    md = os.path.join(run_dir, "study.md")
    with open(md, "w") as f:
        f.write(markdown(table, task, config))
    ratios = {name: float(f[0] / f[-1]) for name, f in flows.items()}
    for name, ratio in ratios.items():
        print(f"  {name:>14}: ||dL/da<1>|| / ||dL/da<T>|| = {ratio:.2e}")
    return {"study": table, "gradient_ratio_first_to_last": ratios,
            "gradient_flow_png": flow_png, f"{task.score.split('_')[-1]}_by_length_png": score_png,
            "study_md": md}


def run_styles(names):
    """Line styles for run labels (``cell`` or ``cell+chrono``): one colour per cell, in
    the order of :data:`CELLS`, solid for Keras's initialisation, dashed for chrono."""
    palette = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
    cells = [c for c in CELLS if any(n.split("+")[0] == c for n in names)]
    cells += sorted({n.split("+")[0] for n in names} - set(cells))
    colour = {c: palette[i % len(palette)] for i, c in enumerate(cells)}
    return {n: {"color": colour[n.split("+")[0]],
                "linestyle": "--" if n.endswith("+chrono") else "-"} for n in names}


def plot_scores(table, task, path):
    """The score against T (log x), one line per cell and init, the baseline dotted."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (matplotlib.ticker below)

    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    by_run = _by_run(table)
    styles = run_styles(by_run)
    for name, rows in by_run.items():
        ax.plot([r["length"] for r in rows], [r[task.score] for r in rows], marker="o",
                label=name, **styles[name])
    ax.axhline(task.baseline, color="black", linestyle=":", label=f"baseline {task.baseline:.3f}")
    ax.set_xscale("log")
    if task.log_score:
        ax.set_yscale("log")
    lengths = sorted({r["length"] for r in table})
    ax.set_xticks(lengths)
    ax.set_xticklabels([str(n) for n in lengths])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(f"test {task.score_label}")
    ax.set_title(f"{task.name}: test {task.score_label} after the same number of updates")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _by_run(table):
    runs_ = {}
    for row in table:
        runs_.setdefault(label(row["cell"], row["init"]), []).append(row)
    return runs_


def markdown(table, task, config):
    """study.md: one row per cell and init, one column per T (the score, * = learned)."""
    lengths = sorted({r["length"] for r in table})
    lines = [f"{task.name}: test {task.score_label} after {config.study_updates} updates "
             f"(batch {config.batch_size}, {config.study_units} units, Adam "
             f"{config.study_learning_rate:g}, clipnorm {config.clipnorm:g}, seed {config.seed}); "
             f"trivial baseline {task.baseline:.3f}; * = learned.", "",
             "| cell | init | " + " | ".join(f"T={n}" for n in lengths) + " |",
             "|---|---|" + "---:|" * len(lengths)]
    for name, rows in _by_run(table).items():
        by_length = {r["length"]: r for r in rows}
        cells = []
        for n in lengths:
            r = by_length.get(n)
            cells.append("—" if r is None else
                         f"{r[task.score]:.4f}{' *' if r['learned'] else ''}")
        lines.append(f"| {rows[0]['cell']} | {rows[0]['init']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def make_report(task_for):
    """A recipe's ``report(model, data, config, run_dir)``: the study of the task
    ``task_for(data_dir)`` (nothing when ``cells`` or ``lengths`` is empty)."""

    def report(model, data, config, run_dir):
        """The length study: every cell (and init) at every length; table, figures,
        study.md."""
        if not config.cells or not config.lengths:
            return {}
        return run(config, task_for(data.extras["data_dir"]), run_dir)

    return report


def splits(config, split, length, train_examples, data_dir, model_kwargs):
    """The ``Data`` of a study task at `length`: ``split(config, length, name, n,
    data_dir)`` for train (`train_examples` of them), validation and test (all of
    them from 1000 training examples on, else half as many, at least a batch)."""
    from zoo.recipe import Data

    evals = None if train_examples >= 1000 else max(train_examples // 2, config.batch_size)
    return Data(
        train=split(config, length, "train", train_examples, data_dir),
        validation=split(config, length, "validation", evals, data_dir),
        test=split(config, length, "test", evals, data_dir),
        model_kwargs=model_kwargs,
        extras={"length": length, "data_dir": data_dir},
    )

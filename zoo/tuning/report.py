"""The summary of a sweep: a printed table, CSV, JSON and a plot of objective per trial."""

import csv
import math
import os

from zoo.training.runs import write_json
from zoo.tuning.tuners import EPOCHS_METRIC, SECONDS_METRIC

SUMMARY_FILES = {"csv": "summary.csv", "json": "summary.json", "plot": "objective.png"}


def _metric(trial, name):
    if not trial.metrics.exists(name):
        return None
    value = trial.metrics.get_last_value(name)
    return None if value is None else float(value)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def trial_rows(oracle, executions_per_trial=1):
    """One dict per trial, in trial-id order.

    Keys: ``trial_id``, ``status``, each hyperparameter, ``objective`` (the
    trial's score), ``best_epoch``, ``epochs`` (epochs trained per execution,
    fewer than asked when early stopping ended it) and ``seconds`` (the
    trial's wall time over all its executions).
    """
    rows = []
    for trial_id in sorted(oracle.trials, key=lambda t: (int(t) if t.isdigit() else -1, t)):
        trial = oracle.trials[trial_id]
        seconds = _metric(trial, SECONDS_METRIC)
        epochs = _metric(trial, EPOCHS_METRIC)
        row = {"trial_id": trial_id, "status": trial.status}
        row.update(trial.hyperparameters.values)
        row["objective"] = _number(trial.score)
        row["best_epoch"] = trial.best_step if trial.score is not None else None
        row["epochs"] = None if epochs is None else round(epochs, 2)
        row["seconds"] = None if seconds is None else round(seconds * executions_per_trial, 2)
        rows.append(row)
    return rows


def _columns(rows, order=()):
    fixed_head, fixed_tail = ["trial_id", "status"], [
        "objective",
        "best_epoch",
        "epochs",
        "seconds",
    ]
    names = []
    for row in rows:
        for key in row:
            if key not in fixed_head + fixed_tail and key not in names:
                names.append(key)
    # The search space in its own order, keras-tuner's bookkeeping ("tuner/...") last.
    order = list(order)
    names.sort(key=lambda n: (n.startswith("tuner/"), order.index(n) if n in order else len(order)))
    return fixed_head + names + fixed_tail


def _format(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows, order=()):
    """The rows as a fixed-width text table (hyperparameter columns in `order`)."""
    if not rows:
        return "(no trials)"
    columns = _columns(rows, order)
    cells = [[_format(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def best_row(rows, direction):
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] is not None]
    if not done:
        return None
    pick = max if direction == "max" else min
    return pick(done, key=lambda r: r["objective"])


def plot_objective(rows, path, *, objective, direction):
    """Draw the objective of every completed trial and the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    xs, ys, best, best_so_far = [], [], [], None
    for i, row in enumerate(rows):
        if row["status"] != "COMPLETED" or row["objective"] is None:
            continue
        value = row["objective"]
        better = best_so_far is None or (
            value > best_so_far if direction == "max" else value < best_so_far
        )
        best_so_far = value if better else best_so_far
        xs.append(i)
        ys.append(value)
        best.append(best_so_far)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, ys, "o", label=f"{objective} per trial")
    ax.step(xs, best, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["trial_id"] for r in rows], rotation=90 if len(rows) > 20 else 0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_summary(oracle, directory, *, meta, executions_per_trial=1, printer=print):
    """Print the trial table and write ``summary.csv``, ``summary.json`` and ``objective.png``.

    Args:
        oracle: the sweep's oracle (with all trials loaded).
        directory: the project folder to write into.
        meta: dict of facts about the sweep for the JSON (recipe, tuner, ...);
            must hold ``objective`` as ``{"name": ..., "direction": ...}``.
        executions_per_trial: to turn the per-execution time into trial time.
        printer: where the table goes (``None``: nowhere).

    Returns:
        The summary dict that was written as JSON.
    """
    rows = trial_rows(oracle, executions_per_trial)
    objective = meta["objective"]
    best = best_row(rows, objective["direction"])
    paths = {k: os.path.join(directory, v) for k, v in SUMMARY_FILES.items()}
    order = list(meta.get("search_space") or ())
    columns = _columns(rows, order) if rows else ["trial_id", "status"]
    tmp = paths["csv"] + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c) for c in columns})
    os.replace(tmp, paths["csv"])
    summary = dict(meta)
    summary.update(
        {
            "num_trials": len(rows),
            "completed": sum(r["status"] == "COMPLETED" for r in rows),
            "best": best,
            "trials": rows,
            "files": paths,
        }
    )
    write_json(paths["json"], summary)
    plot_objective(
        rows, paths["plot"], objective=objective["name"], direction=objective["direction"]
    )
    if printer is not None:
        printer(format_table(rows, order))
        if best is not None:
            printer(f"best: trial {best['trial_id']} {objective['name']}={best['objective']:.4g}")
        printer(f"summary: {paths['csv']}, {paths['json']}, {paths['plot']}")
    return summary

"""The results tables of :mod:`benchmarks.results`: a run's figures as Markdown.

Rows are dicts that :func:`benchmarks.results.collect` builds: ``recipe``, ``why`` (set
when there is no run) and, from a finished run, ``test`` (metrics.json's test metrics),
``epochs``, ``max_epochs``, ``train_seconds``, ``total_seconds``, ``weights``,
``backend``, ``export``, ``report``. Example::

    >>> fmt("accuracy", 0.9649)
    '96.49 %'
    >>> short_table([{"recipe": "ner", "why": "needs data"}])[-1]
    '| ner | needs data | — | — | — |'
"""

import os

# What the short README table shows per recipe (the full table in docs/results.md shows
# every metric): test-metric keys, in order, those the run has. A recipe not listed, or
# whose run has none of them, shows all its metrics.
HEADLINE = {
    "adding_problem": ("mse",),
    "copy_memory": ("recall_accuracy",),
    "chorale_generation": ("token_accuracy", "loss_per_sequence"),
    "chorale_harmonization": ("token_accuracy", "alto_accuracy", "tenor_accuracy", "bass_accuracy"),
    "dates": ("exact_match",),
    "g2p": ("per", "wer", "token_error_rate", "sequence_error_rate"),
    "ner": ("entity_f1", "entity_precision", "entity_recall"),
    "translation": ("bleu", "chrf"),
    "text_to_text": ("bleu", "chrf"),
    "japanese_vowels": ("accuracy",),
    "sequential_digits": ("accuracy",),
    "sunspots": ("mae",),
}
# A test metric whose key starts so is a reference figure (a baseline or a published one).
REFERENCE_PREFIXES = ("reference_", "baseline_", "persistence_", "most_common_")
# Keys ending so are shown as percentages (a fraction in [0, 1] in metrics.json).
PERCENT_WORDS = ("accuracy", "exact_match", "per", "wer", "f1", "precision", "recall",
                 "error_rate")


def label(key):
    return key.replace("_", " ")


def is_reference(key):
    return key.startswith(REFERENCE_PREFIXES)


def fmt(key, value):
    """A metric as the tables show it: rates as percentages, other floats to 4 figures."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and 0.0 <= value <= 1.0 and key.endswith(PERCENT_WORDS):
        return f"{100 * value:.2f} %"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def _metrics(row, keys=None):
    test = row.get("test", {})
    keys = [k for k in keys or () if k in test] or [k for k in test if not is_reference(k)]
    return ", ".join(f"{label(k)} {fmt(k, test[k])}" for k in keys if k in test)


def _references(row):
    test = row.get("test", {})
    text = ", ".join(f"{label(k)} {fmt(k, v)}" for k, v in test.items() if is_reference(k))
    if text and row.get("reference_source"):
        text += f" ({row['reference_source']})"
    return text or "—"


def _epochs(row):
    epochs, limit = row.get("epochs"), row.get("max_epochs")
    if epochs is None:
        return "—"
    return f"{epochs} (early stop)" if limit and epochs < limit else str(epochs)


def _seconds(row, digits=0):
    """``training s / total s`` (— where the run did not record one)."""
    return " / ".join("—" if row.get(k) is None else f"{row[k]:.{digits}f} s"
                      for k in ("train_seconds", "total_seconds"))


def short_table(rows):
    """The README table: one line per recipe, headline metrics only."""
    lines = ["| Recipe | Metric (test split) | Reference | Epochs | Training / total |",
             "|---|---|---|---|---|"]
    for row in rows:
        if "test" not in row:
            lines.append(f"| {row['recipe']} | {row['why']} | — | — | — |")
            continue
        headline = HEADLINE.get(row["recipe"])
        lines.append(f"| {row['recipe']} | {_metrics(row, headline)} | {_references(row)} | "
                     f"{_epochs(row)} | {_seconds(row)} |")
    return lines


def full_tables(rows):
    """docs/results.md's per-recipe section: every metric and the run's facts."""
    lines = []
    for row in rows:
        lines += [f"### {row['recipe']}", "", row["doc"], ""]
        if "test" not in row:
            lines += [row["why"][:1].upper() + row["why"][1:] + ".", ""]
            continue
        lines += ["| | |", "|---|---|"]
        lines += [f"| {label(k)} | {fmt(k, v)} |" for k, v in row["test"].items()
                  if not is_reference(k)]
        lines += [f"| reference: {label(k)} | {fmt(k, v)} |" for k, v in row["test"].items()
                  if is_reference(k)]
        if row.get("reference_source"):
            lines.append(f"| reference source | {row['reference_source']} |")
        lines += [
            f"| epochs | {_epochs(row)} of at most {row.get('max_epochs')} |",
            f"| training (inside `fit`) / total (data, training, evaluation, report, export) | "
            f"{_seconds(row, 1)} |",
        ]
        if row.get("process_seconds") is not None:
            lines.append(f"| process wall time (trained by this command) | "
                         f"{row['process_seconds']:.1f} s |")
        lines += [f"| weights (parameters in model.keras) | {fmt('weights', row['weights'])} |"
                  if row.get("weights") is not None else "| weights | — |",
                  f"| backend | {row['backend']} |",
                  f"| export | {_export(row)} |",
                  f"| trained by | `{row['command']}` |", ""]
        lines += report_lines(row.get("report") or {})
    return lines


def report_lines(report):
    """A run's ``report`` section (tables of dicts, named figures, files) as Markdown."""
    lines = []
    for key, value in report.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(value[0])
            lines += [f"Report, {label(key)}:", "", "| " + " | ".join(map(label, columns)) + " |",
                      "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(_cell(c, v.get(c)) for c in columns) + " |"
                      for v in value]
        elif isinstance(value, dict):
            lines.append(f"Report, {label(key)}: " + ", ".join(
                f"{label(k)} {_cell(k, v)}" for k, v in value.items()) + ".")
        elif isinstance(value, list):
            lines.append(f"Report, {label(key)}: " + ", ".join(_cell(key, v) for v in value)
                         + ".")
        else:
            lines.append(f"Report, {label(key)}: {_cell(key, value)}.")
        lines.append("")
    return lines


def _cell(key, value):
    if isinstance(value, float) and not 1e-3 <= abs(value) < 1e5 and value != 0.0:
        return f"{value:.2e}"
    if isinstance(value, str):
        return f"`{value}`" if os.sep in value else value.replace("|", "\\|")
    return fmt(key, value)


def _export(row):
    if row.get("export_error"):
        return f"FAILED: {row['export_error']}"
    return f"`{row['export']}`" if row.get("export") else "none"

"""Metric conventions shared by training, tuning and reports.

:func:`direction` is the one rule that says whether a larger value of a
metric is better; early stopping, the best checkpoint, the tuner's objective
and every report use it.
"""

# Substrings of metric names whose larger values are better.
MAXIMISED = ("acc", "auc", "precision", "recall", "match", "f1", "bleu")


def direction(monitor, mode="auto"):
    """``"min"`` or ``"max"``: whether a larger value of ``monitor`` is better.

    ``mode`` ``"min"``/``"max"`` is returned as is; ``"auto"`` reads the
    name: accuracies, AUC, precision, recall, exact matches, F1 and BLEU go
    up; losses and error rates (MSE, MAE, PER, WER) go down.
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    name = str(monitor).lower()
    return "max" if any(word in name for word in MAXIMISED) else "min"

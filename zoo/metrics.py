"""Metric conventions shared by training, tuning and reports.

:func:`direction` is the one rule that says whether a larger value of a
metric is better; early stopping, the best checkpoint, the tuner's objective
and every report use it.
"""

import re

# Words of metric names: a word starting with one of MINIMISED means smaller is
# better (checked first: "accumulated_loss"); else one starting with one of
# MAXIMISED means larger is better ("val_accuracy", "sequence_exact_match").
MINIMISED = ("loss", "error", "mse", "mae", "rmse", "per", "wer", "cer", "perplexity")
MAXIMISED = ("acc", "auc", "precision", "recall", "match", "f1", "bleu", "chrf")


def direction(monitor, mode="auto"):
    """``"min"`` or ``"max"``: whether a larger value of ``monitor`` is better.

    ``mode`` ``"min"``/``"max"`` is returned as is; ``"auto"`` reads the
    words of the name: losses and error rates (MSE, MAE, PER, WER) go down;
    accuracies, AUC, precision, recall, exact matches, F1, BLEU and chrF go up;
    anything else goes down. Whole words count, so ``mismatch_rate`` and
    ``accumulated_loss`` go down.
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    words = [w for w in re.split(r"[^a-z0-9]+", str(monitor).lower()) if w]
    if any(w.startswith(MINIMISED) for w in words):
        return "min"
    return "max" if any(w.startswith(MAXIMISED) for w in words) else "min"

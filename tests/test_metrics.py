"""zoo.metrics.direction: the one rule for whether a metric is maximised."""

import pytest

from zoo import metrics

MAX = ["accuracy", "val_accuracy", "val_token_accuracy", "sequence_exact_match", "val_auc",
       "f1", "val_f1", "bleu", "precision", "recall", "exact_match"]
MIN = ["loss", "val_loss", "mse", "val_mae", "per", "wer", "mismatch_rate", "accumulated_loss",
       "val_accuracy_loss", "perplexity", "seconds"]


@pytest.mark.jax
@pytest.mark.parametrize("name", MAX)
def test_larger_is_better(name):
    assert metrics.direction(name) == "max"


@pytest.mark.jax
@pytest.mark.parametrize("name", MIN)
def test_smaller_is_better(name):
    assert metrics.direction(name) == "min"


@pytest.mark.jax
def test_explicit_mode_and_bad_mode():
    assert metrics.direction("val_accuracy", "min") == "min"
    message = "mode must be 'auto', 'min' or 'max'. Received: mode='up'"
    with pytest.raises(ValueError, match=message):
        metrics.direction("loss", "up")

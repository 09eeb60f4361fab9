"""Grapheme to phoneme: spell a word, read out its ARPAbet phonemes (CMUdict).

An encoder-decoder with attention (bidirectional encoder) reads a word
letter by letter (``cmudict/stress``: "greeson") and writes its phonemes
with stress digits ("G R IY1 S AH0 N"). Evaluated by greedy decoding of the
words of the test split: the phoneme error rate (PER: edit distance over the
reference length, summed over the split) and the word error rate (WER: share
of words with any error), by ``zoo.scores.error_rates``. A word with several
pronunciations is decoded once and scored against the closest of them
(``zoo.scores.closest_references``), so it is right when it matches any one,
as the builder's split is meant to be scored. Published reference
(``REFERENCE``): the bidirectional LSTM of Yao & Zweig 2015 at 5.45% PER /
23.55% WER on CMUdict (their own split, so the figures compare in size, not
exactly; their model also reads a letter-phoneme alignment, which this one
does not). The default trains on a subset (``train_examples``) to fit a few
minutes on 2 CPU cores; ``--set train_examples=120777 --epochs 30`` is the
full setting.

Run: ``zoo train g2p`` or ``python -m recipes.g2p``. The export's ``predict``
signature spells a raw word (tf.string (batch,)) into its phonemes (``text``:
"G R IY1 S AH0 N"); see ``zoo.export.generation``.
"""

import dataclasses

from recipes import _seq2seq
from zoo.recipe import BaseConfig, main_for

NAME = "g2p"
REFERENCE = {"per": 0.0545, "wer": 0.2355,
             "source": "Yao & Zweig 2015, Sequence-to-Sequence Neural Net Models for "
                       "Grapheme-to-Phoneme Conversion (Interspeech; arXiv:1506.00196), "
                       "bidirectional LSTM, CMUdict"}
MAX_SOURCE = 20
MAX_TARGET = 20


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 6
    batch_size: int = 128
    learning_rate: float = 5e-3
    train_examples: int = 40000
    eval_examples: int = 2000
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "encoder_decoder", "cell": "lstm", "units": 128, "embedding_dim": 32,
        "bidirectional": True, "attention": "luong"})


TINY = {"epochs": 1, "train_examples": 128, "eval_examples": 32, "batch_size": 32,
        "model": {"name": "encoder_decoder", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True, "attention": "luong"}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 64, "max": 256, "step": 64, "default": 128},
    "attention": {"type": "choice", "values": ["bahdanau", "luong"], "default": "luong"},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 5e-3},
}
OBJECTIVE = ("val_loss", "min")


def load_data(config, data_dir=None):
    import zoo.data

    raw = {"train": zoo.data.load("cmudict/stress", f"train[:{config.train_examples}]",
                                  data_dir=data_dir)}
    for split in ("validation", "test"):
        raw[split] = zoo.data.load("cmudict/stress", f"{split}[:{config.eval_examples}]",
                                   data_dir=data_dir)
    return _seq2seq.load(config, raw, source_key="word", target_key="phonemes",
                         source_level="char", target_level="space",
                         max_source_length=MAX_SOURCE, max_target_length=MAX_TARGET)


def build_model(config, data):
    return _seq2seq.build_model(config, data)


def error_rates(predictions, references):
    """(PER, WER) of predicted against reference phoneme lists (``zoo.scores.error_rates``)."""
    from zoo.scores import error_rates as rates

    result = rates(predictions, references)
    return result["token_error_rate"], result["sequence_error_rate"]


def evaluate(model, data, config):
    from zoo.scores import closest_references

    pronunciations = {}  # word -> its reference phoneme lists, in test order
    for word, phonemes in data.extras["test_pairs"]:
        pronunciations.setdefault(word, []).append(phonemes.split())
    words = list(pronunciations)
    predictions = _seq2seq.decode(model, data, words)
    references = closest_references(predictions, [pronunciations[w] for w in words])
    per, wer = error_rates(predictions, references)
    return {"per": per, "wer": wer, "examples": len(words),
            "reference_per": REFERENCE["per"], "reference_wer": REFERENCE["wer"]}


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Dates: translate human-written dates into ISO 8601 with attention.

An encoder-decoder with Bahdanau attention (``zoo.create_model(
"encoder_decoder", attention="bahdanau")``) reads a date written in one of
eight languages and many formats (``human_dates``: "segunda-feira, 20 de
outubro de 2098") character by character and writes "2098-10-20". Trained
with teacher forcing; evaluated by greedy decoding on the test split, where
a prediction counts only if the whole date is right (exact match). Target:
>= 99% exact match.

Run: ``zoo train dates`` or ``python -m recipes.dates``; then
``zoo generate saved_models/dates/1 --text "3 mars 1999" --temperature 0``.

The export's ``predict`` signature takes the raw date text (tf.string (batch,),
tokenized inside the SavedModel with the training vocabulary, an asset) and
returns the ISO date as ``text`` (e.g. "Mardi 14 juillet 1789" -> "1789-07-14"),
with ``tokens``, ``token_ids`` and ``scores``; ``predict_beam`` does the same
with beam search (see ``zoo.export.generation``).
"""

import dataclasses

from recipes import _seq2seq
from zoo.recipe import BaseConfig, main_for

NAME = "dates"
MAX_SOURCE = 40
MAX_TARGET = 10


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 3e-3
    train_examples: int = 20000
    patience: int = 2
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "encoder_decoder", "cell": "gru", "units": 64, "embedding_dim": 32,
        "bidirectional": True, "attention": "bahdanau"})


TINY = {"epochs": 1, "train_examples": 128, "batch_size": 32,
        "model": {"name": "encoder_decoder", "cell": "gru", "units": 8, "embedding_dim": 8,
                  "attention": "bahdanau"}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 32, "max": 128, "step": 32, "default": 64},
    "attention": {"type": "choice", "values": ["bahdanau", "luong"], "default": "bahdanau"},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_sequence_exact_match", "max")


def load_data(config, data_dir=None):
    import zoo.data

    small = config.train_examples < 20000
    raw = {"train": zoo.data.load("human_dates", f"train[:{config.train_examples}]",
                                  data_dir=data_dir)}
    for split in ("validation", "test"):
        raw[split] = zoo.data.load("human_dates", f"{split}[:64]" if small else split,
                                   data_dir=data_dir)
    return _seq2seq.load(config, raw, source_key="text", target_key="iso", source_level="char",
                         target_level="char", max_source_length=MAX_SOURCE,
                         max_target_length=MAX_TARGET)


def build_model(config, data):
    return _seq2seq.build_model(config, data)


def evaluate(model, data, config):
    pairs = data.extras["test_pairs"]
    predictions = _seq2seq.decode(model, data, [s for s, _ in pairs])
    exact = sum("".join(p) == t for p, (_, t) in zip(predictions, pairs))
    teacher = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"exact_match": exact / len(pairs), "examples": len(pairs),
            "teacher_forced_token_accuracy": float(teacher["token_accuracy"])}


def report(model, data, config, run_dir):
    pairs = data.extras["test_pairs"][:5]
    predictions = _seq2seq.decode(model, data, [s for s, _ in pairs])
    examples = [{"text": s, "target": t, "predicted": "".join(p)}
                for (s, t), p in zip(pairs, predictions)]
    for ex in examples:
        print(f"  {ex['text']!r:>45} -> {ex['predicted']} (target {ex['target']})")
    return {"examples": examples}


main = main_for(__name__)

if __name__ == "__main__":
    main()

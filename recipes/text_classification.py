"""Text classification on your own data: a CSV/TSV of (text, label), a bidirectional LSTM.

Many-to-one over word (or character) ids: each row's text is tokenized by the
one tokenizer (``zoo.data.text.Tokenizer``, adapted on the train split, the
``max_tokens`` most frequent tokens, texts cut to ``max_length`` tokens), the
labels are the distinct label strings of the train split (sorted), and a
bidirectional LSTM reads the text, padding masked. Evaluated on the test split:
accuracy and macro-averaged F1 (scikit-learn).

The file (``--data``): read by the ``text_folder`` builder, a ``.csv`` (comma) or
``.tsv`` (tab) file split by a hash of each row into 80% train / 10% validation /
10% test, or a folder of ``train.*``, ``validation.*``, ``test.*``. Columns: a
header naming ``text`` and ``label``, else the first two fields; otherwise
``--set text_column=review --set label_column=stars`` (header names or 0-based
indices), ``--set delimiter=;``, ``--set header=false``, ``--set level=char``,
``--set lowercase=false``.

Run::

    zoo train text_classification --data reviews.csv
    zoo predict saved_models/text_classification/1 --text "what a fine film"

The export's ``predict`` signature takes raw strings (tf.string (batch,)) and
returns the ``label`` (the label string), ``class_id`` and ``probabilities``.
"""

import dataclasses

from recipes import _own_data, base
from zoo.recipe import Data, main_for

NAME = "text_classification"
WHAT = "text,label rows"


@dataclasses.dataclass
class Config(_own_data.OwnDataConfig):
    text_column: str = ""
    label_column: str = ""
    max_tokens: int = 20000
    max_length: int = 200
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 3
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "lstm", "units": 64, "embedding_dim": 64,
        "bidirectional": True, "dropout": 0.2})


TINY = {"epochs": 1, "batch_size": 8, "max_length": 16,
        "model": {"name": "many_to_one", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True}}
SEARCH_SPACE = {
    "units": {"type": "int", "min": 32, "max": 128, "step": 32, "default": 64},
    "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1, "default": 0.2},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 2e-3},
}
OBJECTIVE = ("val_accuracy", "max")


def _labels(ds):
    """The stripped label strings of a split, in order."""
    import tensorflow as tf

    labels = ds.map(lambda ex: tf.strings.strip(ex["label"])).batch(4096)
    return [b.decode("utf-8") for batch in labels.as_numpy_iterator() for b in batch]


def _batches(ds, labels, classes, tokenizer, config, training):
    """Batches of one split; rows whose label the train split lacks are left out
    (``classes``: the sorted train labels)."""
    import tensorflow as tf

    from zoo.data import pipelines

    known_labels = set(classes)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(classes, tf.range(len(classes), dtype=tf.int64)),
        default_value=-1)
    ds = ds.map(lambda ex: {"text": ex["text"],
                            "label": table.lookup(tf.strings.strip(ex["label"]))})
    known = sum(label in known_labels for label in labels)
    if known < len(labels):
        ds = ds.filter(lambda ex: ex["label"] >= 0)
        ds = ds.apply(tf.data.experimental.assert_cardinality(known))
    return pipelines.text_classification(ds, tokenizer, batch_size=config.batch_size,
                                         training=training, seed=config.seed)


def load_data(config, data_dir=None):
    from zoo.data.text import Tokenizer

    _own_data.check_level(config)
    raw = _own_data.load_splits(config, data_dir, kind="classification", recipe=NAME,
                                names=("text", "label"), what=WHAT)
    labels = {split: _labels(ds) for split, ds in raw.items()}
    classes = sorted(set(labels["train"]))
    if len(classes) < 2:
        raise ValueError(
            f"--data {config.data}: the train split has {len(classes)} distinct label(s) "
            f"{classes}; expected two or more. Is the label column right? "
            "(--set label_column=NAME or a 0-based index)")
    tokenizer = Tokenizer.adapt(raw["train"].map(lambda ex: ex["text"]), level=config.level,
                                lowercase=config.lowercase, max_tokens=config.max_tokens,
                                max_length=config.max_length)
    batches = {split: _batches(raw[split], labels[split], classes, tokenizer, config,
                               split == "train") for split in raw}
    known = set(classes)
    unknown = {split: sum(label not in known for label in labels[split])
               for split in raw if split != "train"}
    return Data(
        train=batches["train"], validation=batches.get("validation"), test=batches["test"],
        model_kwargs={"vocab_size": tokenizer.size, "num_classes": len(classes)},
        artifacts={"vocabulary": {"input": tokenizer.get_config(), "classes": classes}},
        extras={"tokenizers": {"input": tokenizer}, "classes": classes,
                "unknown_labels": unknown, "test_split": _own_data.scored_split(raw)})


def build_model(config, data):
    return base.build_classifier(config, data)


def macro_f1(model, dataset, num_classes):
    """Macro-averaged F1 (scikit-learn) of the model's classes on a batched split."""
    import numpy as np
    from sklearn.metrics import f1_score

    true, predicted = [], []
    for inputs, labels in dataset:
        logits = model.predict_on_batch(inputs)
        predicted.extend(np.asarray(logits).argmax(-1).tolist())
        true.extend(np.asarray(labels).tolist())
    return float(f1_score(true, predicted, average="macro", labels=list(range(num_classes)),
                          zero_division=0))


def evaluate(model, data, config):
    classes = data.extras["classes"]
    return {**base.evaluate_classifier(model, data),
            "macro_f1": macro_f1(model, data.test, len(classes)), "classes": len(classes),
            "test_rows_with_unknown_label": data.extras["unknown_labels"].get("test", 0),
            "test_split": data.extras["test_split"]}


main = main_for(__name__)

if __name__ == "__main__":
    main()

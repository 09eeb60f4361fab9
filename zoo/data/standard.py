"""Pipelines for the standard TFDS sets: imdb_reviews, ted_hrlr_translate/pt_to_en,
conll2003 and tiny_shakespeare.

Each function loads the splits with `zoo.data.load` (so a set that is not on disk
fails within seconds with a message saying how to provide it), builds the
vocabularies on the training split only (saved under `vocab_dir` when given, and
reloaded from there on a resumed run), and returns a `Splits` of batched
`tf.data.Dataset`s in the conventions of `zoo.data.pipelines`.
"""

import dataclasses
import os

from zoo.data import pipelines
from zoo.data.loading import load


@dataclasses.dataclass
class Splits:
    """Batched train/validation/test datasets with what the model needs to know.

    Attributes:
        train, validation, test: `tf.data.Dataset`s of (inputs dict, targets).
        vocabularies: name -> `pipelines.Vocabulary` (e.g. "tokens", "source", "target").
        model_kwargs: `zoo.create_model` keyword arguments the data decides
            (vocab_size, num_classes, source/target_vocab_size, start/end tokens).
        extras: anything else worth keeping (label names, ...).
    """

    train: object
    validation: object
    test: object
    vocabularies: dict
    model_kwargs: dict
    extras: dict = dataclasses.field(default_factory=dict)


def _vocab_path(vocab_dir, name):
    return None if vocab_dir is None else os.path.join(vocab_dir, f"{name}.json")


def _check_percent(validation_percent):
    if not isinstance(validation_percent, int) or not 0 < validation_percent < 100:
        raise ValueError(
            "validation_percent must be an integer in (0, 100). "
            f"Received: validation_percent={validation_percent!r}"
        )


def imdb_reviews(
    *,
    data_dir=None,
    batch_size=32,
    max_tokens=20_000,
    max_length=256,
    validation_percent=10,
    bucket_boundaries=(64, 128, 192),
    vocab_dir=None,
    seed=0,
):
    """Sentiment (many-to-one): ({"tokens": (batch, <= max_length)}, label (batch,) in {0, 1}).

    Word level, lower-cased; validation is the last `validation_percent`% of the
    TFDS train split (the test split is kept for testing)."""
    _check_percent(validation_percent)
    cut = 100 - validation_percent
    train = load("imdb_reviews", f"train[:{cut}%]", data_dir=data_dir)
    validation = load("imdb_reviews", f"train[{cut}%:]", data_dir=data_dir)
    test = load("imdb_reviews", "test", data_dir=data_dir)
    vocab = pipelines.fit_or_load(
        _vocab_path(vocab_dir, "imdb_reviews_tokens"),
        lambda: pipelines.Vocabulary.fit(
            train.map(lambda ex: ex["text"]), level="word", lowercase=True, max_tokens=max_tokens
        ),
    )

    def make(ds, training):
        return pipelines.text_classification(
            ds,
            vocab,
            max_length=max_length,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    return Splits(
        make(train, True),
        make(validation, False),
        make(test, False),
        {"tokens": vocab},
        {"vocab_size": vocab.size, "num_classes": 2},
    )


def ted_hrlr_translate(
    *,
    data_dir=None,
    batch_size=64,
    max_tokens=8_000,
    max_length=40,
    bucket_boundaries=(10, 20, 30),
    vocab_dir=None,
    seed=0,
):
    """Portuguese -> English (encoder-decoder), word level, lower-cased:
    ({"source": (batch, Tx), "target_in": (batch, Ty)}, target_out (batch, Ty))."""
    name = "ted_hrlr_translate/pt_to_en"
    splits = {s: load(name, s, data_dir=data_dir) for s in ("train", "validation", "test")}
    vocabs = {}
    for role, lang in (("source", "pt"), ("target", "en")):
        vocabs[role] = pipelines.fit_or_load(
            _vocab_path(vocab_dir, f"ted_hrlr_translate_{role}"),
            lambda lang=lang: pipelines.Vocabulary.fit(
                splits["train"].map(lambda ex: ex[lang]),
                level="word",
                lowercase=True,
                max_tokens=max_tokens,
            ),
        )

    def make(ds, training):
        return pipelines.seq2seq(
            ds,
            vocabs["source"],
            vocabs["target"],
            source_key="pt",
            target_key="en",
            max_source_length=max_length,
            max_target_length=max_length,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    return Splits(
        make(splits["train"], True),
        make(splits["validation"], False),
        make(splits["test"], False),
        vocabs,
        {
            "source_vocab_size": vocabs["source"].size,
            "target_vocab_size": vocabs["target"].size,
            "start_token": pipelines.START_ID,
            "end_token": pipelines.END_ID,
            "max_output_length": max_length + 1,
        },
    )


def conll2003(
    *,
    data_dir=None,
    batch_size=32,
    max_tokens=20_000,
    tags="ner",
    bucket_boundaries=(10, 20, 40),
    vocab_dir=None,
    seed=0,
):
    """Named-entity tagging (many-to-many, Tx = Ty): ({"tokens": (batch, steps)},
    tag ids + 1 (batch, steps), 0 = padding). `tags`: "ner", "pos" or "chunks"."""
    if tags not in ("ner", "pos", "chunks"):
        raise ValueError(f"tags must be 'ner', 'pos' or 'chunks'. Received: tags={tags!r}")
    train, info = load("conll2003", "train", data_dir=data_dir, with_info=True)
    validation = load("conll2003", "dev", data_dir=data_dir)
    test = load("conll2003", "test", data_dir=data_dir)
    vocab = pipelines.fit_or_load(
        _vocab_path(vocab_dir, "conll2003_tokens"),
        lambda: pipelines.Vocabulary.fit(
            train.map(lambda ex: ex["tokens"]),
            level="tokens",
            lowercase=True,
            max_tokens=max_tokens,
        ),
    )
    names = info.features[tags].feature.names

    def make(ds, training):
        return pipelines.tagging(
            ds,
            vocab,
            tags_key=tags,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    return Splits(
        make(train, True),
        make(validation, False),
        make(test, False),
        {"tokens": vocab},
        {"vocab_size": vocab.size, "num_classes": len(names) + 1},
        {"tag_names": ["<pad>"] + list(names)},
    )


def tiny_shakespeare(*, data_dir=None, batch_size=64, seq_length=100, vocab_dir=None, seed=0):
    """Character language model: ({"tokens": (batch, seq_length)}, next characters
    (batch, seq_length)); the text of each split cut into chunks of seq_length + 1."""
    splits = {
        s: load("tiny_shakespeare", s, data_dir=data_dir) for s in ("train", "validation", "test")
    }
    vocab = pipelines.fit_or_load(
        _vocab_path(vocab_dir, "tiny_shakespeare_chars"),
        lambda: pipelines.Vocabulary.fit(splits["train"].map(lambda ex: ex["text"]), level="char"),
    )

    def make(ds, training):
        return pipelines.language_model(
            ds, vocab, seq_length=seq_length, batch_size=batch_size, training=training, seed=seed
        )

    return Splits(
        make(splits["train"], True),
        make(splits["validation"], False),
        make(splits["test"], False),
        {"tokens": vocab},
        {"vocab_size": vocab.size},
    )

"""Pipelines for the standard TFDS sets: imdb_reviews, ted_hrlr_translate/pt_to_en,
conll2003 and tiny_shakespeare.

Each function loads the splits with `zoo.data.load` (so a set that is not on disk
fails within seconds with a message saying how to provide it), adapts the
tokenizers (`zoo.data.text.Tokenizer`) on the training split only (saved under
`vocab_dir` when given, and reloaded from there on a resumed run), and returns a
`zoo.recipe.Data` of batched `tf.data.Dataset`s in the conventions of
`zoo.data.pipelines`, with

- `artifacts["vocabulary"]`: `{"input": Tokenizer.get_config(), "output": ...,
  "classes": [...]}` (the roles the model has), the JSON a run folder and an
  export keep so that the `zoo` command encodes text exactly as training did;
- `extras["tokenizers"]`: the same roles as `Tokenizer` objects.
"""

import os

from zoo.data import pipelines
from zoo.data.loading import load
from zoo.data.text import Tokenizer, fit_or_load
from zoo.recipe import Data


def _tokenizer(vocab_dir, name, fit, max_length=None):
    """`fit()` or the tokenizer kept under `vocab_dir`, cutting texts to `max_length`."""
    path = None if vocab_dir is None else os.path.join(vocab_dir, f"{name}.json")
    tokenizer = fit_or_load(path, fit)
    if tokenizer.max_length != max_length:
        tokenizer = Tokenizer.from_config({**tokenizer.get_config(), "max_length": max_length})
    return tokenizer


def _data(train, validation, test, model_kwargs, tokenizers, **artifact):
    vocabulary = {role: tok.get_config() for role, tok in tokenizers.items()}
    return Data(train=train, validation=validation, test=test, model_kwargs=model_kwargs,
                artifacts={"vocabulary": {**vocabulary, **artifact}},
                extras={"tokenizers": dict(tokenizers)})


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
    tokenizer = _tokenizer(
        vocab_dir,
        "imdb_reviews_tokens",
        lambda: Tokenizer.adapt(
            train.map(lambda ex: ex["text"]), level="word", lowercase=True, max_tokens=max_tokens
        ),
        max_length=max_length,
    )

    def make(ds, training):
        return pipelines.text_classification(
            ds,
            tokenizer,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    return _data(
        make(train, True),
        make(validation, False),
        make(test, False),
        {"vocab_size": tokenizer.size, "num_classes": 2},
        {"input": tokenizer},
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
    tokenizers = {}
    for role, name, lang in (("input", "source", "pt"), ("output", "target", "en")):
        tokenizers[role] = _tokenizer(
            vocab_dir,
            f"ted_hrlr_translate_{name}",
            lambda lang=lang: Tokenizer.adapt(
                splits["train"].map(lambda ex: ex[lang]),
                level="word",
                lowercase=True,
                max_tokens=max_tokens,
            ),
            max_length=max_length,
        )

    def make(ds, training):
        return pipelines.seq2seq(
            ds,
            tokenizers["input"],
            tokenizers["output"],
            source_key="pt",
            target_key="en",
            max_source_length=max_length,
            max_target_length=max_length,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    return _data(
        make(splits["train"], True),
        make(splits["validation"], False),
        make(splits["test"], False),
        {
            "source_vocab_size": tokenizers["input"].size,
            "target_vocab_size": tokenizers["output"].size,
            "start_token": pipelines.START_ID,
            "end_token": pipelines.END_ID,
            "max_output_length": max_length + 1,
        },
        tokenizers,
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
    tokenizer = _tokenizer(
        vocab_dir,
        "conll2003_tokens",
        lambda: Tokenizer.adapt(
            train.map(lambda ex: ex["tokens"]),
            level="tokens",
            lowercase=True,
            max_tokens=max_tokens,
        ),
    )
    names = ["<pad>"] + list(info.features[tags].feature.names)

    def make(ds, training):
        return pipelines.tagging(
            ds,
            tokenizer,
            tags_key=tags,
            batch_size=batch_size,
            training=training,
            seed=seed,
            bucket_boundaries=bucket_boundaries,
        )

    data = _data(
        make(train, True),
        make(validation, False),
        make(test, False),
        {"vocab_size": tokenizer.size, "num_classes": len(names)},
        {"input": tokenizer},
        classes=names,
    )
    data.extras["tag_names"] = names
    return data


def tiny_shakespeare(*, data_dir=None, batch_size=64, seq_length=100, vocab_dir=None, seed=0):
    """Character language model: ({"tokens": (batch, seq_length)}, next characters
    (batch, seq_length)); the text of each split cut into chunks of seq_length + 1."""
    splits = {
        s: load("tiny_shakespeare", s, data_dir=data_dir) for s in ("train", "validation", "test")
    }
    tokenizer = _tokenizer(
        vocab_dir,
        "tiny_shakespeare_chars",
        lambda: Tokenizer.adapt(splits["train"].map(lambda ex: ex["text"]), level="char"),
    )

    def make(ds, training):
        return pipelines.language_model(
            ds, tokenizer, seq_length=seq_length, batch_size=batch_size, training=training,
            seed=seed,
        )

    return _data(
        make(splits["train"], True),
        make(splits["validation"], False),
        make(splits["test"], False),
        {"vocab_size": tokenizer.size},
        {"input": tokenizer, "output": tokenizer},
    )

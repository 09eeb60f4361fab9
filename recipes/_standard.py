"""Shared parts of the recipes over standard TFDS sets (sentiment, translation, ner,
char_lm): wrapping ``zoo.data.standard.Splits`` into a ``zoo.recipe.Data``.

These sets need internet (or files in the TFDS data folder) on first use;
without them ``zoo.data.load`` fails within seconds with a clear message.
Their tests run under ``tfds.testing.mock_data``.
"""

from zoo.recipe import Data


def to_data(splits, vocabulary=None):
    """``zoo.recipe.Data`` from a ``zoo.data.standard.Splits``; ``vocabulary`` is its artifact."""
    extras = dict(splits.extras)
    extras["vocabularies"] = splits.vocabularies
    artifacts = {} if vocabulary is None else {"vocabulary": vocabulary}
    return Data(train=splits.train, validation=splits.validation, test=splits.test,
                model_kwargs=dict(splits.model_kwargs), artifacts=artifacts, extras=extras)


def vocab_dir(config):
    """Where vocabularies are kept between runs (None: always rebuilt)."""
    return getattr(config, "vocab_dir", None) or None

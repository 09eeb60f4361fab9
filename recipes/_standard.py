"""Shared part of the recipes over standard TFDS sets (sentiment, translation, ner,
char_lm). ``zoo.data.standard`` returns a ``zoo.recipe.Data`` with the tokenizers'
``vocabulary`` artifact already, so a recipe only adds what is its own.

These sets need internet (or files in the TFDS data folder) on first use;
without them ``zoo.data.load`` fails within seconds with a clear message.
Their tests run under ``tfds.testing.mock_data``.
"""


def vocab_dir(config):
    """Where vocabularies are kept between runs (None: always rebuilt)."""
    return getattr(config, "vocab_dir", None) or None

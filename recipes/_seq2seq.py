"""Shared parts of the encoder-decoder recipes (dates, g2p, translation).

- :func:`load` adapts the tokenizers on the training split, the teacher-forced
  batches (``zoo.data.pipelines.seq2seq``) and keeps the raw test pairs.
- :func:`decode_texts` translates a list of sources greedily (or with a beam) and
  turns ids back into text with the target tokenizer; :func:`decode` gives token
  lists.
- :func:`edit_distance` for error rates (``zoo.scores.edit_distance``).
"""

from recipes import base
from zoo.recipe import Data
from zoo.scores import edit_distance  # noqa: F401  (the recipes' name for it)


def _fixed_source(length):
    import tensorflow as tf

    def fn(inputs, targets):
        source = inputs["source"][:, :length]
        source = tf.pad(source, [[0, 0], [0, length - tf.shape(source)[1]]])
        return {**inputs, "source": tf.ensure_shape(source, [None, length])}, targets

    return fn


def load(config, raw, *, source_key, target_key, source_level, target_level, max_source_length,
         max_target_length, lowercase=False, max_tokens=None):
    """Data for an encoder-decoder recipe from ``raw`` = {split: unbatched dataset}.

    Sources are cut or padded to ``max_source_length`` steps (one traced
    shape); targets to ``max_target_length`` tokens (+ start/end). Each
    vocabulary keeps its ``max_tokens`` most frequent tokens (None: all).
    Without ``raw["validation"]`` the data has no validation split.
    """
    from zoo.data import pipelines
    from zoo.data.text import Tokenizer

    source_tokenizer = Tokenizer.adapt(raw["train"].map(lambda ex: ex[source_key]),
                                       level=source_level, lowercase=lowercase,
                                       max_length=max_source_length, max_tokens=max_tokens)
    target_tokenizer = Tokenizer.adapt(raw["train"].map(lambda ex: ex[target_key]),
                                       level=target_level, max_tokens=max_tokens)

    def batches(split):
        ds = pipelines.seq2seq(
            raw[split], source_tokenizer, target_tokenizer, source_key=source_key,
            target_key=target_key, max_source_length=max_source_length,
            max_target_length=max_target_length, batch_size=config.batch_size,
            training=split == "train", seed=config.seed)
        return ds.map(_fixed_source(max_source_length))

    test_pairs = [(ex[source_key].decode("utf-8"), ex[target_key].decode("utf-8"))
                  for ex in raw["test"].as_numpy_iterator()]
    return Data(
        train=batches("train"), test=batches("test"),
        validation=batches("validation") if "validation" in raw else None,
        model_kwargs={"source_vocab_size": source_tokenizer.size,
                      "target_vocab_size": target_tokenizer.size,
                      "start_token": pipelines.START_ID, "end_token": pipelines.END_ID,
                      "max_output_length": max_target_length + 1},
        artifacts={"vocabulary": {"input": source_tokenizer.get_config(),
                                  "output": target_tokenizer.get_config()}},
        extras={"tokenizers": {"input": source_tokenizer, "output": target_tokenizer},
                "test_pairs": test_pairs, "max_source_length": max_source_length},
    )


def build_model(config, data):
    from zoo import losses

    return base.build_sequence_model(
        config, data, metrics=[losses.SequenceExactMatch(ignore_class=0)])


def encode_sources(texts, data):
    """Source ids (n, max_source_length) of raw strings, as the pipeline encodes them."""
    length = data.extras["max_source_length"]
    return data.extras["tokenizers"]["input"].encode_batch(texts, max_length=length,
                                                           length=length)


def decode_texts(model, data, texts, *, batch_size=256, beam_width=1):
    """Predicted target strings for the source strings ``texts``: the ids of
    ``zoo.decoding.translate`` written out by the target tokenizer's ``decode``."""
    import zoo.decoding

    tokenizer = data.extras["tokenizers"]["output"]
    predictions = []
    for start in range(0, len(texts), batch_size):
        source = encode_sources(texts[start:start + batch_size], data)
        tokens, _ = zoo.decoding.translate(model, source, beam_width=beam_width)
        predictions.extend(tokenizer.decode(row) for row in tokens)
    return predictions


def decode(model, data, texts, *, batch_size=256, beam_width=1):
    """Predicted target token lists for the source strings ``texts``."""
    char_level = data.extras["tokenizers"]["output"].level == "char"
    return [list(text) if char_level else text.split()
            for text in decode_texts(model, data, texts, batch_size=batch_size,
                                     beam_width=beam_width)]

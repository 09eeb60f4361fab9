"""Shared parts of the encoder-decoder recipes (dates, g2p, translation).

- :func:`load` builds vocabularies on the training split, the teacher-forced
  batches (``zoo.data.pipelines.seq2seq``) and keeps the raw test pairs.
- :func:`decode` translates a list of sources greedily (or with a beam) and
  turns ids back into token lists.
- :func:`edit_distance` for error rates.
"""

import numpy as np

from recipes import base
from zoo.recipe import Data


def _fixed_source(length):
    import tensorflow as tf

    def fn(inputs, targets):
        source = inputs["source"][:, :length]
        source = tf.pad(source, [[0, 0], [0, length - tf.shape(source)[1]]])
        return {**inputs, "source": tf.ensure_shape(source, [None, length])}, targets

    return fn


def load(config, raw, *, source_key, target_key, source_level, target_level, max_source_length,
         max_target_length, lowercase=False):
    """Data for an encoder-decoder recipe from ``raw`` = {split: unbatched dataset}.

    Sources are cut or padded to ``max_source_length`` steps (one traced
    shape); targets to ``max_target_length`` tokens (+ start/end).
    """
    from zoo.data import pipelines

    source_vocab = pipelines.Vocabulary.fit(raw["train"].map(lambda ex: ex[source_key]),
                                            level=source_level, lowercase=lowercase)
    target_vocab = pipelines.Vocabulary.fit(raw["train"].map(lambda ex: ex[target_key]),
                                            level=target_level)

    def batches(split):
        ds = pipelines.seq2seq(
            raw[split], source_vocab, target_vocab, source_key=source_key,
            target_key=target_key, max_source_length=max_source_length,
            max_target_length=max_target_length, batch_size=config.batch_size,
            training=split == "train", seed=config.seed)
        return ds.map(_fixed_source(max_source_length))

    test_pairs = [(ex[source_key].decode("utf-8"), ex[target_key].decode("utf-8"))
                  for ex in raw["test"].as_numpy_iterator()]
    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"source_vocab_size": source_vocab.size,
                      "target_vocab_size": target_vocab.size,
                      "start_token": pipelines.START_ID, "end_token": pipelines.END_ID,
                      "max_output_length": max_target_length + 1},
        artifacts={"vocabulary": {"input": source_vocab.get_vocabulary(),
                                  "output": target_vocab.get_vocabulary(),
                                  "split": "chars" if source_level == "char" else "words",
                                  "unknown": pipelines.OOV, "start": pipelines.START,
                                  "end": pipelines.END, "lowercase": lowercase}},
        extras={"source_vocab": source_vocab, "target_vocab": target_vocab,
                "test_pairs": test_pairs, "max_source_length": max_source_length},
    )


def build_model(config, data):
    from zoo import losses

    return base.build_sequence_model(
        config, data, metrics=[losses.SequenceExactMatch(ignore_class=0)])


def encode_sources(texts, data):
    """Source ids (n, max_source_length) of raw strings, as the pipeline encodes them."""
    vocab, length = data.extras["source_vocab"], data.extras["max_source_length"]
    out = np.zeros((len(texts), length), np.int32)
    for i, text in enumerate(texts):
        ids = vocab.encode(text, max_length=length).numpy()
        out[i, :len(ids)] = ids
    return out


def decode(model, data, texts, *, batch_size=256, beam_width=1):
    """Predicted target token lists for the source strings ``texts``."""
    import zoo.decoding

    vocab = data.extras["target_vocab"]
    sep = "" if vocab.level == "char" else " "
    predictions = []
    for start in range(0, len(texts), batch_size):
        source = encode_sources(texts[start:start + batch_size], data)
        tokens, _ = zoo.decoding.translate(model, source, beam_width=beam_width)
        for row in tokens:
            text = vocab.decode(row)
            predictions.append(list(text) if sep == "" else text.split())
    return predictions


def edit_distance(a, b):
    """Levenshtein distance between two token lists."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]

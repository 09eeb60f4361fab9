"""Input pipelines: from a TFDS split to batches ready for each RNN type.

Conventions shared by every pipeline here:

- Token ids: 0 = padding (masked by the models' `Embedding(mask_zero=True)` and
  ignored by `zoo.losses.SequenceLoss(ignore_class=0)`), 1 = out-of-vocabulary,
  2 = start, 3 = end, then the learned tokens, most frequent first.
- A vocabulary is built from the training split only (`Vocabulary.fit`) and saved
  with the run as a plain JSON file (`save` / `load`).
- Sequence targets are 0-padded too (tag ids are shifted by one for that), so a
  loss with `ignore_class=0` skips padding without separate sample weights.
- Batches are `(inputs, targets)` where `inputs` is a dict keyed by the model's
  input names: "tokens" (batch, steps) int32, "features" (batch, steps, features)
  float32, "source" / "target_in" (batch, steps) int32 for encoder-decoders,
  "condition" for one-to-many models.
- Teacher forcing: `target_in = [start] + y`, `target_out = y + [end]`; both have
  `len(y) + 1` steps.
- Training splits are cached, shuffled with a seed and prefetched (AUTOTUNE).
  Variable-length batches may be bucketed by length (`bucket_boundaries`).
"""

import collections
import json
import os

import keras
import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
PAD, OOV, START, END = "", "[UNK]", "[START]", "[END]"
PAD_ID, OOV_ID, START_ID, END_ID = 0, 1, 2, 3
SPECIAL_TOKENS = (PAD, OOV, START, END)
LEVELS = ("char", "word", "space", "tokens")


def split_tokens(text, level, lowercase=False):
    """Split a scalar string tensor into a 1-D string tensor of tokens.

    level: "char" (Unicode characters), "word" (words, with punctuation marks as
    separate tokens), "space" (split on whitespace only: pre-tokenised text such as
    phonemes) or "tokens" (the input is already a 1-D tensor of tokens).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}. Received: level={level!r}")
    if level == "tokens":
        tokens = tf.convert_to_tensor(text)
        return tf.strings.lower(tokens, encoding="utf-8") if lowercase else tokens
    text = tf.convert_to_tensor(text)
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    if level == "char":
        return tf.strings.unicode_split(text, "UTF-8")
    if level == "word":
        text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
        text = tf.strings.regex_replace(text, r"([^\w\s'])", r" \1 ")
    return tf.strings.split(text)


def int_tokens(values):
    """Integer sequences (e.g. MIDI pitches) as string tokens, for a `Vocabulary`."""
    return tf.strings.as_string(values)


class Vocabulary:
    """Token <-> id mapping built on a training split, saved as a plain JSON file.

    Args:
        tokens: the learned tokens, most frequent first (without the special ones).
        level: how `encode` splits a string: "char", "word", "space" or "tokens".
        lowercase: lower-case text before splitting.

    Ids: 0 padding, 1 out-of-vocabulary, 2 start, 3 end, then `tokens`.

    Example:
        >>> vocab = Vocabulary.fit(train.map(lambda ex: ex["text"]), level="char")
        >>> vocab.encode(tf.constant("abc"))         # (3,) int32
        >>> vocab.encode(tf.constant("abc"), start=True, end=True)   # (5,)
        >>> vocab.save(run_dir / "vocab.json"); Vocabulary.load(run_dir / "vocab.json")
    """

    def __init__(self, tokens, *, level="word", lowercase=False):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}. Received: level={level!r}")
        tokens = [str(t) for t in tokens]
        clash = sorted(set(tokens) & set(SPECIAL_TOKENS))
        if clash:
            raise ValueError(f"tokens may not contain the special tokens {clash}.")
        self.tokens = tokens
        self.level = level
        self.lowercase = lowercase
        vocabulary = [START, END] + tokens
        self._lookup = keras.layers.StringLookup(
            vocabulary=vocabulary, mask_token=PAD, oov_token=OOV, output_mode="int"
        )
        self._inverse = keras.layers.StringLookup(
            vocabulary=vocabulary, mask_token=PAD, oov_token=OOV, invert=True
        )

    @property
    def size(self):
        """Number of ids, specials included: the model's `vocab_size`."""
        return len(self.tokens) + len(SPECIAL_TOKENS)

    def get_vocabulary(self):
        """All tokens by id: ["", "[UNK]", "[START]", "[END]", ...]."""
        return list(SPECIAL_TOKENS) + self.tokens

    @classmethod
    def fit(cls, texts, *, level="word", lowercase=False, max_tokens=None, min_count=1):
        """Count tokens over `texts` (a dataset of strings or token vectors: use the train
        split only) and keep the `max_tokens` most frequent seen `min_count` times or more.
        Ties are broken alphabetically, so the vocabulary is the same on every run."""
        counts = collections.Counter()
        tokenised = texts.map(
            lambda t: split_tokens(t, level, lowercase), num_parallel_calls=AUTOTUNE
        )
        for tokens in tokenised.as_numpy_iterator():
            counts.update(t.decode("utf-8") for t in np.asarray(tokens).reshape(-1))
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_tokens is not None:
            ranked = ranked[: max(0, max_tokens - len(SPECIAL_TOKENS))]
        return cls(ranked, level=level, lowercase=lowercase)

    def encode(self, text, *, start=False, end=False, max_length=None):
        """Token ids (1-D int32) of one string (or token vector), optionally framed by
        start/end ids and truncated to `max_length` tokens before framing."""
        ids = tf.cast(self._lookup(split_tokens(text, self.level, self.lowercase)), tf.int32)
        if max_length is not None:
            ids = ids[:max_length]
        parts = ([tf.constant([START_ID])] if start else []) + [ids]
        parts += [tf.constant([END_ID])] if end else []
        return tf.concat(parts, axis=0) if len(parts) > 1 else ids

    def decode(self, ids, *, join=None):
        """Tokens of a 1-D id sequence, stopping at the end id and skipping padding and
        start; joined with `join` ("" for char level, " " otherwise by default)."""
        tokens = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            tokens.append(self.get_vocabulary()[i] if 0 <= i < self.size else OOV)
        sep = join if join is not None else ("" if self.level == "char" else " ")
        return sep.join(tokens)

    def get_config(self):
        return {"tokens": self.tokens, "level": self.level, "lowercase": self.lowercase}

    def save(self, path):
        """Write the vocabulary as JSON (UTF-8) to `path`."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.get_config(), handle, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls(**json.load(handle))


def fit_or_load(path, fit_fn):
    """The vocabulary at `path` if it exists (a resumed run), else `fit_fn()` saved there."""
    if path is not None and os.path.exists(path):
        return Vocabulary.load(path)
    vocab = fit_fn()
    if path is not None:
        vocab.save(path)
    return vocab


# --- batching ---------------------------------------------------------------------


def batch(
    ds,
    *,
    batch_size,
    training=False,
    seed=0,
    shuffle_buffer=10_000,
    bucket_boundaries=None,
    length_key=None,
    padding_values=None,
    cache=True,
    drop_remainder=False,
):
    """Cache, shuffle (training only), pad-batch (optionally bucketed by length), prefetch.

    Args:
        ds: unbatched dataset of (inputs dict, targets) with variable-length sequences.
        bucket_boundaries: sequence lengths separating buckets; batches then hold
            sequences of similar lengths (less padding). `length_key` names the input
            whose length decides the bucket (default: the first input).
        padding_values: as in `padded_batch` (default 0 / 0.0 / "").
    """
    if batch_size is None or int(batch_size) < 1:
        raise ValueError(
            f"batch_size must be a positive integer. Received: batch_size={batch_size}"
        )
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        key = length_key or next(iter(ds.element_spec[0]))
        ds = ds.bucket_by_sequence_length(
            lambda inputs, targets: tf.shape(inputs[key])[0],
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padding_values=padding_values,
            drop_remainder=drop_remainder,
        )
    else:
        ds = ds.padded_batch(
            batch_size, padding_values=padding_values, drop_remainder=drop_remainder
        )
    return ds.prefetch(AUTOTUNE)


def _map(ds, fn):
    return ds.map(fn, num_parallel_calls=AUTOTUNE, deterministic=True)


# --- many-to-one ------------------------------------------------------------------


def text_classification(ds, vocab, *, text_key="text", label_key="label", max_length=None, **kw):
    """Many-to-one over text: ({"tokens": (batch, steps) int32, 0-padded}, labels (batch,)).

    `kw` goes to `batch` (batch_size, training, seed, bucket_boundaries, ...)."""

    def fn(ex):
        return {"tokens": vocab.encode(ex[text_key], max_length=max_length)}, ex[label_key]

    return batch(_map(ds, fn), **kw)


def sequence_classification(
    ds, *, features_key="features", label_key="label", normalizer=None, pad_value=0.0, **kw
):
    """Many-to-one over float sequences: ({"features": (batch, steps, features)}, (batch,)).

    Shorter sequences are padded with `pad_value`; a `Masking(mask_value=pad_value)`
    layer (the models' `mask_value`) then masks those steps. With a `Normalizer`,
    features are standardised first (padding is added after, so it stays exact)."""

    def fn(ex):
        x = tf.cast(ex[features_key], tf.float32)
        if normalizer is not None:
            x = normalizer(x)
        if len(x.shape) == 1:
            x = x[:, None]
        return {"features": x}, ex[label_key]

    return batch(_map(ds, fn), padding_values=({"features": pad_value}, None), **kw)


# --- many-to-many -----------------------------------------------------------------


def tagging(ds, vocab, *, tokens_key="tokens", tags_key="tags", **kw):
    """Many-to-many, Tx = Ty: ({"tokens": (batch, steps)}, tags (batch, steps)).

    Tag ids are shifted by one so that 0 is padding: class k becomes k + 1 and the
    model needs `num_classes = number of tags + 1`."""

    def fn(ex):
        tokens, tags = vocab.encode(ex[tokens_key]), tf.cast(ex[tags_key], tf.int32) + 1
        check = tf.debugging.assert_equal(
            tf.shape(tokens),
            tf.shape(tags),
            message=f"'{tokens_key}' and '{tags_key}' differ in length",
        )
        with tf.control_dependencies([check]):
            return {"tokens": tf.identity(tokens)}, tags

    return batch(_map(ds, fn), **kw)


def aligned_tokens(ds, input_vocab, target_vocab, *, input_key, target_key, **kw):
    """Many-to-many over two aligned token sequences of the same length (e.g. a
    soprano line in, a bass line out): ({"tokens": (batch, steps)}, (batch, steps))."""

    def fn(ex):
        return {"tokens": input_vocab.encode(ex[input_key])}, target_vocab.encode(ex[target_key])

    return batch(_map(ds, fn), **kw)


def language_model(ds, vocab, *, text_key="text", seq_length=100, **kw):
    """Next-token prediction over a long text cut into chunks of `seq_length` + 1 ids:
    ({"tokens": (batch, seq_length)}, next ids (batch, seq_length)). No padding."""
    ids = ds.map(lambda ex: vocab.encode(ex[text_key])).unbatch()
    chunks = ids.batch(seq_length + 1, drop_remainder=True)
    pairs = chunks.map(lambda c: ({"tokens": c[:-1]}, c[1:]))
    return batch(pairs, drop_remainder=True, **kw)


# --- encoder-decoder and one-to-many: teacher forcing -----------------------------


def teacher_forcing(ids):
    """(target_in, target_out) of a 1-D target: [start] + ids and ids + [end]."""
    ids = tf.cast(ids, tf.int32)
    return tf.concat([[START_ID], ids], 0), tf.concat([ids, [END_ID]], 0)


def seq2seq(
    ds,
    source_vocab,
    target_vocab,
    *,
    source_key="source",
    target_key="target",
    max_source_length=None,
    max_target_length=None,
    **kw,
):
    """Encoder-decoder: ({"source": (batch, Tx), "target_in": (batch, Ty)}, target_out
    (batch, Ty)); `target_in` = [start] + y, `target_out` = y + [end], 0-padded."""

    def fn(ex):
        source = source_vocab.encode(ex[source_key], max_length=max_source_length)
        target_in, target_out = teacher_forcing(
            target_vocab.encode(ex[target_key], max_length=max_target_length)
        )
        return {"source": source, "target_in": target_in}, target_out

    return batch(_map(ds, fn), length_key="source", **kw)


def conditioned_generation(ds, vocab, *, sequence_key, condition_key, num_conditions=None, **kw):
    """One-to-many: ({"condition": ..., "target_in": (batch, T)}, target_out (batch, T)).

    The condition is an int id (batch,) as stored, or a one-hot float vector
    (batch, num_conditions) when `num_conditions` is given."""

    def fn(ex):
        condition = ex[condition_key]
        if num_conditions is not None:
            condition = tf.one_hot(condition, num_conditions, dtype=tf.float32)
        else:
            condition = tf.cast(condition, tf.int32)
        target_in, target_out = teacher_forcing(vocab.encode(ex[sequence_key]))
        return {"condition": condition, "target_in": target_in}, target_out

    return batch(_map(ds, fn), length_key="target_in", **kw)


# --- time series ------------------------------------------------------------------


class Normalizer:
    """Per-feature standardisation with statistics from the training split only.

    Call it on a float tensor (..., features). `fit` reads every step of every
    example of the split given (use train); `inverse` maps predictions back."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        if np.any(self.std <= 0):
            raise ValueError(f"std must be positive. Received: std={self.std.tolist()}")

    @classmethod
    def fit(cls, values):
        """From a dataset of float tensors (steps, features), (steps,) or scalars."""
        frames = []
        for v in values.as_numpy_iterator():
            v = np.asarray(v, np.float64)
            frames.append(v.reshape(-1, v.shape[-1] if v.ndim > 1 else 1))
        data = np.concatenate(frames, axis=0)
        std = data.std(axis=0)
        return cls(data.mean(axis=0), np.where(std > 0, std, 1.0))

    def __call__(self, x):
        return (tf.cast(x, tf.float32) - self.mean) / self.std

    def inverse(self, x):
        return x * self.std + self.mean

    def save(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"mean": self.mean.tolist(), "std": self.std.tolist()}, handle)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls(**json.load(handle))


def regression(ds, *, input_key="window", target_key="target", normalizer=None, **kw):
    """Windows to a value or a sequence: ({"features": (batch, steps, features)},
    target (batch,) or (batch, steps, features)), both standardised by `normalizer`."""

    def fn(ex):
        x, y = tf.cast(ex[input_key], tf.float32), tf.cast(ex[target_key], tf.float32)
        scalar = len(y.shape) == 0
        if normalizer is not None:
            x, y = normalizer(x), normalizer(y)
            y = tf.reshape(y, []) if scalar else y
        if len(x.shape) == 1:
            x = x[:, None]
        return {"features": x}, y

    return batch(_map(ds, fn), **kw)


def window_series(values, window, *, kind="next_value", batch_size=32, training=False, seed=0):
    """Sliding windows over a 1-D or (time, features) array, with Keras's
    `timeseries_dataset_from_array`.

    kind "next_value": ({"features": (batch, window, features)}, next value
    (batch, features)); kind "sequence": targets are the windows shifted one step,
    (batch, window, features)."""
    if kind not in ("next_value", "sequence"):
        raise ValueError(f"kind must be 'next_value' or 'sequence'. Received: kind={kind!r}")
    values = np.asarray(values, np.float32)
    if values.ndim == 1:
        values = values[:, None]
    if len(values) <= window:
        raise ValueError(
            f"the series must be longer than the window. Received: {len(values)} steps, "
            f"window={window}"
        )
    if kind == "next_value":
        data, targets = values[:-1], values[window:]
    else:
        data, targets = values[:-1], None
    ds = keras.utils.timeseries_dataset_from_array(
        data, targets, sequence_length=window, batch_size=None, shuffle=False
    )
    if kind == "sequence":
        shifted = keras.utils.timeseries_dataset_from_array(
            values[1:], None, sequence_length=window, batch_size=None, shuffle=False
        )
        ds = tf.data.Dataset.zip(ds, shifted)
    ds = ds.map(lambda x, y: ({"features": x}, y))
    return batch(ds, batch_size=batch_size, training=training, seed=seed)

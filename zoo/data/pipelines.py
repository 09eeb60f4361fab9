"""Input pipelines: from a TFDS split to batches ready for each RNN type.

Conventions shared by every pipeline here:

- Token ids: 0 = padding (masked by the models' `Embedding(mask_zero=True)` and
  ignored by `zoo.losses.SequenceLoss(ignore_class=0)`), 1 = out-of-vocabulary,
  2 = start, 3 = end, then the learned tokens, most frequent first. Text is
  encoded by the one tokenizer, `zoo.data.text.Tokenizer`, adapted on the
  training split only; its `get_config()` is the JSON artifact a run and an
  export keep.
- Statistics (`normalizer` arguments) are `keras.layers.Normalization` layers
  from `zoo.data.normalization`, adapted on the training split only.
- Sequence targets are 0-padded too (tag ids are shifted by one for that), so a
  loss with `ignore_class=0` skips padding without separate sample weights.
- Batches are `(inputs, targets)` where `inputs` is a dict keyed by the model's
  input names: "tokens" (batch, steps) int32, "features" (batch, steps, features)
  float32, "source" / "target_in" (batch, steps) int32 for encoder-decoders,
  "condition" for one-to-many models.
- Teacher forcing: `target_in = [start] + y`, `target_out = y + [end]`; both have
  `len(y) + 1` steps.
- Training splits are cached, shuffled and prefetched (AUTOTUNE). The order of
  an epoch is a function of the seed and the epoch number (`shuffle`), so a run
  resumed in a fresh process sees, at epoch k, the order an uninterrupted run
  saw. Variable-length batches may be bucketed by length (`bucket_boundaries`).
- Cached pipelines have a known number of batches, even from a generator or with
  length buckets (counted once, in the pass that fills the cache), so Keras's
  progress bar shows N/N from epoch 1 and never runs out of data.
"""

import keras
import numpy as np
import tensorflow as tf

from zoo.data.normalization import (  # noqa: F401  (re-exported)
    adapt_normalization,
    normalization_config,
    normalization_from_config,
)
from zoo.data.text import (  # noqa: F401  (re-exported: the id convention lives in text)
    END,
    END_ID,
    LEVELS,
    OOV,
    OOV_ID,
    PAD,
    PAD_ID,
    SPECIAL_TOKENS,
    START,
    START_ID,
    Tokenizer,
    fit_or_load,
    int_tokens,
    split_tokens,
)

AUTOTUNE = tf.data.AUTOTUNE


# --- the data order: a function of (seed, epoch) ----------------------------------

_EPOCH = []  # the one tf.Variable: the epoch the training pipelines are on


def _epoch_variable():
    if not _EPOCH:
        with tf.init_scope():
            _EPOCH.append(tf.Variable(0, dtype=tf.int64, trainable=False, name="data_epoch"))
    return _EPOCH[0]


def set_epoch(epoch):
    """Make the next pass over every `shuffle`d dataset take the order of epoch `epoch`.

    `zoo.training.train` calls it at the start of each epoch, a resumed one
    included. Without it, each pass takes the next epoch's order (0, 1, 2...),
    as `reshuffle_each_iteration=True` would within one process."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0. Received: epoch={epoch!r}")
    _epoch_variable().assign(int(epoch))


def shuffle(ds, buffer_size, *, seed):
    """`ds` shuffled in an order that depends only on `seed` and the epoch.

    Each pass (each epoch of `fit`) shuffles with the seed pair `(seed, epoch)`,
    epoch being the value `set_epoch` gave, then counted up by one per pass. Unlike
    `Dataset.shuffle(reshuffle_each_iteration=True)`, whose sequence of orders
    restarts at its first in every new process, a run resumed at epoch k sees
    the order of epoch k. Elements of a `cache()`d `ds` are read once."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer. Received: seed={seed!r}")
    epoch = _epoch_variable()

    def next_epoch(_):
        return epoch.assign_add(1) - 1

    def one_pass(e):
        # The op seed mixes the epoch in; the global seed (placement.configure) stays.
        return ds.shuffle(buffer_size, seed=int(seed) * 1_000_003 + e,
                          reshuffle_each_iteration=False)

    shuffled = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(next_epoch)
    shuffled = shuffled.flat_map(one_pass)
    if ds.cardinality() >= 0:
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(ds.cardinality()))
    return shuffled


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
    padded_shapes=None,
    cache=True,
    drop_remainder=False,
):
    """Cache, shuffle (training only), pad-batch (optionally bucketed by length), prefetch.

    With `cache`, the result has a known cardinality (`count`, and the batches of
    each length bucket), e.g.::

        ds = tf.data.Dataset.from_generator(...)        # cardinality unknown
        batch(ds, batch_size=8).cardinality()           # ceil(examples / 8)

    Args:
        ds: unbatched dataset of (inputs dict, targets) with variable-length sequences.
        bucket_boundaries: sequence lengths separating buckets; batches then hold
            sequences of similar lengths (less padding). `length_key` names the input
            whose length decides the bucket (default: the first input).
        padding_values: as in `padded_batch` (default 0 / 0.0 / "").
        padded_shapes: as in `padded_batch` (default: the longest in the batch); a
            fixed length gives every batch one shape. Not with `bucket_boundaries`.
    """
    if batch_size is None or int(batch_size) < 1:
        raise ValueError(
            f"batch_size must be a positive integer. Received: batch_size={batch_size}"
        )
    if bucket_boundaries and padded_shapes is not None:
        raise ValueError(
            "padded_shapes and bucket_boundaries exclude each other. Received: "
            f"padded_shapes={padded_shapes}, bucket_boundaries={bucket_boundaries}"
        )
    if cache:
        ds = ds.cache()
        if ds.cardinality() == tf.data.UNKNOWN_CARDINALITY:  # counted once: fills the cache
            ds = ds.apply(tf.data.experimental.assert_cardinality(count(ds)))
    if bucket_boundaries:
        key = length_key or next(iter(ds.element_spec[0]))
        batches = (_bucketed_batches(ds, key, bucket_boundaries, batch_size, drop_remainder)
                   if cache else None)
    if training:
        ds = shuffle(ds, shuffle_buffer, seed=seed)
    if bucket_boundaries:
        ds = ds.bucket_by_sequence_length(
            lambda inputs, targets: tf.shape(inputs[key])[0],
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padding_values=padding_values,
            drop_remainder=drop_remainder,
        )
        if batches is not None:  # known step counts: Keras's progress bar shows N/N
            ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
    else:
        ds = ds.padded_batch(
            batch_size, padded_shapes=padded_shapes, padding_values=padding_values,
            drop_remainder=drop_remainder,
        )
    return ds.prefetch(AUTOTUNE)


def count(ds):
    """The number of elements of a finite dataset: its cardinality where known, else
    counted in one pass (over a `cache()`d dataset, the pass fills the cache)."""
    known = int(ds.cardinality())
    if known >= 0:
        return known
    if known == tf.data.INFINITE_CARDINALITY:
        raise ValueError("count: the dataset is infinite (it repeats); expected a finite one.")
    return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def _bucketed_batches(ds, key, boundaries, batch_size, drop_remainder):
    """The batches `bucket_by_sequence_length` makes of `ds`, whatever its order: per
    bucket, its examples divided by `batch_size` (rounded up, or down with
    `drop_remainder`). One pass over the `cache()`d `ds` (it fills the cache)."""
    edges = tf.constant(list(boundaries), tf.int32)

    def add(sizes, element):
        length = tf.shape(element[0][key])[0]
        bucket = tf.reduce_sum(tf.cast(length >= edges, tf.int32))
        return sizes + tf.one_hot(bucket, len(boundaries) + 1, dtype=tf.int64)

    sizes = ds.reduce(tf.zeros([len(boundaries) + 1], tf.int64), add).numpy()
    whole, partial = np.divmod(sizes, int(batch_size))
    return int(whole.sum() + (0 if drop_remainder else np.count_nonzero(partial)))


def _map(ds, fn):
    return ds.map(fn, num_parallel_calls=AUTOTUNE, deterministic=True)


# --- many-to-one ------------------------------------------------------------------


def text_classification(
    ds, tokenizer, *, text_key="text", label_key="label", max_length=None, **kw
):
    """Many-to-one over text: ({"tokens": (batch, steps) int32, 0-padded}, labels (batch,)).

    Texts are cut to `max_length` tokens (default: the tokenizer's `max_length`).
    `kw` goes to `batch` (batch_size, training, seed, bucket_boundaries, ...)."""

    def fn(ex):
        return {"tokens": tokenizer.encode(ex[text_key], max_length=max_length)}, ex[label_key]

    return batch(_map(ds, fn), **kw)


def sequence_classification(
    ds, *, features_key="features", label_key="label", normalizer=None, pad_value=0.0,
    max_steps=None, **kw
):
    """Many-to-one over float sequences: ({"features": (batch, steps, features)}, (batch,)).

    Shorter sequences are padded with `pad_value`; a `Masking(mask_value=pad_value)`
    layer (the models' `mask_value`) then masks those steps. With a `normalizer`
    (`keras.layers.Normalization`), features are standardised first (padding is
    added after, so it stays exact). With `max_steps`, every batch is padded to
    exactly that many steps (one traced shape; longer sequences are refused)."""

    def fn(ex):
        x = tf.cast(ex[features_key], tf.float32)
        if len(x.shape) == 1:
            x = x[:, None]
        if normalizer is not None:
            x = normalizer(x)
        return {"features": x}, ex[label_key]

    padding = ({"features": pad_value}, None)
    if max_steps is None:
        return batch(_map(ds, fn), padding_values=padding, **kw)
    features = _map(ds, fn).element_spec[0]["features"].shape[-1]
    return batch(_map(ds, fn), padding_values=padding,
                 padded_shapes=({"features": [max_steps, features]}, []), **kw)


# --- many-to-many -----------------------------------------------------------------


def tagging(ds, tokenizer, *, tokens_key="tokens", tags_key="tags", **kw):
    """Many-to-many, Tx = Ty: ({"tokens": (batch, steps)}, tags (batch, steps)).

    Tag ids are shifted by one so that 0 is padding: class k becomes k + 1 and the
    model needs `num_classes = number of tags + 1`."""

    def fn(ex):
        tokens, tags = tokenizer.encode(ex[tokens_key]), tf.cast(ex[tags_key], tf.int32) + 1
        check = tf.debugging.assert_equal(
            tf.shape(tokens),
            tf.shape(tags),
            message=f"'{tokens_key}' and '{tags_key}' differ in length",
        )
        with tf.control_dependencies([check]):
            return {"tokens": tf.identity(tokens)}, tags

    return batch(_map(ds, fn), **kw)


def aligned_tokens(ds, input_tokenizer, target_tokenizer, *, input_key, target_key, **kw):
    """Many-to-many over two aligned token sequences of the same length (e.g. a
    soprano line in, a bass line out): ({"tokens": (batch, steps)}, (batch, steps))."""

    def fn(ex):
        tokens = input_tokenizer.encode(ex[input_key])
        return {"tokens": tokens}, target_tokenizer.encode(ex[target_key])

    return batch(_map(ds, fn), **kw)


def language_model(ds, tokenizer, *, text_key="text", seq_length=100, **kw):
    """Next-token prediction over a long text cut into chunks of `seq_length` + 1 ids:
    ({"tokens": (batch, seq_length)}, next ids (batch, seq_length)). No padding."""
    ids = ds.map(lambda ex: tokenizer.encode(ex[text_key])).unbatch()
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
    source_tokenizer,
    target_tokenizer,
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
        source = source_tokenizer.encode(ex[source_key], max_length=max_source_length)
        target_in, target_out = teacher_forcing(
            target_tokenizer.encode(ex[target_key], max_length=max_target_length)
        )
        return {"source": source, "target_in": target_in}, target_out

    return batch(_map(ds, fn), length_key="source", **kw)


def conditioned_generation(
    ds, tokenizer, *, sequence_key, condition_key, num_conditions=None, **kw
):
    """One-to-many: ({"condition": ..., "target_in": (batch, T)}, target_out (batch, T)).

    The condition is an int id (batch,) as stored, or a one-hot float vector
    (batch, num_conditions) when `num_conditions` is given."""

    def fn(ex):
        condition = ex[condition_key]
        if num_conditions is not None:
            condition = tf.one_hot(condition, num_conditions, dtype=tf.float32)
        else:
            condition = tf.cast(condition, tf.int32)
        target_in, target_out = teacher_forcing(tokenizer.encode(ex[sequence_key]))
        return {"condition": condition, "target_in": target_in}, target_out

    return batch(_map(ds, fn), length_key="target_in", **kw)


# --- time series ------------------------------------------------------------------


def regression(ds, *, input_key="window", target_key="target", normalizer=None, **kw):
    """Windows to a value or a sequence: ({"features": (batch, steps, features)},
    target (batch,) or (batch, steps, features)), both standardised by `normalizer`
    (a `keras.layers.Normalization` over the features)."""

    def fn(ex):
        x, y = tf.cast(ex[input_key], tf.float32), tf.cast(ex[target_key], tf.float32)
        scalar = len(y.shape) == 0
        if len(x.shape) == 1:
            x = x[:, None]
        if normalizer is not None:
            x = normalizer(x)
            y = tf.reshape(normalizer(tf.reshape(y, [1, 1])), []) if scalar else normalizer(y)
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

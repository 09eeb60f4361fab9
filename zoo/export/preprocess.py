"""Raw input -> model input (and model output -> meaning) inside a SavedModel.

Each piece is a ``tf.Module`` (or a Keras layer) that a ``keras.export.ExportArchive``
tracks; its vocabulary is a text file read by a ``tf.lookup.TextFileInitializer``, so
the SavedModel copies it into its ``assets/`` folder and needs nothing beside itself:

- :func:`text_encoder`: raw strings (batch,) -> token ids (batch, steps) int32, the
  ids ``zoo.data.text.Tokenizer.encode_batch`` gives (same splitting, through
  ``zoo.data.text.split_tokens``; same lower-casing, truncation and start/end framing);
- :func:`feature_normalizer` / :func:`feature_denormalizer`: features in their
  original units <-> standardised, with the ``keras.layers.Normalization`` the
  pipelines use (``zoo.data.normalization``);
- :func:`id_text_encoder`: a bare model's text input, space-separated decimal ids;
- :func:`name_lookup`: names (or their decimal ids) (batch,) -> ids (batch,) int32;
- :func:`id_names`: ids (any shape) -> their names ("" for an id without one), for
  labels, tags and decoded tokens.

Bad input fails inside the signature with ``tf.errors.InvalidArgumentError`` whose
message starts with ``"predict: "`` (:mod:`zoo.export.interface`).

Example:
    >>> encode = text_encoder(tokenizer.get_config(), input_name="tokens")
    >>> encode(tf.constant(["a fine film", "dull"]))      # (2, 3) int32, 0-padded
    >>> archive.track(encode)                             # its vocabulary -> assets/
"""

import atexit
import base64
import contextlib
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from zoo.data import normalization
from zoo.data.text import END_ID, OOV_ID, START_ID, Tokenizer, split_tokens
from zoo.export.interface import check, checked

_LINE_BREAKS = ("\n", "\r")
# The folders vocabulary files go to (the innermost `vocabulary_folder`).
_FOLDERS = []
_B64 = "b"


def _vocabulary_file(entries, stem):
    """Write `entries` (line i = id i) to a new file for a ``TextFileInitializer``.

    Returns (path, encoded, offset). A leading "" (the padding token) is left out of the
    file (it cannot hold an empty line) and `offset` is 1: line i is then id i + 1. When
    another entry is empty or holds a line break, `encoded` is True and every line is
    "b" + the entry's web-safe base64 (no padding, as ``tf.io.encode_base64`` writes).
    """
    entries = [str(e) for e in entries]
    offset = 1 if entries and entries[0] == "" else 0
    entries = entries[offset:]
    encoded = any(e == "" or any(b in e for b in _LINE_BREAKS) for e in entries)
    if encoded:
        entries = [_B64 + base64.urlsafe_b64encode(e.encode("utf-8")).decode("ascii").rstrip("=")
                   for e in entries]
    folder = tempfile.mkdtemp(dir=_FOLDERS[-1]) if _FOLDERS else _scratch_folder()
    path = os.path.join(folder, f"{stem}.txt")
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("".join(e + "\n" for e in entries))
    return path, encoded, offset


def _scratch_folder():
    """A new temporary folder, removed at the end of the process."""
    folder = tempfile.mkdtemp(prefix="zoo-vocabulary-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


@contextlib.contextmanager
def vocabulary_folder():
    """Within this block, vocabulary files are written to one new temporary folder,
    which is yielded. Its owner removes it once the archive using the files is written
    out (the SavedModel's ``assets/`` hold copies, and the lookup tables were filled
    when built); otherwise it goes at the end of the process.
    ``zoo.export.build_archive`` opens one per archive."""
    folder = _scratch_folder()
    _FOLDERS.append(folder)
    try:
        yield folder
    finally:
        _FOLDERS.remove(folder)


def _to_ids(path, offset, default):
    """A string -> int64 table over the lines of `path` (line i -> i + offset)."""
    return tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(
            path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, value_index_offset=offset),
        default_value=default)


def _keys(values, encoded):
    return tf.strings.join([_B64, tf.io.encode_base64(values)]) if encoded else values


def _first(flags):
    """The index (int64 scalar) of the first true entry of a 1-D bool tensor (0 if none)."""
    return tf.argmax(tf.cast(flags, tf.int32), output_type=tf.int64)


def _check_input_name(input_name):
    if not isinstance(input_name, str) or not input_name:
        raise ValueError(f"input_name must be a non-empty string. Received: {input_name!r}")


class TextEncoder(tf.Module):
    """Raw strings (batch,) -> int32 token ids (batch, steps), 0-padded on the right.

    Args:
        tokenizer_config: ``zoo.data.text.Tokenizer.get_config()`` (the run's artifact).
        start, end: frame each row with the start / end id, as the pipeline does.
        input_name: the signature input this encodes (named in error messages).
        allow_empty: an empty (or whitespace-only) string is a row of no ids (a
            primer left out) instead of an error.
        known_only: a token outside the vocabulary fails (the ``predict: input
            ...`` error names it) instead of becoming ``[UNK]``.

    Call arguments:
        texts: tf.string (batch,). An empty string, one with no token, or (except at
            char level, where a space is a token) a whitespace-only string fails with
            ``InvalidArgumentError("predict: input '<input_name>' ...")`` (unless
            `allow_empty`).

    Returns:
        int32 (batch, steps): steps is the longest row (framing included).
    """

    def __init__(self, tokenizer_config, *, start=False, end=False, input_name,
                 allow_empty=False, known_only=False):
        super().__init__(name=f"{input_name}_encoder")
        _check_input_name(input_name)
        self.allow_empty, self.known_only = bool(allow_empty), bool(known_only)
        tokenizer = Tokenizer.from_config(tokenizer_config)  # validates the config
        self.input_name = input_name
        self.level, self.lowercase = tokenizer.level, tokenizer.lowercase
        self.max_length, self.start, self.end = tokenizer.max_length, bool(start), bool(end)
        self.vocabulary_size = tokenizer.size
        path, self._encoded, offset = _vocabulary_file(tokenizer.get_vocabulary(), input_name)
        self.table = _to_ids(path, offset, OOV_ID)

    def split(self, texts):
        """The tokens of each string: a (batch, None) ragged string tensor."""
        if self.level == "tokens":
            # split_tokens splits a scalar string of tokens on whitespace.
            lowered = tf.strings.lower(texts, encoding="utf-8") if self.lowercase else texts
            return tf.strings.split(lowered)
        return split_tokens(texts, self.level, self.lowercase)

    def __call__(self, texts):
        texts = tf.convert_to_tensor(texts, tf.string)
        tokens = self.split(texts)
        rows = tokens.row_lengths()
        empty = tf.equal(rows, 0)
        if self.level != "char":  # at char level a space is a token, as in the pipeline
            empty = tf.logical_or(tf.equal(tf.strings.strip(texts), ""), empty)
        first = _first(empty)
        tokens = tokens.flat_values
        if not self.allow_empty:
            tokens = checked(tokens, tf.logical_not(tf.reduce_any(empty)),
                             f"input '{self.input_name}' row ", first,
                             " is an empty string (or whitespace only); expected a text "
                             "with at least one token. Received: ", tf.gather(texts, first))
        keys = _keys(tokens, self._encoded)
        flat = tf.cast(self.table.lookup(keys), tf.int32)
        if self.known_only:
            unknown = tf.equal(flat, OOV_ID)
            # Padded by one entry: with no token at all (every primer empty) there is
            # still one to name, and argmax has a row to reduce.
            first = _first(tf.concat([unknown, [True]], 0))
            flat = checked(flat, tf.logical_not(tf.reduce_any(unknown)),
                           f"input '{self.input_name}' holds the token ",
                           tf.gather(tf.concat([tokens, [""]], 0), first), ", which is not in the "
                           f"model's vocabulary of {self.vocabulary_size} tokens")
        ids = tf.RaggedTensor.from_row_lengths(flat, rows)
        if self.max_length is not None:
            ids = ids[:, : self.max_length]
        batch = tf.shape(texts, out_type=tf.int64)[:1]
        parts = [ids]
        if self.start:
            parts.insert(0, tf.RaggedTensor.from_tensor(
                tf.fill(tf.concat([batch, [1]], 0), tf.constant(START_ID, tf.int32))))
        if self.end:
            parts.append(tf.RaggedTensor.from_tensor(
                tf.fill(tf.concat([batch, [1]], 0), tf.constant(END_ID, tf.int32))))
        ids = tf.concat(parts, axis=1) if len(parts) > 1 else ids
        return ids.to_tensor(default_value=0)


def text_encoder(tokenizer_config, *, start=False, end=False, input_name, allow_empty=False,
                 known_only=False):
    """A :class:`TextEncoder`: tf.string (batch,) -> int32 ids (batch, steps).

    Example:
        >>> encode = text_encoder(tok.get_config(), start=True, end=True,
        ...                       input_name="source")
        >>> encode(tf.constant(["Mardi 14 juillet 1789"]))   # (1, steps) int32
    """
    return TextEncoder(tokenizer_config, start=start, end=end, input_name=input_name,
                       allow_empty=allow_empty, known_only=known_only)


def float32_normalization(normalizer_artifact, *, invert=False):
    """``zoo.data.normalization.normalization_from_config`` computing in float32 whatever
    the global dtype policy (raw values are float32 in and out, mixed precision or not)."""
    layer = normalization.normalization_from_config(normalizer_artifact, invert=invert)
    layer.dtype_policy = keras.DTypePolicy("float32")
    return layer


class FeatureNormalizer(tf.Module):
    """Features in their original units -> standardised (or back, ``invert=True``),
    with ``zoo.data.normalization.normalization_from_config`` (a Keras
    ``Normalization`` layer over the last axis).

    Args:
        normalizer_artifact: ``{"mean": [...], "variance": [...]}``, one value per
            feature (or a single value, applied to every feature).
        input_name: the signature input (or output) this maps, named in errors.
        num_features: the model's feature size: the last axis of the input.
        invert: map standardised values back to the original units.

    Call arguments:
        values: float32 (batch, steps, num_features) or (batch, num_features). A last
            axis of another size fails with ``InvalidArgumentError("predict: input ...")``
            (not checked when ``invert=True``: the model's output has its own shape).

    Returns:
        float32, the shape of `values`.
    """

    def __init__(self, normalizer_artifact, *, input_name, num_features, invert=False):
        super().__init__(name=f"{input_name}_{'de' if invert else ''}normalizer")
        _check_input_name(input_name)
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"num_features must be a positive integer. "
                             f"Received: num_features={num_features!r}")
        self.input_name, self.num_features, self.invert = input_name, int(num_features), invert
        self.layer = float32_normalization(normalizer_artifact, invert=invert)
        size = int(self.layer.mean.shape[-1])
        if size not in (1, self.num_features):
            raise ValueError(
                f"the normalizer of '{input_name}' has {size} features; expected 1 or "
                f"num_features={self.num_features}")

    def __call__(self, values):
        values = tf.cast(tf.convert_to_tensor(values), tf.float32)
        if not self.invert:
            values = check_features(values, input_name=self.input_name,
                                    num_features=self.num_features)
        return tf.cast(self.layer(values), tf.float32)


def check_features(values, *, input_name, num_features):
    """`values` after checking that its last axis holds `num_features` (else
    ``InvalidArgumentError("predict: input '<input_name>' has ... features ...")``)."""
    got = tf.shape(values)[-1]
    return checked(values, tf.equal(got, num_features),
                   f"input '{input_name}' has ", got, " features (last axis); "
                   f"expected {num_features}. Received: shape ", tf.shape(values))


def feature_normalizer(normalizer_artifact, *, input_name, num_features):
    """A :class:`FeatureNormalizer`: raw features -> standardised, as the pipelines do.

    Example:
        >>> norm = feature_normalizer(artifacts["normalizer"], input_name="features",
        ...                           num_features=12)
        >>> norm(raw)            # (batch, steps, 12) float32, standardised
    """
    return FeatureNormalizer(normalizer_artifact, input_name=input_name,
                             num_features=num_features)


def feature_denormalizer(normalizer_artifact, *, input_name, num_features):
    """A :class:`FeatureNormalizer` with ``invert=True``: standardised model outputs ->
    the original units (e.g. sunspot counts).

    Example:
        >>> denorm = feature_denormalizer(artifacts["normalizer"], input_name="value",
        ...                               num_features=1)
        >>> denorm(model_output)   # (batch, 1) float32, in the data's units
    """
    return FeatureNormalizer(normalizer_artifact, input_name=input_name,
                             num_features=num_features, invert=True)


def _check_names(names, what):
    names = [str(n) for n in names]
    if not names:
        raise ValueError(f"{what} must hold at least one name. Received: []")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} has repeated names. Received: {names!r:.300}")
    return names


class NameLookup(tf.Module):
    """Names, or their decimal ids, (batch,) tf.string -> int32 ids (batch,).

    A string equal to a name gives that name's id; else a decimal integer is taken as
    the id itself. An unknown name fails with an error listing the known ones; an id
    outside [0, len(names)) with one naming the range.

    Args:
        names: the names by id (e.g. the chorale keys).
        input_name: the signature input, named in errors.
    """

    def __init__(self, names, *, input_name):
        super().__init__(name=f"{input_name}_lookup")
        _check_input_name(input_name)
        self.names = _check_names(names, "names")
        self.input_name = input_name
        path, self._encoded, offset = _vocabulary_file(self.names, f"{input_name}_names")
        self.table = _to_ids(path, offset, -1)
        known = ", ".join(repr(n) for n in self.names[:50])
        self._known = known + (", ..." if len(self.names) > 50 else "")

    def __call__(self, values):
        values = tf.convert_to_tensor(values, tf.string)
        keys = _keys(values, self._encoded)
        by_name = tf.cast(self.table.lookup(keys), tf.int32)
        numeric = tf.strings.regex_full_match(values, r"\s*[+-]?[0-9]{1,9}\s*")
        unknown = tf.logical_and(by_name < 0, tf.logical_not(numeric))
        first = _first(unknown)
        checks = [check(tf.logical_not(tf.reduce_any(unknown)),
                        f"input '{self.input_name}' has an unknown name ",
                        tf.gather(values, first), " at row ", first,
                        f"; expected one of [{self._known}] or an id in "
                        f"[0, {len(self.names)})")]
        with tf.control_dependencies(checks):
            as_id = tf.strings.to_number(tf.where(numeric, tf.strings.strip(values), "0"), tf.int32)
        ids = tf.where(by_name >= 0, by_name, as_id)
        bad = tf.logical_or(ids < 0, ids >= len(self.names))
        first = _first(bad)
        return checked(ids, tf.logical_not(tf.reduce_any(bad)),
                       f"input '{self.input_name}' id ", tf.gather(values, first), " at row ",
                       first, f" is out of range; expected an id in [0, {len(self.names)}) "
                       f"or one of [{self._known}]")


def name_lookup(names, *, input_name):
    """A :class:`NameLookup`: tf.string (batch,) names or decimal ids -> int32 (batch,).

    Example:
        >>> keys = name_lookup(artifacts["conditions"], input_name="condition")
        >>> keys(tf.constant(["D major", "3"]))   # [id of "D major", 3] int32 (2,)
    """
    return NameLookup(names, input_name=input_name)


class IdTextEncoder(tf.Module):
    """A bare token model's text input: space-separated decimal ids -> int32 (batch, steps)
    0-padded, each id checked to lie in [1, vocab_size)."""

    def __init__(self, vocab_size, *, input_name):
        super().__init__(name=f"{input_name}_ids")
        _check_input_name(input_name)
        self.vocab_size, self.input_name = int(vocab_size), input_name

    def __call__(self, texts):
        words = tf.strings.split(texts)
        rows = words.row_lengths()
        numeric = tf.strings.regex_full_match(words.flat_values, r"[0-9]{1,9}")
        first = tf.argmax(tf.cast(~numeric, tf.int32), output_type=tf.int64)
        flat = checked(words.flat_values, tf.reduce_all(numeric),
                       f"input '{self.input_name}' holds ",
                       tf.gather(words.flat_values, first)[None],
                       "; expected space-separated decimal token ids (this export has no "
                       "vocabulary)")
        empty = tf.equal(rows, 0)
        flat = checked(flat, ~tf.reduce_any(empty), f"input '{self.input_name}' row ",
                       tf.argmax(tf.cast(empty, tf.int32)), " is an empty string (or "
                       "whitespace only); expected at least one token id")
        ids = tf.strings.to_number(flat, tf.int32)
        bad = (ids < 1) | (ids >= self.vocab_size)
        ids = checked(ids, ~tf.reduce_any(bad), f"input '{self.input_name}' token id ",
                      tf.gather(ids, tf.argmax(tf.cast(bad, tf.int32)))[None],
                      f" is out of range; expected ids in [1, {self.vocab_size})")
        return tf.RaggedTensor.from_row_lengths(ids, rows).to_tensor(0)


def id_text_encoder(vocab_size, *, input_name):
    """An :class:`IdTextEncoder`: the text input of a model exported without a vocabulary.

    Example:
        >>> encode = id_text_encoder(30, input_name="tokens")
        >>> encode(tf.constant(["5 17 3", "29"]))   # [[5, 17, 3], [29, 0, 0]] int32 (2, 3)
    """
    return IdTextEncoder(vocab_size, input_name=input_name)


class IdNames(tf.Module):
    """Integer ids (any shape) -> their names (tf.string, same shape); an id without a
    name (padding, out of range) gives `default`.

    Args:
        names: the names by id.
        default: the string of an id outside [0, len(names)).
        skip: ids written as `default` too (e.g. 0, the padding of a tagger).
    """

    def __init__(self, names, *, default="", skip=(), stem="names"):
        super().__init__(name=f"{stem}_names")
        self.names = [str(n) for n in names]
        if not self.names:
            raise ValueError("names must hold at least one name. Received: []")
        self.skip = tuple(int(s) for s in skip)
        path, self._encoded, self._offset = _vocabulary_file(self.names, stem)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                path, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string, tf.lookup.TextFileIndex.WHOLE_LINE),
            default_value=default)
        self.default = default

    def __call__(self, ids):
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int64)
        out = self.table.lookup(ids - self._offset)
        if self._encoded:
            found = (tf.strings.substr(out, 0, 1) == _B64) & (out != self.default)
            out = tf.where(found, tf.io.decode_base64(
                tf.where(found, tf.strings.substr(out, 1, -1), "")), out)
        for s in self.skip:
            out = tf.where(tf.equal(ids, s), self.default, out)
        return out


def id_names(names, *, default="", skip=(), stem="names"):
    """An :class:`IdNames`: int ids (any shape) -> tf.string names (same shape).

    Example:
        >>> labels = id_names(["negative", "positive"], stem="label")
        >>> labels(tf.constant([1, 0]))           # [b"positive", b"negative"] (2,)
    """
    return IdNames(names, default=default, skip=skip, stem=stem)

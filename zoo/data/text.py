"""The one tokenizer of rnn-zoo: text <-> token ids for training, export and the CLI.

Token ids (every text pipeline, every export, the ``zoo`` command):

- 0 = padding ``""`` (masked by the models' ``Embedding(mask_zero=True)`` and skipped
  by ``zoo.losses.SequenceLoss(ignore_class=0)``),
- 1 = out-of-vocabulary ``"[UNK]"``, 2 = start ``"[START]"``, 3 = end ``"[END]"``,
- then the learned tokens, most frequent first, ties in alphabetical (code point) order.

How a string is split (``level``), after lower-casing when ``lowercase`` is set:

- ``"word"``: ``<br>`` / ``<br />`` become spaces, every character that is neither a
  word character (ASCII letter, digit, ``_``: RE2's ``\\w``), whitespace nor an
  apostrophe becomes a token of its own, then the text is split on whitespace;
- ``"char"``: one token per Unicode character;
- ``"space"``: split on whitespace only (pre-tokenised text such as phonemes);
- ``"tokens"``: the input is already a 1-D tensor of tokens (a string is split on
  whitespace).

:class:`Tokenizer` maps tokens with ``keras.layers.StringLookup``; ``Tokenizer.adapt``
builds the vocabulary from a ``tf.data`` split (the token set by ``StringLookup.adapt``,
the counts by ``tf.math.bincount`` in a ``Dataset.reduce``). ``get_config`` is a plain
JSON object (the vocabulary by id and the settings) that ``from_config`` rebuilds the
same tokenizer from: it is what a run folder and an export record as an artifact.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

PAD, OOV, START, END = "", "[UNK]", "[START]", "[END]"
PAD_ID, OOV_ID, START_ID, END_ID = 0, 1, 2, 3
SPECIAL_TOKENS = (PAD, OOV, START, END)
LEVELS = ("char", "word", "space", "tokens")
_ADAPT_BATCH = 8192


def _check_level(level):
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}. Received: level={level!r}")


def split_tokens(text, level, lowercase=False):
    """Split a scalar string tensor into a 1-D string tensor of tokens (rules above).

    With ``level="tokens"`` a 1-D tensor of tokens is returned as it is (lower-cased
    when asked); a scalar string is split on whitespace."""
    _check_level(level)
    text = tf.convert_to_tensor(text)
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    if level == "tokens":
        return tf.strings.split(text) if text.shape.rank == 0 else text
    if level == "char":
        return tf.strings.unicode_split(text, "UTF-8")
    if level == "word":
        text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
        text = tf.strings.regex_replace(text, r"([^\w\s'])", r" \1 ")
    return tf.strings.split(text)


def int_tokens(values):
    """Integer sequences (e.g. MIDI pitches) as string tokens, for a `Tokenizer`."""
    return tf.strings.as_string(values)


def _count_tokens(tokens):
    """(token list, counts) of every token in `tokens`, a dataset of 1-D string batches.

    ``StringLookup.adapt`` finds the token set; a ``Dataset.reduce`` of
    ``tf.math.bincount`` over the ids counts them (both in TensorFlow)."""
    probe = keras.layers.StringLookup(mask_token=PAD, oov_token=OOV)
    probe.adapt(tokens)
    seen = probe.get_vocabulary()  # ["", "[UNK]", learned...]
    size = len(seen)

    def add(total, ids):
        ids = tf.cast(ids, tf.int32)
        return total + tf.math.bincount(ids, minlength=size, maxlength=size, dtype=tf.int64)

    counts = tokens.map(probe).reduce(tf.zeros([size], tf.int64), add).numpy()
    return seen[2:], counts[2:].tolist()


class Tokenizer:
    """Text <-> token ids with the project's id convention (module docstring).

    Args:
        vocabulary: the learned tokens, most frequent first, without the special ones.
        level: how a string is split: "char", "word", "space" or "tokens".
        lowercase: lower-case text before splitting.
        max_length: keep at most this many tokens of a text (before start/end are
            added); None keeps all. The pipelines and the CLI truncate alike.

    Example:
        >>> tok = Tokenizer.adapt(train.map(lambda ex: ex["text"]), level="word",
        ...                       lowercase=True)
        >>> tok.encode(tf.constant("Hello, world!"))   # (4,) int32: a tf.data map works
        >>> tok.encode_batch(["Hello, world!", "Hi"])  # (2, 4) int32, 0-padded
        >>> tok.decode([2, 5, 6, 3])                   # "hello ,"
        >>> Tokenizer.from_config(tok.get_config())    # the same ids (a JSON artifact)
    """

    def __init__(self, vocabulary=(), *, level="word", lowercase=False, max_length=None):
        _check_level(level)
        tokens = [str(t) for t in vocabulary]
        clash = sorted(set(tokens) & set(SPECIAL_TOKENS))
        if clash:
            raise ValueError(
                f"vocabulary may not contain the special tokens {clash}. "
                f"Received: {len(tokens)} tokens"
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"vocabulary has repeated tokens. Received: {len(tokens)} tokens")
        if max_length is not None and (isinstance(max_length, bool) or int(max_length) < 1):
            raise ValueError(
                "max_length must be a positive integer or None. "
                f"Received: max_length={max_length!r}"
            )
        self.tokens = tokens
        self.level = level
        self.lowercase = bool(lowercase)
        self.max_length = None if max_length is None else int(max_length)
        by_id = [START, END] + tokens
        self._lookup = keras.layers.StringLookup(
            vocabulary=by_id, mask_token=PAD, oov_token=OOV, output_mode="int"
        )

    # --- building -----------------------------------------------------------------

    @classmethod
    def adapt(cls, texts, *, level="word", lowercase=False, max_tokens=None, min_count=1,
              max_length=None):
        """A tokenizer whose vocabulary is the tokens of `texts` (a dataset of strings or
        1-D token tensors: use the training split only), the `max_tokens` most frequent
        (specials included in that number) seen at least `min_count` times."""
        _check_level(level)
        if max_tokens is not None and int(max_tokens) < len(SPECIAL_TOKENS):
            raise ValueError(
                f"max_tokens must be at least {len(SPECIAL_TOKENS)} (the special tokens) or "
                f"None. Received: max_tokens={max_tokens!r}"
            )
        tokens = texts.map(lambda t: split_tokens(t, level, lowercase),
                           num_parallel_calls=tf.data.AUTOTUNE)
        tokens = tokens.unbatch().batch(_ADAPT_BATCH)
        seen, counts = _count_tokens(tokens)
        count = dict(zip(seen, counts))
        ranked = sorted(
            (t for t, c in count.items() if c >= min_count and t not in SPECIAL_TOKENS),
            key=lambda t: (-count[t], t),
        )
        if max_tokens is not None:
            ranked = ranked[: int(max_tokens) - len(SPECIAL_TOKENS)]
        return cls(ranked, level=level, lowercase=lowercase, max_length=max_length)

    # --- the vocabulary -------------------------------------------------------------

    @property
    def size(self):
        """Number of ids, specials included: the model's `vocab_size`."""
        return len(self.tokens) + len(SPECIAL_TOKENS)

    def get_vocabulary(self):
        """All tokens by id: ["", "[UNK]", "[START]", "[END]", learned...]."""
        return list(SPECIAL_TOKENS) + self.tokens

    # --- encoding -------------------------------------------------------------------

    def split(self, text):
        """The tokens (1-D string tensor) of one string, as `encode` sees them."""
        return split_tokens(text, self.level, self.lowercase)

    def encode(self, text, *, start=False, end=False, max_length=None):
        """Token ids (1-D int32 tensor) of one string (or token vector); usable in a
        ``tf.data`` map. Truncated to `max_length` (default: the tokenizer's) tokens,
        then framed by the start / end ids when asked."""
        ids = tf.cast(self._lookup(self.split(text)), tf.int32)
        max_length = self.max_length if max_length is None else max_length
        if max_length is not None:
            ids = ids[:max_length]
        parts = ([tf.constant([START_ID])] if start else []) + [ids]
        parts += [tf.constant([END_ID])] if end else []
        return tf.concat(parts, axis=0) if len(parts) > 1 else ids

    def encode_batch(self, texts, *, start=False, end=False, max_length=None, length=None):
        """Ids of a list of Python strings as a (len(texts), steps) int32 NumPy array,
        0-padded on the right: what a padded batch of the pipeline holds. `length`
        fixes `steps` (longer rows are cut), else the longest row decides."""
        if isinstance(texts, (str, bytes)):
            raise ValueError(f"texts must be a list of strings. Received: {texts!r}")
        rows = [self.encode(tf.constant(t), start=start, end=end,
                            max_length=max_length).numpy() for t in texts]
        steps = length if length is not None else max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), steps), np.int32)
        for i, row in enumerate(rows):
            row = row[:steps]
            out[i, :len(row)] = row
        return out

    def decode(self, ids, *, join=None):
        """The text of a 1-D id sequence: stops at the end id, skips padding and start,
        writes out-of-range ids as "[UNK]"; tokens joined with `join` ("" at char
        level, " " otherwise by default)."""
        vocabulary = self.get_vocabulary()
        tokens = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            tokens.append(vocabulary[i] if 0 <= i < len(vocabulary) else OOV)
        sep = join if join is not None else ("" if self.level == "char" else " ")
        return sep.join(tokens)

    # --- saving ---------------------------------------------------------------------

    def get_config(self):
        """A JSON-serialisable dict: the vocabulary by id (specials first) and the
        settings. ``Tokenizer.from_config`` rebuilds the same tokenizer."""
        return {"vocabulary": self.get_vocabulary(), "level": self.level,
                "lowercase": self.lowercase, "max_length": self.max_length}

    @classmethod
    def from_config(cls, config):
        """The tokenizer of a `get_config` dict (files written before it held
        ``"tokens"``, the learned tokens only, which is read too)."""
        if not isinstance(config, dict):
            raise ValueError(f"config must be a dict. Received: {type(config).__name__}")
        config = dict(config)
        if "tokens" in config:
            vocabulary = config.pop("tokens")
        else:
            by_id = list(config.pop("vocabulary", ()))
            if by_id[: len(SPECIAL_TOKENS)] != list(SPECIAL_TOKENS):
                raise ValueError(
                    f"the vocabulary must start with the special tokens {list(SPECIAL_TOKENS)}. "
                    f"Received: {by_id[:len(SPECIAL_TOKENS)]}"
                )
            vocabulary = by_id[len(SPECIAL_TOKENS):]
        return cls(vocabulary, **config)

    def save(self, path):
        """Write `get_config()` as JSON (UTF-8) to `path`."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.get_config(), handle, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls.from_config(json.load(handle))


def fit_or_load(path, fit_fn):
    """The tokenizer saved at `path` if it exists (a resumed run), else `fit_fn()`,
    saved there."""
    if path is not None and os.path.exists(path):
        return Tokenizer.load(path)
    tokenizer = fit_fn()
    if path is not None:
        tokenizer.save(path)
    return tokenizer


_LEGACY_SPLITS = {"chars": "char", "words": "word", "tokens": "tokens", "space": "space"}


def from_artifact(artifact, role):
    """The tokenizer of `role` ("input" or "output") in a ``vocabulary`` artifact
    (``{"input": Tokenizer.get_config(), "output": ..., "classes": [...]}``), or None
    when the artifact has none for that role.

    Exports written before the tokenizer config held the token list by id with
    ``split`` / ``lowercase`` beside it; those are read too."""
    entry = (artifact or {}).get(role)
    if entry is None:
        return None
    if isinstance(entry, dict):
        return Tokenizer.from_config(entry)
    split = artifact.get("split", "words")
    if split not in _LEGACY_SPLITS:
        raise ValueError(
            f"unknown split in the vocabulary artifact. Received: split={split!r}, "
            f"expected one of {sorted(_LEGACY_SPLITS)}"
        )
    return Tokenizer.from_config({"vocabulary": list(entry), "level": _LEGACY_SPLITS[split],
                                  "lowercase": bool(artifact.get("lowercase", False))})

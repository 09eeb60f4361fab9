"""The one tokenizer (`zoo.data.text.Tokenizer`) against an independent pure-Python
re-implementation of its documented rules: splitting (words, punctuation, <br>,
lower-casing, characters), counting and ranking on the training split, ids (0 padding,
1 unknown, 2 start, 3 end), truncation, decoding, and the JSON artifact round trip."""

import collections
import json
import re

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import text
from zoo.data.text import Tokenizer

SPECIALS = ["", "[UNK]", "[START]", "[END]"]

TRAIN = [
    "Hello, world! Hello again.",
    "It's a dog's life... (really)",
    "Don't<br />stop<br>me now; WORLD peace?",
    "x_y 42 -7.5% of 42",
    "tabs\tand\nnewlines, hello",
    "ÉCOLE café naïve",
]
HELD_OUT = [
    "Hello, WORLD!",
    "unseen words, hello?",
    "it's 42%",
    "",
    "a<br/>b",
    "Café ÉCOLE",
]


# --- the reference: the rules of zoo/data/text.py's docstring, in plain Python ---------


def ref_split(string, level, lowercase):
    if lowercase:
        string = string.lower()
    if level == "char":
        return list(string)
    if level == "word":
        string = re.sub(r"<br\s*/?>", " ", string)
        # Word characters are ASCII letters, digits and "_" (RE2's \w); the apostrophe stays.
        string = re.sub(r"([^A-Za-z0-9_\s'])", r" \1 ", string, flags=re.ASCII)
    return string.split()


def ref_vocabulary(texts, level, lowercase, max_tokens=None, min_count=1):
    counts = collections.Counter(t for s in texts for t in ref_split(s, level, lowercase))
    ranked = sorted((t for t, c in counts.items() if c >= min_count and t not in SPECIALS),
                    key=lambda t: (-counts[t], t))
    if max_tokens is not None:
        ranked = ranked[: max_tokens - 4]
    return SPECIALS + ranked


def ref_ids(string, vocabulary, level, lowercase, start=False, end=False, max_length=None):
    index = {t: i for i, t in enumerate(vocabulary)}
    ids = [index.get(t, 1) for t in ref_split(string, level, lowercase)][:max_length]
    return ([2] if start else []) + ids + ([3] if end else [])


def _ds(texts):
    return tf.data.Dataset.from_tensor_slices(texts)


# --- parity -----------------------------------------------------------------------------


@pytest.mark.jax
@pytest.mark.parametrize("level, lowercase", [
    ("word", True), ("word", False), ("char", False), ("char", True), ("space", False)])
def test_ids_match_the_reference(level, lowercase):
    tok = Tokenizer.adapt(_ds(TRAIN), level=level, lowercase=lowercase)
    vocabulary = ref_vocabulary(TRAIN, level, lowercase)
    assert tok.get_vocabulary() == vocabulary
    assert tok.size == len(vocabulary)
    for string in HELD_OUT + TRAIN:
        assert tok.encode(tf.constant(string)).numpy().tolist() == ref_ids(
            string, vocabulary, level, lowercase), string
        assert tok.encode(tf.constant(string), start=True, end=True, max_length=3).numpy(
        ).tolist() == ref_ids(string, vocabulary, level, lowercase, True, True, 3), string
    # A tf.data map and a batch of Python strings give the same ids, 0-padded.
    mapped = [ids.tolist() for ids in _ds(HELD_OUT).map(tok.encode).as_numpy_iterator()]
    assert mapped == [ref_ids(s, vocabulary, level, lowercase) for s in HELD_OUT]
    batch = tok.encode_batch(HELD_OUT)
    width = max(len(r) for r in mapped)
    assert batch.dtype == np.int32 and batch.shape == (len(HELD_OUT), width)
    assert batch.tolist() == [r + [0] * (width - len(r)) for r in mapped]


def test_word_level_examples_spelled_out():
    tok = Tokenizer.adapt(_ds(TRAIN), level="word", lowercase=True)
    words = tok.get_vocabulary()
    assert words[:4] == SPECIALS
    # Punctuation marks are tokens; apostrophes stay inside words; <br> splits.
    assert [words[i] for i in tok.encode(tf.constant("Hello, WORLD!")).numpy()] == [
        "hello", ",", "world", "!"]
    assert [words[i] for i in tok.encode(tf.constant("it's don't")).numpy()] == ["it's", "don't"]
    assert tok.encode(tf.constant("zebra")).numpy().tolist() == [text.OOV_ID]
    # Counted on the training split, most frequent first, ties by code point:
    # "." 5, "hello" 3, then ",", "42", "world" and "é" twice each.
    assert words[4:10] == [".", "hello", ",", "42", "world", "é"]
    # Word characters are ASCII (RE2's \w), so an accented letter is split off.
    assert [words[i] for i in tok.encode(tf.constant("Café")).numpy()] == ["caf", "é"]
    cased = Tokenizer.adapt(_ds(TRAIN), level="word")
    assert "WORLD" in cased.tokens and "world" in cased.tokens
    assert cased.encode(tf.constant("Hello")).numpy().tolist() == [
        cased.get_vocabulary().index("Hello")]


@pytest.mark.jax
def test_max_tokens_min_count_and_token_vectors():
    assert Tokenizer.adapt(_ds(TRAIN), level="word", max_tokens=7).get_vocabulary() == \
        ref_vocabulary(TRAIN, "word", False, max_tokens=7)
    assert Tokenizer.adapt(_ds(TRAIN), level="word", min_count=2).get_vocabulary() == \
        ref_vocabulary(TRAIN, "word", False, min_count=2)
    # Pre-tokenised input (a 1-D tensor per example), e.g. MIDI pitches as strings.
    pitches = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[60, 62, 60], [0, 60]]))
    tok = Tokenizer.adapt(pitches.map(text.int_tokens), level="tokens")
    assert tok.get_vocabulary() == SPECIALS + ["60", "0", "62"]
    assert tok.encode(text.int_tokens(tf.constant([62, 61, 0]))).numpy().tolist() == [6, 1, 5]
    assert tok.encode_batch(["62 0"]).tolist() == [[6, 5]]  # a string: whitespace-split


def test_decode_and_max_length():
    tok = Tokenizer(["a", "b", "c"], level="char", max_length=2)
    assert tok.encode(tf.constant("abca")).numpy().tolist() == [4, 5]
    assert tok.encode(tf.constant("abca"), max_length=3).numpy().tolist() == [4, 5, 6]
    assert tok.encode_batch(["abca", "c"], end=True).tolist() == [[4, 5, 3], [6, 3, 0]]
    assert tok.encode_batch(["abca"], length=5).tolist() == [[4, 5, 0, 0, 0]]
    # Stops at the end id, skips padding and start, unknown / out of range -> [UNK].
    assert tok.decode([2, 4, 0, 1, 99, 6, 3, 5]) == "a[UNK][UNK]c"
    words = Tokenizer(["hello", ","], level="word")
    assert words.decode(np.array([[2, 4, 5, 3]])) == "hello ,"
    assert words.decode([4, 5], join="|") == "hello|,"


@pytest.mark.jax
def test_config_round_trip_is_json_and_gives_the_same_ids(tmp_path):
    tok = Tokenizer.adapt(_ds(TRAIN), level="word", lowercase=True, max_length=5)
    config = json.loads(json.dumps(tok.get_config()))
    assert config == {"vocabulary": tok.get_vocabulary(), "level": "word", "lowercase": True,
                      "max_length": 5}
    again = Tokenizer.from_config(config)
    np.testing.assert_array_equal(again.encode_batch(HELD_OUT), tok.encode_batch(HELD_OUT))
    tok.save(tmp_path / "t.json")
    assert Tokenizer.load(tmp_path / "t.json").get_config() == config
    # Files written before the config held the vocabulary by id: learned tokens only.
    (tmp_path / "old.json").write_text(json.dumps(
        {"tokens": tok.tokens, "level": "word", "lowercase": True}))
    assert Tokenizer.load(tmp_path / "old.json").get_vocabulary() == tok.get_vocabulary()


def test_from_artifact_reads_roles_and_old_exports():
    tok = Tokenizer(["hello", ","], level="word", lowercase=True)
    artifact = {"input": tok.get_config(), "classes": ["neg", "pos"]}
    assert text.from_artifact(artifact, "input").get_config() == tok.get_config()
    assert text.from_artifact(artifact, "output") is None
    assert text.from_artifact(None, "input") is None
    old = {"input": tok.get_vocabulary(), "split": "words", "lowercase": True}
    assert text.from_artifact(old, "input").get_config() == {**tok.get_config(), "max_length": None}
    assert text.from_artifact({"output": SPECIALS + ["a"], "split": "chars"}, "output").level == \
        "char"
    with pytest.raises(ValueError, match="Received: split='bytes'"):
        text.from_artifact({"input": SPECIALS, "split": "bytes"}, "input")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="Received: level='letters'"):
        Tokenizer(["a"], level="letters")
    with pytest.raises(ValueError, match=r"special tokens \['\[END\]'\]"):
        Tokenizer(["a", "[END]"])
    with pytest.raises(ValueError, match="repeated tokens"):
        Tokenizer(["a", "a"])
    with pytest.raises(ValueError, match="Received: max_length=0"):
        Tokenizer(["a"], max_length=0)
    with pytest.raises(ValueError, match="Received: max_tokens=2"):
        Tokenizer.adapt(_ds(TRAIN), max_tokens=2)
    with pytest.raises(ValueError, match="must start with the special tokens"):
        Tokenizer.from_config({"vocabulary": ["a", "b"], "level": "word"})
    with pytest.raises(ValueError, match="list of strings"):
        Tokenizer(["a"]).encode_batch("a")

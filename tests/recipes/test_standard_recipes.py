"""The recipes over standard TFDS sets, end to end under `tfds.testing.mock_data`, and
their standard scores on mocked examples whose predictions the tests choose."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data
from recipes import char_lm, ner, sentiment, translation
from zoo import recipe as base

from tests.recipes.recipe_helpers import check_raw_predict, mock_conll2003, run_tiny


# translation's end-to-end run, with its raw-text predict, is in test_seq2seq_recipes.py.
@pytest.mark.parametrize("recipe, mock, metric", [
    (sentiment, {"num_examples": 16}, "accuracy"),
    (ner, {"as_dataset_fn": mock_conll2003}, "entity_f1"),
    (char_lm, {"num_examples": 6}, "bits_per_character"),
])
@pytest.mark.slow
def test_standard_recipe_tiny_end_to_end(recipe, mock, metric, tmp_path):
    with tfds.testing.mock_data(**mock):
        summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, None)
        if recipe in RAW_TEXT:
            _check_raw_text(recipe, run_dir, export_dir)
    assert np.isfinite(summary["test"][metric])
    assert info["recipe"] == recipe.NAME


# The raw text of a test example of each recipe whose predict this test checks.
RAW_TEXT = {
    sentiment: ("imdb_reviews", lambda ex: ex["text"].decode()),
    ner: ("conll2003", lambda ex: " ".join(t.decode() for t in ex["tokens"])),
}


def _check_raw_text(recipe, run_dir, export_dir):
    """predict on the raw text of test examples gives the trained model's answer on the
    ids the recipe's pipeline tokenizer gives the same examples."""
    name, text_of = RAW_TEXT[recipe]
    data = recipe.load_data(base.make_config(recipe, tiny=True))
    texts = [text_of(ex) for ex in zoo.data.load(name, "test").take(4).as_numpy_iterator()]
    ids = data.extras["tokenizers"]["input"].encode_batch(texts)
    classes = data.artifacts["vocabulary"]["classes"]
    out = check_raw_predict(run_dir, export_dir, {"tokens": np.array(texts, dtype=object)},
                            {"tokens": ids}, class_names=classes)
    if recipe is ner:  # one tag per word of the sentence, "" after it
        assert [sum(1 for t in row if t) for row in out["labels"]] == [
            len(t.split()) for t in texts]
        assert all(t in classes for row in out["labels"] for t in row if t)
    else:
        assert set(out["label"]) <= {"negative", "positive"}


# --- the standard scores, by hand ---------------------------------------------------

def _examples(rows, spec, train_only=()):
    """A mocked `as_dataset` giving `rows` (dicts) for every split, and `train_only` too
    for the training split."""
    def as_dataset(self, split, **kwargs):
        del self, kwargs
        split_rows = rows + list(train_only) if str(split).startswith("train") else rows
        return tf.data.Dataset.from_generator(lambda: iter(split_rows), output_signature=spec)
    return as_dataset


# (Portuguese source, English reference, the translation the stub writes for it).
TRANSLATIONS = [("o gato sentou no", "The cat sat on the mat", "the cat sat on the"),
                ("um cachorro correu", "a dog ran home", "a dog ran by"),
                ("estamos aqui agora", "we are here now", "we are here now")]


def test_translation_scores_its_greedy_translations_with_sacrebleu(monkeypatch):
    import zoo.decoding

    rows = [{"pt": pt, "en": en} for pt, en, _ in TRANSLATIONS]
    spec = {"pt": tf.TensorSpec((), tf.string), "en": tf.TensorSpec((), tf.string)}
    by = [{"pt": "perto", "en": "by"}]  # so that the target vocabulary has "by"
    with tfds.testing.mock_data(as_dataset_fn=_examples(rows, spec, train_only=by)):
        config = base.make_config(translation, tiny=True)
        data = translation.load_data(config)
    assert [t for _, t in data.extras["test_pairs"]] == [en for _, en, _ in TRANSLATIONS]
    source, target = data.extras["tokenizers"]["input"], data.extras["tokenizers"]["output"]
    written = {pt: hyp for pt, _, hyp in TRANSLATIONS}

    def translate(model, ids, *, beam_width=1, **kwargs):  # ids -> the chosen translation
        assert beam_width == 1
        return target.encode_batch([written[source.decode(r)] for r in ids], end=True), None

    class Teacher:  # the teacher-forced pass, not under test here
        def evaluate(self, ds, verbose=0, return_dict=True):
            return {"token_accuracy": 0.25, "loss": 3.0}

    monkeypatch.setattr(zoo.decoding, "translate", translate)
    result = translation.evaluate(Teacher(), data, config)
    # BLEU (13a tokens, lower-cased): n-gram matches/total per sentence, n = 1..4:
    # 1: 5/5 4/4 3/3 2/2 (5 words, reference 6); 2: 3/4 2/3 1/2 0/1 ("by" for "home");
    # 3: 4/4 3/3 2/2 1/1. Corpus p = 12/13, 9/10, 6/7, 3/4; BP = exp(1 - 14/13).
    bleu = 100 * math.exp(1 - 14 / 13) * (12 / 13 * 9 / 10 * 6 / 7 * 3 / 4) ** 0.25
    # chrF (characters without spaces, orders n = 1..6, beta 2): sentence 1 "thecatsatonthe"
    # (14) is a prefix of "thecatsatonthemat" (17): 15-n of 15-n right, 18-n in the
    # reference; 2 "adogranby" (9) against "adogranhome" (11) share "adogran": 8-n of 10-n
    # right, 12-n in the reference; 3 is exact: 13-n of 13-n. Summed: 36-3n right of 38-3n
    # written and 43-3n in the references; P and R are the means over n of the ratios.
    p = sum((36 - 3 * n) / (38 - 3 * n) for n in range(1, 7)) / 6
    r = sum((36 - 3 * n) / (43 - 3 * n) for n in range(1, 7)) / 6
    assert result == pytest.approx({
        "teacher_forced_token_accuracy": 0.25, "loss_per_sentence": 3.0,
        "greedy_exact_match": 1 / 3, "bleu": bleu, "chrf": 100 * 5 * p * r / (4 * p + r)})


CONLL_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
# The test sentences and their tags, and the tag the stub predicts for each word
# (None: the padding class, 0).
SENTENCES = [("Peter Smith lives in Berlin", "B-PER I-PER O O B-LOC"),
             ("the EU said .", "O B-ORG O O"),
             ("Smith lives", "B-PER O")]
PREDICTED = {"peter": "B-PER", "smith": "O", "lives": "O", "in": "O", "berlin": "B-ORG",
             "the": "O", "eu": "B-ORG", "said": "O", ".": None}


def test_ner_scores_entities_with_seqeval(monkeypatch):
    rows = [{"tokens": np.array(words.split()), "pos": np.zeros(len(words.split()), np.int64),
             "chunks": np.zeros(len(words.split()), np.int64),
             "ner": np.array([CONLL_TAGS.index(t) for t in tags.split()], np.int64)}
            for words, tags in SENTENCES]
    spec = {"tokens": tf.TensorSpec((None,), tf.string), "ner": tf.TensorSpec((None,), tf.int64),
            "pos": tf.TensorSpec((None,), tf.int64), "chunks": tf.TensorSpec((None,), tf.int64)}
    with tfds.testing.mock_data(as_dataset_fn=_examples(rows, spec)):
        config = base.make_config(ner, tiny=True)
        data = ner.load_data(config)
    names = data.extras["tag_names"]
    assert names == ["<pad>"] + CONLL_TAGS
    table = np.zeros(data.extras["tokenizers"]["input"].size, np.int64)
    for i, word in enumerate(data.extras["tokenizers"]["input"].get_vocabulary()):
        if PREDICTED.get(word):
            table[i] = names.index(PREDICTED[word])

    class Tagger:  # one-hot scores of the tag chosen for each word
        def predict_on_batch(self, inputs):
            return np.eye(len(names))[table[np.asarray(inputs["tokens"])]]

    result = ner.evaluate(Tagger(), data, config)
    # Entities: true PER(0-1) LOC(4) | ORG(1) | PER(0) = 4; predicted PER(0) (a boundary
    # error) ORG(4) (a type error) | ORG(1) | none = 3 ("." predicted as padding is "O").
    # Right: ORG(1). P = 1/3, R = 1/4, F1 = 2PR / (P + R) = 2/7.
    # Tokens right: 3 of 5 | 3 of 4 (padding is not "O") | 1 of 2 = 7/11; inside entities:
    # B-PER | B-ORG of 5 = 2/5.
    assert result == pytest.approx({
        "token_accuracy": 7 / 11, "entity_token_accuracy": 2 / 5, "entity_precision": 1 / 3,
        "entity_recall": 1 / 4, "entity_f1": 2 / 7, "reference_entity_f1": 0.9094})

"""zoo.scores: sacrebleu BLEU/chrF, seqeval entity scores and error rates, checked against
values computed by hand from the metrics' definitions."""

import math

import pytest

from zoo import metrics, scores

pytestmark = pytest.mark.jax  # no Keras, no TensorFlow: runs under any backend


def test_bleu_of_a_prefix_is_its_brevity_penalty():
    # 13a tokens: hypothesis 5, reference 6. Every n-gram of the hypothesis is in the
    # reference: p1..p4 = 5/5, 4/4, 3/3, 2/2 = 1, so BLEU = BP = exp(1 - 6/5).
    result = scores.translation_scores(["the cat sat on the"], ["the cat sat on the mat"])
    assert result["bleu"] == pytest.approx(100 * math.exp(1 - 6 / 5))


def test_corpus_bleu_sums_the_counts_of_every_sentence():
    # Sentence 1 as above: matches/total 5/5, 4/4, 3/3, 2/2 (lengths 5 and 6).
    # Sentence 2, "a dog ran by" against "a dog ran home": 1-grams a, dog, ran: 3/4;
    # 2-grams "a dog", "dog ran": 2/3; 3-gram "a dog ran": 1/2; the 4-gram: 0/1.
    # Corpus: p1 = 8/9, p2 = 6/7, p3 = 4/5, p4 = 2/3; lengths 9 against 10.
    expected = 100 * math.exp(1 - 10 / 9) * (8 / 9 * 6 / 7 * 4 / 5 * 2 / 3) ** 0.25
    result = scores.translation_scores(["the cat sat on the", "a dog ran by"],
                                       ["the cat sat on the mat", "a dog ran home"])
    assert result["bleu"] == pytest.approx(expected)


def test_chrf_averages_character_ngram_precision_and_recall():
    # "ab" against "abc": 1-grams a, b of a, b, c: P 2/2, R 2/3; 2-grams ab of ab, bc:
    # P 1/1, R 1/2; the hypothesis has no 3-gram, so 2 orders count: P = 1,
    # R = (2/3 + 1/2) / 2 = 7/12, chrF2 = 5PR / (4P + R) = (35/12) / (55/12) = 7/11.
    assert scores.translation_scores(["ab"], ["abc"])["chrf"] == pytest.approx(100 * 7 / 11)


def test_lowercase_compares_without_case():
    cased = scores.translation_scores(["the cat sat on the"], ["The Cat sat on the mat"])
    assert cased["bleu"] < 100 * math.exp(1 - 6 / 5) - 1
    lower = scores.translation_scores(["the cat sat on the"], ["The Cat sat on the mat"],
                                      lowercase=True)
    assert lower["bleu"] == pytest.approx(100 * math.exp(1 - 6 / 5))


def test_entity_scores_with_a_boundary_error_a_type_error_and_a_miss():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["B-MISC"]]
    pred = [["B-PER", "O", "O", "B-ORG"], ["B-ORG", "O"], ["O"]]
    # True entities: PER(0-1), LOC(3), ORG(0), MISC(0) = 4. Predicted: PER(0) (the wrong
    # span), ORG(3) (the wrong type), ORG(0) = 3. Right: ORG(0) only.
    # P = 1/3, R = 1/4, F1 = 2PR / (P + R) = (1/6) / (7/12) = 2/7.
    result = scores.entity_scores(true, pred)
    assert result == pytest.approx({"entity_precision": 1 / 3, "entity_recall": 1 / 4,
                                    "entity_f1": 2 / 7})


def test_entity_scores_follow_conlleval_an_inside_tag_after_o_starts_an_entity():
    # conlleval (CoNLL-2000/2003) reads "O I-PER" as a PER entity at 1, the same as "O B-PER".
    assert scores.entity_scores([["O", "I-PER"]], [["O", "B-PER"]])["entity_f1"] == 1.0
    # No entity predicted and none to find: 0, not a division by zero.
    assert scores.entity_scores([["O"]], [["O"]])["entity_f1"] == 0.0


def test_error_rates_sum_edits_over_the_reference_length():
    # K AE1 T is right; D AO1 G against D AA1 G Z: one substitution, one deletion.
    result = scores.error_rates([["K", "AE1", "T"], ["D", "AO1", "G"]],
                                [["K", "AE1", "T"], ["D", "AA1", "G", "Z"]])
    assert result == pytest.approx({"token_error_rate": 2 / 7, "sequence_error_rate": 1 / 2})


def test_edit_distance():
    assert scores.edit_distance("kitten", "sitting") == 3  # k->s, e->i, +g
    assert scores.edit_distance([], ["A"]) == 1
    assert scores.edit_distance(["A", "B"], ["B", "A"]) == 2


def test_closest_references_score_a_word_right_when_it_matches_any_pronunciation():
    predicted = [["T", "AH0", "M", "EY1", "T", "OW2"], ["R", "IY1", "D"]]
    alternatives = [[["T", "AH0", "M", "AA1", "T", "OW2"], ["T", "AH0", "M", "EY1", "T", "OW2"]],
                    [["R", "EH1", "D"], ["R", "IY1", "D", "Z"]]]
    chosen = scores.closest_references(predicted, alternatives)
    # "tomato" matches its second pronunciation; "read" is 1 edit from both, the first wins.
    assert chosen == [alternatives[0][1], alternatives[1][0]]
    assert scores.error_rates(predicted, chosen) == pytest.approx(
        {"token_error_rate": 1 / 9, "sequence_error_rate": 1 / 2})


@pytest.mark.parametrize("call, message", [
    (lambda: scores.translation_scores(["a b c d"], ["a b c d", "e f g h"]),
     "translation_scores: expected as many predictions as references. Received: "
     "1 predictions and 2 references."),
    (lambda: scores.translation_scores([["the", "cat"]], ["the cat"]),
     "translation_scores: expected hypotheses as strings (detokenized sentences). "
     "Received: list ['the', 'cat'] at index 0."),
    (lambda: scores.translation_scores("the cat", "the cat"),
     "translation_scores: expected lists (one item per sentence or word). "
     "Received: a single string."),
    (lambda: scores.entity_scores([["O", "B-PER"]], [["O"]]),
     "entity_scores: sentence 0 has 2 true tags and 1 predicted tags; expected the same "
     "number."),
    (lambda: scores.entity_scores(["B-PER", "O"], ["B-PER", "O"]),
     "entity_scores: expected true_tags as one list of tag strings per sentence. "
     "Received: 'B-PER' at index 0."),
    (lambda: scores.entity_scores([[1, 0]], [[1, 0]]),
     "entity_scores: expected true_tags as one list of tag strings per sentence. "
     "Received: [1, 0] at index 0."),
    (lambda: scores.error_rates([["A"]], []),
     "error_rates: expected as many predictions as references. Received: 1 predictions "
     "and 0 references."),
    (lambda: scores.error_rates([], []),
     "error_rates: expected at least one reference. Received: none."),
    (lambda: scores.closest_references([["A"]], [[]]),
     "closest_references: expected at least one reference per prediction. "
     "Received: none at index 0."),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_every_score_name_has_its_direction():
    names = {**scores.translation_scores(["a b c d"], ["a b c d"]),
             **scores.entity_scores([["B-PER"]], [["B-PER"]])}
    assert {n: metrics.direction(n) for n in names} == dict.fromkeys(names, "max")
    names = scores.error_rates([["A"]], [["A"]])
    assert {n: metrics.direction(n) for n in names} == dict.fromkeys(names, "min")
    for name in ("bleu", "chrf", "entity_f1", "reference_entity_f1"):
        assert metrics.direction(name) == "max", name
    for name in ("per", "wer", "reference_per"):
        assert metrics.direction(name) == "min", name

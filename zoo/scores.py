"""Standard scores of predicted sequences, from the libraries their fields use.

- :func:`translation_scores`: corpus BLEU and chrF (sacrebleu, its default
  13a tokenizer, one reference per sentence), on 0-100 scales as papers report them;
- :func:`entity_scores`: entity-level precision, recall and F1 (seqeval, the
  CoNLL-2000 evaluation convention), on 0-1 scales;
- :func:`error_rates`: token and sequence error rates (PER and WER for
  grapheme-to-phoneme: edit distance over the reference length, summed over the
  corpus; and the fraction of sequences with any error).

sacrebleu and seqeval are imported inside the functions, so importing this
module is light.

Example:
    >>> round(translation_scores(["the cat sat"], ["the cat sat"])["bleu"], 6)
    100.0
    >>> entity_scores([["B-PER", "O"]], [["B-PER", "O"]])["entity_f1"]
    1.0
    >>> error_rates([["a", "b"]], [["a", "c"]])
    {'token_error_rate': 0.5, 'sequence_error_rate': 1.0}
"""


def _check_pairs(predicted, references, what):
    predicted, references = list(predicted), list(references)
    if len(predicted) != len(references):
        raise ValueError(f"{what}: expected as many predictions as references. Received: "
                         f"{len(predicted)} predictions and {len(references)} references.")
    return predicted, references


def translation_scores(hypotheses, references):
    """``{"bleu", "chrf"}``: sacrebleu's corpus BLEU and chrF of detokenized strings.

    Args:
        hypotheses: the predicted sentences (strings).
        references: one reference sentence (string) per hypothesis.
    """
    import sacrebleu

    hypotheses, references = _check_pairs(hypotheses, references, "translation_scores")
    hypotheses = [str(h) for h in hypotheses]
    references = [str(r) for r in references]
    return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
            "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score)}


def entity_scores(true_tags, predicted_tags):
    """``{"entity_precision", "entity_recall", "entity_f1"}`` of IOB tag sequences
    (seqeval's default, CoNLL convention: an entity counts when its type and both
    ends match).

    Args:
        true_tags: one list of tag strings ("B-PER", "I-PER", "O"...) per sentence.
        predicted_tags: the predicted tags, the same lengths.
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    true_tags, predicted_tags = _check_pairs(true_tags, predicted_tags, "entity_scores")
    for i, (t, p) in enumerate(zip(true_tags, predicted_tags)):
        if len(t) != len(p):
            raise ValueError(f"entity_scores: sentence {i} has {len(t)} true tags and "
                             f"{len(p)} predicted tags; expected the same number.")
    true_tags = [list(t) for t in true_tags]
    predicted_tags = [list(p) for p in predicted_tags]
    return {"entity_precision": float(precision_score(true_tags, predicted_tags)),
            "entity_recall": float(recall_score(true_tags, predicted_tags)),
            "entity_f1": float(f1_score(true_tags, predicted_tags))}


def edit_distance(a, b):
    """Levenshtein distance between two token sequences."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rates(predicted, references):
    """``{"token_error_rate", "sequence_error_rate"}``: the summed edit distance over
    the summed reference length, and the fraction of sequences not equal to their
    reference.

    For grapheme-to-phoneme these are the field's PER (tokens are phonemes) and WER
    (a word is wrong when any phoneme is).
    """
    predicted, references = _check_pairs(predicted, references, "error_rates")
    if not references:
        raise ValueError("error_rates: expected at least one reference. Received: none.")
    errors = sum(edit_distance(list(p), list(r)) for p, r in zip(predicted, references))
    length = sum(len(r) for r in references)
    wrong = sum(list(p) != list(r) for p, r in zip(predicted, references))
    return {"token_error_rate": errors / max(length, 1),
            "sequence_error_rate": wrong / len(references)}

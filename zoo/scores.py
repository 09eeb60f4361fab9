"""Standard scores of predicted sequences, from the libraries their fields use.

- :func:`translation_scores`: corpus BLEU and chrF (sacrebleu 2's defaults: BLEU
  with the 13a tokenizer, 4-grams and exponential smoothing; chrF with character
  6-grams, beta 2 and whitespace ignored; one reference per sentence), on 0-100
  scales as papers report them;
- :func:`entity_scores`: entity-level precision, recall and F1 (seqeval, the
  CoNLL-2000 evaluation convention), on 0-1 scales;
- :func:`error_rates`: token and sequence error rates (PER and WER for
  grapheme-to-phoneme: edit distance over the reference length, summed over the
  corpus; and the fraction of sequences with any error);
- :func:`closest_references`: for words with several pronunciations, the reference
  each prediction is scored against (the closest one, so a word is right when it
  matches any of them).

sacrebleu and seqeval are imported inside the functions, so importing this
module is light.

Example:
    >>> round(translation_scores(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"], 6)
    100.0
    >>> entity_scores([["B-PER", "O"]], [["B-PER", "O"]])["entity_f1"]
    1.0
    >>> error_rates([["a", "b"]], [["a", "c"]])
    {'token_error_rate': 0.5, 'sequence_error_rate': 1.0}
"""


def _check_pairs(predicted, references, what):
    if isinstance(predicted, (str, bytes)) or isinstance(references, (str, bytes)):
        raise ValueError(f"{what}: expected lists (one item per sentence or word). Received: "
                         f"a single string.")
    predicted, references = list(predicted), list(references)
    if len(predicted) != len(references):
        raise ValueError(f"{what}: expected as many predictions as references. Received: "
                         f"{len(predicted)} predictions and {len(references)} references.")
    return predicted, references


def _check_strings(items, what, name):
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValueError(f"{what}: expected {name} as strings (detokenized sentences). "
                             f"Received: {type(item).__name__} {item!r:.60} at index {i}.")


def _check_tag_rows(rows, what, name):
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not all(isinstance(t, str) for t in row):
            raise ValueError(f"{what}: expected {name} as one list of tag strings per "
                             f"sentence. Received: {row!r:.60} at index {i}.")


def translation_scores(hypotheses, references, *, lowercase=False):
    """``{"bleu", "chrf"}``: sacrebleu's corpus BLEU and chrF of detokenized strings.

    sacrebleu tokenizes both sides itself (BLEU: its "13a" tokenizer, the one of
    WMT's mteval-v13a script; chrF: characters, whitespace removed), so pass plain
    sentences, not token lists.

    Args:
        hypotheses: the predicted sentences (strings).
        references: one reference sentence (string) per hypothesis.
        lowercase: compare case-insensitively (sacrebleu's ``-lc``), for systems
            that only write lower case.

    Example:
        >>> translation_scores(["the cat sat on the"], ["the cat sat on the mat"])["bleu"]
        81.87307530779823
    """
    import sacrebleu

    what = "translation_scores"
    hypotheses, references = _check_pairs(hypotheses, references, what)
    _check_strings(hypotheses, what, "hypotheses")
    _check_strings(references, what, "references")
    bleu = sacrebleu.metrics.BLEU(lowercase=lowercase)
    chrf = sacrebleu.metrics.CHRF(lowercase=lowercase)
    return {"bleu": float(bleu.corpus_score(hypotheses, [references]).score),
            "chrf": float(chrf.corpus_score(hypotheses, [references]).score)}


def entity_scores(true_tags, predicted_tags):
    """``{"entity_precision", "entity_recall", "entity_f1"}`` of IOB tag sequences
    (seqeval's default, CoNLL convention: an entity counts when its type and both
    ends match).

    Args:
        true_tags: one list of tag strings ("B-PER", "I-PER", "O"...) per sentence.
        predicted_tags: the predicted tags, the same lengths.

    Example (one person found, one organisation typed as a location):
        >>> entity_scores([["B-PER", "I-PER", "O", "B-ORG"]],
        ...               [["B-PER", "I-PER", "O", "B-LOC"]])["entity_f1"]
        0.5
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    true_tags, predicted_tags = _check_pairs(true_tags, predicted_tags, "entity_scores")
    _check_tag_rows(true_tags, "entity_scores", "true_tags")
    _check_tag_rows(predicted_tags, "entity_scores", "predicted_tags")
    for i, (t, p) in enumerate(zip(true_tags, predicted_tags)):
        if len(t) != len(p):
            raise ValueError(f"entity_scores: sentence {i} has {len(t)} true tags and "
                             f"{len(p)} predicted tags; expected the same number.")
    true_tags = [list(t) for t in true_tags]
    predicted_tags = [list(p) for p in predicted_tags]
    # zero_division=0: no entity predicted (or none to find) scores 0, without a warning.
    return {"entity_precision": float(precision_score(true_tags, predicted_tags,
                                                      zero_division=0)),
            "entity_recall": float(recall_score(true_tags, predicted_tags, zero_division=0)),
            "entity_f1": float(f1_score(true_tags, predicted_tags, zero_division=0))}


def edit_distance(a, b):
    """Levenshtein distance between two token sequences (insertions, deletions and
    substitutions cost 1).

    Example:
        >>> edit_distance("kitten", "sitting")
        3
    """
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


def closest_references(predicted, alternatives):
    """The reference each prediction is scored against: of its alternatives (e.g. the
    pronunciations of a word), the one at the smallest edit distance, the first on ties.

    ``error_rates(predicted, closest_references(predicted, alternatives))`` counts a
    word right when it matches any of its references, and its phoneme errors against
    the closest one.

    Example:
        >>> closest_references([["T", "AH0"]], [[["T", "UW1"], ["T", "AH0"]]])
        [['T', 'AH0']]
    """
    predicted, alternatives = _check_pairs(predicted, alternatives, "closest_references")
    chosen = []
    for i, (p, refs) in enumerate(zip(predicted, alternatives)):
        refs = [list(r) for r in refs]
        if not refs:
            raise ValueError(f"closest_references: expected at least one reference per "
                             f"prediction. Received: none at index {i}.")
        p = list(p)
        chosen.append(min(refs, key=lambda r: edit_distance(p, r)))
    return chosen

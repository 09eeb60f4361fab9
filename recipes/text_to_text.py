"""Text to text on your own data: (source, target) pairs, an encoder-decoder with attention.

An encoder-decoder (``zoo.create_model("encoder_decoder", attention="bahdanau")``,
bidirectional GRU encoder) reads each source string character by character (or
word by word: ``--set level=word``) and writes its target, trained with teacher
forcing. Evaluated by greedy decoding of the first ``decode_examples`` test pairs:
exact match (the whole target right), token error rate (edit distance over the
reference length), and sacrebleu's corpus BLEU (over characters at char level) and
chrF (``zoo.scores``).

The file (``--data``): read by the ``text_folder`` builder, a ``.csv`` (comma) or
``.tsv`` (tab) file split by a hash of each row into 80% train / 10% validation /
10% test, or a folder of ``train.*``, ``validation.*``, ``test.*``. Columns: a
header naming ``source`` and ``target``, else the first two fields; otherwise
``--set source_column=word --set target_column=2`` (header names or 0-based
indices), ``--set delimiter=;``, ``--set header=false``, ``--set level=word``.

Run::

    zoo train text_to_text --data pairs.tsv
    zoo generate saved_models/text_to_text/1 --text "hello"

The export's ``predict`` signature takes raw source strings (tf.string (batch,),
tokenized inside the SavedModel with the training vocabulary) and returns the
target ``text``, with ``tokens``, ``token_ids`` and ``scores``; ``predict_beam``
does the same with beam search (see ``zoo.export.generation``).
"""

import dataclasses

from recipes import _own_data, _seq2seq
from zoo.recipe import main_for

NAME = "text_to_text"
WHAT = "source,target rows"


@dataclasses.dataclass
class Config(_own_data.OwnDataConfig):
    source_column: str = ""
    target_column: str = ""
    level: str = "char"
    lowercase: bool = False
    max_tokens: int = 8000
    max_source_length: int = 64
    max_target_length: int = 64
    decode_examples: int = 500
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 3
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "encoder_decoder", "cell": "gru", "units": 64, "embedding_dim": 32,
        "bidirectional": True, "attention": "bahdanau"})


TINY = {"epochs": 1, "batch_size": 16, "max_source_length": 16, "max_target_length": 16,
        "decode_examples": 16,
        "model": {"name": "encoder_decoder", "cell": "gru", "units": 8, "embedding_dim": 8,
                  "attention": "bahdanau"}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 32, "max": 256, "step": 32, "default": 64},
    "attention": {"type": "choice", "values": ["bahdanau", "luong"], "default": "bahdanau"},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_sequence_exact_match", "max")


def load_data(config, data_dir=None):
    _own_data.check_level(config)
    for key in ("max_source_length", "max_target_length", "decode_examples"):
        if getattr(config, key) < 1:
            raise ValueError(f"--set {key}: expected an integer >= 1. "
                             f"Received: {key}={getattr(config, key)}")
    raw = _own_data.load_splits(config, data_dir, kind="translation", recipe=NAME,
                                names=("source", "target"), what=WHAT)
    data = _seq2seq.load(config, raw, source_key="source", target_key="target",
                         source_level=config.level, target_level=config.level,
                         max_source_length=config.max_source_length,
                         max_target_length=config.max_target_length,
                         lowercase=config.lowercase, max_tokens=config.max_tokens or None)
    data.extras["test_split"] = _own_data.scored_split(raw)
    return data


def build_model(config, data):
    return _seq2seq.build_model(config, data)


def _tokens(tokenizer, text):
    import tensorflow as tf

    return [t.decode("utf-8") for t in tokenizer.split(tf.constant(text)).numpy()]


def scores(predictions, references, level):
    """Exact match, token and sequence error rates, BLEU and chrF of predicted token
    lists against reference token lists.

    BLEU counts n-grams of the tokens (characters at ``level="char"``, where
    one-word targets would leave no word 4-grams); chrF reads the text itself.

    Example:
        >>> scores([list("ab")], [list("ab")], "char")["exact_match"]
        1.0
    """
    from zoo import scores as standard

    sep = "" if level == "char" else " "
    exact = sum(p == r for p, r in zip(predictions, references)) / max(len(references), 1)
    bleu = standard.translation_scores([" ".join(p) for p in predictions],
                                       [" ".join(r) for r in references])["bleu"]
    chrf = standard.translation_scores([sep.join(p) for p in predictions],
                                       [sep.join(r) for r in references])["chrf"]
    return {"exact_match": exact, **standard.error_rates(predictions, references),
            "bleu": bleu, "chrf": chrf}


def evaluate(model, data, config):
    pairs = data.extras["test_pairs"][:config.decode_examples]
    predictions = _seq2seq.decode(model, data, [s for s, _ in pairs])
    target = data.extras["tokenizers"]["output"]
    references = [_tokens(target, t) for _, t in pairs]
    teacher = model.evaluate(data.test, verbose=0, return_dict=True)
    return {**scores(predictions, references, config.level), "examples": len(pairs),
            "teacher_forced_token_accuracy": float(teacher["token_accuracy"]),
            "test_split": data.extras.get("test_split", "test")}


def report(model, data, config, run_dir):
    pairs = data.extras["test_pairs"][:5]
    predictions = _seq2seq.decode(model, data, [s for s, _ in pairs])
    sep = "" if config.level == "char" else " "
    examples = [{"source": s, "target": t, "predicted": sep.join(p)}
                for (s, t), p in zip(pairs, predictions)]
    for ex in examples:
        print(f"  {ex['source']!r:>30} -> {ex['predicted']!r} (target {ex['target']!r})")
    return {"examples": examples}


main = main_for(__name__)

if __name__ == "__main__":
    main()

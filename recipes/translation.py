"""Translation: Portuguese to English TED talks, an encoder-decoder with attention.

Word-level (``ted_hrlr_translate/pt_to_en``, lower-cased, 8k words per
side, sentences cut to ``max_length`` words), a bidirectional encoder and
Luong attention; evaluated with teacher forcing (token accuracy) and by
greedy decoding of the first ``decode_examples`` test sentences: sacrebleu's
corpus BLEU and chrF (0-100) of the decoded sentences against the raw
references, and the share of exact matches.

The scores (``zoo.scores.translation_scores``): each hypothesis is the target
tokenizer's ``decode`` of the predicted ids (words joined by spaces, "[UNK]"
for words outside the vocabulary); each reference is the test sentence as the
data set gives it. sacrebleu tokenizes both with its default 13a tokenizer
(BLEU) or compares characters without whitespace (chrF), case-insensitively
(``lowercase=True``, sacrebleu's ``-lc``) since the vocabulary is lower-cased.

Needs the ``ted_hrlr_translate`` files (internet on first use, or prepared in
``--data-dir``). Run: ``zoo train translation``. The export's ``predict`` and
``predict_beam`` signatures translate raw Portuguese sentences (tf.string (batch,))
into English ``text`` (see ``zoo.export.generation``).
"""

import dataclasses

from recipes import _seq2seq, _standard
from zoo.recipe import BaseConfig, main_for

NAME = "translation"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    max_tokens: int = 8000
    max_length: int = 40
    decode_examples: int = 200
    vocab_dir: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "encoder_decoder", "cell": "gru", "units": 256, "embedding_dim": 128,
        "bidirectional": True, "attention": "luong"})


TINY = {"epochs": 1, "batch_size": 4, "max_length": 10, "decode_examples": 4,
        "model": {"name": "encoder_decoder", "cell": "gru", "units": 8, "embedding_dim": 8,
                  "attention": "luong"}}
SEARCH_SPACE = {
    "units": {"type": "int", "min": 64, "max": 512, "step": 64, "default": 256},
    "attention": {"type": "choice", "values": ["bahdanau", "luong"], "default": "luong"},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 2e-3},
}
OBJECTIVE = ("val_loss", "min")


def load_data(config, data_dir=None):
    from zoo.data import load, standard

    data = standard.ted_hrlr_translate(
        data_dir=data_dir, batch_size=config.batch_size, max_tokens=config.max_tokens,
        max_length=config.max_length, vocab_dir=_standard.vocab_dir(config), seed=config.seed)

    raw = load("ted_hrlr_translate/pt_to_en", f"test[:{config.decode_examples}]",
               data_dir=data_dir)
    pairs = [(ex["pt"].decode("utf-8"), ex["en"].decode("utf-8"))
             for ex in raw.take(config.decode_examples).as_numpy_iterator()]
    data.extras.update(test_pairs=pairs, max_source_length=config.max_length)
    return data


def build_model(config, data):
    return _seq2seq.build_model(config, data)


def evaluate(model, data, config):
    from zoo.scores import translation_scores

    teacher = model.evaluate(data.test, verbose=0, return_dict=True)
    pairs = data.extras["test_pairs"]
    hypotheses = _seq2seq.decode_texts(model, data, [s for s, _ in pairs])
    target = data.extras["tokenizers"]["output"]
    exact = sum(h.split() == target.decode(target.encode(t)).split()
                for h, (_, t) in zip(hypotheses, pairs))
    results = {"teacher_forced_token_accuracy": float(teacher["token_accuracy"]),
               "loss_per_sentence": float(teacher["loss"]),
               "greedy_exact_match": exact / max(len(pairs), 1)}
    if pairs:  # decode_examples=0 decodes nothing, so there is nothing to score
        results.update(translation_scores(hypotheses, [t for _, t in pairs], lowercase=True))
    return results


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Named-entity recognition: tag every word of a sentence (CoNLL-2003).

Many-to-many with Tx = Ty (``conll2003``: PER / ORG / LOC / MISC in IOB2
tags), a bidirectional LSTM over lower-cased word ids; tag ids are shifted
by one so that 0 is padding, which the loss and metric skip. Evaluated by
entity-level precision, recall and F1 (seqeval, the CoNLL convention of the
conlleval script: an entity counts when its type and both ends match), token
accuracy over real words, and accuracy over the words inside entities (tags
other than O). The predicted tag ids of the real words of each sentence are
mapped back to the tag names (``data.extras["tag_names"]``, whose id 0 is the
padding; a real word predicted as padding counts as "O"). Published
reference: the BiLSTM-CRF of Lample et al. 2016 at 90.94 F1 on the CoNLL-2003
English test set (with character embeddings and pretrained word vectors, which
this recipe has not).

Needs the ``conll2003`` files (internet on first use, or prepared in
``--data-dir``). Run: ``zoo train ner``.
"""

import dataclasses

import numpy as np

from recipes import _standard, base
from zoo.recipe import BaseConfig, main_for

NAME = "ner"
REFERENCE = {"entity_f1": 0.9094,
             "source": "Lample et al. 2016, Neural Architectures for Named Entity Recognition "
                       "(NAACL), LSTM-CRF, CoNLL-2003 English test"}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = 2e-3
    max_tokens: int = 20000
    patience: int = 3
    vocab_dir: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_many", "cell": "lstm", "units": 128, "embedding_dim": 100,
        "bidirectional": True, "dropout": 0.2})


TINY = {"epochs": 1, "batch_size": 4,
        "model": {"name": "many_to_many", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True}}
SEARCH_SPACE = {
    "units": {"type": "int", "min": 32, "max": 256, "step": 32, "default": 128},
    "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1, "default": 0.2},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 2e-3},
}
OBJECTIVE = ("val_token_accuracy", "max")


def load_data(config, data_dir=None):
    from zoo.data import standard

    # The vocabulary artifact holds the tokenizer ("input") and the tag names ("classes").
    return standard.conll2003(data_dir=data_dir, batch_size=config.batch_size,
                              max_tokens=config.max_tokens,
                              vocab_dir=_standard.vocab_dir(config), seed=config.seed)


def build_model(config, data):
    return base.build_sequence_model(config, data)


def evaluate(model, data, config):
    from zoo.scores import entity_scores

    names = data.extras["tag_names"]
    outside = names.index("O")
    right = total = right_entity = total_entity = 0
    true_tags, predicted_tags = [], []
    for inputs, tags in data.test:
        predicted = np.argmax(model.predict_on_batch(inputs), axis=-1)
        tags = tags.numpy()
        real = tags > 0
        entity = real & (tags != outside)
        right += int(np.sum((predicted == tags) & real))
        total += int(np.sum(real))
        right_entity += int(np.sum((predicted == tags) & entity))
        total_entity += int(np.sum(entity))
        for t_row, p_row, r_row in zip(tags, predicted, real):
            true_tags.append([names[t] for t in t_row[r_row]])
            predicted_tags.append([names[p] if p > 0 else "O" for p in p_row[r_row]])
    return {"token_accuracy": right / max(total, 1),
            "entity_token_accuracy": right_entity / max(total_entity, 1),
            **entity_scores(true_tags, predicted_tags),
            "reference_entity_f1": REFERENCE["entity_f1"]}


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Chorale harmonisation: write Bach's alto, tenor and bass under a given soprano.

Many-to-many with Tx = Ty (``bach_chorales/four_voices``): at every 16th note a
soprano pitch comes in and the pitch of one lower voice comes out. One model writes
all three voices: each input token carries the voice to write and the soprano pitch
(``"a67"``: alto under a soprano G4, ``"t67"``, ``"b67"``), a task token on every
step, as multilingual translation marks its target language; so the three voices
share one recurrent network and one export. The model (``many_to_many``,
bidirectional: the whole melody is known in advance) reads pieces of ``max_steps``
steps of the 351 four-part chorales; with ``transpose`` (default) every training
piece is moved to a random one of the 12 keys in every epoch, so any key that the
generator writes in has been seen. Evaluated per voice by the share of steps whose
pitch is exactly Bach's, beside the baseline of always playing that voice's most
common training pitch.

``harmonize(model, data, soprano)`` writes the three voices under any soprano line
(the chorale-generation recipe's main job calls it). The export's ``predict`` takes
the tagged tokens as text: ``"b67 b67 b69 b71"`` -> the bass's ``labels`` (MIDI
pitches).

Run: ``zoo train chorale_harmonization``.
"""

import dataclasses

import numpy as np

from recipes import base
from zoo.recipe import BaseConfig, Data, main_for
from recipes._chorales import SHIFTS, load_chorales, pieces, transposition_shifts

NAME = "chorale_harmonization"
LOWER_VOICES = ("alto", "tenor", "bass")
TAGS = {"alto": "a", "tenor": "t", "bass": "b"}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 6
    batch_size: int = 32
    learning_rate: float = 5e-3
    max_steps: int = 64
    max_chorales: int = 0
    transpose: bool = True
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_many", "cell": "lstm", "units": 64, "embedding_dim": 32,
        "bidirectional": True})


TINY = {"epochs": 1, "max_chorales": 12, "max_steps": 16, "batch_size": 8,
        "model": {"name": "many_to_many", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 32, "max": 256, "step": 32, "default": 64},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 5e-3},
}
OBJECTIVE = ("val_token_accuracy", "max")


def tagged(soprano, voice):
    """The input tokens of one voice to write under `soprano` (MIDI pitches, 0 = rest):
    ``"b67"`` = the bass under a soprano 67."""
    return np.array([f"{TAGS[voice]}{int(p)}" for p in soprano], dtype=object)


def _pieces(config, split, data_dir):
    """The split's pieces: dicts with ``soprano`` (T,) and ``lower_voices`` (T, 3)."""
    ds = load_chorales("four_voices", split, max_chorales=config.max_chorales,
                       data_dir=data_dir)
    chorales = [{"soprano": ex["soprano"], "lower_voices": ex["lower_voices"]}
                for ex in ds.as_numpy_iterator()]
    return pieces(chorales, config.max_steps)


def _examples(items, shifts):
    """(input tokens, target tokens) of every piece x lower voice, each piece moved by
    its shift."""
    for piece, shift in zip(items, shifts):
        soprano = np.where(piece["soprano"] > 0, piece["soprano"] + shift, 0)
        for v, voice in enumerate(LOWER_VOICES):
            lower = piece["lower_voices"][:, v]
            target = np.where(lower > 0, lower + shift, 0)
            yield tagged(soprano, voice), np.array([str(int(p)) for p in target], dtype=object)


def _dataset(items, *, transpose, seed):
    """The token dataset of `items`; with `transpose`, each pass draws new shifts."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def gen():
        shifts = transposition_shifts(rng, len(items), transpose)
        for source, target in _examples(items, shifts):
            yield {"soprano": source.astype(str), "voice": target.astype(str)}

    spec = {"soprano": tf.TensorSpec((None,), tf.string),
            "voice": tf.TensorSpec((None,), tf.string)}
    return tf.data.Dataset.from_generator(gen, output_signature=spec)


def _in_keys(items, shifts):
    """(input, target) token datasets of `items` moved by each of `shifts` (what the
    vocabularies learn: with transposition, every token of every key)."""
    import tensorflow as tf

    source, target = [], []
    for shift in shifts:
        for s, t in _examples(items, [shift] * len(items)):
            source.append(" ".join(s))
            target.append(" ".join(t))
    as_tokens = tf.strings.split
    return (tf.data.Dataset.from_tensor_slices(source).map(as_tokens),
            tf.data.Dataset.from_tensor_slices(target).map(as_tokens))


def load_data(config, data_dir=None):
    from zoo.data import pipelines
    from zoo.data.text import Tokenizer

    items = {s: _pieces(config, s, data_dir) for s in ("train", "validation", "test")}
    sources, targets = _in_keys(items["train"], SHIFTS if config.transpose else (0,))
    soprano = Tokenizer.adapt(sources, level="tokens")
    lower = Tokenizer.adapt(targets, level="tokens")

    def batches(split):
        ds = _dataset(items[split], transpose=config.transpose and split == "train",
                      seed=config.seed)
        return pipelines.aligned_tokens(ds, soprano, lower, input_key="soprano",
                                        target_key="voice", batch_size=config.batch_size,
                                        training=split == "train", seed=config.seed)

    train_lower = np.concatenate([p["lower_voices"] for p in items["train"]])
    common = {v: int(np.bincount(train_lower[:, i]).argmax()) for i, v in enumerate(LOWER_VOICES)}
    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"vocab_size": soprano.size, "num_classes": lower.size},
        artifacts={"vocabulary": {"input": soprano.get_config(), "output": lower.get_config()}},
        extras={"most_common": common, "test_pieces": items["test"],
                "tokenizers": {"input": soprano, "output": lower}},
    )


def build_model(config, data):
    return base.build_sequence_model(config, data)


def harmonize(model, tokenizers, soprano, *, batch_size=64):
    """Alto, tenor and bass under each soprano line: a list of dicts voice -> int32
    array (MIDI pitches, 0 = rest), the most likely pitch at every step (a rest under
    a soprano rest)."""
    import keras

    sopranos = [np.asarray(s, np.int32) for s in soprano]
    rows, index = [], []
    for i, s in enumerate(sopranos):
        for voice in LOWER_VOICES:
            rows.append(tokenizers["input"].encode(tagged(s, voice).astype(str)).numpy())
            index.append((i, voice))
    steps = max(len(r) for r in rows)
    x = np.zeros((len(rows), steps), np.int32)
    for r, ids in enumerate(rows):
        x[r, :len(ids)] = ids
    logits = keras.ops.convert_to_numpy(model.predict({"tokens": x}, batch_size=batch_size,
                                                      verbose=0))
    logits[..., :2] = -np.inf  # never padding or [UNK]
    names = tokenizers["output"].get_vocabulary()
    out = [dict() for _ in sopranos]
    for r, (i, voice) in enumerate(index):
        ids = logits[r, :len(sopranos[i])].argmax(-1)
        pitches = np.array([int(names[k]) if names[k].isdigit() else 0 for k in ids], np.int32)
        out[i][voice] = np.where(sopranos[i] > 0, pitches, 0).astype(np.int32)
    return out


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    items = data.extras["test_pieces"]
    written = harmonize(model, data.extras["tokenizers"], [p["soprano"] for p in items])
    out = {"token_accuracy": float(results["token_accuracy"])}
    for v, voice in enumerate(LOWER_VOICES):
        truth = np.concatenate([p["lower_voices"][:, v] for p in items])
        guess = np.concatenate([w[voice] for w in written])
        sounding = truth > 0
        out[f"{voice}_accuracy"] = float(np.mean(guess[sounding] == truth[sounding]))
        out[f"most_common_pitch_{voice}_accuracy"] = float(
            np.mean(truth[sounding] == data.extras["most_common"][voice]))
    return out


main = main_for(__name__)

if __name__ == "__main__":
    main()

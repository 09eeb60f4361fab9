"""Chorale generation: an LSTM writes new soprano lines in the style of Bach.

A one-to-many model (``zoo.create_model("one_to_many")``) is conditioned on
the key (24 classes) and predicts the melody one 16th note at a time (MIDI
pitch tokens, 0 = rest), trained with teacher forcing on the soprano lines
of the 371 chorales of music21's corpus (``bach_chorales/soprano``), cut
into pieces of ``max_steps`` steps. After training it samples
``num_samples`` new melodies (temperature / top-k sampling), writes them as
MIDI files (``samples/chorale_<i>.mid``) and a piano-roll PNG
(``samples/piano_roll.png``) into the run folder, and exports a SavedModel
whose ``predict`` signature samples more: ``condition`` is the key by name
(``"D major"``, the names recorded as ``artifacts["vocabulary"]
["condition_classes"]``) or by decimal id (``"2"``), and ``text`` is the melody
as space-separated MIDI pitch tokens (``tokens`` / ``token_ids`` step by step,
``scores`` their log-probability; see ``zoo.export.generation``).

Run: ``zoo train chorale_generation`` or ``python -m recipes.chorale_generation``;
then ``zoo generate saved_models/chorale_generation/1 --condition "D major" --num 2
--max-length 64``.
"""

import dataclasses
import os

import numpy as np

from recipes import base
from zoo.recipe import BaseConfig, Data, main_for
from recipes._chorales import load_chorales

NAME = "chorale_generation"
STEP_QUARTERS = 0.25  # one step = a 16th note


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 5e-3
    max_steps: int = 64
    max_chorales: int = 0
    num_samples: int = 4
    sample_steps: int = 64
    temperature: float = 0.8
    top_k: int = 0
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "one_to_many", "cell": "lstm", "units": 128, "embedding_dim": 32})


TINY = {"epochs": 1, "max_chorales": 12, "max_steps": 16, "num_samples": 2, "sample_steps": 16,
        "batch_size": 8, "model": {"name": "one_to_many", "cell": "lstm", "units": 16,
                                   "embedding_dim": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 64, "max": 256, "step": 64, "default": 128},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 5e-3},
}
OBJECTIVE = ("val_loss", "min")


def _examples(config, split, data_dir):
    """(pieces of at most max_steps pitches, their key ids) of one split."""
    ds = load_chorales("soprano", split, max_chorales=config.max_chorales, data_dir=data_dir)
    pieces, keys = [], []
    for ex in ds.as_numpy_iterator():
        melody = ex["soprano"]
        for start in range(0, len(melody), config.max_steps):
            piece = melody[start:start + config.max_steps]
            if len(piece) >= config.max_steps // 2:
                pieces.append(piece)
                keys.append(int(ex["key"]))
    return pieces, keys


def _dataset(pieces, keys):
    import tensorflow as tf

    def gen():
        for piece, key in zip(pieces, keys):
            yield {"soprano": piece.astype(np.int32), "key": np.int32(key)}

    return tf.data.Dataset.from_generator(gen, output_signature={
        "soprano": tf.TensorSpec((None,), tf.int32), "key": tf.TensorSpec((), tf.int32)})


def load_data(config, data_dir=None):
    from zoo.data import pipelines
    from zoo.data.builders.bach_chorales import KEYS
    from zoo.data.text import Tokenizer

    splits = {s: _dataset(*_examples(config, s, data_dir)) for s in ("train", "validation", "test")}
    as_text = {s: ds.map(lambda ex: {"soprano": pipelines.int_tokens(ex["soprano"]),
                                     "key": ex["key"]}) for s, ds in splits.items()}
    tokenizer = Tokenizer.adapt(as_text["train"].map(lambda ex: ex["soprano"]), level="tokens")

    def batches(split):
        return pipelines.conditioned_generation(
            as_text[split], tokenizer, sequence_key="soprano", condition_key="key",
            batch_size=config.batch_size, training=split == "train", seed=config.seed)

    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"vocab_size": tokenizer.size, "num_conditions": len(KEYS),
                      "start_token": pipelines.START_ID, "end_token": pipelines.END_ID,
                      "max_length": config.sample_steps},
        artifacts={"vocabulary": {"output": tokenizer.get_config(),
                                  "condition_classes": list(KEYS)}},
        extras={"tokenizers": {"output": tokenizer}, "keys": list(KEYS)},
    )


def build_model(config, data):
    return base.build_sequence_model(config, data)


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"loss_per_sequence": float(results["loss"]),
            "token_accuracy": float(results["token_accuracy"])}


# --------------------------------------------------------------------------
# Samples: MIDI and piano roll
# --------------------------------------------------------------------------


def tokens_to_pitches(ids, tokenizer):
    """MIDI pitches (0 = rest) of generated ids, stopping at the end token; an
    unknown id is a rest."""
    return [int(word) if word.isdigit() else 0 for word in tokenizer.decode(ids).split()]


def write_midi(pitches, path, *, tempo=80):
    """Write a melody (one MIDI pitch per 16th note, 0 = rest) as a MIDI file."""
    from music21 import meter, note, stream, tempo as m21tempo

    part = stream.Part()
    part.append(m21tempo.MetronomeMark(number=tempo))
    part.append(meter.TimeSignature("4/4"))
    i = 0
    while i < len(pitches):
        j = i
        while j < len(pitches) and pitches[j] == pitches[i]:
            j += 1
        length = (j - i) * STEP_QUARTERS
        part.append(note.Note(pitches[i], quarterLength=length) if pitches[i]
                    else note.Rest(quarterLength=length))
        i = j
    part.write("midi", fp=path)
    return path


def plot_piano_roll(melodies, titles, path):
    """Draw melodies as piano rolls (pitch against 16th-note step), one row each."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(melodies), 1, figsize=(10, 2.2 * len(melodies)), squeeze=False)
    for ax, melody, title in zip(axes[:, 0], melodies, titles):
        notes = [(t, p) for t, p in enumerate(melody) if p]
        if notes:
            steps, pitches = zip(*notes)
            ax.barh(pitches, [1] * len(steps), left=steps, height=0.8, color="tab:blue")
            ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
        ax.set_xlim(0, max(len(melody), 1))
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("MIDI pitch")
        for bar in range(0, len(melody) + 1, 16):
            ax.axvline(bar, color="grey", lw=0.5, alpha=0.5)
    axes[-1, 0].set_xlabel("16th-note step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def report(model, data, config, run_dir):
    """Sample new melodies and write them as MIDI files and a piano roll."""
    import zoo.decoding

    folder = os.path.join(run_dir, "samples")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    keys = rng.integers(0, len(data.extras["keys"]), size=config.num_samples).astype("int32")
    tokens, scores = zoo.decoding.generate(
        model, keys, max_length=config.sample_steps, temperature=config.temperature,
        top_k=config.top_k, seed=config.seed)
    melodies, titles, files = [], [], []
    for i, (row, key) in enumerate(zip(tokens, keys)):
        pitches = tokens_to_pitches(row, data.extras["tokenizers"]["output"])
        files.append(write_midi(pitches, os.path.join(folder, f"chorale_{i + 1}.mid")))
        melodies.append(pitches)
        titles.append(f"sample {i + 1}: {data.extras['keys'][key]}, {len(pitches)} steps")
    roll = plot_piano_roll(melodies, titles, os.path.join(folder, "piano_roll.png"))
    print(f"  wrote {len(files)} MIDI files and {roll}")
    return {"midi_files": files, "piano_roll": roll,
            "sample_log_probs": [float(s) for s in scores]}


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Chorale generation, the main job: four-part chorales in the style of Bach.

Two models, trained in one run:

- the **soprano** (this recipe's model, one-to-many: ``zoo.create_model("one_to_many")``)
  is conditioned on the key (24 classes) and writes the melody one 16th note at a
  time (MIDI pitch tokens, 0 = rest), trained with teacher forcing on the soprano
  lines of the 371 chorales of music21's corpus (``bach_chorales/soprano``), cut into
  pieces of ``max_steps`` steps; with ``transpose`` (default) every training piece is
  moved to a random one of the 12 keys in every epoch, its key label with it, so the
  model learns what each key means rather than which keys Bach used most;
- the **alto, tenor and bass** (many-to-many, Tx = Ty): the ``chorale_harmonization``
  recipe, trained as a run of its own in ``<run>/harmonizer/`` (``harmonizer`` holds
  overrides of its configuration).

After training the report writes ``measured_samples`` (24) chorales of ``bars`` 4/4
bars, every key once in a random order: for each it samples ``candidates`` melodies
(temperature / top-k) and keeps the first with no note longer than
``max_note_steps`` that ends on the tonic (a cadence; see :func:`melodies`), and
harmonises it. It measures them with music21 (``zoo.music.measures``: notes in the
key's scale, key analysis, range and intervals per voice, longest note, voice
crossings and parallel fifths/octaves per bar, tonic ending) beside the same measures
of the last ``bars`` bars of the held-out Bach chorales, prints both and stores them in
``metrics.json`` (``report.generated`` / ``report.bach``). The first ``num_samples``
(4) are written into ``<run>/samples/``: ``chorale_<i>.mid`` (four tracks),
``chorale_<i>.musicxml``, the piano roll ``chorale_<i>.png`` (note names, bars, one
colour per voice), with FluidSynth ``chorale_<i>.ogg``, and the listening page
``index.html``.

The export's ``predict`` signature samples melodies: ``condition`` is the key by name
(``"D major"``, the names recorded as ``artifacts["vocabulary"]
["condition_classes"]``) or by decimal id (``"2"``); ``primer`` a melody to continue
(space-separated MIDI pitches, one per 16th note; ``""`` for none) and
``include_primer`` whether the output repeats it; ``text`` is the melody as
space-separated MIDI pitch tokens (``tokens`` / ``token_ids`` step by step,
``scores`` their log-probability; see ``zoo.export.generation``).

Run: ``zoo train chorale_generation`` (``bash scripts/main.sh``); then
``zoo generate saved_models/chorale_generation/1 --condition "D major" --num 2`` or
``zoo generate saved_models/chorale_generation/1 --primer melody.mid``.
"""

import dataclasses
import os

import numpy as np

from recipes import base, chorale_harmonization
from zoo.recipe import BaseConfig, Data, main_for
from recipes._chorales import SHIFTS, load_chorales, pieces, transposition_shifts

NAME = "chorale_generation"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 5e-3
    max_steps: int = 128
    max_chorales: int = 0
    transpose: bool = True
    num_samples: int = 4
    measured_samples: int = 24
    bars: int = 8
    candidates: int = 16
    max_note_steps: int = 16
    temperature: float = 0.8
    top_k: int = 0
    harmonize: bool = True
    harmonizer: dict = dataclasses.field(default_factory=dict)
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "one_to_many", "cell": "lstm", "units": 128, "embedding_dim": 32})


TINY = {"epochs": 1, "max_chorales": 12, "max_steps": 16, "num_samples": 2,
        "measured_samples": 3, "bars": 1,
        "candidates": 2, "batch_size": 8, "harmonizer": dict(chorale_harmonization.TINY),
        "model": {"name": "one_to_many", "cell": "lstm", "units": 16, "embedding_dim": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 64, "max": 256, "step": 64, "default": 128},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 5e-3},
}
OBJECTIVE = ("val_loss", "min")
STEPS_PER_BAR = 16


def _melodies(config, split, data_dir):
    """The split's pieces of at most max_steps pitches, with their key ids."""
    ds = load_chorales("soprano", split, max_chorales=config.max_chorales, data_dir=data_dir)
    chorales = [{"soprano": ex["soprano"], "key": int(ex["key"])} for ex in ds.as_numpy_iterator()]
    return pieces(chorales, config.max_steps)


def _moved(piece, shift, keys):
    """(soprano, key id) of `piece` moved by `shift` semitones."""
    from zoo.music import notation

    key = keys.index(notation.transpose_key(keys[piece["key"]], shift))
    return notation.transpose(piece["soprano"], shift), key


def _dataset(items, keys, *, transpose, seed):
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def gen():
        for piece, shift in zip(items, transposition_shifts(rng, len(items), transpose)):
            melody, key = _moved(piece, shift, keys)
            yield {"soprano": melody, "key": np.int32(key)}

    return tf.data.Dataset.from_generator(gen, output_signature={
        "soprano": tf.TensorSpec((None,), tf.int32), "key": tf.TensorSpec((), tf.int32)})


def load_data(config, data_dir=None):
    import tensorflow as tf

    from zoo.data import pipelines
    from zoo.data.text import Tokenizer
    from zoo.music.notation import KEYS

    check(config)  # before anything trains
    keys = list(KEYS)
    items = {s: _melodies(config, s, data_dir) for s in ("train", "validation", "test")}
    # The vocabulary holds every pitch of every key the training pieces are moved to.
    shifts = SHIFTS if config.transpose else (0,)
    every_key = [" ".join(str(p) for p in _moved(piece, shift, keys)[0])
                 for shift in shifts for piece in items["train"]]
    tokenizer = Tokenizer.adapt(tf.data.Dataset.from_tensor_slices(every_key).map(
        tf.strings.split), level="tokens")

    def batches(split):
        ds = _dataset(items[split], keys, transpose=config.transpose and split == "train",
                      seed=config.seed)
        as_text = ds.map(lambda ex: {"soprano": pipelines.int_tokens(ex["soprano"]),
                                     "key": ex["key"]})
        return pipelines.conditioned_generation(
            as_text, tokenizer, sequence_key="soprano", condition_key="key",
            batch_size=config.batch_size, training=split == "train", seed=config.seed)

    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"vocab_size": tokenizer.size, "num_conditions": len(keys),
                      "start_token": pipelines.START_ID, "end_token": pipelines.END_ID,
                      "max_length": config.bars * STEPS_PER_BAR},
        artifacts={"vocabulary": {"output": tokenizer.get_config(),
                                  "condition_classes": keys}},
        extras={"tokenizers": {"output": tokenizer}, "keys": keys, "data_dir": data_dir},
    )


def build_model(config, data):
    return base.build_sequence_model(config, data)


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"loss_per_sequence": float(results["loss"]),
            "token_accuracy": float(results["token_accuracy"])}


# --------------------------------------------------------------------------
# The report: chorales, their measures beside Bach's, the listening page
# --------------------------------------------------------------------------


def tokens_to_pitches(ids, tokenizer):
    """MIDI pitches (0 = rest) of generated ids, stopping at the end token; an
    unknown id is a rest."""
    return [int(word) if word.isdigit() else 0 for word in tokenizer.decode(ids).split()]


def melodies(model, data, config, keys):
    """One melody of ``bars`` bars per key id of `keys`, chosen from ``candidates``
    independent samples: the first whose notes all last at most ``max_note_steps``
    16ths and that ends on the key's tonic (a cadence); failing that, the first with
    no over-long note; then the first that ends on the tonic; then the first that
    sounds. Returns (melodies as int32 arrays, whether each ends on the tonic, the
    share of all candidates that held a note longer than ``max_note_steps``).

    The first acceptable sample is a sample of the model's melodies that pass the
    test. Two tests, because left alone the model sometimes holds one note for bars
    on end: repeating the pitch is the likeliest step on a 16th-note grid, and once
    a note has lasted longer than any in training it tends to go on. (Ranking the
    candidates by likelihood picks exactly those melodies.)"""
    import zoo.decoding
    from zoo.music import notation

    steps = config.bars * STEPS_PER_BAR
    n = config.candidates
    limit = config.max_note_steps or steps
    tokens, _ = zoo.decoding.generate(
        model, np.repeat(np.asarray(keys, np.int32), n), max_length=steps,
        temperature=config.temperature, top_k=config.top_k, seed=config.seed)
    tokenizer = data.extras["tokenizers"]["output"]
    chosen, cadences, too_long = [], [], 0
    for i, key in enumerate(keys):
        tonic, _ = notation.parse_key(data.extras["keys"][key])
        best = None  # ((short notes, ends on the tonic), pitches)
        for j in range(i * n, (i + 1) * n):
            pitches = np.array(tokens_to_pitches(tokens[j], tokenizer), np.int32)
            if not np.any(pitches > 0):
                continue
            # A melody that stopped early holds its last note to the end of the phrase.
            pitches = np.concatenate([pitches, np.full(steps - len(pitches), pitches[-1])])
            short = max(length for _, length, p in notation.notes(pitches) if p) <= limit
            too_long += not short
            rank = (short, bool(pitches[pitches > 0][-1] % 12 == tonic))
            if best is None or rank > best[0]:
                best = (rank, pitches)
        if best is None:  # every candidate silent: a rest, measured as such
            best = ((False, False), np.zeros(steps, np.int32))
        chosen.append(best[1])
        cadences.append(best[0][1])
    return chosen, cadences, too_long / max(1, n * len(keys))


def harmonizer_config(config):
    """``chorale_harmonization``'s Config with the ``harmonizer`` overrides applied, each
    checked as ``--set`` checks its own keys (a known key, a value of its type, in range).

    Raises:
        ValueError: naming ``--set harmonizer.<key>``, before anything trains."""
    from zoo._overrides import apply_overrides
    from zoo._run_checks import check_config

    def text(value):  # back to the words --set reads
        return str(value).lower() if isinstance(value, bool) else \
            value if isinstance(value, str) else repr(value)

    harm = chorale_harmonization.Config(seed=config.seed)
    for key, value in (config.harmonizer or {}).items():
        try:
            harm = apply_overrides(harm, [f"{key}={text(value)}"])
            check_config(harm)
        except ValueError as err:
            message = str(err)  # its own "--set KEY: " gives way to the nested key
            if message.startswith("--set "):
                message = message.split(": ", 1)[-1]
            raise ValueError(f"--set harmonizer.{key}: {message}") from None
    return harm


def check(config):
    """Refuse, before training, settings the report could not use."""
    for name, low in (("bars", 1), ("candidates", 1), ("max_note_steps", 0),
                      ("num_samples", 0), ("measured_samples", 0), ("top_k", 0)):
        if getattr(config, name) < low:
            raise ValueError(f"--set {name}: expected an integer >= {low}. "
                             f"Received: {name}={getattr(config, name)!r}")
    if max(config.measured_samples, config.num_samples) < 1:
        raise ValueError("--set measured_samples / num_samples: the report needs at least one "
                         "chorale. Received: measured_samples=0, num_samples=0")
    if config.temperature < 0:
        raise ValueError(f"--set temperature: expected a number >= 0. "
                         f"Received: temperature={config.temperature!r}")
    if config.harmonize:
        harmonizer_config(config)


def _harmonizer(config, run_dir, data_dir):
    """The harmonisation model and its tokenizers: ``chorale_harmonization`` trained
    (or resumed, or reused when finished) as its own run in ``<run>/harmonizer``."""
    from zoo import recipe as zoo_recipe
    from zoo.data.text import from_artifact

    harm_config = harmonizer_config(config)
    folder = os.path.join(run_dir, "harmonizer")
    zoo_recipe.run(chorale_harmonization, harm_config, data_dir=data_dir, run_dir=folder,
                   export=False, verbose=0)
    vocabulary = zoo_recipe.run_artifacts(folder)["vocabulary"]
    tokenizers = {role: from_artifact(vocabulary, role) for role in ("input", "output")}
    return zoo_recipe.load_run_model(folder), tokenizers


def bach_excerpts(config, data_dir):
    """The held-out Bach chorales (four-part, test split) as (voices, key) pairs: the
    last ``bars`` bars of each, which end on its final cadence, in its own key."""
    from zoo.music import notation

    ds = load_chorales("four_voices", "test", max_chorales=config.max_chorales,
                       data_dir=data_dir)
    steps = config.bars * STEPS_PER_BAR
    found = []
    for ex in ds.as_numpy_iterator():
        voices = {"soprano": ex["soprano"][-steps:]}
        voices.update({v: ex["lower_voices"][-steps:, i]
                       for i, v in enumerate(chorale_harmonization.LOWER_VOICES)})
        found.append((voices, notation.KEYS[int(ex["key"])]))
    return found


SUMMARY_MEASURES = ("in_key_fraction", "key_agreement", "tonic_ending", "crossings_per_bar",
                    "parallels_per_bar", "longest_note", "soprano_range", "soprano_mean_interval",
                    "alto_range", "alto_mean_interval", "tenor_range", "tenor_mean_interval",
                    "bass_range", "bass_mean_interval")


def _shown(found, heard):
    """One chorale's measures as its page shows them: the key music21 hears first, and
    yes or no for the measures that are true or false of one piece."""
    shown = {"key by music21": heard or "none (no notes)"}
    for name in SUMMARY_MEASURES:
        if name in found:
            value = found[name]
            shown[name] = ("yes" if value else "no") if name in _YES_NO else value
    return shown


_YES_NO = ("key_agreement", "tonic_ending")


def report(model, data, config, run_dir):
    """Write the chorales (MIDI, MusicXML, piano rolls, audio where FluidSynth is), their
    measures beside Bach's, and the listening page ``samples/index.html``."""
    from zoo.music import measures, notation, page, roll

    folder = os.path.join(run_dir, "samples")
    os.makedirs(folder, exist_ok=True)
    names = data.extras["keys"]
    count = max(config.measured_samples, config.num_samples)
    # Every key once (in a random order) before any key twice.
    rng = np.random.default_rng(config.seed)
    keys = np.concatenate([rng.permutation(len(names)) for _ in range(-(-count // len(names)))])
    keys = keys[:count].astype("int32")
    sopranos, cadences, held = melodies(model, data, config, keys)
    excerpts = bach_excerpts(config, data.extras["data_dir"])
    if config.harmonize:
        harm_model, tokenizers = _harmonizer(config, run_dir, data.extras["data_dir"])
        lower = chorale_harmonization.harmonize(harm_model, tokenizers, sopranos)
        # Bach's own sopranos under the model's alto, tenor and bass: the measures
        # between this column and Bach's are the harmoniser's share of any gap, those
        # between it and the generated column the soprano model's.
        harmonised = measures.summarize([
            measures.measure({"soprano": v["soprano"], **h}, key) for (v, key), h in zip(
                excerpts, chorale_harmonization.harmonize(
                    harm_model, tokenizers, [v["soprano"] for v, _ in excerpts]))])
    else:
        lower, harmonised = [{} for _ in sopranos], None
    bars = f"{config.bars} bar{'s' if config.bars != 1 else ''}"
    samples, measured = [], []
    for i, (soprano, key_id) in enumerate(zip(sopranos, keys), start=1):
        key = names[key_id]
        voices = {"soprano": soprano, **lower[i - 1]}
        found = measures.measure(voices, key)
        measured.append(found)
        if i > config.num_samples:
            continue
        title = f"Chorale {i} in {key}"
        stem = os.path.join(folder, f"chorale_{i}")
        midi = notation.write_score(voices, key, stem + ".mid", title=title)
        notation.write_score(voices, key, stem + ".musicxml", title=title)
        roll.plot(voices, stem + ".png", title=f"{title}, {bars}")
        audio = page.render_audio(midi)
        samples.append({"title": title, "key": key, "image": f"chorale_{i}.png",
                        "files": {"MIDI": f"chorale_{i}.mid",
                                  "MusicXML": f"chorale_{i}.musicxml"},
                        "audio": os.path.basename(audio) if audio else None,
                        "measures": _shown(found, notation.analysed_key(voices))})
    generated = measures.summarize(measured)
    bach = measures.summarize([
        measures.measure(v if config.harmonize else {"soprano": v["soprano"]}, key)
        for v, key in excerpts])
    columns = [generated] + ([harmonised] if harmonised else []) + [bach]
    rows = [(k, *(c[k] for c in columns)) for k in SUMMARY_MEASURES
            if all(k in c for c in columns)]
    heads = [f"generated ({len(measured)})"]
    if harmonised:
        heads.append(f"Bach's soprano, harmonised ({harmonised['pieces']})")
    heads.append(f"Bach ({bach['pieces']})")
    parts = "four-part chorales" if config.harmonize else "melodies"
    index = page.write_page(
        folder, samples, title="Generated chorales", summary_rows=rows,
        summary_header=("measure (mean)", *heads[:-1], f"Bach, last {bars} ({bach['pieces']})"),
        intro=(f"{len(samples)} of {len(measured)} generated {parts} of {bars}, each key "
               "in turn; soprano by the key-conditioned LSTM"
               f"{', alto, tenor and bass by the harmoniser' if config.harmonize else ''}. "
               f"The table: the means over all {len(measured)} beside the same measures of "
               f"the last {bars} of the {bach['pieces']} held-out Bach chorales, by music21 "
               "(zoo.music.measures)"
               + ("; between them, Bach's sopranos under the harmoniser's lower voices, "
                  "which parts the harmoniser's share of a difference from the soprano "
                  "model's." if harmonised else ".")))
    print(f"  wrote {len(samples)} {parts} (MIDI, MusicXML, piano rolls"
          f"{', audio' if any(s['audio'] for s in samples) else ''}) and {index}")
    widths = [max(len(h), 9) for h in heads]
    print(f"  {'measure (mean)':24s} " + " ".join(f"{h:>{w}s}" for h, w in zip(heads, widths)))
    for name, *values in rows:
        print(f"  {name:24s} " + " ".join(f"{v:{w}.3f}" for v, w in zip(values, widths)))
    return {"samples": [{k: s[k] for k in ("title", "key", "files", "audio")} for s in samples],
            "tonic_cadences": int(sum(cadences)), "candidates_with_long_notes": held,
            "page": index, "generated": generated,
            **({"bach_soprano_harmonised": harmonised} if harmonised else {}),
            "bach": bach}


main = main_for(__name__)

if __name__ == "__main__":
    main()

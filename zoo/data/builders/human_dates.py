"""Human-readable dates -> ISO dates (YYYY-MM-DD), a character-level translation task.

Dates between 1900-01-01 and 2099-12-31 are drawn with Faker (fixed seed) and
written with Babel in eight locales (en_US, en_GB, fr_FR, de_DE, es_ES, it_IT,
pt_PT, nl_NL) and several CLDR formats: the locale's long and full forms, and
patterns such as "d MMM y" or "EEE d MMMM y". Every format has a four-digit year
and a month name, so no input is ambiguous (no "05/04/07"). Examples:
"Monday, March 9, 1987", "9. März 1987", "lun. 9 mars 1987" -> "1987-03-09".

Splits are disjoint by date: a calendar date belongs to one split only (by a hash
of the ISO date), so a test date was never seen in training in any format.
"""

import dataclasses
import datetime

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import SPLITS, require, split_of

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_PT", "nl_NL")
FORMATS = ("long", "full", "d MMM y", "d MMMM y", "dd MMMM y", "EEE d MMM y")
ENGLISH_FORMATS = ("MMMM d, y", "MMM d, y", "EEEE, MMMM d, y")
FIRST_DATE = datetime.date(1900, 1, 1)
LAST_DATE = datetime.date(2099, 12, 31)
SEED = 2024
SPLIT_SIZES = {"train": 20_000, "validation": 2_000, "test": 2_000}
_CITATION = """\
@misc{rnn_zoo_human_dates,
  title={Human dates: synthetic date normalisation generated with Faker and Babel},
  note={rnn-zoo; inspired by the date translation exercise of Ng's Sequence Models course}
}"""


@dataclasses.dataclass(eq=False)
class HumanDatesConfig(tfds.core.BuilderConfig):
    """Configuration: examples per split (train, validation, test)."""

    sizes: tuple = tuple(SPLIT_SIZES[s] for s in SPLITS)


def formats_for(locale):
    """The date formats used for `locale` (English locales add month-first forms)."""
    return FORMATS + (ENGLISH_FORMATS if locale.startswith("en") else ())


def generate(sizes, seed=SEED):
    """Yield (split, index, example) until every split has `sizes[split]` examples."""
    faker = require("faker", "faker", "human_dates").Faker()
    faker.seed_instance(seed)
    babel_dates = require("babel.dates", "babel", "human_dates")
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(SPLITS, 0)
    while any(counts[s] < sizes[s] for s in SPLITS):
        date = faker.date_between_dates(FIRST_DATE, LAST_DATE)
        split = split_of(date.isoformat(), validation=0.1, test=0.1)
        if counts[split] >= sizes[split]:
            continue
        locale = LOCALES[rng.integers(len(LOCALES))]
        formats = formats_for(locale)
        fmt = formats[rng.integers(len(formats))]
        text = babel_dates.format_date(date, format=fmt, locale=locale)
        yield split, counts[split], {"text": text, "iso": date.isoformat(), "locale": locale}
        counts[split] += 1


class HumanDates(tfds.core.GeneratorBasedBuilder):
    """Dates in words, in eight locales -> ISO 8601 dates."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [HumanDatesConfig(name="default", description="20k/2k/2k examples.")]

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "text": tfds.features.Text(),
                    "iso": tfds.features.Text(),
                    "locale": tfds.features.Text(),
                }
            ),
            supervised_keys=("text", "iso"),
            citation=_CITATION,
            license="Apache-2.0 (generated data; Faker MIT, Babel/CLDR BSD-3-Clause and Unicode)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        sizes = dict(zip(SPLITS, self.builder_config.sizes))
        examples = {s: [] for s in SPLITS}
        for split, index, example in generate(sizes):
            examples[split].append((index, example))
        return {split: self._generate_examples(examples[split]) for split in SPLITS}

    def _generate_examples(self, examples):
        yield from examples

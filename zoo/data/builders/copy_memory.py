"""The copy memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

A sequence of `length + 20` tokens: ten symbols drawn from eight, `length - 1`
blanks, a delimiter, then ten more blanks. The target has blanks everywhere except
the last ten steps, which must repeat the ten symbols seen at the start. The model
must carry ten symbols across `length` steps.

Token ids (shifted by one from the paper so that 0 stays free for padding):
0 = padding (never produced here), 1..8 = symbols, 9 = blank, 10 = delimiter.
Vocabulary size 11. A model that outputs blanks and then guesses the symbols
uniformly has a cross-entropy of 10 * log(8) / (length + 20) per step: the baseline
to beat.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import SPLITS

LENGTHS = (50, 100, 200, 400)
NUM_SYMBOLS = 8
MEMORY = 10
BLANK = 9
DELIMITER = 10
VOCAB_SIZE = 11
SPLIT_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000}
SPLIT_SEEDS = {"train": 2016, "validation": 2017, "test": 2018}

_CITATION = """\
@inproceedings{arjovsky2016unitary,
  title={Unitary evolution recurrent neural networks},
  author={Arjovsky, Martin and Shah, Amar and Bengio, Yoshua},
  booktitle={International Conference on Machine Learning}, pages={1120--1128}, year={2016}
}"""


@dataclasses.dataclass(eq=False)
class CopyMemoryConfig(tfds.core.BuilderConfig):
    """Configuration: the delay `length` (sequences have `length + 20` steps)."""

    length: int = 100
    sizes: tuple = tuple(SPLIT_SIZES[s] for s in SPLITS)


def make_examples(length, num_examples, seed):
    """Inputs and targets of one split, both int32 arrays of shape (n, length + 20)."""
    rng = np.random.default_rng(seed)
    total = length + 2 * MEMORY
    symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(num_examples, MEMORY), dtype=np.int32)
    inputs = np.full((num_examples, total), BLANK, np.int32)
    inputs[:, :MEMORY] = symbols
    inputs[:, MEMORY + length - 1] = DELIMITER
    targets = np.full((num_examples, total), BLANK, np.int32)
    targets[:, -MEMORY:] = symbols
    return inputs, targets


class CopyMemory(tfds.core.GeneratorBasedBuilder):
    """The copy memory task, with the delay as the config."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        CopyMemoryConfig(name=f"length_{n}", length=n, description=f"Delay of {n} steps.")
        for n in LENGTHS
    ]

    def _info(self):
        total = self.builder_config.length + 2 * MEMORY
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "inputs": tfds.features.Tensor(shape=(total,), dtype=np.int32),
                    "targets": tfds.features.Tensor(shape=(total,), dtype=np.int32),
                }
            ),
            supervised_keys=("inputs", "targets"),
            citation=_CITATION,
            license="Apache-2.0 (generated data)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        sizes = dict(zip(SPLITS, self.builder_config.sizes))
        return {split: self._generate_examples(split, sizes[split]) for split in SPLITS}

    def _generate_examples(self, split, num_examples):
        inputs, targets = make_examples(
            self.builder_config.length, num_examples, SPLIT_SEEDS[split]
        )
        for i in range(num_examples):
            yield i, {"inputs": inputs[i], "targets": targets[i]}

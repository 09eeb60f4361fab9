"""The adding problem (Hochreiter & Schmidhuber 1997), a long-range-dependency task.

Each example is a sequence of `length` steps with two features per step: a value
drawn uniformly from [0, 1) and a marker that is 1 at exactly two steps (one in the
first half of the sequence, one in the second half) and 0 elsewhere. The target is
the sum of the two marked values, in [0, 2). Predicting 1.0 whatever the input
gives a mean squared error of about 0.167: a model has learned the task when it
clearly beats that baseline. The longer the sequence, the further the gradient must
travel back to the first marker, which is what makes the task a test of vanishing
gradients.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import SPLITS

LENGTHS = (50, 100, 200, 400, 1000)
SPLIT_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000}
# One seed per split so that splits never share a sequence by construction.
SPLIT_SEEDS = {"train": 1997, "validation": 1998, "test": 1999}

_CITATION = """\
@article{hochreiter1997long,
  title={Long short-term memory},
  author={Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen},
  journal={Neural Computation}, volume={9}, number={8}, pages={1735--1780}, year={1997}
}"""


@dataclasses.dataclass(eq=False)
class AddingProblemConfig(tfds.core.BuilderConfig):
    """Configuration: `length` steps per sequence and the number of examples per split."""

    length: int = 100
    sizes: tuple = tuple(SPLIT_SIZES[s] for s in SPLITS)


def make_examples(length, num_examples, seed):
    """The examples of one split as arrays: features (n, length, 2), targets (n,).

    Public so that tests and notebooks can generate the task without TFDS.
    """
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(num_examples, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, size=num_examples)
    second = rng.integers(half, length, size=num_examples)
    markers = np.zeros((num_examples, length), np.float32)
    rows = np.arange(num_examples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), targets.astype(np.float32)


class AddingProblem(tfds.core.GeneratorBasedBuilder):
    """The adding problem, with the sequence length as the config."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        AddingProblemConfig(name=f"length_{n}", length=n, description=f"Sequences of {n} steps.")
        for n in LENGTHS
    ]

    def _info(self):
        length = self.builder_config.length
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "features": tfds.features.Tensor(shape=(length, 2), dtype=np.float32),
                    "target": tfds.features.Scalar(dtype=np.float32),
                }
            ),
            supervised_keys=("features", "target"),
            citation=_CITATION,
            license="Apache-2.0 (generated data)",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Generated locally: nothing to download.
        sizes = dict(zip(SPLITS, self.builder_config.sizes))
        return {split: self._generate_examples(split, sizes[split]) for split in SPLITS}

    def _generate_examples(self, split, num_examples):
        features, targets = make_examples(
            self.builder_config.length, num_examples, SPLIT_SEEDS[split]
        )
        for i in range(num_examples):
            yield i, {"features": features[i], "target": targets[i]}

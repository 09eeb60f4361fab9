"""Handwritten digits read row by row: scikit-learn's 8x8 digits as sequences.

Each 8x8 image (UCI Optical Recognition of Handwritten Digits, 1,797 images,
pixel values 0..16) becomes a sequence of 8 steps of 8 features, scaled to [0, 1].
A many-to-one recurrent network reads the rows top to bottom and classifies the
digit at the end. Splits are stratified by class with a fixed seed: 70% train,
10% validation, 20% test.
"""

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import require

SEED = 8
_CITATION = """\
@misc{alpaydin1998optical,
  title={Optical Recognition of Handwritten Digits},
  author={Alpaydin, E. and Kaynak, C.},
  howpublished={UCI Machine Learning Repository}, year={1998}, doi={10.24432/C50P49}
}"""


def split_indices(labels, seed=SEED):
    """Stratified train/validation/test index arrays (70/10/20) of `labels`."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    train_val, test = train_test_split(index, test_size=0.2, stratify=labels, random_state=seed)
    train, val = train_test_split(
        train_val, test_size=0.125, stratify=labels[train_val], random_state=seed
    )
    return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}


class SequentialDigits(tfds.core.GeneratorBasedBuilder):
    """8x8 digits as 8 steps of 8 features."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "features": tfds.features.Tensor(shape=(8, 8), dtype=np.float32),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("features", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80",
            citation=_CITATION,
            license="CC BY 4.0",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        datasets = require("sklearn.datasets", "scikit-learn", "sequential_digits")
        digits = datasets.load_digits()
        images = (digits.images / 16.0).astype(np.float32)
        labels = digits.target.astype(np.int64)
        return {
            split: self._generate_examples(images[idx], labels[idx], idx)
            for split, idx in split_indices(labels).items()
        }

    def _generate_examples(self, images, labels, indices):
        for image, label, i in zip(images, labels, indices):
            yield int(i), {"features": image, "label": int(label)}

"""Japanese vowels: speaker identification from variable-length LPC sequences.

Nine male speakers uttered the vowels /ae/; each utterance is 7 to 29 frames of
12 LPC cepstrum coefficients (Kudo, Toyama & Shimbo 1999; UCI; the UEA
multivariate archive copy shipped in sktime). The task is to name the speaker
(label 0..8 here for speakers 1..9): many-to-one classification over sequences of
different lengths, the natural use of padding and masking.

Splits: the archive's 370-utterance test set as `test`; its 270-utterance train set
(30 per speaker) split into `train` (243) and `validation` (27: three utterances per
speaker, chosen with a fixed seed).
"""

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import package_dir

NUM_CHANNELS = 12
NUM_SPEAKERS = 9
VALIDATION_PER_SPEAKER = 3
SEED = 1999
_CITATION = """\
@article{kudo1999multidimensional,
  title={Multidimensional curve classification using passing-through regions},
  author={Kudo, Mineichi and Toyama, Jun and Shimbo, Masaru},
  journal={Pattern Recognition Letters}, volume={20}, number={11-13},
  pages={1103--1111}, year={1999}
}"""


def read_ts_file(path):
    """Sequences and labels of a UEA `.ts` file, through sktime's reader.

    Returns a list of float32 arrays of shape (frames, 12) and an int array of labels
    in 0..8.
    """
    from sktime.datasets import load_from_tsfile

    frame, labels = load_from_tsfile(str(path), return_data_type="nested_univ")
    sequences = [
        np.stack([np.asarray(frame.iat[i, c], np.float32) for c in range(frame.shape[1])], axis=-1)
        for i in range(len(frame))
    ]
    return sequences, np.asarray(labels).astype(np.int64) - 1


def validation_mask(labels, per_speaker=VALIDATION_PER_SPEAKER, seed=SEED):
    """Boolean mask over the archive's train set: a seeded `per_speaker` picks per speaker."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), bool)
    for speaker in range(NUM_SPEAKERS):
        members = np.flatnonzero(labels == speaker)
        mask[rng.choice(members, size=per_speaker, replace=False)] = True
    return mask


class JapaneseVowels(tfds.core.GeneratorBasedBuilder):
    """UEA JapaneseVowels: 12 LPC channels, 7-29 frames, 9 speakers."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "features": tfds.features.Tensor(shape=(None, NUM_CHANNELS), dtype=np.float32),
                    "speaker": tfds.features.ClassLabel(num_classes=NUM_SPEAKERS),
                }
            ),
            supervised_keys=("features", "speaker"),
            homepage="https://archive.ics.uci.edu/dataset/128",
            citation=_CITATION,
            license="CC BY 4.0",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        root = package_dir("sktime")
        if root is None:
            raise ImportError(
                "The dataset 'japanese_vowels' is read from the files shipped in the Python "
                "package 'sktime', which is not installed. Install it with `pip install sktime`."
            )
        folder = root / "datasets" / "data" / "JapaneseVowels"
        train_x, train_y = read_ts_file(folder / "JapaneseVowels_TRAIN.ts")
        test_x, test_y = read_ts_file(folder / "JapaneseVowels_TEST.ts")
        val = validation_mask(train_y)
        train_idx, val_idx = np.flatnonzero(~val), np.flatnonzero(val)
        return {
            "train": self._generate_examples(train_x, train_y, train_idx),
            "validation": self._generate_examples(train_x, train_y, val_idx),
            "test": self._generate_examples(test_x, test_y, np.arange(len(test_y))),
        }

    def _generate_examples(self, sequences, labels, indices):
        for i in indices:
            yield int(i), {"features": sequences[i], "speaker": int(labels[i])}

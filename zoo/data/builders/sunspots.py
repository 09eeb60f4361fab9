"""Yearly sunspot numbers 1700-2008 (statsmodels), for forecasting.

309 yearly values (mean sunspot number, 0 to about 190, with the ~11-year solar
cycle). Splits are chronological, by the year of the value to predict:
train up to 1928, validation 1929-1968, test 1969-2008. Input windows may reach back
into earlier splits (that is history, not leakage): only the target years are
split.

Configs:
- `yearly`: one example per year, `{"year", "sunspots"}`; window it yourself
  (`zoo.data.pipelines.window_series`).
- `next_value`: many-to-one; `window` is the 24 previous years, shape (24, 1);
  `target` the next year's value.
- `sequence`: many-to-many; `window` (24, 1) and `targets` (24, 1), the window shifted
  one year ahead (a prediction at every step).
Values are raw; normalise with statistics from the train split only
(`zoo.data.normalization.adapt_normalization`).
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.builders._common import require

WINDOW = 24
LAST_TRAIN_YEAR = 1928
LAST_VALIDATION_YEAR = 1968
_CITATION = """\
@misc{sidc_sunspots,
  title={Sunspot number, yearly mean (version 1)},
  author={{SIDC / NOAA National Geophysical Data Center}},
  note={As shipped in statsmodels.datasets.sunspots}
}"""


@dataclasses.dataclass(eq=False)
class SunspotsConfig(tfds.core.BuilderConfig):
    """Configuration: `kind` is "yearly", "next_value" or "sequence"; `window` in years."""

    kind: str = "next_value"
    window: int = WINDOW


def split_of_year(year):
    """The split that a target year belongs to."""
    if year <= LAST_TRAIN_YEAR:
        return "train"
    if year <= LAST_VALIDATION_YEAR:
        return "validation"
    return "test"


def load_series():
    """Years (int32) and yearly sunspot numbers (float32) from statsmodels."""
    module = require("statsmodels.datasets.sunspots", "statsmodels", "sunspots")
    data = module.load_pandas().data
    return data["YEAR"].to_numpy().astype(np.int32), data["SUNACTIVITY"].to_numpy(np.float32)


class Sunspots(tfds.core.GeneratorBasedBuilder):
    """Yearly sunspot numbers, raw or windowed."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        SunspotsConfig(name="yearly", kind="yearly", description="One example per year."),
        SunspotsConfig(
            name="next_value", kind="next_value", description="24-year window -> next year."
        ),
        SunspotsConfig(
            name="sequence", kind="sequence", description="24-year window -> window + 1 year."
        ),
    ]

    def _info(self):
        cfg = self.builder_config
        if cfg.kind not in ("yearly", "next_value", "sequence"):
            raise ValueError(
                "SunspotsConfig.kind must be 'yearly', 'next_value' or 'sequence'. "
                f"Received: kind={cfg.kind!r}"
            )
        year = tfds.features.Scalar(dtype=np.int32, doc="Year of the (last) target value.")
        if cfg.kind == "yearly":
            features = {"year": year, "sunspots": tfds.features.Scalar(dtype=np.float32)}
            keys = ("year", "sunspots")
        else:
            window = tfds.features.Tensor(shape=(cfg.window, 1), dtype=np.float32)
            if cfg.kind == "next_value":
                target = ("target", tfds.features.Scalar(dtype=np.float32))
            else:
                target = ("targets", tfds.features.Tensor(shape=(cfg.window, 1), dtype=np.float32))
            features = {"year": year, "window": window, target[0]: target[1]}
            keys = ("window", target[0])
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(features),
            supervised_keys=keys,
            homepage="https://www.statsmodels.org/stable/datasets/generated/sunspots.html",
            citation=_CITATION,
            license="Public domain (statsmodels: 'This data is public domain.')",
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        years, values = load_series()
        return {
            split: self._generate_examples(years, values, split)
            for split in ("train", "validation", "test")
        }

    def _generate_examples(self, years, values, split):
        cfg = self.builder_config
        if cfg.kind == "yearly":
            for year, value in zip(years, values):
                if split_of_year(year) == split:
                    yield int(year), {"year": year, "sunspots": value}
            return
        w = cfg.window
        for t in range(w, len(values)):  # t: index of the (last) target value
            if split_of_year(years[t]) != split:
                continue
            example = {"year": years[t], "window": values[t - w : t, None]}
            if cfg.kind == "next_value":
                example["target"] = values[t]
            else:
                example["targets"] = values[t - w + 1 : t + 1, None]
            yield int(years[t]), example

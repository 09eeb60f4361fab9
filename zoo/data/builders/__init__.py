"""TFDS builders for the datasets that build offline from data shipped in PyPI packages.

Importing this package registers every builder with TFDS, so `tfds.load(name)` and
`tfds.builder(name)` find them. Each builder imports its source package (music21,
sktime, cmudict, ...) only when it generates examples.
"""

from zoo.data.builders.adding_problem import AddingProblem, AddingProblemConfig
from zoo.data.builders.bach_chorales import BachChorales, BachChoralesConfig
from zoo.data.builders.cmudict import Cmudict, CmudictConfig
from zoo.data.builders.copy_memory import CopyMemory, CopyMemoryConfig
from zoo.data.builders.human_dates import HumanDates, HumanDatesConfig
from zoo.data.builders.japanese_vowels import JapaneseVowels
from zoo.data.builders.sequential_digits import SequentialDigits
from zoo.data.builders.sunspots import Sunspots, SunspotsConfig
from zoo.data.builders.text_folder import TextFolder, TextFolderConfig

BUILDERS = {
    "adding_problem": AddingProblem,
    "bach_chorales": BachChorales,
    "cmudict": Cmudict,
    "copy_memory": CopyMemory,
    "human_dates": HumanDates,
    "japanese_vowels": JapaneseVowels,
    "sequential_digits": SequentialDigits,
    "sunspots": Sunspots,
    "text_folder": TextFolder,
}

__all__ = [
    "BUILDERS",
    "AddingProblem",
    "AddingProblemConfig",
    "BachChorales",
    "BachChoralesConfig",
    "Cmudict",
    "CmudictConfig",
    "CopyMemory",
    "CopyMemoryConfig",
    "HumanDates",
    "HumanDatesConfig",
    "JapaneseVowels",
    "SequentialDigits",
    "Sunspots",
    "SunspotsConfig",
    "TextFolder",
    "TextFolderConfig",
]

"""Shared part of the recipes over your own CSV/TSV files (text_classification,
text_to_text): their common Config fields, the ``--data`` check, the column options
and the splits.

The files are read by the ``text_folder`` builder (``zoo.data.builders.text_folder``)
under a config named by a fingerprint of the files and the column options
(``TextFolderConfig.for_files``), so editing the file or changing
``--set text_column=...`` builds afresh, and an unchanged file is reused.
Example: ``load_splits(config, None, kind="classification", recipe="text_classification",
names=("text", "label"))`` -> ``{"train": ds, "validation": ds, "test": ds}``.

A run records a fingerprint of the file's contents (``data_fingerprint``, set by
``zoo._run_checks.with_data`` from ``--data``); ``load_splits`` refuses a file
that no longer matches it, so that ``zoo evaluate`` or a resumed training never
reads other rows (and builds another vocabulary) than the run was trained on.
"""

import dataclasses
import os
import typing

from zoo._run_checks import data_fingerprint
from zoo.recipe import BaseConfig

HEADER_VALUES = ("auto", True, False)


@dataclasses.dataclass
class OwnDataConfig(BaseConfig):
    """The fields of every own-data recipe's Config: the file, its fingerprint and how
    to read it (the recipes add their two ``*_column`` fields and may change defaults)."""

    data: str = ""
    data_fingerprint: str = ""
    delimiter: str = ""
    header: typing.Union[bool, str] = "auto"
    level: str = "word"
    lowercase: bool = True


def require_data(config, recipe, what):
    """ValueError unless ``config.data`` is set (``--data``, checked by ``with_data``)."""
    if not config.data:
        raise ValueError(
            f"{recipe} needs your data: pass --data FILE (a CSV/TSV of {what}, or a folder "
            f"with train/validation/test files), e.g. `zoo train {recipe} --data "
            f"mine.csv`. Received: no --data (data='').")


def check_unchanged(config):
    """ValueError when the run's data file is gone, or its contents are not those the run
    recorded (``config.data_fingerprint``; an empty fingerprint is not checked).

    Example: after ``zoo train text_classification --data reviews.csv``, editing
    reviews.csv makes ``zoo evaluate runs/text_classification`` refuse.
    """
    if not os.path.exists(config.data):
        raise ValueError(
            f"The run's data file {config.data} (given to zoo train --data) is gone; put it "
            "back, or train a new run on another file (--data with --run-dir DIR or "
            "--overwrite).")
    recorded = getattr(config, "data_fingerprint", "")
    if recorded and data_fingerprint(config.data) != recorded:
        raise ValueError(
            f"The data file {config.data} changed since the run was trained on it (its "
            f"fingerprint was {recorded}, it is now {data_fingerprint(config.data)}): its "
            "vocabulary and labels would no longer match the model. Restore the file, or "
            "train a new run on it (--run-dir DIR, or --overwrite to replace this one).")


def option_keys(names):
    """The option names the messages quote: ``--set <name>_column`` and so on."""
    return {"columns": tuple(f"--set {n}_column" for n in names),
            "delimiter": "--set delimiter", "header": "--set header"}


def _header(config):
    if config.header not in HEADER_VALUES:
        raise ValueError(f"--set header: expected auto, true or false. "
                         f"Received: header={config.header!r}")
    return None if config.header == "auto" else bool(config.header)


def check_level(config, levels=("word", "char", "space")):
    if config.level not in levels:
        raise ValueError(f"--set level: expected one of {', '.join(levels)}. "
                         f"Received: level={config.level!r}")


def load_splits(config, data_dir, *, kind, recipe, names, what):
    """{split: unbatched dataset} of ``config.data``; "validation" may be missing,
    "test" falls back on "validation" when the files have none (the printed
    line says so, and ``scored_split(raw)`` is then ``"validation"``).

    The file is checked against the run's fingerprint (:func:`check_unchanged`)
    and its layout, with the ``--set`` keys in the messages.
    """
    import zoo.data
    from zoo.data.builders import text_folder

    require_data(config, recipe, what)
    check_unchanged(config)
    header = _header(config)
    columns = tuple(getattr(config, f"{n}_column") for n in names)
    keys = option_keys(names)
    try:
        files = text_folder.find_files(config.data)
    except FileNotFoundError as err:
        raise ValueError(f"--data {config.data}: {err}") from None
    for path in files.values():
        text_folder.resolve_layout(path, kind=kind, columns=columns, delimiter=config.delimiter,
                                   header=header, keys=keys)
    builder_config = text_folder.TextFolderConfig.for_files(
        config.data, kind=kind, columns=columns, delimiter=config.delimiter, header=header)
    _, info = zoo.data.load("text_folder", "train", config=builder_config, data_dir=data_dir,
                            with_info=True)
    counts = {s: info.splits[s].num_examples for s in ("train", "validation", "test")
              if s in info.splits and info.splits[s].num_examples > 0}
    if "train" not in counts:
        raise ValueError(f"--data {config.data}: no training rows; expected a file of "
                         f"{what} (a folder's train.* file).")
    if "test" not in counts and "validation" not in counts:
        raise ValueError(
            f"--data {config.data}: {counts['train']} rows, all in the train split; expected "
            "enough rows for a test split (about 10% of the rows go to each of validation "
            "and test) or a test.* file beside train.*.")
    raw = {s: zoo.data.load("text_folder", s, config=builder_config, data_dir=data_dir)
           for s in counts}
    shown, note = ", ".join(f"{n} {s}" for s, n in counts.items()), ""
    if "test" not in raw:
        raw["test"] = raw["validation"]
        note = ("; no test rows, so the test scores are of the validation split, which "
                "early stopping also reads (optimistic)")
    print(f"[{recipe}] {config.data}: {shown} rows{note}", flush=True)
    return raw


def scored_split(raw):
    """"test", or "validation" when ``load_splits`` scored the validation split as test
    (recorded in metrics.json as ``test_split``)."""
    return "validation" if raw["test"] is raw.get("validation") else "test"

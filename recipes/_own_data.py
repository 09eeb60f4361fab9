"""Shared part of the recipes over your own CSV/TSV files (text_classification,
text_to_text): the ``--data`` check, the column options and the splits.

The files are read by the ``text_folder`` builder (``zoo.data.builders.text_folder``)
under a config named by a fingerprint of the files and the column options
(``TextFolderConfig.for_files``), so editing the file or changing
``--set text_column=...`` builds afresh, and an unchanged file is reused.
Example: ``load_splits(config, None, kind="classification", recipe="text_classification",
names=("text", "label"))`` -> ``{"train": ds, "validation": ds, "test": ds}``.
"""

import os

HEADER_VALUES = ("auto", True, False)


def require_data(config, recipe, what):
    """ValueError unless ``config.data`` names an existing file or folder."""
    if not config.data:
        raise ValueError(
            f"{recipe} needs your data: pass --data FILE (a CSV/TSV of {what}, or a folder "
            f"with train/validation/test files), e.g. `zoo train {recipe} --data "
            f"mine.csv`. Received: no --data (data='').")
    if not os.path.exists(config.data):
        raise ValueError(f"--data: no such file or folder. Received: --data {config.data}")


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
    "test" falls back on "validation" when the files have none.

    The files' layout is checked first, with the ``--set`` keys in the messages.
    """
    import zoo.data
    from zoo.data.builders import text_folder

    require_data(config, recipe, what)
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
    if "test" not in raw:
        raw["test"] = raw["validation"]
    shown = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(f"[{recipe}] {config.data}: {shown} rows", flush=True)
    return raw

"""Bring your own data: (text, label) or (source, target) pairs from CSV/TSV files.

Where the files are: the config's `path` (a file or a folder), or else the TFDS
manual folder (`manual_dir`, default `<data_dir>/downloads/manual`). A folder holds
`train.tsv` (or `.csv`) and optionally `validation.tsv` (or `valid`/`dev`) and
`test.tsv`; a folder with a single data file, or a `path` to one file, is split by
a fixed hash of each row: 80% train, 10% validation, 10% test.

Files: UTF-8, two fields per row, tab-separated (`.tsv`) or comma-separated (`.csv`,
with the usual CSV quoting); an optional header row naming the two fields
("text,label" or "source,target") is skipped. A row with another number of fields,
or an empty field, stops the build with a ValueError naming the file and the line.

Configs: `classification` (features `text`, `label`, both strings: the pipeline
builds the label vocabulary from the train split) and `translation` (`source`,
`target`). For your own paths, pass a config:
`tfds.builder("text_folder", config=TextFolderConfig(name="mine", kind="translation",
path="/data/pairs.tsv"))`, or `zoo.data.load("text_folder/translation",
manual_dir="/data/folder")`. TFDS reuses a build: after changing the files, build
into a fresh `data_dir` or pass `download_mode="force_redownload"`.
"""

import csv
import dataclasses
import pathlib

import tensorflow_datasets as tfds

from zoo.data.builders._common import split_of

KINDS = {"classification": ("text", "label"), "translation": ("source", "target")}
SPLIT_FILES = {"train": ("train",), "validation": ("validation", "valid", "dev"), "test": ("test",)}
SUFFIXES = (".tsv", ".csv", ".txt")


@dataclasses.dataclass(eq=False)
class TextFolderConfig(tfds.core.BuilderConfig):
    """Configuration: `kind` ("classification" or "translation") and an optional `path`."""

    kind: str = "classification"
    path: str | None = None


def read_pairs(path, columns):
    """Rows of a CSV/TSV file as (line number, first, second); ValueError on a bad row."""
    path = pathlib.Path(path)
    delimiter = "," if path.suffix == ".csv" else "\t"
    shown = "comma" if delimiter == "," else "tab"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        first = True
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if first and [c.strip().lower() for c in row] == list(columns):
                first = False
                continue  # header
            first = False
            if len(row) != 2:
                raise ValueError(
                    f"{path}, line {line}: expected 2 {shown}-separated fields "
                    f"({columns[0]}, {columns[1]}), found {len(row)}: {row!r}"
                )
            if not row[0].strip() or not row[1].strip():
                raise ValueError(
                    f"{path}, line {line}: empty field; expected a non-empty "
                    f"{columns[0]} and {columns[1]}. Received: {row!r}"
                )
            yield line, row[0], row[1]


def find_files(path):
    """{split: file} for a folder or file; a single file maps to {None: file}."""
    path = pathlib.Path(path)
    if path.is_file():
        return {None: path}
    if not path.is_dir():
        raise FileNotFoundError(f"text_folder: no such file or folder: {path}")
    found = {}
    for split, stems in SPLIT_FILES.items():
        for stem in stems:
            for suffix in SUFFIXES:
                if (path / f"{stem}{suffix}").is_file():
                    found.setdefault(split, path / f"{stem}{suffix}")
    if "train" in found:
        return found
    data = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if len(data) == 1:
        return {None: data[0]}
    raise FileNotFoundError(
        f"text_folder: {path} must hold train.tsv/train.csv (optionally validation.* and "
        f"test.*) or exactly one .tsv/.csv file. Found: {[p.name for p in path.iterdir()]}"
    )


class TextFolder(tfds.core.GeneratorBasedBuilder):
    """Pairs of strings from your own CSV/TSV files."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Put train.tsv (and optionally validation.tsv, test.tsv), or a single .tsv/.csv
    file of two fields per row, into the manual folder, or give the config a `path`.
    """
    BUILDER_CONFIGS = [
        TextFolderConfig(name="classification", kind="classification", description="text, label"),
        TextFolderConfig(name="translation", kind="translation", description="source, target"),
    ]

    def _info(self):
        kind = self.builder_config.kind
        if kind not in KINDS:
            raise ValueError(
                f"TextFolderConfig.kind must be one of {sorted(KINDS)}. Received: kind={kind!r}"
            )
        columns = KINDS[kind]
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({c: tfds.features.Text() for c in columns}),
            supervised_keys=columns,
            license="Your data's licence",
        )

    def _split_generators(self, dl_manager):
        root = self.builder_config.path or dl_manager.manual_dir
        files = find_files(root)
        if None in files:
            return {
                s: self._generate_examples(files[None], s) for s in ("train", "validation", "test")
            }
        return {split: self._generate_examples(path, None) for split, path in files.items()}

    def _generate_examples(self, path, split):
        columns = KINDS[self.builder_config.kind]
        for line, first, second in read_pairs(path, columns):
            if split is not None and split_of(f"{line}:{first}\t{second}") != split:
                continue
            yield line, {columns[0]: first, columns[1]: second}

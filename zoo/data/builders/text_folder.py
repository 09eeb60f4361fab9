"""Bring your own data: (text, label) or (source, target) pairs from CSV/TSV files.

Where the files are: the config's `path` (a file or a folder), or else the TFDS
manual folder (`manual_dir`, default `<data_dir>/downloads/manual`). A folder holds
`train.tsv` (or `.csv`) and optionally `validation.tsv` (or `valid`/`dev`) and
`test.tsv`; a folder with a single data file (or `train.*` alone), or a `path` to
one file, is split by a fixed hash of each row: 80% train, 10% validation, 10% test.

Files: UTF-8, tab-separated (`.tsv`, `.txt`) or comma-separated (`.csv`, with the
usual CSV quoting), or any one-character `delimiter` ("tab", "comma", ";", "|").
Every row has the same number of fields (two or more). Which two are used:

- `columns`: two header names or 0-based indices (ints, or strings of digits);
  an empty entry (the default) means the kind's own name ("text"/"label",
  "source"/"target") when the header has it, else the position (0, then 1);
- `header`: True (the first row names the columns), False (it is data), or None
  (auto: a header when a column is given by name, or when the first row holds
  both of the kind's names).

A row with another number of fields, or an empty chosen field, stops the build
with a ValueError naming the file and the line; a column that is not there names
the header that was found. :func:`resolve_layout` does these checks, and a caller
may run it first with its own option names in the messages (`keys`).

Configs: `classification` (features `text`, `label`, both strings: the pipeline
builds the label vocabulary from the train split) and `translation` (`source`,
`target`), which read the manual folder. For your own paths, make a config with
:meth:`TextFolderConfig.for_files`: its name is a fingerprint of the files (path,
size, modification time) and of the column options, so a changed file or option
is built afresh into the same `data_dir`, and an unchanged one is reused::

    config = TextFolderConfig.for_files("/data/reviews.csv", kind="classification",
                                        columns=("review", "stars"))
    train = zoo.data.load("text_folder", "train", config=config)

The named configs over `manual_dir` are reused as built: after changing those
files, pass `download_mode="force_redownload"`.
"""

import csv
import dataclasses
import hashlib
import os
import pathlib

import tensorflow_datasets as tfds

from zoo.data.builders._common import split_of

KINDS = {"classification": ("text", "label"), "translation": ("source", "target")}
SPLIT_FILES = {"train": ("train",), "validation": ("validation", "valid", "dev"), "test": ("test",)}
SUFFIXES = (".tsv", ".csv", ".txt")
DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
              "space": " "}
_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}
DEFAULT_KEYS = {"columns": ("columns[0]", "columns[1]"), "delimiter": "delimiter",
                "header": "header"}


@dataclasses.dataclass(eq=False)
class TextFolderConfig(tfds.core.BuilderConfig):
    """Configuration: `kind`, an optional `path`, and how to read the files.

    Args:
        kind: "classification" (text, label) or "translation" (source, target).
        path: a CSV/TSV file or a folder of them (default: the manual folder).
        columns: () or two column specs (header names or 0-based indices; ""
            picks the default for that position, see the module docstring).
        delimiter: "" (by suffix: comma for .csv, tab otherwise), one character,
            or "tab", "comma", "semicolon", "pipe", "space".
        header: True, False or None (auto).

    Example:
        >>> TextFolderConfig.for_files("reviews.csv", columns=("review", "stars")).name
        'classification-reviews-...'   # a fingerprint of the file and the options
    """

    kind: str = "classification"
    path: str | None = None
    columns: tuple = ()
    delimiter: str = ""
    header: bool | None = None

    @classmethod
    def for_files(cls, path, *, kind="classification", columns=(), delimiter="", header=None):
        """A config whose name fingerprints `path`'s data files and the options.

        Raises:
            FileNotFoundError: `path` is neither a data file nor a folder of them.
        """
        files = find_files(path)
        parts = [kind, repr(tuple(columns)), repr(delimiter), repr(header),
                 str(TextFolder.VERSION)]
        for split, file in sorted(files.items(), key=lambda item: str(item[0])):
            stat = os.stat(file)
            parts += [str(split), os.path.abspath(file), str(stat.st_size), str(stat.st_mtime_ns)]
        digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]
        stem = "".join(c if c.isalnum() else "_" for c in pathlib.Path(path).stem)[:40]
        return cls(name=f"{kind}-{stem or 'data'}-{digest}", kind=kind, path=str(path),
                   columns=tuple(columns), delimiter=delimiter, header=header,
                   description=f"{KINDS.get(kind, ('?', '?'))} from {path}")


def parse_delimiter(value, path, key="delimiter"):
    """The one-character delimiter of `value` ("" = by `path`'s suffix)."""
    if value in (None, ""):
        return "," if pathlib.Path(path).suffix.lower() == ".csv" else "\t"
    value = DELIMITERS.get(str(value).lower(), value)
    if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n":
        raise ValueError(
            f"{key}: expected one character or one of {sorted(DELIMITERS)} (empty: by the "
            f"file's suffix). Received: {key}={value!r}")
    return value


def _shown(delimiter):
    return _NAMES.get(delimiter, repr(delimiter))


@dataclasses.dataclass
class Layout:
    """How to read one file: `delimiter`, the two column `indices`, whether the first
    row is a `header` (its fields, else None) and the number of `fields` per row."""

    delimiter: str
    indices: tuple
    header: list | None
    fields: int


def _rows(path, delimiter):
    """(line number, row) of the non-blank rows of a CSV/TSV file."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield reader.line_num, row


def _delimiter_hint(row, delimiter, key):
    """A sentence naming the delimiter the first row seems to use instead."""
    text = delimiter.join(row)
    for other in ("\t", ",", ";", "|"):
        if other != delimiter and other in text:
            return (f" The first row has {_shown(other)}s: if the file is "
                    f"{_shown(other)}-separated, set {key}={_shown(other)}.")
    return ""


def _spec(value):
    if isinstance(value, bool):
        raise ValueError(f"a column is a header name or a 0-based index. Received: {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return int(value)
    return str(value).strip()


def resolve_layout(path, *, kind="classification", columns=(), delimiter="", header=None,
                   keys=None):
    """The :class:`Layout` of `path` for `kind`, checked against its first row.

    `keys` ({"columns": (key, key), "delimiter": key, "header": key}) names the
    options in the messages (default: this config's field names).

    Raises:
        ValueError: an empty file, fewer than two fields, a column name that is not
            in the header (the header is quoted), an index past the last field, the
            same column twice, or names without a header.
    """
    keys = {**DEFAULT_KEYS, **(keys or {})}
    names = KINDS[kind]
    delimiter = parse_delimiter(delimiter, path, keys["delimiter"])
    shown = _shown(delimiter)
    first = next(iter(_rows(path, delimiter)), None)
    if first is None:
        raise ValueError(f"{path}: the file has no rows; expected {shown}-separated rows of "
                         f"{names[0]} and {names[1]}.")
    _, row = first
    hint = _delimiter_hint(row, delimiter, keys["delimiter"])
    if len(row) < 2:
        raise ValueError(f"{path}: the first row has 1 {shown}-separated field, expected at "
                         f"least 2 ({names[0]}, {names[1]}). Received: {row!r}.{hint}")
    columns = tuple(columns) or ("", "")
    if len(columns) != 2:
        raise ValueError(f"columns: expected two column specs ({names[0]}, {names[1]}). "
                         f"Received: columns={columns!r}")
    specs = [_spec(c) for c in columns]
    lowered = [field.strip().lower() for field in row]
    named = any(isinstance(s, str) and s for s in specs)
    if header is None:
        header = named or all(n in lowered for n in names)
    if named and not header:
        raise ValueError(f"{path}: columns given by name need a header row, but "
                         f"{keys['header']} is off; give 0-based indices instead.")
    indices = []
    for position, (spec, key) in enumerate(zip(specs, keys["columns"])):
        if spec == "":
            spec = names[position] if header and names[position] in lowered else position
        if isinstance(spec, str):
            if spec.lower() not in lowered:
                raise ValueError(
                    f"{path}: no column {spec!r} in the header {row!r}. Set {key} to one of "
                    f"those names or to a 0-based index.{hint}")
            spec = lowered.index(spec.lower())
        if spec >= len(row):
            raise ValueError(
                f"{path}: {key}={spec}, but the rows have {len(row)} {shown}-separated fields "
                f"(indices 0 to {len(row) - 1}). First row: {row!r}.{hint}")
        indices.append(spec)
    if indices[0] == indices[1]:
        raise ValueError(f"{path}: {keys['columns'][0]} and {keys['columns'][1]} are the same "
                         f"column ({indices[0]}); expected two different columns.")
    return Layout(delimiter, tuple(indices), list(row) if header else None, len(row))


def read_pairs(path, columns, layout=None):
    """Rows of a CSV/TSV file as (line number, first, second); ValueError on a bad row.

    `columns` are the kind's two names (for the messages); `layout` (default: the
    two-column file of :func:`resolve_layout` with default options) says which fields."""
    path = pathlib.Path(path)
    if layout is None:
        kind = next(k for k, v in KINDS.items() if v == tuple(columns))
        layout = resolve_layout(path, kind=kind)
    shown = _shown(layout.delimiter)
    i, j = layout.indices
    rows = _rows(path, layout.delimiter)
    if layout.header is not None:
        next(rows)
    for line, row in rows:
        if len(row) != layout.fields:
            raise ValueError(
                f"{path}, line {line}: expected {layout.fields} {shown}-separated fields "
                f"(as the first row has), found {len(row)}: {row!r}")
        if not row[i].strip() or not row[j].strip():
            raise ValueError(
                f"{path}, line {line}: empty field; expected a non-empty "
                f"{columns[0]} and {columns[1]}. Received: {row!r}")
        yield line, row[i], row[j]


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
    if set(found) == {"train"}:
        return {None: found["train"]}
    if "train" in found:
        return found
    data = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if len(data) == 1:
        return {None: data[0]}
    raise FileNotFoundError(
        f"text_folder: {path} must hold train.tsv/train.csv (optionally validation.* and "
        f"test.*) or exactly one .tsv/.csv file. Found: {sorted(p.name for p in path.iterdir())}"
    )


class TextFolder(tfds.core.GeneratorBasedBuilder):
    """Pairs of strings from your own CSV/TSV files."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.0.0": "First release.",
                     "1.1.0": "Columns, delimiter and header options; files of 2+ fields."}
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
            # Only the splits that receive rows: a small file may leave one empty.
            found = {split_of(_key(*row)) for row in self._pairs(files[None])}
            return {s: self._generate_examples(files[None], s)
                    for s in ("train", "validation", "test") if s in found}
        return {split: self._generate_examples(path, None) for split, path in files.items()}

    def _pairs(self, path):
        config = self.builder_config
        layout = resolve_layout(path, kind=config.kind, columns=config.columns,
                                delimiter=config.delimiter, header=config.header)
        return read_pairs(path, KINDS[config.kind], layout)

    def _generate_examples(self, path, split):
        columns = KINDS[self.builder_config.kind]
        for line, first, second in self._pairs(path):
            if split is not None and split_of(_key(line, first, second)) != split:
                continue
            yield line, {columns[0]: first, columns[1]: second}


def _key(line, first, second):
    """What decides a row's split in a single file: its line and both fields."""
    return f"{line}:{first}\t{second}"

"""The text_folder builder's reading options: columns, delimiter, header, wide files,
the messages of a wrong option, and a fresh build when the file or an option changes."""

import os

import pytest
import tensorflow_datasets as tfds

import zoo.data
from zoo.data.builders import TextFolderConfig
from zoo.data.builders.text_folder import resolve_layout


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rows(config, data_dir):
    names = ("text", "label") if config.kind == "classification" else ("source", "target")
    _, info = zoo.data.load("text_folder", config=config, data_dir=data_dir, with_info=True)
    rows = []
    for split in info.splits:  # a small file may leave a split without rows: not built
        ds = zoo.data.load("text_folder", split, config=config, data_dir=data_dir)
        rows += [tuple(ex[n].decode() for n in names) for ex in tfds.as_numpy(ds)]
    return sorted(rows)


def test_columns_by_name_in_a_wide_file_with_another_delimiter(tmp_path, data_dir):
    path = _write(tmp_path / "reviews.txt", "id;Stars;Review;lang\n1;5;fine film;en\n"
                                            "2;1;bad film;en\n3;4;so good;fr\n")
    config = TextFolderConfig.for_files(path, columns=("review", "STARS"), delimiter=";")
    assert config.name.startswith("classification-reviews-")
    assert _rows(config, data_dir) == [("bad film", "1"), ("fine film", "5"), ("so good", "4")]


def test_columns_by_index_without_header(tmp_path, data_dir):
    path = _write(tmp_path / "pairs.csv", 'x,"a, b",A\ny,c,C\n')
    layout = resolve_layout(path, kind="translation", columns=("1", 2))
    assert layout.indices == (1, 2) and layout.header is None and layout.fields == 3
    config = TextFolderConfig.for_files(path, kind="translation", columns=(1, 2))
    assert _rows(config, data_dir) == [("a, b", "A"), ("c", "C")]


def test_default_columns_follow_the_kind_names_in_the_header(tmp_path):
    path = _write(tmp_path / "d.tsv", "label\tnote\ttext\npos\tx\tgood\n")
    assert resolve_layout(path).indices == (2, 0)
    # A header forced on: the first row is skipped even without the kind's names.
    plain = _write(tmp_path / "p.tsv", "a\tb\nc\td\n")
    assert resolve_layout(plain, header=True).header == ["a", "b"]
    assert resolve_layout(plain).header is None


@pytest.mark.parametrize("content, options, message", [
    ("review,stars\nok,5\n", {"columns": ("text", "stars")},
     "no column 'text' in the header ['review', 'stars']. Set --set text_column to one of"),
    ("a,b\nc,d\n", {"columns": (0, 5)},
     "--set label_column=5, but the rows have 2 comma-separated fields (indices 0 to 1)"),
    ("review\tstars\nok\t5\n", {},
     "the first row has 1 comma-separated field, expected at least 2 (text, label). "
     "Received: ['review\\tstars']. The first row has tabs: if the file is tab-separated, "
     "set --set delimiter=tab."),
    ("a,b\nc,d\n", {"columns": (1, 1)}, "are the same column (1)"),
    ("a,b\n", {"columns": ("a", "b"), "header": False}, "columns given by name need a header"),
    ("\n\n", {}, "the file has no rows"),
    ("a,b\n", {"delimiter": "ab"}, "--set delimiter: expected one character"),
])
def test_wrong_options_name_the_file_what_was_found_and_the_key(tmp_path, content, options,
                                                                message):
    path = _write(tmp_path / "data.csv", content)
    keys = {"columns": ("--set text_column", "--set label_column"),
            "delimiter": "--set delimiter", "header": "--set header"}
    with pytest.raises(ValueError) as err:
        resolve_layout(path, keys=keys, **options)
    assert message in str(err.value)
    if "delimiter: expected" not in message:
        assert str(path) in str(err.value)


def test_rows_with_another_field_count_name_the_line(tmp_path, data_dir):
    path = _write(tmp_path / "data.csv", "text,label,extra\na,b,c\nd,e\n")
    config = TextFolderConfig.for_files(path)
    with pytest.raises(ValueError, match="line 3: expected 3 comma-separated fields"):
        _rows(config, data_dir)


def test_a_changed_file_or_option_is_built_afresh(tmp_path, data_dir):
    path = _write(tmp_path / "data.csv", "text,label,other\na,x,p\nb,y,q\n")
    first = TextFolderConfig.for_files(path)
    assert first.name == TextFolderConfig.for_files(path).name  # same file, same build
    assert _rows(first, data_dir) == [("a", "x"), ("b", "y")]
    by_column = TextFolderConfig.for_files(path, columns=("text", "other"))
    assert by_column.name != first.name
    assert _rows(by_column, data_dir) == [("a", "p"), ("b", "q")]
    stat = os.stat(path)
    _write(path, "text,label,other\na,x,p\nb,y,q\nc,z,r\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    edited = TextFolderConfig.for_files(path)
    assert edited.name != first.name
    assert _rows(edited, data_dir) == [("a", "x"), ("b", "y"), ("c", "z")]


def test_with_data_records_a_fingerprint_of_the_file_or_the_folder_files(tmp_path):
    import dataclasses

    from zoo._run_checks import data_fingerprint, with_data

    @dataclasses.dataclass
    class Config:
        data: str = ""
        data_fingerprint: str = ""

    @dataclasses.dataclass
    class PathOnly:
        data: str = ""

    file = _write(tmp_path / "one" / "reviews.csv", "text,label\nfine,yes\n")
    config = with_data(None, "mine", Config(), str(file))
    assert config.data == str(file) and config.data_fingerprint == data_fingerprint(str(file))
    assert len(config.data_fingerprint) == 16
    assert with_data(None, "mine", PathOnly(), str(file)) == PathOnly(data=str(file))
    first = config.data_fingerprint
    file.write_text("text,label\nfine,no\n", encoding="utf-8")  # same size, other bytes
    assert data_fingerprint(str(file)) != first
    folder = tmp_path / "folder"
    _write(folder / "train.csv", "text,label\na,b\n")
    _write(folder / "test.csv", "text,label\nc,d\n")
    _write(folder / ".hidden", "left out")
    before = data_fingerprint(str(folder))
    _write(folder / ".hidden", "still left out")
    assert data_fingerprint(str(folder)) == before
    os.rename(folder / "test.csv", folder / "validation.csv")  # a renamed file: another split
    assert data_fingerprint(str(folder)) != before


def _own_data_examples(path, heading):
    """The `zoo train` lines of the first bash block under ``heading`` in ``path``."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, path), encoding="utf-8").read()
    block = text[text.index(heading):].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].split() for line in block.splitlines()
            if line.startswith("zoo train ")]


@pytest.mark.parametrize("path, heading", [("README.md", "## Train on your own data"),
                                           ("docs/recipes.md", "## Your own data")])
def test_own_data_examples_train_other_options_into_other_run_folders(path, heading):
    # A second `zoo train` of one recipe with another file or columns into the same run
    # folder is refused ("holds a run with another configuration"): each needs its own.
    folders = {}
    for words in _own_data_examples(path, heading):
        run_dir = (words[words.index("--run-dir") + 1] if "--run-dir" in words
                   else f"runs/{words[2]}")
        assert folders.setdefault(run_dir, words) == words, (path, run_dir)
    assert len(folders) >= 3

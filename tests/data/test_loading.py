"""`zoo.data.load` and `list_datasets`, `text_folder` (bring your own data), bad input."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

import zoo.data
from zoo.data.builders import TextFolderConfig

OWN = [
    "adding_problem",
    "bach_chorales",
    "cmudict",
    "copy_memory",
    "human_dates",
    "japanese_vowels",
    "sequential_digits",
    "sunspots",
    "text_folder",
]


def test_list_datasets_and_tfds_registry():
    names = zoo.data.list_datasets()
    assert names == OWN + ["conll2003", "imdb_reviews", "ted_hrlr_translate", "tiny_shakespeare"]
    registered = set(tfds.list_builders(with_community_datasets=False))
    assert set(OWN) <= registered


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'") as err:
        zoo.data.load("mnist")
    for name in zoo.data.list_datasets():
        assert name in str(err.value)


def test_load_own_dataset_reuses_the_build(data_dir):
    ds, info = zoo.data.load("sunspots/next_value", "test", data_dir=data_dir, with_info=True)
    assert info.splits["test"].num_examples == 40
    first = [ex["year"] for ex in tfds.as_numpy(ds)]
    again = zoo.data.load("sunspots/next_value", "test", data_dir=data_dir)  # no rebuild
    assert [ex["year"] for ex in tfds.as_numpy(again)] == first
    pairs = zoo.data.load(
        "sunspots/next_value", "validation", data_dir=data_dir, as_supervised=True
    )
    window, target = next(iter(tfds.as_numpy(pairs)))
    assert window.shape == (24, 1) and np.ndim(target) == 0


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_text_folder_from_manual_dir(tmp_path, data_dir):
    manual = tmp_path / "manual"
    _write(manual / "train.tsv", "text\tlabel\ngood film\tpos\nbad film\tneg\n\nfine\tpos\n")
    _write(manual / "test.tsv", "awful\tneg\n")
    ds, info = zoo.data.load(
        "text_folder/classification",
        "train",
        data_dir=data_dir,
        manual_dir=str(manual),
        with_info=True,
    )
    assert sorted(info.splits) == ["test", "train"]
    rows = sorted((ex["text"].decode(), ex["label"].decode()) for ex in tfds.as_numpy(ds))
    assert rows == [("bad film", "neg"), ("fine", "pos"), ("good film", "pos")]


def test_text_folder_single_csv_file_is_split_by_hash(tmp_path, data_dir):
    lines = ["source,target"] + [f'"w{i}, quoted",t{i}' for i in range(200)]
    path = _write(tmp_path / "pairs.csv", "\n".join(lines) + "\n")
    config = TextFolderConfig(name="pairs", kind="translation", path=str(path))
    splits = {
        s: list(tfds.as_numpy(zoo.data.load("text_folder", s, data_dir=data_dir, config=config)))
        for s in ("train", "validation", "test")
    }
    sizes = {s: len(v) for s, v in splits.items()}
    assert sum(sizes.values()) == 200 and 120 < sizes["train"] < 190 and sizes["test"] > 5
    sources = [ex["source"].decode() for v in splits.values() for ex in v]
    assert len(set(sources)) == 200 and "w7, quoted" in sources


@pytest.mark.parametrize(
    "content, line, problem",
    [
        ("a\tb\nc\td\te\nf\tg\n", 2, "expected 2 tab-separated fields"),
        ("a\tb\n\n\nonly-one-field\n", 4, "found 1"),
        ("a\tb\n\tlabel\n", 2, "empty field"),
    ],
)
def test_malformed_text_folder_file_names_the_line(tmp_path, data_dir, content, line, problem):
    path = _write(tmp_path / "manual" / "train.tsv", content)
    with pytest.raises(ValueError, match=problem) as err:
        zoo.data.load("text_folder/classification", data_dir=data_dir, manual_dir=str(path.parent))
    assert f"{path}, line {line}:" in str(err.value)


def test_text_folder_without_files_says_what_it_wants(tmp_path, data_dir):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.tsv").write_text("x\ty\n")
    (tmp_path / "empty" / "b.tsv").write_text("x\ty\n")
    with pytest.raises(FileNotFoundError, match="train.tsv"):
        zoo.data.load(
            "text_folder/translation", data_dir=data_dir, manual_dir=str(tmp_path / "empty")
        )


def test_bad_config_values_are_refused(data_dir):
    with pytest.raises(ValueError, match="Received: kind='regression'"):
        zoo.data.load(
            "text_folder", config=TextFolderConfig(name="x", kind="regression"), data_dir=data_dir
        )


def test_building_never_reaches_for_the_network(data_dir, monkeypatch):
    import socket

    attempts = []

    def record(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", record)
    monkeypatch.setattr(socket.socket, "connect_ex", record)
    monkeypatch.setattr(socket, "getaddrinfo", record)
    ds = tfds.load(
        "copy_memory",
        split="test",
        data_dir=data_dir,
        builder_kwargs={
            "config": zoo.data.builders.CopyMemoryConfig(name="n", length=3, sizes=(4, 2, 2))
        },
    )
    assert len(list(ds)) == 2
    assert attempts == []

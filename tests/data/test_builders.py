"""Every offline builder builds through `tfds.load` in a fresh data folder, with the
expected features, split sizes and value ranges, and builds the same examples twice."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

import zoo.data  # noqa: F401  (registers the builders)
from zoo.data import builders


def _load_all(name, data_dir, config=None):
    """All splits of a dataset, built through `tfds.load` in `data_dir`."""
    kwargs = {"builder_kwargs": {"config": config}} if config is not None else {}
    _, info = tfds.load(name, split="train", data_dir=data_dir, with_info=True, **kwargs)
    names = sorted(info.splits)
    splits = tfds.load(name, split=names, data_dir=data_dir, **kwargs)
    return dict(zip(names, splits)), info


def _numpy(ds):
    return list(tfds.as_numpy(ds))


def _sizes(info):
    return {k: v.num_examples for k, v in info.splits.items()}


def test_adding_problem_target_is_sum_of_marked_values(data_dir):
    cfg = builders.AddingProblemConfig(name="t30", length=30, sizes=(64, 8, 8))
    splits, info = _load_all("adding_problem", data_dir, cfg)
    assert _sizes(info) == {"train": 64, "validation": 8, "test": 8}
    assert info.supervised_keys == ("features", "target")
    for split in splits.values():
        for ex in _numpy(split):
            x, marks = ex["features"][:, 0], ex["features"][:, 1]
            assert ex["features"].shape == (30, 2)
            assert np.all((x >= 0) & (x < 1))
            first, second = np.flatnonzero(marks == 1)
            assert np.count_nonzero(marks) == 2 and first < 15 <= second
            np.testing.assert_allclose(ex["target"], x[first] + x[second], rtol=1e-6)


def test_adding_problem_registered_lengths():
    names = [c.name for c in builders.AddingProblem.BUILDER_CONFIGS]
    # length_1000: the last length of the adding problem's full vanishing-gradient study.
    assert names == ["length_50", "length_100", "length_200", "length_400", "length_1000"]
    assert [c.name for c in builders.CopyMemory.BUILDER_CONFIGS] == names[:-1]


def test_copy_memory_targets_repeat_the_first_ten_symbols(data_dir):
    cfg = builders.CopyMemoryConfig(name="t12", length=12, sizes=(32, 4, 4))
    splits, info = _load_all("copy_memory", data_dir, cfg)
    assert info.features["inputs"].shape == (32,)
    for ex in _numpy(splits["train"]):
        x, y = ex["inputs"], ex["targets"]
        assert np.all((x[:10] >= 1) & (x[:10] <= 8))
        assert x[10 + 12 - 1] == 10  # delimiter after the delay
        assert np.all(np.delete(x, list(range(10)) + [21]) == 9)  # blanks elsewhere
        np.testing.assert_array_equal(y[-10:], x[:10])
        assert np.all(y[:-10] == 9)
        assert 0 not in x and 0 not in y  # 0 is reserved for padding


def test_sequential_digits(data_dir):
    splits, info = _load_all("sequential_digits", data_dir)
    assert _sizes(info) == {"train": 1257, "validation": 180, "test": 360}
    train = _numpy(splits["train"])
    x = np.stack([ex["features"] for ex in train])
    assert x.shape == (1257, 8, 8) and x.min() == 0.0 and x.max() == 1.0
    labels = np.array([ex["label"] for ex in train])
    assert set(labels) == set(range(10))
    # Stratified: every class holds about 70% of its images in train.
    assert np.bincount(labels).min() >= 120


def test_japanese_vowels(data_dir):
    splits, info = _load_all("japanese_vowels", data_dir)
    assert _sizes(info) == {"train": 243, "validation": 27, "test": 370}
    assert info.features["speaker"].num_classes == 9
    lengths = set()
    for name, split in splits.items():
        speakers = []
        for ex in _numpy(split):
            assert ex["features"].shape[1] == 12 and ex["features"].dtype == np.float32
            lengths.add(ex["features"].shape[0])
            speakers.append(ex["speaker"])
        if name == "validation":
            assert np.bincount(speakers).tolist() == [3] * 9
    assert min(lengths) == 7 and max(lengths) == 29


@pytest.mark.parametrize("config", ["yearly", "next_value", "sequence"])
def test_sunspots(data_dir, config):
    splits, info = _load_all(f"sunspots/{config}", data_dir)
    years = {s: sorted(int(ex["year"]) for ex in _numpy(ds)) for s, ds in splits.items()}
    assert years["train"][-1] == 1928 and years["validation"] == list(range(1929, 1969))
    assert years["test"] == list(range(1969, 2009))
    if config == "yearly":
        assert _sizes(info)["train"] == 229 and years["train"][0] == 1700
        return
    by_year = {int(ex["year"]): ex for ex in _numpy(splits["test"])}
    ex, nxt = by_year[2000], by_year[2001]
    assert ex["window"].shape == (24, 1)
    np.testing.assert_array_equal(nxt["window"][:-1], ex["window"][1:])  # one year on
    if config == "next_value":
        assert nxt["window"][-1, 0] == ex["target"]
    else:
        np.testing.assert_array_equal(ex["targets"][:-1], ex["window"][1:])
        assert nxt["window"][-1, 0] == ex["targets"][-1, 0]


@pytest.mark.slow
def test_cmudict_subset(data_dir):
    cfg = builders.CmudictConfig(name="t", stress=False, max_words=2000)
    splits, info = _load_all("cmudict", data_dir, cfg)
    sizes = _sizes(info)
    assert 2000 <= sum(sizes.values()) < 2400  # alternative pronunciations add a few
    assert 0.03 < sizes["test"] / sum(sizes.values()) < 0.08
    words = {s: {ex["word"].decode() for ex in _numpy(ds)} for s, ds in splits.items()}
    assert not words["train"] & words["test"] and not words["train"] & words["validation"]
    ex = next(iter(_numpy(splits["train"])))
    assert not any(ch.isdigit() for ch in ex["phonemes"].decode())  # no_stress


def test_cmudict_stress_config_keeps_digits():
    pairs = dict(builders.cmudict.entries(stress=True, max_words=50))
    assert pairs["a"] in ("AH0", "EY1")
    assert all(any(ch.isdigit() for ch in phones) for phones in pairs.values())


def test_human_dates(data_dir):
    import datetime
    import re

    cfg = builders.HumanDatesConfig(name="t", sizes=(300, 40, 40))
    splits, info = _load_all("human_dates", data_dir, cfg)
    assert _sizes(info) == {"train": 300, "validation": 40, "test": 40}
    dates = {}
    for name, split in splits.items():
        dates[name] = set()
        for ex in _numpy(split):
            iso = ex["iso"].decode()
            day = datetime.date.fromisoformat(iso)
            assert datetime.date(1900, 1, 1) <= day <= datetime.date(2099, 12, 31)
            text = ex["text"].decode()
            # Only the day and the four-digit year are numbers: the month is a name.
            numbers = sorted(int(n) for n in re.findall(r"[0-9]+", text))
            assert numbers == sorted([day.day, day.year]), text
            dates[name].add(iso)
    assert not dates["train"] & dates["test"]
    locales = {ex["locale"].decode() for ex in _numpy(splits["train"])}
    assert len(locales) == len(builders.human_dates.LOCALES)


def test_bach_chorales_small_and_cached(data_dir, tmp_path):
    cfg = builders.BachChoralesConfig(name="t", voices="four_voices", max_chorales=10)
    splits, info = _load_all("bach_chorales", data_dir, cfg)
    assert _sizes(info) == {"train": 8, "validation": 1, "test": 1}  # all have four voices
    assert info.supervised_keys == ("soprano", "lower_voices")
    for ex in _numpy(splits["train"]):
        s, lower = ex["soprano"], ex["lower_voices"]
        assert lower.shape == (len(s), 3)
        assert len(s) % 4 == 0 and len(s) >= 64  # whole quarters on a 16th grid
        for voice in [s, *lower.T]:
            notes = voice[voice > 0]
            assert notes.size and 28 <= notes.min() and notes.max() <= 84
        # Voices are ordered from high to low most of the time.
        assert np.mean(s >= lower[:, 0]) > 0.9 and np.mean(lower[:, 1] >= lower[:, 2]) > 0.9
    cached = sorted((tmp_path / "cache" / "bach_chorales").glob("*/*.json"))
    assert len(cached) == 10
    assert not list((tmp_path / "cache" / "bach_chorales").glob("*/*.tmp"))
    soprano_cfg = builders.BachChoralesConfig(name="s", voices="soprano", max_chorales=10)
    soprano, _ = _load_all("bach_chorales", data_dir, soprano_cfg)
    by_number = {int(ex["number"]): ex for ex in _numpy(soprano["train"])}
    for ex in _numpy(splits["train"]):
        np.testing.assert_array_equal(by_number[int(ex["number"])]["soprano"], ex["soprano"])
        assert by_number[int(ex["number"])]["key"] == ex["key"]


def test_a_cache_file_written_by_many_writers_at_once_is_always_whole(tmp_path):
    # Test workers fill one shared chorale cache at the same time: each writer
    # must rename its own temporary file, and a reader must never see half of one.
    import threading
    from zoo.data.builders._common import write_cache_file

    path = tmp_path / "001.json"
    texts = [str(i) * 20000 for i in range(8)]
    errors = []

    def write(text):
        try:
            for _ in range(30):
                write_cache_file(path, text)
                assert path.read_text() in texts
        except Exception as err:  # collected, so a failure in a thread fails the test
            errors.append(err)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert path.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["001.json"]


def test_a_chorale_is_parsed_from_its_source_past_a_half_written_music21_pickle(
    tmp_path, monkeypatch
):
    # music21 caches each parsed score as a pickle in a scratch folder shared by
    # every process; a test worker once read one that another was still writing.
    # The zoo keeps its own per-chorale cache, so it never reads or writes those.
    from music21 import converter, corpus, environment
    from zoo.data.builders.bach_chorales import parse_chorale

    monkeypatch.setattr(environment.Environment, "getRootTempDir", lambda self: tmp_path)
    name = "bach/bwv269"
    pickle = converter.PickleFilter(corpus.getWork(name)).status()[2]
    assert pickle.parent == tmp_path
    pickle.write_bytes(b"\x78\x9c half a pickle")
    record = parse_chorale(1, name)
    assert pickle.read_bytes() == b"\x78\x9c half a pickle"  # neither read nor rewritten
    assert [p.name for p in tmp_path.iterdir()] == [pickle.name]
    assert record["key"] == "G major" and len(record["parts"]) == 4


@pytest.mark.parametrize(
    "name, config",
    [
        ("adding_problem", builders.AddingProblemConfig(name="d", length=20, sizes=(16, 4, 4))),
        ("copy_memory", builders.CopyMemoryConfig(name="d", length=5, sizes=(16, 4, 4))),
        ("human_dates", builders.HumanDatesConfig(name="d", sizes=(50, 10, 10))),
        ("cmudict", builders.CmudictConfig(name="d", max_words=300)),
        ("bach_chorales", builders.BachChoralesConfig(name="d", max_chorales=3)),
        ("japanese_vowels", None),
        ("sequential_digits", None),
        ("sunspots", None),
    ],
)
def test_two_builds_give_identical_examples(tmp_path, name, config):
    runs = []
    for i in range(2):
        splits, _ = _load_all(name, str(tmp_path / f"run{i}"), config)
        runs.append({s: _numpy(ds) for s, ds in splits.items()})
    for split in runs[0]:
        assert len(runs[0][split]) == len(runs[1][split]) > 0
        for a, b in zip(runs[0][split], runs[1][split]):
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])


# Exhaustive tier: each data set built in full (cmudict: 120,777 examples). The default
# and CI tiers build every builder on small configurations
# (test_two_builds_give_identical_examples).
@pytest.mark.exhaustive
@pytest.mark.parametrize(
    "name, sizes",
    [
        ("bach_chorales/soprano", {"train": 302, "validation": 32, "test": 37}),
        ("bach_chorales/four_voices", {"train": 290, "validation": 26, "test": 35}),
        ("cmudict/stress", {"train": 120777, "validation": 6556, "test": 6625}),
        ("human_dates", {"train": 20000, "validation": 2000, "test": 2000}),
        ("adding_problem/length_400", {"train": 10000, "validation": 1000, "test": 1000}),
        ("copy_memory/length_400", {"train": 10000, "validation": 1000, "test": 1000}),
    ],
)
def test_full_builds(data_dir, name, sizes, tmp_path_factory, monkeypatch):
    # One cache for the module, so the chorales are parsed once for both configs.
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "shared_cache"))
    _, info = _load_all(name, data_dir)
    assert _sizes(info) == sizes

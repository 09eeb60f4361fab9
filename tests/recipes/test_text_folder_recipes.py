"""text_classification and text_to_text end to end on generated files of your own data:
a learnable task trains to a stated score, the export answers raw strings in a fresh
process, and a missing or wrong option is refused with a message naming the fix."""

import csv
import os
import random

import keras
import keras_tuner
import numpy as np
import pytest

from recipes import _seq2seq, text_classification, text_to_text
from zoo import recipe as base

from tests.helpers import zoo_main
from tests.recipes.generative_checks import check_seq2seq_export
from tests.recipes.recipe_helpers import check_raw_predict

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_text_folder_recipes")

WORDS = "red blue green small big old new fast slow happy sad bright dark warm cold soft".split()


def write_reviews(path, rows=600, seed=0):
    """A CSV (id, review, stars) where the label is "yes" exactly when "zebra" is in it."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review", "stars"])
        for i in range(rows):
            text = [rng.choice(WORDS) for _ in range(rng.randint(3, 8))]
            if i % 2:
                text.insert(rng.randrange(len(text) + 1), "zebra")
            writer.writerow([i, " ".join(text), "yes" if i % 2 else "no"])
    return str(path)


def write_reversals(path, rows=400, seed=1):
    """A TSV (source, target) of short words and the same words backwards."""
    rng = random.Random(seed)
    lines = ["source\ttarget"]
    for _ in range(rows):
        word = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 5)))
        lines.append(f"{word}\t{word[::-1]}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return str(path)


def train(recipe, folder, data_dir, overrides, epochs=None):
    config = base.make_config(recipe, tiny=True, overrides=overrides, epochs=epochs)
    run_dir, export_dir = str(folder / "run"), str(folder / "export")
    summary = base.run(recipe, config, data_dir=data_dir, run_dir=run_dir,
                       export_dir=export_dir, verbose=0)
    assert summary["status"] == "complete" and summary["export"] == export_dir
    return config, summary, run_dir, export_dir


@pytest.fixture(scope="session")
def classified(tmp_path_factory, tfds_dir):
    folder = tmp_path_factory.mktemp("text_classification")
    data = write_reviews(folder / "reviews.csv", rows=400)
    return train(text_classification, folder, tfds_dir,
                 [f"data={data}", "text_column=review", "label_column=stars", "batch_size=16"],
                 epochs=4)


@pytest.mark.slow
def test_text_classification_learns_contains_a_word_and_predicts_raw_text(classified,
                                                                          tfds_dir):
    config, summary, run_dir, export_dir = classified
    test = summary["test"]
    # "zebra" in the text <=> "yes": learnt in 4 epochs of the TINY model (seed 42).
    assert test["accuracy"] >= 0.9 and test["macro_f1"] >= 0.9, test
    assert test["classes"] == 2 and test["test_rows_with_unknown_label"] == 0
    data = text_classification.load_data(config, data_dir=tfds_dir)
    assert data.artifacts["vocabulary"]["classes"] == ["no", "yes"]
    texts = ["big zebra happy", "red blue cold", "zebra", "slow old dark warm soft new"]
    ids = data.extras["tokenizers"]["input"].encode_batch(texts)
    out = check_raw_predict(run_dir, export_dir, {"tokens": np.array(texts, dtype=object)},
                            {"tokens": ids}, class_names=["no", "yes"])
    assert out["label"] == ["yes", "no", "yes", "no"]


def test_text_classification_tuning_defaults_build_the_recipe_model(classified, tfds_dir):
    from zoo.tuning import HyperModel

    # The default model (the space's defaults are its values), on the fixture's file.
    config = base.make_config(text_classification, overrides=[
        f"{k}={getattr(classified[0], k)}" for k in ("data", "text_column", "label_column")])
    data = text_classification.load_data(config, data_dir=tfds_dir)
    hypermodel = HyperModel(text_classification, config, data=data, data_dir=tfds_dir)
    keras.backend.clear_session()
    tuned = hypermodel.build(keras_tuner.HyperParameters())
    keras.backend.clear_session()
    assert tuned.get_config() == text_classification.build_model(config, data).get_config()


def _raw_text_check(config, run_dir, export_dir, tmp_path, data_dir):
    data = text_to_text.load_data(config, data_dir=data_dir)
    texts = [s for s, _ in data.extras["test_pairs"]][:6]
    return check_seq2seq_export(export_dir, run_dir, texts, _seq2seq.encode_sources(texts, data),
                                data.extras["tokenizers"]["output"], tmp_path)


@pytest.mark.slow  # trains, exports four decoding signatures and calls them fresh: > 60 s
def test_text_to_text_tiny_end_to_end_predicts_raw_text(tmp_path, tfds_dir):
    data = write_reversals(tmp_path / "pairs.tsv", rows=200)
    config, summary, run_dir, export_dir = train(text_to_text, tmp_path, tfds_dir,
                                                 [f"data={data}"])
    test = summary["test"]
    assert set(test) >= {"exact_match", "token_error_rate", "sequence_error_rate", "bleu",
                         "chrf", "teacher_forced_token_accuracy"}
    assert 0 <= test["exact_match"] <= 1 and 0 <= test["chrf"] <= 100
    assert test["sequence_error_rate"] == pytest.approx(1 - test["exact_match"])
    defaults, _ = _raw_text_check(config, run_dir, export_dir, tmp_path, tfds_dir)
    assert defaults["max_length"] == text_to_text.TINY["max_target_length"] + 1


@pytest.mark.slow  # six epochs, then the export and the fresh-process check
def test_text_to_text_learns_to_reverse_words(tmp_path, tfds_dir):
    data = write_reversals(tmp_path / "pairs.tsv", rows=800)
    config, summary, run_dir, export_dir = train(
        text_to_text, tmp_path, tfds_dir, [f"data={data}", "model.units=32"], epochs=6)
    assert summary["test"]["exact_match"] >= 0.9, summary["test"]
    assert summary["test"]["chrf"] >= 90 and summary["test"]["token_error_rate"] <= 0.05
    _, greedy = _raw_text_check(config, run_dir, export_dir, tmp_path, tfds_dir)
    sources = [s for s, _ in text_to_text.load_data(config, tfds_dir).extras["test_pairs"]][:6]
    right = sum(t == s[::-1] for t, s in zip(greedy["text"]["value"], sources))
    assert right >= 5, (greedy["text"]["value"], sources)


def test_scores_of_text_to_text_by_hand():
    got = text_to_text.scores([list("ab"), list("ba")], [list("ab"), list("bb")], "char")
    # One of two right; one substitution over four reference characters.
    assert got["exact_match"] == 0.5 and got["sequence_error_rate"] == 0.5
    assert got["token_error_rate"] == 0.25
    words = "the cat sat on the mat".split()
    same = text_to_text.scores([words], [list(words)], "word")
    assert same["bleu"] == pytest.approx(100) and same["chrf"] == pytest.approx(100)


def test_without_data_zoo_train_says_to_pass_data(tmp_path, capsys):
    # In this process, through the console script's function (tests/README.md, Processes).
    code, out, err = zoo_main(["train", "text_classification", "--tiny",
                               "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 2, err[-2000:]
    assert ("zoo train: error: text_classification needs your data: pass --data FILE "
            "(a CSV/TSV of text,label rows") in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("recipe, content, options, message", [
    (text_classification, "body,stars\nok,5\n", ["text_column=text"],
     "no column 'text' in the header ['body', 'stars']. Set --set text_column to one of "
     "those names or to a 0-based index."),
    (text_to_text, "source\ttarget\nab\tba\n", [],
     "The first row has tabs: if the file is tab-separated, set --set delimiter=tab."),
    (text_to_text, "a,b\n", ["target_column=4"], "--set target_column=4, but the rows have 2"),
    (text_classification, "a,b\n", ["level=bytes"], "--set level: expected one of word, char"),
])
def test_wrong_columns_or_delimiter_name_the_file_header_and_key(recipe, content, options,
                                                                 message, tmp_path, capsys):
    import zoo.cli

    path = tmp_path / "mine.csv"
    path.write_text(content, encoding="utf-8")
    argv = ["train", recipe.NAME, "--tiny", "--no-export", "--run-dir", str(tmp_path / "run"),
            "--set", f"data={path}"] + [a for o in options for a in ("--set", o)]
    assert zoo.cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if "level" not in message:
        assert str(path) in err


@pytest.mark.slow  # trains, then trains again and evaluates three times: ~45 s
def test_data_flag_trains_on_your_file_and_a_changed_file_is_refused(
        tmp_path, tfds_dir, monkeypatch, capsys):
    import json

    import zoo.cli
    from zoo._run_checks import data_fingerprint

    monkeypatch.chdir(tmp_path)
    data = write_reviews(tmp_path / "reviews.csv", rows=120)
    run_dir = str(tmp_path / "run")
    argv = ["train", "text_classification", "--tiny", "--no-export", "--quiet",
            "--data", data, "--set", "text_column=review", "--set", "label_column=stars",
            "--data-dir", tfds_dir, "--run-dir", run_dir]
    evaluate = ["evaluate", run_dir, "--data-dir", tfds_dir]
    assert zoo.cli.main(argv) == 0
    config = base.load_run(run_dir)[1]
    assert config.data == data and os.path.isfile(tmp_path / "run" / "model.keras")
    assert config.data_fingerprint == data_fingerprint(data) != ""
    with open(tmp_path / "run" / "metrics.json", encoding="utf-8") as handle:
        assert json.load(handle)["test"]["test_split"] == "test"
    original = (tmp_path / "reviews.csv").read_bytes()
    with open(data, "a", encoding="utf-8") as handle:  # a new label: another label list
        handle.write("999,zebra red,maybe\n")
    capsys.readouterr()
    assert zoo.cli.main(argv) == 2  # train again: refused, the finished run is untouched
    err = capsys.readouterr().err
    assert "holds a run with another configuration (data_fingerprint: saved" in err
    assert "the data file's contents changed since that run" in err
    assert zoo.cli.main(evaluate) == 2
    err = capsys.readouterr().err
    assert f"The data file {data} changed since the run was trained on it" in err
    assert "Restore the file, or train a new run on it (--run-dir DIR, or --overwrite" in err
    assert "Traceback" not in err
    (tmp_path / "reviews.csv").write_bytes(original)  # restored: the run is used again
    assert zoo.cli.main(argv) == 0 and zoo.cli.main(evaluate) == 0
    assert "[evaluate]" in capsys.readouterr().out
    os.rename(data, tmp_path / "moved.csv")
    assert zoo.cli.main(evaluate) == 2
    err = capsys.readouterr().err
    assert (f"The run's data file {data} (given to zoo train --data) is gone; put it back"
            in err)


def test_without_a_test_split_the_validation_split_is_scored_and_said(
        tmp_path, tfds_dir, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    write_reviews(folder / "train.csv", rows=60)
    write_reviews(folder / "validation.csv", rows=20, seed=3)
    config = base.make_config(text_classification, tiny=True, overrides=[
        f"data={folder}", "text_column=review", "label_column=stars"])
    data = text_classification.load_data(config, data_dir=tfds_dir)
    assert data.extras["test_split"] == "validation"
    out = capsys.readouterr().out
    assert (f"[text_classification] {folder}: 60 train, 20 validation rows; no test rows, so "
            "the test scores are of the validation split, which early stopping also reads "
            "(optimistic)") in out

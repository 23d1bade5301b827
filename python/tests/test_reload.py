"""A run folder reloads to the same numbers, from Python and from the command line."""

import io
import subprocess

import numpy as np
import pandas as pd

import automl_gpt


def cli(binary, *args):
    done = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def read_predictions(text):
    return pd.read_csv(io.StringIO(text), float_precision="round_trip", dtype={"prediction": str})


def test_load_gives_the_cli_predictions_bit_for_bit(binary, penguins, tmp_path):
    run = tmp_path / "run"
    cli(binary, "run", penguins / "train.csv", "--target", "species", "--budget", "5s", "--out", run,
        "--store", tmp_path / "store.sqlite", "--quiet")
    expected = read_predictions(cli(binary, "predict", run, penguins / "test.csv"))

    model = automl_gpt.load(run)
    columns = [f"proba_{c}" for c in model.classes_]
    # The file itself, read as `predict` reads it ...
    np.testing.assert_array_equal(model.predict_proba(str(penguins / "test.csv")), expected[columns].to_numpy())
    # ... and the same rows as a DataFrame (numbers parsed to the nearest double, as the CLI does).
    test = pd.read_csv(penguins / "test.csv", float_precision="round_trip")
    np.testing.assert_array_equal(model.predict_proba(test), expected[columns].to_numpy())
    np.testing.assert_array_equal(model.predict(test), expected["prediction"].to_numpy())
    assert model.data_card_["target"] == "species"
    assert list(model.feature_names_in_) == [c for c in test.columns if c != "species"]
    assert len(model.leaderboard_) > 0


def test_a_python_run_reloads_identically_and_the_cli_reads_it(binary, penguins, runs_dir, tmp_path):
    train = pd.read_csv(penguins / "train.csv", float_precision="round_trip")
    test = pd.read_csv(penguins / "test.csv", float_precision="round_trip")
    model = automl_gpt.AutoML(budget="4s", knowledge="none", runs_dir=runs_dir).fit(train.drop(columns="species"), train["species"])
    again = automl_gpt.load(model.run_dir_)
    np.testing.assert_array_equal(again.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(again.classes_, model.classes_)

    expected = read_predictions(cli(binary, "predict", model.run_dir_, penguins / "test.csv"))
    columns = [f"proba_{c}" for c in model.classes_]
    np.testing.assert_array_equal(model.predict_proba(test), expected[columns].to_numpy())

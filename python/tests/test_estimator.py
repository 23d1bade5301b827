"""The estimator as a notebook user meets it: fit on a DataFrame, predict, score, inspect."""

import logging
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import automl_gpt


def split(frame, target):
    return frame.drop(columns=[target]), frame[target]


def test_fit_and_predict_on_a_shared_dataset_beat_a_floor(shared_datasets, runs_dir):
    data = shared_datasets / "german_credit"
    train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv")
    X, y = split(train, "class")
    X_test, y_test = split(test, "class")
    model = automl_gpt.AutoMLClassifier(budget="10s", runs_dir=runs_dir).fit(X, y)

    proba = model.predict_proba(X_test)
    positive = list(model.classes_).index("bad") if "bad" in model.classes_ else 1
    assert roc_auc_score(y_test == model.classes_[positive], proba[:, positive]) > 0.72
    assert model.score(X_test, y_test) > 0.68
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X_test)) <= set(model.classes_)

    # What the run leaves to look at.
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.n_features_in_ == X.shape[1]
    assert {"family", "validation_score", "predicted_score", "status"} <= set(model.leaderboard_.columns)
    assert model.leaderboard_["validation_score"].notna().any()
    assert model.data_card_["target"] == "class" and model.data_card_["task"] == "binary"
    assert model.plan_["model_assignment"]
    assert len(model.training_logs_) > 0
    assert os.path.exists(os.path.join(model.run_dir_, "model", "pipeline.json"))
    assert model.summary_["metric"] == "roc_auc"
    assert model.interrupted_ is False
    # Permutation importance per input column, in the columns' order, from feature_importance.csv.
    importances = model.feature_importances_
    assert importances.shape == (X.shape[1],)
    assert set(model.feature_importance_["feature"]) == set(X.columns)
    measured = model.feature_importance_.dropna(subset=["importance_mean"])
    assert len(measured) > 0
    top = measured.sort_values("importance_mean", ascending=False)["feature"].iloc[0]
    assert importances[list(X.columns).index(top)] == measured["importance_mean"].max()


def test_a_frame_with_categoricals_text_and_missing_values_keeps_its_types(penguins, runs_dir):
    train = pd.read_csv(penguins / "train.csv")
    test = pd.read_csv(penguins / "test.csv")
    for frame in (train, test):
        frame["island"] = frame["island"].astype("category")
        frame["note"] = [f"penguin number {i} seen on the {isl} island in {yr}" for i, (isl, yr) in
                         enumerate(zip(frame["island"], frame["year"]))]
    assert train["sex"].isna().any() and train["bill_length_mm"].isna().any()
    X, y = split(train, "species")
    model = automl_gpt.AutoML(budget="6s", knowledge="none", runs_dir=runs_dir).fit(X, y)

    types = model.data_card_["feature_types"]
    assert types["island"] == "categorical"
    assert types["sex"] == "categorical"
    assert types["bill_length_mm"] == "numeric"
    assert types["note"] == "text"
    # Nothing but the run's own files: the rows went in memory, no CSV of them was written.
    written = {f for _, _, files in os.walk(model.run_dir_) for f in files if f.endswith(".csv")}
    assert written <= {"leaderboard.csv", "test_predictions.csv", "test_labels.csv", "feature_importance.csv"}
    assert model.task_ == "multiclass"
    assert sorted(model.classes_) == list(model.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    X_test, y_test = split(test, "species")
    assert model.score(X_test, y_test) > 0.9
    # The target column may stay in the frame: predict ignores columns the model does not use.
    np.testing.assert_array_equal(model.predict(test), model.predict(X_test))


def test_numpy_arrays_clone_cross_val_score_and_a_pipeline(penguins, runs_dir):
    frame = pd.read_csv(penguins / "train.csv").dropna()
    X = frame[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]].to_numpy()
    y = frame["species"].to_numpy()
    est = automl_gpt.AutoMLClassifier(budget="3s", knowledge="none", runs_dir=runs_dir, seed=3)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    scores = cross_val_score(est, X, y, cv=3)
    assert scores.min() > 0.85, scores
    assert not hasattr(est, "model_")  # cross_val_score fitted clones

    pipe = make_pipeline(StandardScaler(), clone(est)).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert not hasattr(pipe[-1], "feature_names_in_")  # arrays carry no names
    assert pipe[-1].n_features_in_ == 4


def test_regression_on_integers_and_floats(penguins, runs_dir):
    frame = pd.read_csv(penguins / "train.csv").dropna()
    X, y = frame[["flipper_length_mm", "bill_length_mm", "sex", "species"]], frame["body_mass_g"]
    model = automl_gpt.AutoMLRegressor(budget="4s", knowledge="none", runs_dir=runs_dir).fit(X, y)
    assert model.task_ == "regression"
    assert not hasattr(model, "predict_proba")
    assert model.predict(X).dtype == np.float64
    assert model.score(X, y) > 0.7


def test_progress_goes_to_the_callback_or_the_logging_module(penguins, runs_dir, caplog):
    X, y = split(pd.read_csv(penguins / "train.csv"), "species")
    lines = []
    automl_gpt.AutoML(budget="2s", max_trials=2, knowledge="none", runs_dir=runs_dir, progress=lines.append).fit(X, y)
    assert any("task multiclass" in line for line in lines), lines
    assert any("done:" in line for line in lines), lines
    with caplog.at_level(logging.INFO, logger="automl_gpt"):
        automl_gpt.AutoML(budget="2s", max_trials=2, knowledge="none", runs_dir=runs_dir).fit(X, y)
    assert any("done:" in r.getMessage() for r in caplog.records)


def test_fit_releases_the_gil_while_it_trains(penguins, runs_dir):
    X, y = split(pd.read_csv(penguins / "train.csv"), "species")
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        automl_gpt.AutoML(budget="3s", knowledge="none", runs_dir=runs_dir).fit(X, y)
    finally:
        stop.set()
        thread.join()
    # Holding the GIL for the whole fit would leave the other thread a tick or two.
    assert len(ticks) > 50


def test_ctrl_c_stops_the_search_and_keeps_the_best_so_far(penguins, runs_dir):
    import _thread
    X, y = split(pd.read_csv(penguins / "train.csv"), "species")
    seen_trial = threading.Event()

    def progress(line):
        if "trial" in line:
            seen_trial.set()

    def press_ctrl_c():
        seen_trial.wait(60)
        time.sleep(0.5)
        _thread.interrupt_main()  # what Ctrl-C does: SIGINT's handler in the main thread

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    model = automl_gpt.AutoML(budget="120s", runs_dir=runs_dir, progress=progress).fit(X, y)
    presser.join()
    assert model.interrupted_ is True
    assert model.summary_["interrupted"] is True
    assert model.summary_["seconds"] < 120
    assert len(model.predict(X)) == len(X)


def test_ctrl_c_while_the_progress_callback_runs_also_stops_the_search(penguins, runs_dir):
    # Ctrl-C often lands while Python code is running, and during fit that code is the
    # progress callback: the KeyboardInterrupt comes out of the callback, and must mean
    # the same as one that lands between callbacks.
    X, y = split(pd.read_csv(penguins / "train.csv"), "species")
    pressed = []

    def progress(line):
        if "trial" in line and not pressed:
            pressed.append(line)
            raise KeyboardInterrupt

    model = automl_gpt.AutoML(budget="120s", runs_dir=runs_dir, progress=progress).fit(X, y)
    assert pressed
    assert model.interrupted_ is True
    assert model.summary_["seconds"] < 120
    assert len(model.predict(X)) == len(X)


def test_pickle_keeps_the_model(penguins, runs_dir):
    import pickle
    X, y = split(pd.read_csv(penguins / "train.csv"), "species")
    model = automl_gpt.AutoML(budget="2s", max_trials=2, knowledge="none", runs_dir=runs_dir).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))

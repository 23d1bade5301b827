"""Bad input raises a Python exception with the command line's message, never a crash."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import automl_gpt


@pytest.fixture(scope="module")
def penguins_frame(penguins):
    return pd.read_csv(penguins / "train.csv")


@pytest.fixture(scope="module")
def fitted(penguins_frame, tmp_path_factory):
    X, y = penguins_frame.drop(columns="species"), penguins_frame["species"]
    runs = str(tmp_path_factory.mktemp("runs"))
    return automl_gpt.AutoML(budget="2s", max_trials=2, knowledge="none", runs_dir=runs).fit(X, y)


def test_a_missing_target_is_a_value_error(penguins_frame, runs_dir):
    with pytest.raises(ValueError, match="requires y to be passed"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(penguins_frame)


def test_a_target_of_one_class_is_a_value_error(penguins_frame, runs_dir):
    X = penguins_frame.drop(columns="species")
    with pytest.raises(ValueError, match="class"):
        automl_gpt.AutoML(budget="2s", knowledge="none", runs_dir=runs_dir).fit(X, ["Adelie"] * len(X))
    with pytest.raises(ValueError, match="1 class"):
        automl_gpt.AutoMLClassifier(budget="2s", knowledge="none", runs_dir=runs_dir).fit(X, ["Adelie"] * len(X))


def test_a_target_with_missing_values_is_a_value_error_naming_the_row(penguins_frame, runs_dir):
    X = penguins_frame.drop(columns="species")
    y = penguins_frame["species"].copy()
    y.iloc[4] = None
    with pytest.raises(ValueError, match=r"Input y contains NaN \(row 5\)"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(X, y)


def test_an_unknown_metric_is_not_found_listing_the_metrics(penguins_frame, runs_dir):
    X, y = penguins_frame.drop(columns="species"), penguins_frame["species"]
    # The library's kind for a name it does not know (exit code 3 on the command line).
    with pytest.raises(automl_gpt.NotFoundError, match=r'unknown metric "speed".*known: roc_auc') as e:
        automl_gpt.AutoML(budget="2s", metric="speed", runs_dir=runs_dir).fit(X, y)
    assert isinstance(e.value, LookupError)


def test_a_metric_for_another_task_is_invalid_input(penguins_frame, runs_dir):
    X, y = penguins_frame.drop(columns="species"), penguins_frame["species"]
    with pytest.raises(ValueError, match="rmse"):
        automl_gpt.AutoML(budget="2s", metric="rmse", runs_dir=runs_dir).fit(X, y)


def test_a_bad_budget_and_a_bad_model_family(penguins_frame, runs_dir):
    X, y = penguins_frame.drop(columns="species"), penguins_frame["species"]
    with pytest.raises(ValueError, match="soon"):
        automl_gpt.AutoML(budget="soon", runs_dir=runs_dir).fit(X, y)
    with pytest.raises(automl_gpt.NotFoundError, match='unknown model family "xgbost"; did you mean: xgboost'):
        automl_gpt.AutoML(budget="2s", models=["xgbost"], runs_dir=runs_dir).fit(X, y)


def test_mismatched_lengths_and_shapes(penguins_frame, runs_dir):
    X, y = penguins_frame.drop(columns="species"), penguins_frame["species"]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(X, y[:-1])
    with pytest.raises(ValueError, match="1 sample"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="infinity"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(X.assign(year=np.inf), y)


def test_a_run_folder_that_does_not_exist_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        automl_gpt.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no saved model"):
        automl_gpt.load(tmp_path / "empty")


def test_predicting_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError):
        automl_gpt.AutoML().predict(pd.DataFrame({"a": [1.0]}))


def test_a_missing_column_at_predict_is_named_with_the_closest(fitted, penguins_frame):
    X = penguins_frame.drop(columns=["species", "bill_length_mm"]).rename(columns={"island": "islands"})
    with pytest.raises(LookupError, match="island") as e:
        fitted.predict(X)
    assert isinstance(e.value, automl_gpt.NotFoundError)


def test_text_in_a_numeric_column_at_predict_names_column_and_row(fitted, penguins_frame):
    X = penguins_frame.drop(columns="species").copy()
    X["body_mass_g"] = X["body_mass_g"].astype(object)
    X.loc[2, "body_mass_g"] = "heavy"
    with pytest.raises(ValueError, match=r"column body_mass_g, row 3: 'heavy' is not a number"):
        fitted.predict(X)


def test_a_cell_that_is_neither_string_nor_number_is_a_type_error(penguins_frame, runs_dir):
    X, y = penguins_frame.drop(columns="species").copy(), penguins_frame["species"]
    X["sex"] = [{"m": 1}] + X["sex"].tolist()[1:]
    with pytest.raises(TypeError, match="column sex, row 1"):
        automl_gpt.AutoML(runs_dir=runs_dir).fit(X, y)


def test_the_wrong_number_of_array_columns_at_predict(penguins_frame, runs_dir):
    frame = penguins_frame.dropna()
    X = frame[["bill_length_mm", "bill_depth_mm"]].to_numpy()
    model = automl_gpt.AutoML(budget="2s", max_trials=2, knowledge="none", runs_dir=runs_dir).fit(X, frame["species"].to_numpy())
    with pytest.raises(ValueError, match="X has 1 features, but AutoML is expecting 2 features"):
        model.predict(X[:, :1])

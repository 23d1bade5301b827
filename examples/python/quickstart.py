"""The Python package in a notebook's steps (run it as a script, or cell by cell).

    .venv/bin/python examples/python/quickstart.py            # after `pip install --no-build-isolation .`
    PYTHONPATH=build/python /usr/bin/python3 examples/python/quickstart.py

Fits AutoML on the penguins in a DataFrame (categorical and missing cells as they are),
looks at what the run left, predicts the test rows and reloads the run folder.
"""
import logging
import pathlib

import numpy as np
import pandas as pd

import automl_gpt

logging.basicConfig(level=logging.INFO, format="%(message)s")  # the run's progress lines
data = pathlib.Path(__file__).resolve().parents[1] / "data" / "penguins"

# 1. A DataFrame: strings, numbers and missing values, kept as they are (no CSV is written).
train = pd.read_csv(data / "train.csv")
test = pd.read_csv(data / "test.csv")
X, y = train.drop(columns="species"), train["species"]

# 2. Fit within 20 seconds (reading, search, refit and saving included).
model = automl_gpt.AutoML(budget="20s").fit(X, y)

# 3. What the run found.
print(model.data_card_["task"], model.metric_, "classes", list(model.classes_))
print(model.leaderboard_[["trial_id", "family", "validation_score", "predicted_score", "status"]].head(10))
print("test accuracy", model.score(test.drop(columns="species"), test["species"]))

# 4. Predict: labels and probabilities (the target column, if present, is ignored).
proba = model.predict_proba(test)
print(pd.DataFrame(proba, columns=model.classes_).head())

# 5. Reload the run folder: the same probabilities, bit for bit.
again = automl_gpt.load(model.run_dir_)
assert np.array_equal(again.predict_proba(test), proba)
print("reloaded", model.run_dir_)

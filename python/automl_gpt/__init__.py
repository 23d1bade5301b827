"""automl_gpt: automatic machine learning for tables, from Python.

>>> import automl_gpt
>>> model = automl_gpt.AutoML(budget="20s").fit(X_train, y_train)   # a pandas DataFrame or arrays
>>> model.predict(X_test), model.predict_proba(X_test)
>>> model.leaderboard_                      # every trial: predicted and real scores
>>> same = automl_gpt.load(model.run_dir_)  # any run folder, the command line's too

See README.md ("Python") and docs/python.md.
"""

from ._errors import (AutoMLError, BudgetError, ExternalServiceError, InternalError, InvalidInputError, IoError,
                      NotFoundError, UnsupportedError)
from ._estimator import AutoML, AutoMLClassifier, AutoMLRegressor, load

__all__ = ["AutoML", "AutoMLClassifier", "AutoMLRegressor", "load", "AutoMLError", "InvalidInputError",
           "NotFoundError", "UnsupportedError", "IoError", "BudgetError", "ExternalServiceError", "InternalError"]
__version__ = "0.1.0"

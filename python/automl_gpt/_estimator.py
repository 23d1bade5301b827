"""AutoML as a scikit-learn estimator, over the C++ library's run (automl_gpt._core).

A fit is one run of the library: the rows go to it in memory (no CSV is written), the
run folder gets everything the command line's would (data card, plan, leaderboard,
training logs, the saved model), and predictions come from the saved model, so that
``automl_gpt.load(run_dir)`` and ``automl-gpt predict`` give the same numbers.
"""

import json
import logging
import os

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _core, _frames

_log = logging.getLogger("automl_gpt")
_CLASSIFICATION = ("binary", "multiclass")
_TASKS = ("binary", "multiclass", "regression")


def _knowledge_default():
    """The knowledge base shipped inside the package (when installed with pip), else the library's default."""
    path = os.path.join(os.path.dirname(__file__), "knowledge", "knowledge-base.json")
    return path if os.path.exists(path) else ""


def _budget_seconds(budget):
    if isinstance(budget, bool):
        raise ValueError(f"budget={budget!r}: give seconds (60) or a duration (\"60s\", \"2m\", \"1h\")")
    if isinstance(budget, (int, float, np.integer, np.floating)):
        seconds = float(budget)
    else:
        seconds = _core.parse_duration(str(budget))
    if not seconds > 0:
        raise ValueError(f"budget={budget!r}: the budget must be above 0 seconds")
    return seconds


def _read_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _read_jsonl(path):
    if not os.path.exists(path):
        return pd.DataFrame()
    with open(path, encoding="utf-8") as f:
        return pd.DataFrame([json.loads(line) for line in f if line.strip()])


class AutoML(BaseEstimator):
    """Automatic machine learning on a table: a scikit-learn estimator.

    ``fit`` runs the library within ``budget`` (reading, search, refit and saving
    included) and keeps the best pipeline it found (a single model or an ensemble).

    Parameters
    ----------
    budget : str or float, default "60s"
        Wall-clock budget of a fit: seconds, or "90s", "2m", "1h".
    metric : str, optional
        roc_auc, accuracy, log_loss, macro_f1, rmse, mae or r2 (default: by task).
    require : str, optional
        Requirements in words, ";"-separated, as ``--require`` ("model under 5 MB; must be explainable").
    llm : str, default "builtin"
        The planner: "builtin" (offline), "openai:MODEL", "ollama:MODEL" or a base URL (with ``llm_model``).
    seed : int, default 0
        The same seed gives the same sequence of trials.
    task : {"binary", "multiclass", "regression"}, optional
        The task; inferred from the target when None, as the command line does.
    models : list of str or str, optional
        Model families to search (``automl-gpt models`` lists them); all by default.
    folds : int, default 0
        1 = a 20 % holdout, K > 1 = K-fold, 0 = chosen by the data's size.
    ensemble : bool, default True
        Build ensembles of the best trials and keep one that wins.
    max_trials : int, optional
        Stop the search after this many trials (None = the budget decides).
    threads : int, default 2
    memory : str or int, optional
        The most memory a fit may use: "4GB", "512MB", or bytes. Families that would not
        fit are left out and rows subsampled, with the reason in ``data_card_``'s notes
        (default: 75% of the machine's available memory when the fit starts).
    runs_dir : str, default "runs"
        Each fit writes its run folder ``runs_dir/<run id>`` (``run_dir_``).
    store : str, optional
        The SQLite store of trials (default ``runs_dir/store.sqlite``).
    knowledge : str, optional
        A knowledge base file for warm starts ("none" = off; default: the shipped one).
    feature_types : dict, optional
        Column -> "numeric", "categorical" or "text", over what the data's types say.
    name : str, optional
        The data set's name in the run's records and for the knowledge base (default "dataframe").
    llm_model : str, optional
        The model name for an ``llm`` given as a base URL.
    progress : callable, optional
        Called with each progress line of a fit; by default the lines go to the
        ``logging`` logger "automl_gpt" at INFO level.

    Attributes (after fit)
    ----------------------
    classes_, n_features_in_, feature_names_in_ (a DataFrame's columns),
    run_dir_ (the run folder), leaderboard_ (every trial, with its predicted and real
    validation scores), data_card_, plan_, summary_ (summary.json), training_logs_
    (one row per logged round), feature_importance_ (feature_importance.csv as a DataFrame)
    and feature_importances_ (its permutation importance per input column, in the order of
    feature_names_in_), interrupted_ (a Ctrl-C stopped the search), task_, metric_.
    """

    _fixed_task = None

    def __init__(self, budget="60s", metric=None, require=None, llm="builtin", seed=0, *, task=None, models=None,
                 folds=0, ensemble=True, max_trials=None, threads=2, runs_dir="runs", store=None, knowledge=None,
                 feature_types=None, name=None, llm_model=None, progress=None, memory=None):
        self.budget = budget
        self.metric = metric
        self.require = require
        self.llm = llm
        self.seed = seed
        self.task = task
        self.models = models
        self.folds = folds
        self.ensemble = ensemble
        self.max_trials = max_trials
        self.threads = threads
        self.memory = memory
        self.runs_dir = runs_dir
        self.store = store
        self.knowledge = knowledge
        self.feature_types = feature_types
        self.name = name
        self.llm_model = llm_model
        self.progress = progress

    # -- fitting ---------------------------------------------------------------------

    def fit(self, X, y=None):
        """Runs AutoML on the rows of X (a DataFrame or an array) with target y; returns self.

        The rows reach the library in memory. Ctrl-C stops the search: the best pipeline so
        far is refit and saved, fit returns, and ``interrupted_`` is True.
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        self._check_feature_names(X, reset=True)
        frame = _frames.as_frame(X)
        self._check_n_features(frame, reset=True)
        y_series = self._target_series(y, len(frame))
        task = self._wanted_task(y_series)
        if len(frame) < 2:
            raise ValueError(f"n_samples={len(frame)}: fitting needs at least 2 samples (1 sample given)")

        table = _frames.fit_table(frame, self.feature_types)
        target = y_series.name if isinstance(y_series.name, str) and y_series.name else "target"
        while target in frame.columns:
            target = "_" + target
        labels = {}
        if task in _CLASSIFICATION or (task is None and not self._numeric_target(y_series)):
            cells = []
            for v in y_series.tolist():
                text = _frames.cell_text(v)
                if labels.setdefault(text, v) != v:
                    raise ValueError(f"the target's labels {labels[text]!r} and {v!r} read the same ({text!r})")
                cells.append(text)
            table.add_strings(target, cells, "categorical")
        else:
            table.add_numeric(target, y_series.to_numpy(dtype=np.float64))

        options = self._run_options(task)
        _log.debug("fit: %d rows, %d columns, target %s, run folder %s", len(frame), frame.shape[1], target,
                   options["out_dir"])
        summary_text, interrupted = _core.fit(table, target, options, self._progress_sink())
        self.interrupted_ = bool(interrupted)
        if interrupted:
            _log.warning("fit interrupted: the best pipeline found so far was refit and saved in %s",
                         options["out_dir"])
        self._columns_ = list(frame.columns)
        self._adopt_run(options["out_dir"], json.loads(summary_text), labels, y_series)
        return self

    def _target_series(self, y, n_rows):
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise ValueError(f"y should be a 1d array, got a DataFrame of {y.shape[1]} columns: one target only")
            y = y.iloc[:, 0]
        if isinstance(y, pd.Series):
            series = y.reset_index(drop=True)
        else:
            values = np.asarray(y, dtype=None)
            if values.ndim == 2 and values.shape[1] == 1:
                values = column_or_1d(values, warn=True)
            elif values.ndim != 1:
                raise ValueError(f"y should be a 1d array, got an array of shape {values.shape} instead.")
            series = pd.Series(values)
        if self._fixed_task != "classification" and series.dtype == object and _frames.all_real_numbers(series):
            series = series.astype(np.float64)  # numbers held as objects are numbers
        if len(series) != n_rows:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n_rows}, {len(series)}]")
        if self._numeric_target(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isnan(values).any():
                raise ValueError(f"Input y contains NaN (row {int(np.flatnonzero(np.isnan(values))[0]) + 1}): "
                                 "every training row needs a target value")
            if np.isinf(values).any():
                raise ValueError("Input y contains infinity: every target value must be finite")
        elif series.isna().any():
            raise ValueError(f"Input y contains NaN (row {int(np.flatnonzero(series.isna())[0]) + 1}): "
                             "every training row needs a target value")
        return series

    @staticmethod
    def _numeric_target(series):
        dtype = series.dtype
        return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
                and not isinstance(dtype, pd.CategoricalDtype))

    def _wanted_task(self, y_series):
        task = self._fixed_task or self.task
        if self.task is not None and self.task not in _TASKS:
            raise ValueError(f"task={self.task!r}: expected one of {', '.join(_TASKS)} or None (inferred)")
        if self._fixed_task == "regression":
            if self.task not in (None, "regression"):
                raise ValueError(f"task={self.task!r}: AutoMLRegressor does regression only")
            if not self._numeric_target(y_series):
                raise ValueError("AutoMLRegressor needs a numeric target; use AutoMLClassifier for labels")
            return "regression"
        if self._fixed_task == "classification":
            if self.task not in (None, *_CLASSIFICATION):
                raise ValueError(f"task={self.task!r}: AutoMLClassifier does binary or multiclass classification")
            check_classification_targets(y_series.to_numpy())
            n = y_series.nunique()
            if n < 2:
                raise ValueError(f"the target has 1 class ({y_series.iloc[0]!r}): a classifier needs at least 2 classes")
            return self.task or ("binary" if n == 2 else "multiclass")
        return task

    def _run_options(self, task):
        run_id = _core.new_run_id(int(self.seed))
        runs_dir = os.path.abspath(self.runs_dir)
        models = self.models
        if isinstance(models, str):
            models = [m.strip() for m in models.split(",") if m.strip()]
        knowledge = self.knowledge if self.knowledge is not None else _knowledge_default()
        return {
            "budget_s": _budget_seconds(self.budget),
            "metric": self.metric or "",
            "requirements": self.require or "",
            "llm": self.llm or "builtin",
            "llm_model": self.llm_model or "",
            "seed": int(self.seed),
            "families": list(models or []),
            "folds": int(self.folds),
            "ensemble": bool(self.ensemble),
            "max_trials": -1 if self.max_trials is None else int(self.max_trials),
            "threads": int(self.threads),
            "memory": "" if self.memory is None else str(self.memory),
            "out_dir": os.path.join(runs_dir, run_id),
            "store_path": os.path.abspath(self.store) if self.store else os.path.join(runs_dir, "store.sqlite"),
            "knowledge": knowledge,
            "name": self.name or "",
            "card_fields": json.dumps({"task": task} if task else {}),
        }

    def _progress_sink(self):
        if self.progress is not None:
            return self.progress
        return lambda line: _log.info("%s", line)

    def _adopt_run(self, run_dir, summary, labels, y_series=None):
        """Takes a finished run folder's model and records as this estimator's fitted state."""
        self.model_ = _core.Model.load(run_dir)
        self.run_dir_ = os.path.abspath(run_dir)
        self.summary_ = summary if summary is not None else _read_json(os.path.join(run_dir, "summary.json")) or {}
        self.data_card_ = _read_json(os.path.join(run_dir, "data_card.json")) or {}
        self.plan_ = _read_json(os.path.join(run_dir, "plan.json")) or {}
        leaderboard = os.path.join(run_dir, "leaderboard.csv")
        self.leaderboard_ = pd.read_csv(leaderboard) if os.path.exists(leaderboard) else pd.DataFrame()
        self.training_logs_ = _read_jsonl(os.path.join(run_dir, "training_logs.jsonl"))
        importance = os.path.join(run_dir, "feature_importance.csv")
        self.feature_importance_ = (pd.read_csv(importance, keep_default_na=False, na_values=[""])
                                    if os.path.exists(importance) else
                                    pd.DataFrame(columns=["feature", "importance_mean", "importance_std", "repeats",
                                                          "gain", "shap_abs_mean"]))
        self.task_ = self.model_.task
        self.metric_ = self.summary_.get("metric", self.data_card_.get("metric"))
        self._set_classes(labels, y_series)

    @property
    def feature_importances_(self):
        """Permutation importance of each input column (feature_importance.csv's
        importance_mean: how much the validation score drops when the column is shuffled),
        in the order of feature_names_in_ (or of the file when the estimator was loaded from
        a run made without a data frame); NaN for a column the run had no time to measure."""
        if not hasattr(self, "model_"):
            raise AttributeError("feature_importances_ exists once the estimator is fitted")
        table = self.feature_importance_
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = table["feature"].astype(str).tolist()
        lookup = dict(zip(table["feature"].astype(str), pd.to_numeric(table["importance_mean"], errors="coerce")))
        return np.asarray([lookup.get(str(n), np.nan) for n in names], dtype=float)

    def _set_classes(self, labels, y_series=None):
        if self.task_ not in _CLASSIFICATION:
            self._labels_ = None
            return
        model_classes = self.model_.classes
        if not labels and y_series is not None:
            labels = {_frames.cell_text(v): v for v in pd.unique(y_series)}
        originals = [labels.get(c, c) for c in model_classes]
        try:
            order = sorted(range(len(originals)), key=lambda i: originals[i])
        except TypeError:
            order = list(range(len(originals)))
        # classes_ sorted as scikit-learn expects; predict_proba's columns follow them.
        self._proba_order_ = np.asarray(order, dtype=np.intp)
        self.classes_ = np.asarray([originals[i] for i in order])
        self._labels_ = np.asarray(originals, dtype=self.classes_.dtype)

    # -- predicting ------------------------------------------------------------------

    def _raw(self, X):
        """The saved model's output: rows x classes (the model's class order) or rows x 1."""
        check_is_fitted(self, "model_")
        if isinstance(X, (str, os.PathLike)):
            return self.model_.predict_file(os.fspath(X))  # read exactly as `automl-gpt predict` reads it
        if isinstance(X, pd.DataFrame):
            frame = _frames.as_frame(X)
        else:
            self._check_feature_names(X, reset=False)
            frame = _frames.as_frame(X)
            self._check_n_features(frame, reset=False)
            frame.columns = self._columns_
        return self.model_.predict(_frames.predict_table(frame, self.model_.schema))

    def predict(self, X):
        """Predicted classes (the most probable, as ``automl-gpt predict`` picks it) or values.

        X: a DataFrame (columns found by name; others, such as the target, ignored), an
        array with the training columns in order, or the path of a CSV file.
        """
        raw = self._raw(X)
        if self.task_ in _CLASSIFICATION:
            return self._labels_[np.argmax(raw, axis=1)]
        return raw[:, 0].copy()

    def _has_proba(self):
        if self._fixed_task == "regression":
            return False
        task = getattr(self, "task_", None)
        return task is None or task in _CLASSIFICATION

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities, one column per class of ``classes_``."""
        return self._raw(X)[:, self._proba_order_]

    def score(self, X, y):
        """Accuracy for classification, R² for regression (scikit-learn's conventions)."""
        pred = self.predict(X)
        if self.task_ in _CLASSIFICATION:
            return accuracy_score(np.asarray(y), pred)
        return r2_score(np.asarray(y, dtype=np.float64), pred)

    # -- scikit-learn plumbing -------------------------------------------------------

    def _more_tags(self):
        return {"allow_nan": True, "requires_y": True}

    def __getstate__(self):
        # The C++ model is not pickled: the run folder keeps it, and unpickling reloads it.
        state = self.__dict__.copy()
        state.pop("model_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "run_dir_" in state:
            self.model_ = _core.Model.load(state["run_dir_"])


class AutoMLClassifier(ClassifierMixin, AutoML):
    """AutoML for classification: the target's values are labels, whatever their type."""

    _fixed_task = "classification"

    def score(self, X, y):
        return accuracy_score(np.asarray(y), self.predict(X))


class AutoMLRegressor(RegressorMixin, AutoML):
    """AutoML for regression: the target is a number."""

    _fixed_task = "regression"

    def score(self, X, y):
        return r2_score(np.asarray(y, dtype=np.float64), self.predict(X))


def load(run_dir):
    """A fitted estimator from a run folder (made by ``fit`` or by ``automl-gpt run``).

    Its predictions are the saved model's, the same numbers ``automl-gpt predict`` prints.
    """
    run_dir = os.fspath(run_dir)
    if not os.path.exists(run_dir):
        from ._errors import NotFoundError
        raise NotFoundError(f"no such run folder: {run_dir}")
    if os.path.basename(os.path.normpath(run_dir)) == "model" and not os.path.exists(os.path.join(run_dir, "model")):
        run_dir = os.path.dirname(os.path.normpath(run_dir))
    model = _core.Model.load(run_dir)
    est = {"regression": AutoMLRegressor}.get(model.task, AutoMLClassifier)()
    request = _read_json(os.path.join(run_dir, "request.json")) or {}
    if isinstance(request.get("budget_s"), (int, float)):
        est.budget = float(request["budget_s"])
    est.seed = int(request.get("seed", 0) or 0)
    est.interrupted_ = bool((_read_json(os.path.join(run_dir, "summary.json")) or {}).get("interrupted", False))
    est._adopt_run(run_dir, None, {})
    card = est.data_card_
    names = [c["name"] for c in card.get("columns", []) if c.get("name") != card.get("target")]
    if not names:
        names = [name for name, _ in model.schema]
    est._columns_ = names
    est.n_features_in_ = len(names)
    est.feature_names_in_ = np.asarray(names, dtype=object)
    return est

"""scikit-learn's check_estimator, check by check, with a tiny budget.

Every check scikit-learn yields for AutoMLClassifier and AutoMLRegressor runs here; the
few that do not apply are skipped with the reason (docs/python.md lists them too).
"""

import functools

import pytest
from sklearn.utils.estimator_checks import check_estimator

import automl_gpt

# check name -> why it does not apply to AutoML (kept in step with docs/python.md).
NOT_APPLICABLE = {}


def estimators(runs_dir):
    # Small budgets and a few trials: each check fits several times. Without the knowledge
    # base, planning takes milliseconds instead of a second or more of a 3 s budget.
    common = dict(budget="3s", max_trials=3, ensemble=False, knowledge="none", runs_dir=runs_dir)
    return [automl_gpt.AutoMLClassifier(**common), automl_gpt.AutoMLRegressor(**common)]


def check_name(check):
    return check.func.__name__ if isinstance(check, functools.partial) else check.__name__


def all_checks(runs_dir):
    for est in estimators(runs_dir):
        for estimator, check in check_estimator(est, generate_only=True):
            yield pytest.param(estimator, check, id=f"{type(est).__name__}-{check_name(check)}")


@pytest.mark.parametrize("estimator, check", list(all_checks("runs/sklearn-checks")))
def test_check_estimator(estimator, check, tmp_path):
    name = check_name(check)
    if name in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[name])
    estimator.set_params(runs_dir=str(tmp_path / "runs"))
    check(estimator)

"""scikit-learn's check_estimator, check by check, with a tiny budget.

Every check scikit-learn yields for AutoML, AutoMLClassifier and AutoMLRegressor runs
here and must pass; a check that did not apply would be skipped with its reason in
NOT_APPLICABLE. The checks scikit-learn does not yield for these estimators, and why,
are in docs/python.md.
"""

import functools

import pytest
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import check_estimator

import automl_gpt

# check name -> why it does not apply to AutoML (kept in step with docs/python.md).
NOT_APPLICABLE = {
    "check_dataframe_column_names_consistency":
        "predict finds a DataFrame's columns by name, as `automl-gpt predict` does: reordered columns give "
        "the same predictions and extra ones (the target, say) are ignored, where this check wants an error",
}
# scikit-learn's API checks that check_estimator does not yield (1.2), run here as well.
API_CHECKS = [estimator_checks.check_n_features_in_after_fitting,
              estimator_checks.check_dataframe_column_names_consistency]


def estimators(runs_dir):
    # Small budgets and a few trials: each check fits several times. Without the knowledge
    # base, planning takes milliseconds instead of a second or more of a 3 s budget.
    common = dict(budget="3s", max_trials=3, ensemble=False, knowledge="none", runs_dir=runs_dir)
    return [automl_gpt.AutoML(**common), automl_gpt.AutoMLClassifier(**common), automl_gpt.AutoMLRegressor(**common)]


def check_name(check):
    return check.func.__name__ if isinstance(check, functools.partial) else check.__name__


def all_checks(runs_dir):
    for est in estimators(runs_dir):
        checks = [(e, c) for e, c in check_estimator(est, generate_only=True)]
        checks += [(est, functools.partial(c, type(est).__name__)) for c in API_CHECKS]
        for estimator, check in checks:
            yield pytest.param(estimator, check, id=f"{type(est).__name__}-{check_name(check)}")


@pytest.mark.parametrize("estimator, check", list(all_checks("runs/sklearn-checks")))
def test_check_estimator(estimator, check, tmp_path):
    name = check_name(check)
    if name in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[name])
    estimator.set_params(runs_dir=str(tmp_path / "runs"))
    check(estimator)

"""Shared fixtures: the repository, the built program, the shared datasets, a runs folder.

ctest runs these tests with PYTHONPATH at the built package (build/python) and
AUTOML_GPT_BINARY at the built program; see tests/CMakeLists.txt.
"""

import os
import pathlib
import shutil

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def runs_dir(tmp_path):
    return str(tmp_path / "runs")


@pytest.fixture(scope="session")
def penguins():
    return REPO / "examples" / "data" / "penguins"


@pytest.fixture(scope="session")
def binary():
    path = os.environ.get("AUTOML_GPT_BINARY") or shutil.which("automl-gpt")
    if not path or not os.path.exists(path):
        pytest.skip("no automl-gpt program: set AUTOML_GPT_BINARY (ctest does)")
    return path


@pytest.fixture(scope="session")
def shared_datasets():
    path = REPO.parent / "shared" / "datasets"
    if not path.exists():
        pytest.skip("no shared datasets beside the repository (../shared/datasets)")
    return path

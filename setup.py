"""Builds the automl_gpt package's C++ module with the repository's CMake (pyproject.toml).

The module (automl_gpt/_core) is the CMake target automl_python_core; the build folder
is build-python/ (AUTOML_GPT_BUILD_DIR chooses another; CMAKE_ARGS adds arguments;
CMAKE_BUILD_PARALLEL_LEVEL sets the jobs). ccache is used when it is installed.
"""

import os
import pathlib
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).parent.resolve()


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("AUTOML_GPT_BUILD_DIR", ROOT / "build-python")).resolve()
        args = ["-DCMAKE_BUILD_TYPE=Release", "-DAUTOML_BUILD_TESTS=OFF", "-DAUTOML_BUILD_EXAMPLES=OFF",
                "-DAUTOML_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"]
        if shutil.which("ccache"):
            args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *args], check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build), "--target", "automl_python_core", "-j", jobs], check=True)

        built = build / "python" / "automl_gpt"
        module = next(built.glob("_core*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(module, target)
        # The shipped knowledge base (warm starts), inside the package.
        knowledge = target.parent / "knowledge"
        knowledge.mkdir(exist_ok=True)
        shutil.copyfile(ROOT / "share" / "knowledge" / "knowledge-base.json", knowledge / "knowledge-base.json")


setup(ext_modules=[CMakeExtension("automl_gpt._core")], cmdclass={"build_ext": CMakeBuild})

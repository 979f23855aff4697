"""Build step of the easyhard package: ship the saved results as package data.

Everything else is declared in ``pyproject.toml``. The saved results live in
``data/results/`` of the repository, where new runs of a checkout are saved;
a wheel (``pip install git+...``, ``pip install .``) carries a copy of them as
``easyhard/_results/``, which :func:`easyhard.paths.shipped_results_dir` finds
through :mod:`importlib.resources`. An editable install reads ``data/results/``
directly and copies nothing.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESULTS = Path(__file__).resolve().parent / "data" / "results"


class build_py_with_results(build_py):  # noqa: N801 - setuptools' command naming
    """``build_py`` plus a copy of ``data/results/*.{json,npz}`` into ``easyhard/_results/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False) or not RESULTS.is_dir():
            return
        target = Path(self.build_lib) / "easyhard" / "_results"
        self.mkpath(str(target))
        for source in sorted(RESULTS.glob("*.json")) + sorted(RESULTS.glob("*.npz")):
            self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": build_py_with_results})

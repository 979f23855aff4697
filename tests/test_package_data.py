"""The saved results reach an installed (non-editable) package as package data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from easyhard import paths, results

REPO = Path(__file__).resolve().parents[1]
SAVED = REPO / "data" / "results"


def test_checkout_reads_data_results_and_ships_nothing(monkeypatch):
    monkeypatch.delenv(paths.RESULTS_ENV, raising=False)
    assert paths.results_dir() == SAVED
    assert paths.shipped_results_dir() is None  # the copy is made by the wheel build only
    assert paths.results_dirs() == [SAVED]


def test_lookups_read_the_saving_folder_then_the_shipped_one(tmp_path, monkeypatch):
    mine, shipped = tmp_path / "mine", tmp_path / "shipped"
    monkeypatch.setenv(paths.RESULTS_ENV, str(mine))
    monkeypatch.setattr(paths, "shipped_results_dir", lambda: shipped)
    results.save("run", {"d": 1}, {"x": np.zeros(2)}, root=shipped)
    results.save("run", {"d": 2}, {"x": np.zeros(2)}, root=shipped)
    assert paths.results_dirs() == [mine, shipped]
    assert results.load("run", {"d": 1}) is not None  # found in the shipped folder
    results.save("run", {"d": 1}, {"x": np.ones(2)})  # a new run here, same config
    assert results.result_paths("run", {"d": 1})[0].parent == mine  # saves never go to the shipped copy
    assert np.all(results.load("run", {"d": 1}).arrays["x"] == 1)  # and hide it
    assert sorted(r.config["d"] for r in results.find("run")) == [1, 2]  # one each, no duplicate
    assert len(results.sidecars()) == 2


def _installed_python(target: Path, code: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASYHARD_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HOME=str(home))
    out = subprocess.run([sys.executable, "-c", code], cwd=home, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_non_editable_install_finds_every_saved_result(tmp_path):
    """Defect 6: the wheel that a Colab notebook installs lacked the shipped results."""
    target, home = tmp_path / "site", tmp_path / "home"
    home.mkdir()
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(REPO)],
        capture_output=True, text=True, timeout=600)
    if install.returncode != 0 and "setuptools" in install.stderr and "No module" in install.stderr:
        pytest.skip("setuptools is not installed in this environment (needed to build the wheel offline)")
    assert install.returncode == 0, install.stderr
    assert (target / "easyhard" / "figure_runtimes.json").exists()  # the measured runtimes travel too
    shipped = sorted(p.name for p in (target / "easyhard" / "_results").iterdir())
    assert shipped == sorted(p.name for p in SAVED.iterdir() if p.suffix in (".json", ".npz"))
    code = (
        "import json; from easyhard import paths, results; from easyhard.train import saved_pairs\n"
        "from easyhard.experiments.cifar_bias import PILOT_LAPTOP\n"
        "print(json.dumps({'dirs': [str(p) for p in paths.results_dirs()],"
        " 'n': len(results.sidecars()), 'cifar': len(results.find('cifar_unet')),"
        " 'pairs': len(saved_pairs(PILOT_LAPTOP)), 'file': paths.__file__}))"
    )
    seen = json.loads(_installed_python(target, code, home).splitlines()[-1])
    assert Path(seen["file"]).is_relative_to(target)  # the installed copy, not this checkout
    assert seen["dirs"] == [str(home / ".cache" / "easyhard" / "results"), str(target / "easyhard" / "_results")]
    n_saved = len(list(SAVED.glob("*.json")))
    assert seen["n"] == n_saved > 0
    assert seen["cifar"] == len(list(SAVED.glob("cifar_unet-*.json"))) > 0
    assert seen["pairs"] >= 1  # the CIFAR chapter's saved (real, control) pair is found

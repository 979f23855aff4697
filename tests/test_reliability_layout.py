"""Layering and packaging: data never imports results/train/sgd; paths; one version string."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import easyhard
from easyhard import paths

LIB = Path(easyhard.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_data_imports_neither_results_nor_train_nor_sgd():
    """Review 1.1: data.cifar imported results for cache_dir (an arrow pointing downstream)."""
    for path in sorted((LIB / "data").glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[:2] in (
            ["easyhard", "results"], ["easyhard", "train"], ["easyhard", "sgd"])}
        assert not bad, f"{path.name} imports {bad}"


def test_paths_honour_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "r"))
    monkeypatch.setenv(paths.CACHE_ENV, "rel/cache")
    monkeypatch.chdir(tmp_path)
    assert paths.results_dir() == tmp_path / "r"
    assert paths.cache_dir() == tmp_path / "rel" / "cache"  # relative values made absolute
    monkeypatch.setenv(paths.CACHE_ENV, "  ")
    assert paths.cache_dir() != tmp_path / "rel" / "cache"


def test_paths_outside_a_checkout_fall_back_to_the_home_cache(monkeypatch, tmp_path):
    """Review 4.2 item 10: an installed (non-editable) package has no data/ next to it."""
    monkeypatch.delenv(paths.RESULTS_ENV, raising=False)
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "site-packages-parent")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.results_dir() == tmp_path / "home" / ".cache" / "easyhard" / "results"
    assert paths.cache_dir() == tmp_path / "home" / ".cache" / "easyhard"


def test_one_version_string():
    """Review 1.5: the version was written in __init__.py and in pyproject.toml."""
    try:
        expected = importlib.metadata.version("easyhard")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("easyhard is not installed")
    assert easyhard.__version__ == expected
    assert f'"{expected}"' not in (LIB / "__init__.py").read_text()  # not typed a second time


def test_torch_lower_bound_covers_nn_buffer():
    """Review 1.5: denoisers.neuron uses nn.Buffer (torch >= 2.5) but torch>=2.0 was declared."""
    pyproject = (LIB.parents[1] / "pyproject.toml").read_text()
    assert '"torch>=2.5"' in pyproject


def test_importing_data_does_not_import_results():
    code = "import sys, easyhard.data.cifar_surrogate; print('easyhard.results' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

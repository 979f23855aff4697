"""The helpers of scripts/colab_test.py (the Colab-like run of every chapter is scripts/test.sh's)."""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("colab_test", REPO / "scripts" / "colab_test.py")
colab_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colab_test)


def test_a_cpu_build_of_torch_among_the_local_wheels_is_preferred(tmp_path, monkeypatch):
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for name in (f"torch-98.0.0+cpu-{tag}-{tag}-linux_x86_64.whl", f"torch-99.1.0+cpu-{tag}-{tag}-linux_x86_64.whl",
                 f"torch-99.2.0-{tag}-{tag}-linux_x86_64.whl", "torch-100.0.0+cpu-cp27-cp27-linux_x86_64.whl"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    assert colab_test.torch_requirement() == "torch==99.1.0+cpu"  # newest CPU build for this Python


def test_without_local_wheels_pip_chooses(tmp_path, monkeypatch):
    monkeypatch.setattr(colab_test, "_find_links", lambda python: [tmp_path])
    assert colab_test.torch_requirement() == "torch"


def test_an_unknown_revision_is_refused_before_any_work(capsys):
    assert colab_test.main(["--rev", "no-such-revision-anywhere"]) == 1
    assert "is not a commit" in capsys.readouterr().err

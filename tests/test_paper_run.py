"""scripts/paper_run.sh on the CPU: a tiny net, a 20-second budget, both runs saved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from easyhard import results
from easyhard.data.cifar import DEFAULT_ARCHIVE
from easyhard.train import RESULT_NAME
from easyhard.train.budget import Timing, parse_budget, parse_overrides, plan_steps
from easyhard.train.config import TrainConfig

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paper_run.sh"


def test_budget_parsing_and_plan():
    assert parse_budget("20s") == 20 and parse_budget("5m") == 300 and parse_budget("1.5") == 90
    with pytest.raises(ValueError, match="budget"):
        parse_budget("five minutes")
    assert parse_overrides(["n_eval=32", "eval_t=100,500", "compile=false", "lr=1e-3"]) == dict(
        n_eval=32, eval_t=(100, 500), compile=False, lr=1e-3)
    with pytest.raises(ValueError, match="FIELD"):
        parse_overrides(["widht=3"])
    cfg = TrainConfig(n_evals=10)
    timing = Timing(step_s_real=0.1, step_s_surrogate=0.2, warmup_s=5.0, eval_s=1.0)
    n = plan_steps(cfg, timing, budget_s=300)
    used = 2 * (5.0 + n * 0.2 + len(TrainConfig(n_evals=10, steps=n).eval_steps()) * 1.0)
    assert used <= 0.85 * 300 < used * 1.1  # fits, and not far below the budget
    with pytest.raises(ValueError, match="too small"):
        plan_steps(cfg, timing, budget_s=10)


@pytest.mark.skipif(not DEFAULT_ARCHIVE.is_file(), reason="no CIFAR-10 archive next to the repository")
def test_paper_run_script_on_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "EASYHARD_RESULTS_DIR": str(tmp_path / "results"),
           "RUN_ROOT": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = ["bash", str(SCRIPT), "20s", str(DEFAULT_ARCHIVE), "--", "--preset", "ci", "--threads", "1",
           "--no-progress", "--set", "ch=8", "--set", "n_eval=8", "--set", "eval_t=100,500",
           "--set", "n_evals=2", "--set", "batch_size=4", "--set", "n_show=1", "--set", "eval_ema=false"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {r.config["data"]: r for r in results.find(RESULT_NAME, root=tmp_path / "results")}
    assert set(found) == {"real", "surrogate"}
    real, ctrl = found["real"].arrays, found["surrogate"].arrays
    assert np.array_equal(real["steps"], ctrl["steps"]) and real["steps"][-1] >= 10
    assert found["real"].config["steps"] == found["surrogate"].config["steps"]
    for r in (real, ctrl):
        assert str(r["device_name"]).startswith("cpu") and float(r["steps_per_s"]) > 0
        assert float(r["budget_s"]) == 20 and r["real_per_image"].shape[-1] == 8
    assert "parts at" in proc.stdout and "steps per run" in proc.stdout

"""Compute and save the laptop-scale large-step quartic sweep of the chapter "Easy and hard".

Usage: ``python scripts/easy_hard_step_size.py [scale]`` (default ``laptop``). Each d is
checkpointed under ``.cache/sgd_sweeps``, so an interrupted run resumes.
"""

import sys

from easyhard.experiments.easy_hard import StepSizeConfig, save_step_size_sweep

if __name__ == "__main__":
    scale = sys.argv[1] if len(sys.argv) > 1 else "laptop"
    sc = save_step_size_sweep(StepSizeConfig.preset(scale), scale)
    print(sc.dims, sc.median)

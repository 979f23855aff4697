"""Step grids shared by the SGD engines and the training loop.

Both record (or evaluate) a run at step 0 and at log-spaced steps up to its
end, so that early and late learning get equal weight on a log axis.
"""

from __future__ import annotations

import numpy as np

from easyhard._validation import MAX_ELEMENTS, check_int

__all__ = ["log_steps"]


def log_steps(steps: int, n: int) -> np.ndarray:
    """Step 0, then ``n`` log-spaced steps in [1, steps], rounded and made unique.

    The grid is ``round(steps**(j / (n - 1)))`` for j = 0..n-1 (``[1]`` for
    n = 1) with ``steps`` itself always included, so it holds at most ``n + 2``
    steps and fewer when rounding merges early ones.

    Parameters
    ----------
    steps : int
        Last step of the run (>= 1).
    n : int
        Number of log-spaced points (>= 1).

    Returns
    -------
    numpy.ndarray
        Increasing ``int64`` steps from 0 to ``steps``.
    """
    steps = check_int(steps, "steps", lo=1)
    n = check_int(n, "n (number of log-spaced steps)", lo=1, hi=MAX_ELEMENTS)
    grid = np.round(np.geomspace(1, steps, n)).astype(np.int64)
    return np.unique(np.concatenate([[0], grid, [steps]]))

"""The engines' numbers are pinned to ``easyhard.sgd.sweep.STREAMS``.

Sweep checkpoints (including the committed ones of the long quartic sweep) are
keyed by ``STREAMS`` rather than by the source code, so that edits that do not
change the numbers keep them. These tests are what makes that safe: a change
that alters the first-passage steps of a fixed task fails here, and the fix is
to bump ``STREAMS`` (which retires every old checkpoint) and re-pin
``tests/data/pinned_passages.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from easyhard import results
from easyhard.sgd.experiments import checkpoint_dir
from easyhard.sgd.sweep import STREAMS, _passage_task

PINNED = json.loads((Path(__file__).parent / "data" / "pinned_passages.json").read_text())


def test_the_pins_belong_to_this_stream_version():
    assert PINNED["streams"] == STREAMS, (
        "STREAMS was bumped: recompute tests/data/pinned_passages.json with the new engines")


@pytest.mark.parametrize("name", sorted(PINNED["tasks"]))
def test_engines_reproduce_their_pinned_passages(name):
    """One small task per engine (direct numba, exact reduced with a correlated ReLU case,
    effective): the first-passage steps are bit-identical to the pinned ones."""
    entry = PINNED["tasks"][name]
    got = _passage_task(entry["task"], None)
    np.testing.assert_array_equal(got, np.array(entry["passage"], dtype=float),
                                  err_msg=f"{name}: the numbers changed; bump STREAMS and re-pin")


def test_committed_long_sweep_checkpoints_match_the_code():
    """The d = 16 checkpoints of the committed quartic sweep, recomputed now, are identical:
    the resumable sweep would not mix numbers of two versions of the engine."""
    folder = checkpoint_dir("quartic_exact")
    configs = [json.loads(f.read_text())["config"] for f in sorted(folder.glob("sgd_passage-*.json"))]
    tasks = [cfg for cfg in configs if cfg["d"] == 16]
    if not tasks:
        pytest.skip("no committed quartic-sweep checkpoints in this checkout")
    for cfg in tasks:
        saved = results.load("sgd_passage", cfg, folder)
        assert cfg["streams"] == STREAMS
        np.testing.assert_array_equal(_passage_task({**cfg, "threads": 1}, None),
                                      saved.arrays["passage"])

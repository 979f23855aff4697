import json
from dataclasses import dataclass

import numpy as np
import pytest

from easyhard import results


@dataclass
class Cfg:
    d: int
    lr: float
    scale: str = "ci"


def test_round_trip_with_provenance(tmp_path):
    cfg = Cfg(d=8, lr=0.1)
    arrays = {"x": np.arange(5.0), "y": np.eye(2)}
    path = results.save("toy", cfg, arrays, wall_time=1.5, root=tmp_path)
    assert path.suffix == ".npz" and path.with_suffix(".json").exists()
    loaded = results.load("toy", cfg, root=tmp_path)
    assert loaded is not None
    np.testing.assert_array_equal(loaded.arrays["x"], arrays["x"])
    np.testing.assert_array_equal(loaded.arrays["y"], arrays["y"])
    meta = loaded.meta
    assert meta["config"] == {"d": 8, "lr": 0.1, "scale": "ci"}
    for key in ("version", "git_commit", "device", "wall_time_s", "date", "scale"):
        assert key in meta
    assert meta["wall_time_s"] == 1.5 and meta["scale"] == "ci"
    assert "ci scale" in loaded.describe()


def test_changed_config_never_reads_stale_result(tmp_path):
    results.save("toy", {"d": 8}, {"x": np.zeros(1)}, root=tmp_path)
    assert results.load("toy", {"d": 9}, root=tmp_path) is None
    assert results.load("other", {"d": 8}, root=tmp_path) is None
    assert results.config_hash({"d": 8}) != results.config_hash({"d": 9})
    assert results.config_hash({"a": 1, "b": 2}) == results.config_hash({"b": 2, "a": 1})


def test_tampered_sidecar_is_not_trusted(tmp_path):
    path = results.save("toy", {"d": 8}, {"x": np.zeros(1)}, root=tmp_path)
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["config"]["d"] = 9
    sidecar.write_text(json.dumps(meta))
    assert results.load("toy", {"d": 8}, root=tmp_path) is None


def test_cached_computes_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"v": np.array([len(calls)])}

    first = results.cached("toy", {"k": 1}, compute, root=tmp_path)
    second = results.cached("toy", {"k": 1}, compute, root=tmp_path)
    assert len(calls) == 1 and second.arrays["v"][0] == first.arrays["v"][0] == 1
    third = results.cached("toy", {"k": 1}, compute, root=tmp_path, force=True)
    assert third.arrays["v"][0] == 2
    assert [r.config for r in results.find("toy", root=tmp_path)] == [{"k": 1}]


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="name"):
        results.save("bad name/..", {}, {}, root=tmp_path)
    with pytest.raises(TypeError, match="config must be a mapping or a dataclass"):
        results.config_hash(3)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        results.config_hash({"f": object()})

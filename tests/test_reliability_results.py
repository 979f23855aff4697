"""Reliability of saved results: atomic saves, damaged and foreign files, keys by code, provenance."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from easyhard import cli, paths, results
from easyhard.results import CorruptResultError


def test_failed_save_keeps_the_previous_result(tmp_path, monkeypatch):
    """Defect 4: a save killed while writing the .npz destroyed the previous valid result."""
    results.save("toy", {"k": 1}, {"x": np.ones(3)}, wall_time=111.0, root=tmp_path)

    def crash(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt  # stands in for SIGKILL in the middle of the write

    monkeypatch.setattr(results.np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        results.save("toy", {"k": 1}, {"x": np.full(3, 2.0)}, wall_time=5.0, root=tmp_path)
    monkeypatch.undo()
    old = results.load("toy", {"k": 1}, root=tmp_path)
    assert old is not None and old.arrays["x"].tolist() == [1.0, 1.0, 1.0]
    assert old.meta["wall_time_s"] == 111.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"toy-{results.config_hash({'k': 1})}.json", f"toy-{results.config_hash({'k': 1})}.npz"
    ]  # no temporary debris


def test_full_disk_at_the_sidecar_never_pairs_new_arrays_with_old_provenance(tmp_path, monkeypatch):
    """Defect 4: ENOSPC at the sidecar write left new arrays with the old provenance."""
    results.save("toy", {"k": 1}, {"x": np.ones(1)}, wall_time=111.0, root=tmp_path)
    real_dumps = json.dumps

    def full_disk(obj, *args, **kwargs):
        if isinstance(obj, dict) and "save_id" in obj:
            raise OSError(28, "No space left on device")
        return real_dumps(obj, *args, **kwargs)

    monkeypatch.setattr(results.json, "dumps", full_disk)
    with pytest.raises(OSError, match="No space"):
        results.save("toy", {"k": 1}, {"x": np.full(1, 2.0)}, wall_time=5.0, root=tmp_path)
    monkeypatch.undo()
    old = results.load("toy", {"k": 1}, root=tmp_path)
    assert old.arrays["x"].tolist() == [1.0] and old.meta["wall_time_s"] == 111.0


def test_arrays_and_sidecar_from_different_saves_are_recognised(tmp_path, monkeypatch):
    """A kill between the two renames: the pair is refused by load, recomputed by cached."""
    results.save("toy", {"k": 1}, {"x": np.ones(1)}, root=tmp_path)
    real_replace = Path.replace

    def die_before_sidecar(self, target):
        if str(target).endswith(".json"):
            raise KeyboardInterrupt
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", die_before_sidecar)
    with pytest.raises(KeyboardInterrupt):
        results.save("toy", {"k": 1}, {"x": np.full(1, 2.0)}, root=tmp_path)
    monkeypatch.undo()
    npz, _ = results.result_paths("toy", {"k": 1}, tmp_path)
    with pytest.raises(CorruptResultError, match=f"{npz}.*different saves.*delete both"):
        results.load("toy", {"k": 1}, root=tmp_path)
    with pytest.warns(UserWarning, match="recomputing"):
        fresh = results.cached("toy", {"k": 1}, lambda: {"x": np.full(1, 3.0)}, root=tmp_path, code=None)
    assert fresh.arrays["x"].tolist() == [3.0]


@pytest.mark.parametrize("damage", ["truncate npz", "truncate json", "json list", "json no config"])
def test_damaged_files_name_the_file_and_the_fix(tmp_path, damage):
    """Defect 8: BadZipFile / JSONDecodeError / KeyError without the file's name, for good."""
    npz = results.save("toy", {"k": 1}, {"x": np.arange(1000.0)}, root=tmp_path)
    sidecar = npz.with_suffix(".json")
    if damage == "truncate npz":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
        target = npz
    elif damage == "truncate json":
        sidecar.write_text(sidecar.read_text()[:40])
        target = sidecar
    elif damage == "json list":
        sidecar.write_text("[1, 2]")
        target = sidecar
    else:
        sidecar.write_text('{"name": "toy"}')
        target = sidecar
    with pytest.raises(CorruptResultError, match=f"{target}.*(delete|move)"):
        results.load("toy", {"k": 1}, root=tmp_path)
    with pytest.warns(UserWarning, match=f"skipping.*{target.name}"):
        assert results.find("toy", root=tmp_path) == []
    with pytest.warns(UserWarning, match="recomputing"):
        again = results.cached("toy", {"k": 1}, lambda: {"x": np.zeros(2)}, root=tmp_path, code=None)
    assert again.arrays["x"].tolist() == [0.0, 0.0]  # repaired, not sticky
    assert results.load("toy", {"k": 1}, root=tmp_path) is not None


def test_foreign_files_are_skipped_by_find_and_list(tmp_path, monkeypatch, capsys):
    """Defect 8: `easyhard list` crashed on unrelated JSON, a null device or a string wall time."""
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path))
    results.save("toy", {"k": 1}, {"x": np.ones(1)}, wall_time=3.0)
    (tmp_path / "notes.json").write_text("[1, 2, 3]")
    (tmp_path / "toy-zzz.json").write_text("{broken")
    odd = results.save("odd", {"k": 2}, {"x": np.ones(1)})
    meta = json.loads(odd.with_suffix(".json").read_text())
    meta.update(device=None, wall_time_s="12", date=None)
    odd.with_suffix(".json").write_text(json.dumps(meta))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = cli.list_results()
    skipped = " ".join(str(w.message) for w in caught)
    assert "notes.json" in skipped and "toy-zzz.json" in skipped
    assert "toy" in table and "odd" in table and "?" in table
    with pytest.warns(UserWarning, match="toy-zzz.json"):
        assert [r.config for r in results.find("toy")] == [{"k": 1}]


def test_cached_checks_writability_before_computing(tmp_path):
    """Defect 9: an unwritable results folder lost the computation (PermissionError after it)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    calls = []
    with pytest.raises(PermissionError, match=f"cannot write results to {blocker / 'sub'}"):
        results.cached("toy", {"k": 1}, lambda: calls.append(1) or {"x": np.ones(1)},
                       root=blocker / "sub")
    assert calls == []


def test_cached_is_keyed_by_code_as_well_as_config(tmp_path):
    """Defect 3: results.cached returned v1's numbers after the compute function changed."""
    v1 = results.cached("stale", {"n": 1}, lambda: {"x": np.array([1.0])}, root=tmp_path, code="v1")
    assert v1.arrays["x"].tolist() == [1.0] and v1.meta["code"] == "v1"
    v2 = results.cached("stale", {"n": 1}, lambda: {"x": np.array([2.0])}, root=tmp_path, code="v2")
    assert v2.arrays["x"].tolist() == [2.0]
    assert results.load("stale", {"n": 1}, root=tmp_path, code="v1") is None
    assert results.load("stale", {"n": 1}, root=tmp_path).arrays["x"].tolist() == [2.0]


def test_code_fingerprint_follows_the_sources(tmp_path, monkeypatch):
    pkg = tmp_path / "fpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = results.code_fingerprint("fpkg")
    assert before == results.code_fingerprint("fpkg") and len(before) == 16
    assert results.code_fingerprint("fpkg.core") != before
    (pkg / "core.py").write_text("def f():\n    return 0\n")  # a fixed bug
    assert results.code_fingerprint("fpkg") != before
    with pytest.raises(ValueError, match="no module named 'no_such_mod'"):
        results.code_fingerprint("no_such_mod")
    sys.modules.pop("fpkg", None)


def test_find_picks_the_config_asked_for_not_the_newest(tmp_path):
    """Defect 3: saved_run returned the newest run of a scale, whatever its config."""
    wanted = {"scale": "laptop", "data": "real", "lr": 1e-3, "steps": 1000}
    results.save("run", wanted, {"x": np.ones(1)}, root=tmp_path)
    results.save("run", {**wanted, "lr": 0.5, "steps": 7}, {"x": np.zeros(1)}, root=tmp_path)
    (hit,) = results.find("run", root=tmp_path, config=wanted)
    assert hit.config == wanted and hit.arrays["x"].tolist() == [1.0]
    both = results.find("run", root=tmp_path, match={"scale": "laptop", "data": "real"})
    assert len(both) == 2
    assert results.find("run", root=tmp_path, match={"scale": "paper"}) == []


def test_provenance_records_device_dirty_tree_and_commit(tmp_path, monkeypatch):
    """Defect 3 and review 1.5: device at save time, no dirty flag, no commit in the caption."""
    r = results.load("toy", {"k": 1}, root=results.save("toy", {"k": 1}, {"x": np.ones(1)},
                                                        root=tmp_path, device="cpu").parent)
    assert r.meta["device"] == "cpu"
    assert isinstance(r.meta["git_dirty"], (bool, type(None)))
    assert r.meta["source_fingerprint"] == results.code_fingerprint("easyhard")
    default = results.save("toy", {"k": 2}, {"x": np.ones(1)}, root=tmp_path)
    assert "at save time" in json.loads(default.with_suffix(".json").read_text())["device"]
    monkeypatch.setattr(results, "_git", lambda *args: "abcdef1234567890\n" if args[0] == "rev-parse"
                        else " M lib/easyhard/sgd/direct.py\n")
    results.save("toy", {"k": 3}, {"x": np.ones(1)}, root=tmp_path, device="cuda:0 (H200)")
    dirty = results.load("toy", {"k": 3}, root=tmp_path)
    assert dirty.meta["git_dirty"] is True and dirty.meta["device"] == "cuda:0 (H200)"
    caption = dirty.describe()
    assert "code abcdef12 (uncommitted changes)" in caption and "cuda:0 (H200)" in caption
    assert "? s" in caption  # wall_time None no longer crashes describe()


def test_object_arrays_are_refused_at_save(tmp_path):
    """Defect 20: save accepted object arrays that load then refused."""
    with pytest.raises(TypeError, match="'x' .*dtype object"):
        results.save("obj", {}, {"x": np.array([{}, 1], dtype=object)}, root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_info_reports_a_bad_scale_instead_of_dying(monkeypatch):
    """Defect 20: `python -m easyhard info` died on a bad EASYHARD_SCALE."""
    monkeypatch.setenv("EASYHARD_SCALE", "garbage")
    text = cli.info()
    assert "scale    invalid" in text and "garbage" in text and "cache" in text


def test_no_warning_on_a_clean_folder(tmp_path):
    results.save("toy", {"k": 1}, {"x": np.ones(1)}, root=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(results.find("toy", root=tmp_path)) == 1


def test_cached_is_keyed_by_the_library_code_by_default(tmp_path, monkeypatch):
    """Defect 3: a cache (train.cached_run, sweep checkpoints) survived any change to the code."""
    first = results.cached("c", {"n": 1}, lambda: {"x": np.array([1.0])}, root=tmp_path)
    assert first.meta["code"] == results.code_fingerprint("easyhard")
    again = results.cached("c", {"n": 1}, lambda: {"x": np.array([9.0])}, root=tmp_path)
    assert again.arrays["x"].tolist() == [1.0]  # same code: reused
    monkeypatch.setattr(results, "code_fingerprint", lambda *names: "after-a-bug-fix")
    fixed = results.cached("c", {"n": 1}, lambda: {"x": np.array([2.0])}, root=tmp_path)
    assert fixed.arrays["x"].tolist() == [2.0]
    kept = results.cached("c", {"n": 1}, lambda: {"x": np.array([3.0])}, root=tmp_path, code=None)
    assert kept.arrays["x"].tolist() == [2.0]  # code=None: no code check


def test_debris_of_killed_saves_is_removed(tmp_path):
    """Defect 22: temporary files stayed behind for good after a kill during a write."""
    import subprocess

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    npz, sidecar = results.result_paths("toy", {"k": 1}, tmp_path)
    tmp_path.mkdir(exist_ok=True)
    debris = tmp_path / f".{npz.name}.{dead.pid}.tmp"
    debris.write_bytes(b"torn")
    live = tmp_path / f".{sidecar.name}.{os.getppid()}.tmp"  # a running process: kept
    live.write_text("{}")
    results.save("toy", {"k": 1}, {"x": np.ones(1)}, root=tmp_path)
    assert not debris.exists() and live.exists()


def test_check_writable_is_public_and_threads_are_recorded(tmp_path):
    """For train.run / experiments.scaling (defect 9); thread count in provenance (defect 22)."""
    results.check_writable(tmp_path / "new")
    assert (tmp_path / "new").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(PermissionError, match="cannot write results"):
        results.check_writable(tmp_path / "file" / "sub")
    path = results.save("toy", {"k": 1}, {"x": np.ones(1)}, root=tmp_path)
    import torch

    assert json.loads(path.with_suffix(".json").read_text())["torch_threads"] == torch.get_num_threads()


def test_experiment_savers_check_writability_before_computing(tmp_path, monkeypatch):
    """Defect 9: the experiment savers computed first, then lost the work to a PermissionError."""
    from easyhard.experiments import correlated, easy_hard, exponent_law, mcm_bias

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(paths.RESULTS_ENV, str(blocker / "results"))
    calls = []

    def work(*args, **kwargs):
        calls.append(1)
        raise AssertionError("computed before checking that the result can be saved")

    monkeypatch.setattr(mcm_bias, "run_online", work)
    monkeypatch.setattr(easy_hard, "sample_complexity", work)
    monkeypatch.setattr(correlated, "plateaus", work)
    monkeypatch.setattr(exponent_law, "_passage_at", work)
    savers = [
        lambda: mcm_bias.saved_or_run(mcm_bias.MCMBiasConfig(), "online_sgd"),
        lambda: easy_hard.save_step_size_sweep(easy_hard.StepSizeConfig.preset("ci"), "ci"),
        lambda: correlated.compute_saved("ci"),
        lambda: exponent_law.measure(exponent_law.case("k4", "ci"), save=True, scale="ci"),
        lambda: exponent_law.compute_saved("ci", names=("k4",)),
    ]
    for saver in savers:
        with pytest.raises(PermissionError, match=f"cannot write results to {blocker / 'results'}"):
            saver()
    assert calls == []


def test_a_long_run_records_the_commit_it_started_from(tmp_path, monkeypatch):
    """A run of hours saved after a new commit recorded the later commit, not the code that ran."""
    started = results.git_state()
    monkeypatch.setattr(results, "_git_commit", lambda: "a-later-commit")
    results.save("run", {"d": 1}, {"x": np.zeros(2)}, root=tmp_path, git=started)
    results.save("run", {"d": 2}, {"x": np.zeros(2)}, root=tmp_path)
    assert results.load("run", {"d": 1}, root=tmp_path).meta["git_commit"] == started["git_commit"]
    assert results.load("run", {"d": 2}, root=tmp_path).meta["git_commit"] == "a-later-commit"

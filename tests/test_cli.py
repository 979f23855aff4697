import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from easyhard import cli, figures, results
from easyhard.config import DEVICE_ENV, SCALES, device

REPO = Path(__file__).resolve().parents[1]


def test_info_names_scale_device_versions_and_sources(monkeypatch):
    monkeypatch.setenv("EASYHARD_SCALE", "laptop")
    text = cli.info()
    assert "scale    laptop" in text and "device" in text
    assert "torch " in text and "numpy " in text and "python " in text
    assert "cifar    torchvision copy:" in text and "archive (" in text


def test_results_shows_saved_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    assert "no saved results" in cli.list_results()
    results.save("sweep", {"d": 4, "scale": "laptop"}, {"x": np.ones(2)}, wall_time=12.0)
    assert cli.main(["results"]) == 0
    out = capsys.readouterr().out
    assert "sweep" in out and results.config_hash({"d": 4, "scale": "laptop"}) in out and "laptop" in out


def test_main_prints_info_and_folders(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "res"))
    monkeypatch.setenv("EASYHARD_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"results  {tmp_path / 'res'}" in out and f"cache    {tmp_path / 'cache'}" in out


def test_list_shows_every_figure_with_its_saved_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    results.save("correlated_flip", {"k": 1}, {"x": np.ones(1)}, scale="laptop")
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[1:] if line and line.split()[0] in {f.id for f in figures.FIGURES}}
    assert set(rows) == {f.id for f in figures.FIGURES}
    assert " laptop " in rows["corr-flip"]  # its saved result is found, with its scale
    assert " no " in rows["el-passages"]  # none saved in this folder
    assert rows["cifar-spectrum"].split()[1] == "cifar_simplicity_bias"
    for fig in figures.FIGURES:
        if "ci" in fig.scales:
            assert ("not measured" in rows[fig.id]) == (figures.runtime(fig, "ci") is None)
        else:
            assert "no ci (one size)" in rows[fig.id]


def test_registry_is_consistent_with_the_chapters():
    chapters = {p.stem for p in (REPO / "chapters").glob("*.ipynb")} - {"figure_map"}
    assert {f.chapter for f in figures.FIGURES} == chapters  # every chapter has its figures listed
    assert len({f.id for f in figures.FIGURES}) == len(figures.FIGURES)
    for fig in figures.FIGURES:
        assert fig.job is None or fig.job in figures.JOBS
        assert set(fig.claims) <= set(figures.CLAIMS)
    for claim in figures.CLAIMS:
        assert any(claim in f.claims for f in figures.FIGURES), f"no figure bears on claim {claim}"
    # the saved results of the repository are each made by some job
    made = {name for job in figures.JOBS.values() for name in job.results}
    saved = {p.name.rsplit("-", 1)[0] for p in (REPO / "data" / "results").glob("*.json")}
    # not drawn in a figure: printed by their chapter (k4_erf, k4_relu_blind), a test reference, or unused
    assert saved - made <= {"sgd_effective_reference", "sgd_scaling_correlated", "exponent_law_k4_erf",
                            "exponent_law_k4_relu_blind"}


@pytest.mark.parametrize(("argv", "expected"), [
    (["reproduce", "no-such-figure"], "unknown figure id 'no-such-figure'; the figures are: cifar-samples"),
    (["reproduce", "mb-one-neuron", "--scale", "huge"], "unknown scale 'huge'; valid: ci, laptop, paper"),
    (["reproduce", "mb-one-neuron", "--device", "tpu"], "unknown device 'tpu'; valid: cpu, cuda"),
    (["reproduce", "eh-large-d", "--scale", "ci"], "one fixed size"),
    (["reproduce", "mb-one-neuron", "--workers", "0"], "workers"),
])
def test_bad_arguments_name_the_valid_choices(argv, expected):
    with pytest.raises(SystemExit) as err:
        cli.main(argv)
    assert expected in str(err.value)


def test_figure_and_reproduce_refuse_bad_values():
    with pytest.raises(ValueError, match="unknown figure id 'x'.*el-lower-bound"):
        figures.figure("x")
    with pytest.raises(ValueError, match=r"scale must be one of \('ci', 'laptop', 'paper'\)"):
        figures.reproduce("mb-one-neuron", "huge")
    with pytest.raises(ValueError, match="leave out the scale"):
        figures.reproduce("eh-collapse", "laptop")


def test_cuda_is_refused_where_there_is_none(monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit, match="no CUDA device"):
        cli.main(["reproduce", "mb-one-neuron", "--scale", "ci", "--device", "cuda"])


def test_device_setting(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert device().type == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "abacus")
    with pytest.raises(ValueError, match="EASYHARD_DEVICE must be one of"):
        device()


def test_reproduce_a_cheap_figure_at_ci_saves_where_the_chapter_finds_it(tmp_path):
    """``python -m easyhard reproduce mb-one-neuron --scale ci`` in a fresh results folder."""
    env = {"EASYHARD_RESULTS_DIR": str(tmp_path / "res"), "EASYHARD_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "lib"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "easyhard", "reproduce", "mb-one-neuron", "--scale", "ci",
                          "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "mb-one-neuron:" in out.stdout and "saved in" in out.stdout
    sidecars = list((tmp_path / "res").glob("mcm_bias_online_sgd-*.json"))
    assert len(sidecars) == 1
    meta = json.loads(sidecars[0].read_text())
    assert meta["scale"] == "ci" and meta["device"].startswith("cpu")
    # the chapter's lookup finds it: the same config, read through the results layer
    code = ("from easyhard.experiments import mcm_bias as mb\n"
            "cfg, opt = mb.run_config('p1', 'ci')\n"
            "print(mb.saved_or_run(cfg, opt, compute=False) is not None)")
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert found.stdout.strip() == "True", found.stderr


def test_commands_and_runtimes_are_what_the_registry_says():
    fig = figures.figure("corr-flip")
    assert fig.command() == "python -m easyhard reproduce corr-flip --scale laptop"
    assert figures.figure("eh-collapse").command() == "python -m easyhard reproduce eh-collapse"
    assert figures.figure("cifar-spectrum").scales == SCALES
    for entry in figures.runtimes().get("cpu", {}).values():  # every shipped number says where it was measured
        for measured in entry.values():
            assert measured["seconds"] > 0 and measured["machine"] and measured["date"]


def test_asserted_claims_are_read_from_the_chapter():
    found = figures.asserted_claims("exponent_law")
    assert found and all(isinstance(c, str) and isinstance(m, str) for c, m in found)
    assert any("follows_law" in c and "breaks the law" in m for c, m in found)
    assert figures.asserted_claims("no_such_chapter") == []


def test_figure_map_tables_list_every_claim_and_figure(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    meta = {"name": "correlated_flip", "scale": "laptop", "git_commit": "abcdef123456", "git_dirty": False,
            "date": "2026-11-30T10:00:00+00:00", "machine": "x86_64, 2 cpus", "device": "cpu", "wall_time_s": 42.0}
    table = figures.figure_table([meta])
    lines = table.splitlines()
    assert len(lines) == 2 + len(figures.FIGURES)
    flip = next(line for line in lines if "`corr-flip`" in line)
    assert "laptop: commit abcdef12, 2026-11-30, x86\\_64, 2 cpus, cpu, wall 42 s" in flip
    assert "`python -m easyhard reproduce corr-flip --scale laptop`" in flip
    assert "none saved" in next(line for line in lines if "`el-passages`" in line)
    claims = figures.claims_table().splitlines()
    assert len(claims) == 2 + len(figures.CLAIMS)
    checks = figures.checks_table("correlated_latents")
    assert "interval contains the mean-field flow" in checks and "\\|" not in checks.split("\n")[0]
    assert "{" in figures.checks_table("mcm_simplicity_bias")  # f-string messages keep their placeholders


def test_a_live_figure_is_reproduced_by_executing_its_chapter(tmp_path, monkeypatch):
    """The live path of ``reproduce``, on the cheapest notebook of the book (the figure map)."""
    pytest.importorskip("nbclient")
    live = figures.Figure("map-table", "figure_map", "the figure map's tables", "live")
    monkeypatch.setattr(figures, "_BY_ID", {**figures._BY_ID, live.id: live})
    monkeypatch.chdir(tmp_path)
    text = figures.reproduce("map-table", "ci", progress=False)
    executed = tmp_path / "figure_map.ci.ipynb"
    assert "computed live by chapter figure_map" in text and executed.exists()
    assert "figures in 7 chapters" in executed.read_text()
    with pytest.raises(FileNotFoundError, match="carries no chapters"):
        figures.execute_chapter("no_such_chapter", "ci", tmp_path / "x.ipynb")

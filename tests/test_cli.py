import numpy as np

from easyhard import cli, results


def test_info_names_scale_and_device(monkeypatch):
    monkeypatch.setenv("EASYHARD_SCALE", "laptop")
    text = cli.info()
    assert "scale    laptop" in text and "device" in text


def test_list_shows_saved_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    assert "no saved results" in cli.list_results()
    results.save("sweep", {"d": 4, "scale": "laptop"}, {"x": np.ones(2)}, wall_time=12.0)
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "sweep" in out and results.config_hash({"d": 4, "scale": "laptop"}) in out and "laptop" in out


def test_main_prints_info_and_folders(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "res"))
    monkeypatch.setenv("EASYHARD_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"results  {tmp_path / 'res'}" in out and f"cache    {tmp_path / 'cache'}" in out

"""CIFAR-10 loader and its Gaussian surrogate."""

from __future__ import annotations

import io
import tarfile
import time

import numpy as np
import pytest
import torch
from PIL import Image

import easyhard.data.cifar as cifar
from easyhard.data.cifar import CLASSES, Cifar10, load_cifar10
from easyhard.data.cifar_surrogate import (
    cifar_surrogate,
    directions,
    excess_kurtosis_along,
    fit_surrogate,
    wiener_eps_mse,
)
from easyhard.diffusion import vp_coefficients

pytestmark = pytest.mark.usefixtures("isolated_cifar")


def make_archive(path, per_class: int = 3, classes=("airplane", "cat")) -> dict[str, np.ndarray]:
    """A tiny CIFAR-like tar.gz of PNG (lossless) files; returns the pixels per split."""
    rng = np.random.default_rng(0)
    pixels = {}
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            imgs = []
            for c in classes:
                for i in range(per_class):
                    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                    imgs.append(img)
                    buf = io.BytesIO()
                    Image.fromarray(img).save(buf, format="PNG")
                    info = tarfile.TarInfo(f"cifar/{split}/{c}/{i:04d}.png")
                    info.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(info, buf)
            pixels[split] = np.stack(imgs)
    return pixels


def test_archive_path_decodes_and_caches(tmp_path):
    archive = tmp_path / "tiny.tar.gz"
    pixels = make_archive(archive)
    data = load_cifar10("train", "archive", archive=archive, download=False)
    assert data.pixels.shape == (6, 3, 32, 32) and data.pixels.dtype == torch.uint8
    assert data.labels.tolist() == [CLASSES.index("airplane")] * 3 + [CLASSES.index("cat")] * 3
    assert np.array_equal(data.pixels.permute(0, 2, 3, 1).numpy(), pixels["train"])
    assert not data.lossy and data.source == "archive"
    x = data.images()
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert torch.allclose(x, data.pixels.float() / 127.5 - 1)
    assert list((tmp_path / "cache" / "cifar10").glob("*/train_pixels.npy"))
    archive.unlink()  # the second load must come from the .npy cache ...
    archive.write_bytes(b"")  # ... keyed by path, size and mtime: an emptied file is new
    with pytest.raises(cifar.CorruptArchiveError, match=f"archive {archive} cannot be read"):
        load_cifar10("train", "archive", archive=archive)


def test_archive_from_env_and_auto(tmp_path, monkeypatch):
    archive = tmp_path / "env.tar.gz"
    make_archive(archive, per_class=2)
    monkeypatch.setenv(cifar.ARCHIVE_ENV, str(archive))
    data = load_cifar10("test", root=tmp_path / "no-torchvision", download=False)
    assert len(data) == 4 and data.origin == str(archive)


def test_jpeg_archive_is_labelled_lossy(tmp_path):
    archive = tmp_path / "jpeg.tar"
    with tarfile.open(archive, "w") as tar:
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (10, 20, 30)).save(buf, format="JPEG")
        info = tarfile.TarInfo("train/dog/0000.jpg")
        info.size = buf.tell()
        buf.seek(0)
        tar.addfile(info, buf)
    data = load_cifar10("train", "archive", archive=archive)
    assert data.lossy and "JPEG copy, lossy" in data.label


def test_no_data_fails_at_once_with_instructions(tmp_path):
    tic = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="CIFAR-10 not found") as err:
        load_cifar10("train", root=tmp_path / "empty", archive=tmp_path / "none.tar.gz",
                     download=False)
    assert time.perf_counter() - tic < 5
    assert "EASYHARD_CIFAR_ARCHIVE" in str(err.value) and "none.tar.gz" in str(err.value)


@pytest.mark.parametrize("kwargs", [dict(split="val"), dict(source="web")])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_cifar10(**kwargs)


def random_cifar(n: int, seed: int = 0) -> Cifar10:
    """Random 3x4x4 "images" (d = 48): the surrogate code is shape-agnostic."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, 3, 4, 4), generator=g, dtype=torch.uint8)
    return Cifar10(pixels, torch.zeros(n, dtype=torch.int64), "train", "archive", "synthetic", False)


def test_surrogate_matches_data_moments():
    data = random_cifar(40)
    sur = fit_surrogate(data, ridge=0.0, chunk=7)
    x = data.images().reshape(40, -1).double().numpy()
    assert np.allclose(sur.mean.numpy(), x.mean(0), atol=1e-12)
    assert np.allclose(sur.cov.numpy(), np.cov(x, rowvar=False), atol=1e-10)
    ridged = fit_surrogate(data, ridge=1e-3)
    assert torch.allclose(ridged.cov.diagonal() - sur.cov.diagonal(), torch.tensor(1e-3, dtype=torch.float64))


def test_surrogate_cache_round_trip():
    data = random_cifar(30)
    first = cifar_surrogate(data, ridge=1e-2)
    again = cifar_surrogate(data, ridge=1e-2)
    assert torch.equal(first.eigvals, again.eigvals) and torch.allclose(first.cov, again.cov, atol=1e-12)
    assert wiener_eps_mse(first, 0.9) == pytest.approx(wiener_eps_mse(again, 0.9), rel=1e-12)


def test_wiener_beats_identity_and_equals_closed_form():
    sur = fit_surrogate(random_cifar(60), ridge=1e-2)
    a, s = vp_coefficients(0.8)
    g = torch.Generator().manual_seed(1)
    x0 = sur.sample(400, generator=g, dtype=torch.float64)
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    x_t = a * x0 + s * eps
    wiener = sur.denoise(x_t, a)
    closed = sur.mean + a * torch.linalg.solve(
        a * a * sur.cov + s * s * torch.eye(sur.d, dtype=torch.float64), (x_t - a * sur.mean).T
    ).T @ sur.cov.T
    assert torch.allclose(wiener, closed, atol=1e-8)
    mse_wiener = (wiener - x0).pow(2).sum(1)
    assert mse_wiener.mean() < (x_t / a - x0).pow(2).sum(1).mean()
    eps_mse = ((a / s) ** 2 * mse_wiener / sur.d).numpy()
    se = eps_mse.std() / np.sqrt(len(eps_mse))
    assert abs(eps_mse.mean() - wiener_eps_mse(sur, a)) < 4 * se


def test_directions_and_kurtosis():
    sur = fit_surrogate(random_cifar(60), ridge=1e-2)
    pca = directions(sur, "pca", 5)
    assert torch.allclose(pca @ pca.T, torch.eye(5, dtype=torch.float64), atol=1e-10)
    var = ((pca @ sur.cov) * pca).sum(1)
    assert torch.all(var[:-1] >= var[1:]) and var[0] == pytest.approx(float(sur.eigvals.max()))
    rnd = directions(sur, "random", 3, seed=1)
    assert torch.allclose(rnd.norm(dim=1), torch.ones(3, dtype=torch.float64))
    x = sur.sample(20_000, generator=torch.Generator().manual_seed(2))
    assert np.all(np.abs(excess_kurtosis_along(x, torch.cat([pca, rnd]))) < 0.2)  # Gaussian: 0
    with pytest.raises(ValueError, match="kind"):
        directions(sur, "ica", 2)

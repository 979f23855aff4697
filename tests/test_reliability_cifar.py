"""Reliability of the CIFAR-10 loader and its surrogate cache (hostile inputs, damaged files)."""

from __future__ import annotations

import builtins
import io
import tarfile
import warnings

import numpy as np
import pytest
import torch
from test_cifar import make_archive, random_cifar

import easyhard.data.cifar as cifar
import easyhard.data.cifar_surrogate as cifar_surrogate_module
from easyhard.data.cifar import Cifar10, CorruptArchiveError, load_cifar10
from easyhard.data.cifar_surrogate import cifar_surrogate, directions, fit_surrogate

pytestmark = pytest.mark.usefixtures("isolated_cifar")


def subset(data: Cifar10, mask: torch.Tensor) -> Cifar10:
    return Cifar10(data.pixels[mask], data.labels[mask], data.split, data.source, data.origin, data.lossy)


def test_surrogate_cache_is_keyed_by_the_data_not_its_size():
    """Defect 2: another subset of the same size got the previous subset's surrogate."""
    both = random_cifar(40)
    labels = torch.arange(40) % 2
    both = Cifar10(both.pixels, labels, "train", "archive", "synthetic", False)
    cats, dogs = subset(both, labels == 0), subset(both, labels == 1)
    assert len(cats) == len(dogs)
    sur_cats, sur_dogs = cifar_surrogate(cats, ridge=1e-2), cifar_surrogate(dogs, ridge=1e-2)
    assert not torch.equal(sur_cats.mean, sur_dogs.mean)
    assert torch.allclose(sur_dogs.mean, fit_surrogate(dogs, ridge=1e-2).mean, atol=1e-12)
    assert torch.equal(cifar_surrogate(cats, ridge=1e-2).mean, sur_cats.mean)  # still cached


def test_changed_archive_at_the_same_path_changes_the_data_key(tmp_path):
    """Defect 2 (second repro): a changed archive at the same path kept the old surrogate.

    The surrogate cache is keyed by :meth:`Cifar10.fingerprint` (the test above);
    here the re-decoded data of a replaced archive must have a new fingerprint.
    """
    archive = tmp_path / "a.tar.gz"
    make_archive(archive, per_class=3)
    first = load_cifar10("train", "archive", archive=archive)
    other = tmp_path / "b.tar.gz"
    make_archive(other, per_class=3, classes=("dog", "ship"))  # same size, other labels
    other.replace(archive)
    second = load_cifar10("train", "archive", archive=archive)
    assert len(first) == len(second) and first.fingerprint() != second.fingerprint()
    assert first.fingerprint() == Cifar10(
        first.pixels.clone(), first.labels.clone(), "train", "archive", "elsewhere", False
    ).fingerprint()  # the content, not the origin


def test_damaged_surrogate_cache_is_refitted(tmp_path):
    data = random_cifar(20)
    good = cifar_surrogate(data, ridge=1e-2)
    for f in (tmp_path / "cache" / "cifar10").glob("surrogate-*/eigvecs.npy"):
        f.write_bytes(f.read_bytes()[:100])
    with pytest.warns(UserWarning, match="damaged"):
        again = cifar_surrogate(data, ridge=1e-2)
    assert torch.allclose(again.mean, good.mean)


@pytest.mark.parametrize("how", ["missing file", "folder"])
def test_explicitly_named_missing_archive_is_an_error(tmp_path, monkeypatch, how):
    """Defect 7: a missing archive= or $EASYHARD_CIFAR_ARCHIVE fell through to another archive."""
    make_archive(cifar.DEFAULT_ARCHIVE, per_class=1)  # the fall-back that must not be used
    named = tmp_path / "mine.tar.gz"
    if how == "folder":
        named.mkdir()
    with pytest.raises(FileNotFoundError, match=f"{named}.*archive="):
        load_cifar10("test", archive=named, root=tmp_path / "no-tv", download=False)
    monkeypatch.setenv(cifar.ARCHIVE_ENV, str(named))
    with pytest.raises(FileNotFoundError, match=f"{named}.*EASYHARD_CIFAR_ARCHIVE"):
        load_cifar10("test", "archive")
    monkeypatch.delenv(cifar.ARCHIVE_ENV)
    assert len(load_cifar10("test", "archive")) == 2  # unnamed: the default location is used


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b garbage " * 50, "truncated"])
def test_damaged_archive_names_the_file(tmp_path, content):
    archive = tmp_path / "bad.tar.gz"
    if content == "truncated":
        make_archive(archive, per_class=20)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 3])
    else:
        archive.write_bytes(content)
    with pytest.raises(CorruptArchiveError, match=f"archive {archive} cannot be read"):
        load_cifar10("train", "archive", archive=archive)


def test_non_image_member_is_named(tmp_path):
    archive = tmp_path / "x.tar"
    with tarfile.open(archive, "w") as tar:
        raw = b"not an image"
        info = tarfile.TarInfo("train/cat/9999.jpg")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    with pytest.raises(CorruptArchiveError, match=r"train/cat/9999.jpg of archive"):
        load_cifar10("train", "archive", archive=archive)


def test_damaged_decoded_cache_is_decoded_again(tmp_path):
    """Defect 8: a truncated train_pixels.npy failed on every later call."""
    archive = tmp_path / "tiny.tar.gz"
    pixels = make_archive(archive)
    load_cifar10("train", "archive", archive=archive)
    (cached,) = (tmp_path / "cache" / "cifar10").glob("*/train_pixels.npy")
    cached.write_bytes(cached.read_bytes()[:200])
    with pytest.warns(UserWarning, match="damaged"):
        data = load_cifar10("train", "archive", archive=archive)
    assert np.array_equal(data.pixels.permute(0, 2, 3, 1).numpy(), pixels["train"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_cifar10("train", "archive", archive=archive)  # repaired: no warning now


def test_unwritable_cache_still_returns_the_data(tmp_path, monkeypatch):
    """Defect 9: an unwritable cache made load_cifar10 fail after decoding."""
    archive = tmp_path / "tiny.tar.gz"
    pixels = make_archive(archive)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setattr(cifar, "cache_dir", lambda: blocker)
    monkeypatch.setattr(cifar_surrogate_module, "cache_dir", lambda: blocker)
    with pytest.warns(UserWarning, match="cannot cache"):
        data = load_cifar10("train", "archive", archive=archive)
    assert np.array_equal(data.pixels.permute(0, 2, 3, 1).numpy(), pixels["train"])
    with pytest.warns(UserWarning, match="cannot cache"):
        sur = cifar_surrogate(random_cifar(10), ridge=1e-2)
    assert sur.d == 48


def test_auto_without_torchvision_uses_the_archive(tmp_path, monkeypatch):
    """Defect 11: source="auto" needed the optional torchvision."""
    real_import = builtins.__import__

    def no_torchvision(name, *args, **kwargs):
        if name.startswith("torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torchvision)
    archive = tmp_path / "tiny.tar.gz"
    make_archive(archive)
    assert len(load_cifar10("test", archive=archive, root=tmp_path / "tv")) == 6
    with pytest.raises(ModuleNotFoundError, match=r"easyhard\[vision\]"):
        load_cifar10("test", "torchvision", root=tmp_path / "tv")
    with pytest.raises(FileNotFoundError, match="torchvision not installed"):
        load_cifar10("test", root=tmp_path / "tv")  # no archive, download impossible


def test_surrogate_arguments_use_one_idea_of_a_number():
    data = random_cifar(10)
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0"):
        fit_surrogate(data, ridge="x")
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        fit_surrogate(data, chunk=True)
    sur = fit_surrogate(data, ridge=1e-2, chunk=np.int64(4))
    assert directions(sur, "pca", np.int64(3)).shape == (3, sur.d)
    with pytest.raises(ValueError, match=r"k \(number of directions\) must be an integer in \[1, 48\]"):
        directions(sur, "pca", 49)
    with pytest.raises(ValueError, match="download must be True or False"):
        load_cifar10("train", download="no")

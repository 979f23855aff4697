"""CIFAR-10 as tensors in [-1, 1] (book: chapters/cifar_simplicity_bias.ipynb).

Two sources give the same layout, ``(N, 3, 32, 32)`` images with integer labels:

* ``"torchvision"``: :class:`torchvision.datasets.CIFAR10`, the original
  images; on disk under ``root`` or downloaded (the normal path for readers
  and Colab);
* ``"archive"``: a ``.tar``/``.tar.gz`` of image files laid out as
  ``train/<class>/*.jpg`` and ``test/<class>/*.jpg``, such as an offline JPEG
  copy of CIFAR-10. Read
  straight from the tar, decoded once and cached as ``.npy``. The JPEG copy is
  lossy (quality 75); every figure built from it says so.

``source="auto"`` tries, in order: torchvision's copy on disk, the archive
(argument ``archive``, then ``$EASYHARD_CIFAR_ARCHIVE``, then the default
``DEFAULT_ARCHIVE``, a machine-local location outside the repository), then a
download (:func:`easyhard.data.download.fetch`: a time limit on each connect
and read and on the whole transfer). With none available it raises
:class:`FileNotFoundError` at once, saying how to get the data.

Images are held as ``uint8`` (150 MB for the train split) and converted to
float on demand by :meth:`Cifar10.images`: ``x = p / 127.5 - 1``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from easyhard._validation import check_bool, check_choice
from easyhard.data.download import fetch
from easyhard.paths import cache_dir, remove_stale_temps

CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
SPLITS: tuple[str, ...] = ("train", "test")
SOURCES: tuple[str, ...] = ("auto", "torchvision", "archive", "download")
ARCHIVE_ENV = "EASYHARD_CIFAR_ARCHIVE"
ROOT_ENV = "EASYHARD_CIFAR_ROOT"

_REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ARCHIVE = _REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"

HOW_TO_GET = (
    "CIFAR-10 not found. Either (a) let torchvision download it (needs internet): "
    "load_cifar10(source='download'), stored under root (default $EASYHARD_CIFAR_ROOT or "
    "<cache>/torchvision, <cache> = easyhard.paths.cache_dir()); or (b) point $EASYHARD_CIFAR_ARCHIVE (or archive=...) at a "
    ".tar/.tar.gz of images in train/<class>/*.jpg, test/<class>/*.jpg layout, e.g. an "
    "offline JPEG copy of CIFAR-10."
)


@dataclass(frozen=True)
class Cifar10:
    """One split of CIFAR-10: ``uint8`` pixels ``(N, 3, 32, 32)``, labels ``(N,)``.

    ``source`` is ``"torchvision"`` (original images) or ``"archive"``;
    ``lossy`` is True for JPEG files; ``label`` is the text figures show.
    """

    pixels: torch.Tensor
    labels: torch.Tensor
    split: str
    source: str
    origin: str
    lossy: bool

    def __len__(self) -> int:
        """The number of images."""
        return int(self.pixels.shape[0])

    @property
    def label(self) -> str:
        """E.g. ``"CIFAR-10 (JPEG copy, lossy)"`` or ``"CIFAR-10 (torchvision, original)"``."""
        if self.source == "torchvision":
            return "CIFAR-10 (torchvision, original)"
        return "CIFAR-10 (JPEG copy, lossy)" if self.lossy else "CIFAR-10 (image archive)"

    def images(
        self, index: torch.Tensor | slice | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Float32 images in [-1, 1], shape ``(n, 3, 32, 32)``: ``p / 127.5 - 1``."""
        p = self.pixels if index is None else self.pixels[index]
        if device is not None:
            p = p.to(device)
        return p.to(torch.float32).div_(127.5).sub_(1.0)

    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex digits) of the pixels and labels: the identity of the data.

        Two subsets of one split with the same size (cats and dogs) differ here,
        and so does a changed archive behind the same path.
        """
        digest = hashlib.sha256()
        for t in (self.pixels, self.labels):
            arr = np.ascontiguousarray(t.detach().cpu().numpy())
            digest.update(f"{arr.dtype}{arr.shape}".encode())
            digest.update(arr.data)
        return digest.hexdigest()[:16]


def _check(split: str, source: str) -> None:
    check_choice(split, "split", SPLITS)
    check_choice(source, "source", SOURCES)


class CorruptArchiveError(ValueError):
    """A CIFAR-10 archive that cannot be read as a tar of images."""


def _torchvision_root(root: str | Path | None) -> Path:
    if root is not None:
        return Path(root)
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else cache_dir() / "torchvision"


def _from_torchvision(split: str, root: Path, download: bool) -> Cifar10:
    try:
        from torchvision.datasets import CIFAR10
    except ImportError as err:
        raise ModuleNotFoundError(
            "torchvision is not installed (it is the optional 'vision' extra: "
            "pip install 'easyhard[vision]'); use source='archive' instead"
        ) from err

    try:
        ds = CIFAR10(str(root), train=(split == "train"), download=False)
    except RuntimeError:
        if not download:
            raise
        # fetch the tarball with our time limits; torchvision then finds it intact and extracts it
        fetch(CIFAR10.url, root / CIFAR10.filename, md5=CIFAR10.tgz_md5)
        ds = CIFAR10(str(root), train=(split == "train"), download=True)
    pixels = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return Cifar10(pixels, labels, split, "torchvision", str(root), lossy=False)


def _archive_candidate(archive: str | Path | None) -> tuple[Path, str | None]:
    """The archive to read and how it was named (None for the default location).

    An archive named by the argument or by ``$EASYHARD_CIFAR_ARCHIVE`` is the
    only candidate: if it is missing, that is an error, never a fall-through.
    """
    if archive is not None:
        if not isinstance(archive, (str, os.PathLike)) or not str(archive):
            raise TypeError(f"archive must be a path, got {archive!r}")
        return Path(archive), "archive="
    env = os.environ.get(ARCHIVE_ENV, "").strip()
    if env:
        return Path(env), f"${ARCHIVE_ENV}"
    return DEFAULT_ARCHIVE, None


def _decode_archive(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Decode all ``<split>/<class>/*`` images of a tar, sorted by class then name."""
    from PIL import Image

    found: list[tuple[int, str, bytes]] = []
    lossy = False
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = Path(member.name).parts
                if len(parts) < 3 or parts[-3] != split or parts[-2] not in CLASSES:
                    continue
                data = tar.extractfile(member)
                if data is None:
                    continue
                lossy |= parts[-1].lower().endswith((".jpg", ".jpeg"))
                found.append((CLASSES.index(parts[-2]), f"{parts[-2]}/{parts[-1]}", data.read()))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise CorruptArchiveError(
            f"archive {path} cannot be read as a .tar/.tar.gz ({type(err).__name__}: {err}); "
            "it may be truncated or not an archive: download or copy it again"
        ) from err
    if not found:
        raise FileNotFoundError(f"archive {path} holds no images under {split}/<class>/")
    found.sort(key=lambda item: (item[0], item[1]))
    pixels = np.empty((len(found), 32, 32, 3), dtype=np.uint8)
    for i, (_, name, raw) in enumerate(found):
        try:
            img = Image.open(io.BytesIO(raw)).convert("RGB")
        except (OSError, ValueError) as err:
            raise CorruptArchiveError(
                f"member {split}/{name} of archive {path} is not a readable image ({err})"
            ) from err
        if img.size != (32, 32):
            raise ValueError(f"image {split}/{name} in {path} is {img.size}, expected (32, 32)")
        pixels[i] = np.asarray(img)
    labels = np.array([c for c, _, _ in found], dtype=np.int64)
    return pixels.transpose(0, 3, 1, 2).copy(), labels, lossy


def _read_cache(files: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The decoded split from its ``.npy`` cache, or None (with a warning) if it is damaged."""
    try:
        pixels, labels = np.load(files["pixels"]), np.load(files["labels"])
        lossy = bool(np.load(files["lossy"]))
    except (OSError, ValueError, EOFError) as err:
        warnings.warn(
            f"decoded CIFAR-10 cache {files['pixels'].parent} is damaged ({err}); decoding again",
            stacklevel=3,
        )
        return None
    n = len(labels)
    if pixels.shape != (n, 3, 32, 32) or pixels.dtype != np.uint8 or labels.ndim != 1:
        warnings.warn(
            f"decoded CIFAR-10 cache {files['pixels'].parent} holds pixels {pixels.shape} and "
            f"labels {labels.shape}; decoding again",
            stacklevel=3,
        )
        return None
    return pixels, labels, lossy


def _write_cache(folder: Path, split: str, files: dict[str, Path], values: dict[str, np.ndarray]) -> None:
    """Write the decoded split (temp + rename); warn and go on if the cache is not writable."""
    tmps = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder, f".{split}_*.npy")
        for name, value in values.items():
            tmp = folder / f".{split}_{name}.{os.getpid()}.npy"
            tmps.append(tmp)
            np.save(tmp, value)
        for name, tmp in zip(values, tmps, strict=True):
            tmp.replace(files[name])
    except OSError as err:
        warnings.warn(
            f"cannot cache the decoded CIFAR-10 split in {folder} ({err}); the next call decodes "
            "it again (set $EASYHARD_CACHE_DIR to a writable folder)",
            stacklevel=3,
        )
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _from_archive(path: Path, split: str) -> Cifar10:
    """Load ``split`` from an archive.

    Through a ``.npy`` cache keyed by the archive's name, size and modification time.
    """
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    folder = cache_dir() / "cifar10" / f"{path.name}-{key.hexdigest()[:12]}"
    files = {k: folder / f"{split}_{k}.npy" for k in ("pixels", "labels", "lossy")}
    hit = _read_cache(files) if all(f.exists() for f in files.values()) else None
    if hit is not None:
        pixels, labels, lossy = hit
    else:
        pixels, labels, lossy = _decode_archive(path, split)
        _write_cache(folder, split, files, {"pixels": pixels, "labels": labels, "lossy": np.array(lossy)})
    return Cifar10(
        torch.from_numpy(pixels), torch.from_numpy(labels), split, "archive", str(path), lossy
    )


def load_cifar10(
    split: str = "train",
    source: str = "auto",
    *,
    archive: str | Path | None = None,
    root: str | Path | None = None,
    download: bool = True,
) -> Cifar10:
    """Load a CIFAR-10 split (see the module docstring for the search order).

    ``source``: ``"auto"``, ``"torchvision"`` (on disk only), ``"archive"`` or
    ``"download"``. ``download=False`` keeps ``"auto"`` off the network.
    An archive named by ``archive=`` or ``$EASYHARD_CIFAR_ARCHIVE`` that is
    missing raises ``FileNotFoundError`` (no other archive is tried); a damaged
    one raises :class:`CorruptArchiveError` naming it. Without torchvision
    (the optional ``vision`` extra), ``"auto"`` goes straight to the archive.
    Raises ``FileNotFoundError`` with instructions when no source is available.
    """
    _check(split, source)
    download = check_bool(download, "download")
    tv_root = _torchvision_root(root)
    tried: list[str] = []
    if source in ("auto", "torchvision"):
        try:
            return _from_torchvision(split, tv_root, download=False)
        except ModuleNotFoundError:
            if source == "torchvision":
                raise
            tried.append("torchvision: not installed")
        except RuntimeError:
            tried.append(f"torchvision copy under {tv_root}: not found")
    if source in ("auto", "archive"):
        path, named_by = _archive_candidate(archive)
        if path.is_file():
            return _from_archive(path, split)
        if named_by is not None:
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise FileNotFoundError(
                f"the CIFAR-10 archive {path} named by {named_by} {what}; fix the path, or leave "
                f"it unset to use the other sources. " + HOW_TO_GET
            )
        tried.append(f"archive {path}: not found")
    if source == "download" or (source == "auto" and download):
        try:
            return _from_torchvision(split, tv_root, download=True)
        except ModuleNotFoundError:
            if source == "download":
                raise
            tried.append("download: torchvision not installed")
        except (OSError, RuntimeError) as err:
            tried.append(f"download to {tv_root}: failed ({err})")
    raise FileNotFoundError(HOW_TO_GET + " Tried: " + "; ".join(tried) + ".")

"""Fashion-MNIST as tensors on the device, from the best source this machine offers.

Sources, in order:

1. the cache folder (``COURSE_DATA_DIR``, default ``data/`` at the repository root), holding the
   four idx files uncompressed in torchvision's layout ``FashionMNIST/raw/``;
2. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/*.gz``;
   ``COURSE_DEBIAN_DATA_DIR`` points elsewhere). Its gzip files differ byte-wise from
   torchvision's, so they are parsed here rather than handed to torchvision;
3. ``torchvision.datasets.FashionMNIST(download=True)`` into the cache (skipped when
   ``COURSE_OFFLINE=1``).

``python -m course_lib.data --prepare`` fills the cache once, so later loads are offline.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import os
import struct
import sys
from pathlib import Path

import numpy as np
import torch

from . import config
from .device import get_device

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SIZES = {"train": 60000, "test": 10000}
DEBIAN_DIR = Path(config.DEFAULT_DEBIAN_DATA_DIR)
_IDX_DTYPES = {0x08: np.uint8}


class DataError(RuntimeError):
    """The data could not be found or a data file is damaged; the message says how to fix it."""


def cache_dir() -> Path:
    """Folder of the local cache: ``COURSE_DATA_DIR``, else ``data/`` in the repository checkout."""
    if config.data_dir() is not None:
        return config.data_dir()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "data"
    return Path.home() / ".cache" / "sae_course" / "data"


def debian_dir() -> Path:
    return config.debian_data_dir()


def _raw_dir() -> Path:
    return cache_dir() / "FashionMNIST" / "raw"


def _offline() -> bool:
    return config.offline()


def find_source() -> tuple[str, Path] | None:
    """``('cache', folder)``, ``('debian', folder)`` or ``None`` when no local copy exists."""
    names = [n for pair in FILES.values() for n in pair]
    raw = _raw_dir()
    if all((raw / n).exists() for n in names):
        return "cache", raw
    deb = debian_dir()
    if all((deb / f"{n}.gz").exists() for n in names):
        return "debian", deb
    return None


def describe_source() -> str:
    """A sentence for learners saying where Fashion-MNIST is read from."""
    found = find_source()
    if found is None:
        if _offline():
            return "No local copy of Fashion-MNIST, and COURSE_OFFLINE=1 forbids downloading it."
        return f"No local copy yet: the first load downloads Fashion-MNIST with torchvision into {_raw_dir()}."
    kind, folder = found
    if kind == "cache":
        return f"Fashion-MNIST from the local cache {folder}."
    return f"Fashion-MNIST from the Debian package dataset-fashion-mnist ({folder})."


def read_idx(path: Path) -> np.ndarray:
    """Parse an idx file (optionally gzipped) into a uint8 array of the shape its header states."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            blob = f.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path} is damaged ({err}). {_fix_hint(path)}") from err
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an idx file of unsigned bytes. {_fix_hint(path)}")
    ndim = blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise DataError(f"{path} ends inside its header. {_fix_hint(path)}")
    shape = struct.unpack(f">{ndim}I", blob[4:header])
    expected = int(np.prod(shape))
    if len(blob) - header != expected:
        raise DataError(
            f"{path} holds {len(blob) - header} bytes of data but its header promises {expected} "
            f"(shape {shape}): the file is truncated or corrupt. {_fix_hint(path)}"
        )
    return np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(shape)


def _fix_hint(path: Path) -> str:
    if str(path).startswith(str(debian_dir())):
        return "Reinstall it: sudo apt-get install --reinstall dataset-fashion-mnist"
    return "Delete it and run: python -m course_lib.data --prepare"


@functools.lru_cache(maxsize=4)
def _read_split(split: str, kind: str, folder: str, stamp: float) -> tuple[np.ndarray, np.ndarray]:
    suffix = ".gz" if kind == "debian" else ""
    img_name, lab_name = FILES[split]
    images = read_idx(Path(folder) / f"{img_name}{suffix}")
    labels = read_idx(Path(folder) / f"{lab_name}{suffix}")
    if images.shape != (SIZES[split], 28, 28) or labels.shape != (SIZES[split],):
        raise DataError(
            f"{folder}: expected {SIZES[split]} images of 28x28 and as many labels for the {split} "
            f"split, found images {images.shape} and labels {labels.shape}. {_fix_hint(Path(folder) / img_name)}"
        )
    return images, labels


def _download() -> None:
    try:
        from torchvision.datasets import FashionMNIST

        for train in (True, False):
            FashionMNIST(root=str(cache_dir()), train=train, download=True)
    except Exception as err:  # network errors come in many types
        raise DataError(_missing_message(f"The download failed: {err}")) from err


def _missing_message(reason: str) -> str:
    return (
        f"Fashion-MNIST was not found. {reason}\n"
        "Fix it in one of three ways:\n"
        "  1. Install the offline copy:   sudo apt-get install dataset-fashion-mnist\n"
        f"  2. Put the four idx files (uncompressed) in {_raw_dir()}\n"
        "     or point COURSE_DATA_DIR at a folder that has FashionMNIST/raw/ inside\n"
        "  3. Go online (and unset COURSE_OFFLINE) so torchvision can download it:\n"
        "     python -m course_lib.data --prepare"
    )


def _locate() -> tuple[str, Path]:
    found = find_source()
    if found is not None:
        return found
    if _offline():
        raise DataError(_missing_message("COURSE_OFFLINE=1 forbids downloading it."))
    _download()
    return "cache", _raw_dir()


def load_fashion_mnist(
    split: str = "train", device: torch.device | str | None = None, flatten: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a Fashion-MNIST split as tensors on ``device`` (default: :func:`get_device`).

    Returns ``X`` float32 in [0, 1] of shape (N, 784), or (N, 1, 28, 28) with ``flatten=False``,
    and ``y`` int64 of shape (N,); N is 60000 for ``"train"`` and 10000 for ``"test"``.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    kind, folder = _locate()
    stamp = max((folder / n).stat().st_mtime for n in os.listdir(folder))
    images, labels = _read_split(split, kind, str(folder), stamp)
    device = torch.device(device) if device is not None else get_device()
    X = torch.from_numpy(images.astype(np.float32) / 255.0)
    X = X.reshape(len(X), -1) if flatten else X.unsqueeze(1)
    return X.to(device), torch.from_numpy(labels.astype(np.int64)).to(device)


def prepare() -> str:
    """Fill the cache with the four raw idx files (from Debian's package or a download)."""
    raw = _raw_dir()
    found = find_source()
    if found and found[0] == "cache":
        pass
    elif found and found[0] == "debian":
        raw.mkdir(parents=True, exist_ok=True)
        for pair in FILES.values():
            for name in pair:
                read_idx(found[1] / f"{name}.gz")  # refuse to cache a damaged file
                with gzip.open(found[1] / f"{name}.gz", "rb") as src:
                    tmp = raw / f".{name}.part"
                    tmp.write_bytes(src.read())
                    tmp.replace(raw / name)
    else:
        _locate()
    for split in FILES:
        load_fashion_mnist(split, device="cpu")  # validates every file
    return describe_source()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="fill the local cache and validate it")
    args = parser.parse_args(argv)
    try:
        print(prepare() if args.prepare else describe_source())
    except DataError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

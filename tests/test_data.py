"""Fashion-MNIST loading from each source, and the errors a learner sees when it goes wrong."""
import gzip
import shutil
from pathlib import Path

import pytest
import torch

from course_lib import data

DEBIAN = data.DEBIAN_DIR
needs_debian = pytest.mark.skipif(
    not DEBIAN.exists(), reason="install the Debian package dataset-fashion-mnist (.ci/run does)"
)


@pytest.fixture
def empty_sources(tmp_path, monkeypatch):
    """No cache, no Debian files, no downloads."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DEBIAN_DATA_DIR", str(tmp_path / "no-debian"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    return tmp_path


def _fill_cache(root: Path) -> Path:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for pair in data.FILES.values():
        for name in pair:
            with gzip.open(DEBIAN / f"{name}.gz") as src:
                (raw / name).write_bytes(src.read())
    return raw


@needs_debian
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_real_data_shapes_range_and_balance(split, n):
    X, y = data.load_fashion_mnist(split, device="cpu")
    assert X.shape == (n, 784) and X.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    assert X.min().item() == 0.0 and X.max().item() == 1.0
    assert torch.bincount(y, minlength=10).tolist() == [n // 10] * 10
    assert len(data.CLASS_NAMES) == 10


@needs_debian
def test_unflattened_images_match_flat_ones():
    X, _ = data.load_fashion_mnist("test", device="cpu")
    X4, _ = data.load_fashion_mnist("test", device="cpu", flatten=False)
    assert X4.shape == (10000, 1, 28, 28)
    assert torch.equal(X4.reshape(10000, -1), X)


@needs_debian
def test_debian_source_is_used_when_cache_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COURSE_DEBIAN_DATA_DIR", raising=False)
    assert data.find_source() == ("debian", DEBIAN)
    assert "Debian package" in data.describe_source()


@needs_debian
def test_cache_source_wins_and_matches_debian(tmp_path, monkeypatch):
    raw = _fill_cache(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_DEBIAN_DATA_DIR", str(tmp_path / "absent"))
    assert data.find_source() == ("cache", raw)
    assert "local cache" in data.describe_source()
    X, y = data.load_fashion_mnist("test", device="cpu")
    monkeypatch.delenv("COURSE_DEBIAN_DATA_DIR")
    shutil.rmtree(tmp_path / "FashionMNIST")
    X2, y2 = data.load_fashion_mnist("test", device="cpu")
    assert torch.equal(X, X2) and torch.equal(y, y2)


@needs_debian
def test_prepare_decompresses_into_torchvision_layout(tmp_path, monkeypatch):
    from torchvision.datasets import FashionMNIST

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert "local cache" in data.prepare()
    ds = FashionMNIST(str(tmp_path), train=False, download=False)  # torchvision accepts the cache
    X, y = data.load_fashion_mnist("test", device="cpu")
    assert len(ds) == 10000 and int(ds.targets[123]) == int(y[123])
    assert torch.equal(ds.data[7].flatten().float() / 255, X[7])
    assert data.main(["--prepare"]) == 0  # idempotent


def test_no_source_offline_lists_the_three_remedies(empty_sources):
    with pytest.raises(data.DataError) as err:
        data.load_fashion_mnist("train", device="cpu")
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "COURSE_DATA_DIR" in msg and str(empty_sources / "cache") in msg
    assert "python -m course_lib.data --prepare" in msg
    assert data.main(["--prepare"]) == 1


def test_download_is_tried_when_nothing_is_local(empty_sources, monkeypatch):
    """torchvision's real download runs; offline it fails with the same remedies."""
    monkeypatch.delenv("COURSE_OFFLINE")
    try:
        X, y = data.load_fashion_mnist("test", device="cpu")
    except data.DataError as err:
        assert "The download failed" in str(err) and "apt-get install" in str(err)
    else:  # a machine that is online gets the real data
        assert X.shape == (10000, 784) and torch.bincount(y).tolist() == [1000] * 10


@needs_debian
def test_truncated_cache_file_is_named(tmp_path, monkeypatch):
    raw = _fill_cache(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    victim = raw / "t10k-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:-1000])
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.*truncated or corrupt"):
        data.load_fashion_mnist("test", device="cpu")


@needs_debian
def test_damaged_gzip_is_named_with_reinstall_hint(tmp_path, monkeypatch):
    deb = tmp_path / "deb"
    shutil.copytree(DEBIAN, deb)
    victim = deb / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:100])
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DEBIAN_DATA_DIR", str(deb))
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz is damaged.*--reinstall"):
        data.load_fashion_mnist("train", device="cpu")


def test_non_idx_file_is_rejected(tmp_path):
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"<html>not found</html>")
    with pytest.raises(data.DataError, match="not an idx file"):
        data.read_idx(bad)


def test_bad_split_name():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_fashion_mnist("validation")

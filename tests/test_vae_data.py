"""The MNIST IDX reader: the shipped data loads, and every kind of bad file is named."""

import gzip

import numpy as np
import pytest

from klgen.vae.data import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MnistFileNotFoundError,
    MnistFormatError,
    load_mnist,
    read_idx,
    write_idx,
)

SUFFIXES = ["", ".gz"]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's raw content, written by hand so the reader is not tested by itself."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def put(path, content: bytes):
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def small_split(directory, prefix, n_images, n_labels=None, suffix=".gz"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_labels if n_labels is not None else n_images, dtype=np.uint8)
    put(directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images))
    put(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels))
    return images, labels


def test_embedded_data_loads_scaled():
    data = load_mnist()
    assert data.train_images.shape == (5000, 784) and data.train_labels.shape == (5000,)
    assert data.test_images.shape == (10000, 784) and data.test_labels.shape == (10000,)
    assert data.train_images.dtype == np.float32
    assert data.train_images.min() == 0 and data.train_images.max() == 1
    assert set(np.unique(data.test_labels)) == set(range(10))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_read_idx_round_trip(tmp_path, suffix):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = put(tmp_path / f"x{suffix}", idx_bytes(array))
    np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), array)
    write_idx(tmp_path / f"y{suffix}", array)  # and the writer is the reader's inverse
    assert (tmp_path / f"y{suffix}").read_bytes()[:2] == (b"\x1f\x8b" if suffix else b"\0\0")
    np.testing.assert_array_equal(read_idx(tmp_path / f"y{suffix}", IMAGES_MAGIC), array)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(MnistFileNotFoundError, match=r"nope\.gz: file not found"):
        read_idx(tmp_path / "nope.gz", LABELS_MAGIC)
    with pytest.raises(MnistFormatError, match=r"train-images-idx3-ubyte\[\.gz\]: file not"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such data directory"):
        load_mnist(tmp_path / "absent")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_wrong_magic(tmp_path, suffix):
    labels = put(tmp_path / f"labels{suffix}", idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(MnistFormatError, match=r"labels(\.gz)?: wrong magic number 0x00000801"):
        read_idx(labels, IMAGES_MAGIC)
    text = put(tmp_path / f"text{suffix}", b"<html>not found</html>")
    with pytest.raises(MnistFormatError, match="text.*wrong magic number"):
        read_idx(text, LABELS_MAGIC)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "cut, problem",
    [(2, "truncated header"), (10, "truncated header"), (-1, "truncated data")],
)
def test_truncated(tmp_path, suffix, cut, problem):
    content = idx_bytes(np.ones((3, 28, 28), np.uint8))
    path = put(tmp_path / f"images{suffix}", content[:cut])
    with pytest.raises(MnistFormatError, match=f"images{suffix}: {problem}"):
        read_idx(path, IMAGES_MAGIC)


def test_trailing_bytes(tmp_path):
    path = put(tmp_path / "labels", idx_bytes(np.ones(4, np.uint8)) + b"\0")
    with pytest.raises(MnistFormatError, match="labels: trailing bytes.*shape \\(4,\\)"):
        read_idx(path, LABELS_MAGIC)


def test_truncated_gzip_stream(tmp_path):
    whole = gzip.compress(idx_bytes(np.ones((3, 28, 28), np.uint8)))
    path = tmp_path / "images.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MnistFormatError, match=r"images\.gz: truncated gzip stream"):
        read_idx(path, IMAGES_MAGIC)
    path.write_bytes(whole[:10] + b"\xff" * 40)
    with pytest.raises(MnistFormatError, match=r"images\.gz: corrupt gzip data"):
        read_idx(path, IMAGES_MAGIC)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_count_mismatch_names_both_files(tmp_path, suffix):
    small_split(tmp_path, "train", 6, n_labels=5, suffix=suffix)
    small_split(tmp_path, "t10k", 4, suffix=suffix)
    with pytest.raises(
        MnistFormatError, match="train-images.* has 6 images but .*train-labels.* has 5 labels"
    ):
        load_mnist(tmp_path)


def test_wrong_image_size(tmp_path):
    put(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((2, 32, 32), np.uint8)))
    put(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(MnistFormatError, match="train-images-idx3-ubyte: images are 32x32"):
        load_mnist(tmp_path)


def test_full_mnist_folder_raw_or_gz(tmp_path):
    images, labels = small_split(tmp_path, "train", 7, suffix="")
    test_images, _ = small_split(tmp_path, "t10k", 3, suffix=".gz")
    data = load_mnist(tmp_path)
    np.testing.assert_array_equal(np.rint(data.train_images * 255), images.reshape(7, 784))
    np.testing.assert_array_equal(data.train_labels, labels)
    np.testing.assert_array_equal(np.rint(data.test_images * 255), test_images.reshape(3, 784))

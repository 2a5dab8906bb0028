"""MNIST from IDX files: read, validate, and scale pixels to [0, 1].

The IDX format (http://yann.lecun.com/exdb/mnist/) is a big-endian header -- two zero
bytes, a type byte (0x08 = unsigned byte), a dimension count -- then one uint32 size per
dimension and the raw data. Files may be gzipped or not; gzip is recognised by its magic
bytes, not by the file name. Every problem raises `MnistFormatError` naming the file, so a
bad download says which file is bad and how, instead of failing later with a shape error.

The 5,000-image training subset (``train5k-*``) and the 10,000 official test images
(``t10k-*``) ship inside this package, so a fresh clone trains without a download.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The package's own copy of the data: train5k-* (training subset) and t10k-* (test set).
EMBEDDED_DIR = Path(__file__).parent / "data" / "mnist"

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)
IMAGE_SHAPE = (28, 28)


class MnistFormatError(ValueError):
    """An MNIST IDX file is malformed: the message names the file and the problem."""


class MnistFileNotFoundError(MnistFormatError, FileNotFoundError):
    """An MNIST IDX file is missing (still a `MnistFormatError`, so one except catches all)."""


@dataclass(frozen=True)
class Mnist:
    """Train and test images as float32 rows of 784 pixels in [0, 1], with uint8 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped if it starts with the gzip magic bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MnistFileNotFoundError(f"{path}: file not found") from None
    except OSError as err:
        raise MnistFormatError(f"{path}: cannot read ({err.strerror or err})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise MnistFormatError(f"{path}: truncated gzip stream") from None
    except (OSError, zlib.error) as err:
        raise MnistFormatError(f"{path}: corrupt gzip data ({err})") from None


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Read an unsigned-byte IDX file whose magic number must be `magic`.

    Returns a read-only uint8 array of the shape the header declares. Raises
    `MnistFormatError` for a missing file, a wrong magic number, or data shorter or longer
    than the header's sizes say.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise MnistFormatError(f"{path}: truncated header ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise MnistFormatError(
            f"{path}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}"
            " (is this the right file, and is it an IDX file?)"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistFormatError(f"{path}: truncated header ({len(data)} of {header} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)  # Python ints: sizes up to 2^32 each never wrap
    if len(data) != expected:
        problem = "truncated data" if len(data) < expected else "trailing bytes after the data"
        raise MnistFormatError(
            f"{path}: {problem}: header declares shape {shape} ({expected} bytes in all),"
            f" file has {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(directory: Path, name: str) -> Path:
    """`directory/name`, or `name.gz` beside it; the missing-file error names both."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise MnistFileNotFoundError(f"{directory / name}[.gz]: file not found")


def load_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 784) float32 in [0, 1] and labels (N,) uint8 of one split.

    `prefix` is the file-name stem: ``train``, ``train5k`` or ``t10k``.
    """
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    images = read_idx(images_path, IMAGES_MAGIC)
    if len(images) == 0:
        raise MnistFormatError(f"{images_path}: holds 0 images (its header says so)")
    if images.shape[1:] != IMAGE_SHAPE:
        raise MnistFormatError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]},"
            f" the model needs {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}"
        )
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise MnistFormatError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    scaled = images.reshape(len(images), -1).astype(np.float32)
    scaled /= 255
    return scaled, labels


def load_mnist(directory: str | Path | None = None) -> Mnist:
    """The training and test sets.

    With no `directory`, the embedded 5,000-image training subset and 10,000 test images.
    With a `directory`, a full MNIST download under the standard names
    (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-*``).
    """
    if directory is None:
        root, train_prefix = EMBEDDED_DIR, "train5k"
    else:
        root, train_prefix = Path(directory), "train"
        if not root.is_dir():
            problem = "is not a folder" if root.exists() else "no such data directory"
            raise MnistFileNotFoundError(f"{root}: {problem}")
    train_images, train_labels = load_split(root, train_prefix)
    test_images, test_labels = load_split(root, "t10k")
    return Mnist(train_images, train_labels, test_images, test_labels, source=str(root))


def fingerprint(data: Mnist) -> str:
    """A SHA-256 hex digest of the images and labels of both splits (shapes included).

    It identifies the data a checkpoint was trained on, whatever the files are called or
    whether they are gzipped, so that --resume can refuse other data.
    """
    digest = hashlib.sha256()
    for array in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array)
    return digest.hexdigest()


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, gzipped if `path` ends in .gz.

    The inverse of `read_idx`: for making subsets such as train5k, and test data.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = (0x0800 | array.ndim).to_bytes(4, "big")
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    content = header + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)

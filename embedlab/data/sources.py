"""Where reviews come from: the authors' archive, an unpacked folder, or TFDS.

Every source yields `Review` objects; `prepare` sorts and writes them. The
archive layout is the one the dataset's authors publish (Maas et al., ACL
2011): ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``. Archives are
recognised by that layout, never by checksum: copies of it differ.

Problems with the input raise `EmbedlabError` with a one-line message that
names the file (for a member of an archive, ``archive:member``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import lzma
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from embedlab.errors import EmbedlabError, first_line

SPLITS = ("train", "test")
LABELS = {"neg": 0.0, "pos": 1.0}
REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}


@dataclasses.dataclass(frozen=True)
class Review:
    split: str  # "train" or "test"
    label: float  # 1.0 positive, 0.0 negative
    review_id: int  # the number in the file name (tensorflow-datasets: its index), for --order review-number
    text: str
    origin: str  # where it came from, for error messages


@dataclasses.dataclass
class DecodeReport:
    """Reviews whose bytes were not valid UTF-8 (decoded with U+FFFD)."""

    strict: bool = False
    replaced: list[str] = dataclasses.field(default_factory=list)

    def decode(self, data: bytes, origin: str) -> str:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            if self.strict:
                raise EmbedlabError(
                    f"{origin}: bytes that are not UTF-8 at offset {error.start} "
                    "(run without --strict-utf8 to replace them)"
                ) from None
            self.replaced.append(origin)
            text = data.decode("utf-8", errors="replace")
        if not text.strip():
            raise EmbedlabError(f"{origin}: empty review file")
        return text


class _Tally:
    """Counts reviews per split and label, and refuses the same review twice.

    A duplicate would mean two copies of the dataset in one source (say an
    archive holding ``aclImdb/`` and a backup of it); writing both would
    silently double the records.
    """

    def __init__(self, source: str):
        self.source = source
        self.counts: dict[tuple[str, float], int] = {}
        self.origins: dict[tuple[str, float, int], str] = {}

    def add(self, split: str, label: float, review_id: int, origin: str) -> None:
        key = (split, label, review_id)
        if key in self.origins:
            polarity = "pos" if label == 1.0 else "neg"
            raise EmbedlabError(
                f"{origin}: review {review_id} of {split}/{polarity} appears twice "
                f"(also {self.origins[key]})"
            )
        self.origins[key] = origin
        self.counts[split, label] = self.counts.get((split, label), 0) + 1

    def check_complete(self) -> None:
        missing = [
            f"{split}/{polarity}"
            for split in SPLITS
            for polarity, label in LABELS.items()
            if not self.counts.get((split, label))
        ]
        if missing:
            raise EmbedlabError(
                f"{self.source}: no reviews under {', '.join(missing)} "
                "(expected the aclImdb layout: train/pos, train/neg, test/pos, test/neg)"
            )


def _match(name: str) -> tuple[str, float, int] | None:
    found = REVIEW_PATH.search(name.replace(os.sep, "/"))
    if not found:
        return None
    split, polarity, review_id, _rating = found.groups()
    return split, LABELS[polarity], int(review_id)


def read_archive(path: Path, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Stream reviews out of a .tar.gz (or any tar) without unpacking it."""
    tally = _Tally(str(path))
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, zlib.error, lzma.LZMAError, EOFError):
        raise EmbedlabError(f"{path}: {_not_an_archive(path)}") from None
    except OSError as error:
        raise EmbedlabError(f"{path}: cannot read ({error.strerror or first_line(error)})") from None
    try:
        with archive:
            for member in archive:
                if not member.isfile():
                    continue
                key = _match(member.name)
                if key is None:
                    continue
                origin = f"{path}:{member.name}"
                handle = archive.extractfile(member)
                data = handle.read() if handle else b""
                split, label, review_id = key
                tally.add(split, label, review_id, origin)
                progress(1)
                yield Review(split, label, review_id, report.decode(data, origin), origin)
            # tarfile stops quietly at a damaged header, as if the archive
            # ended there. What follows the end must be zero padding; reading
            # it also makes gzip check its CRC.
            end = archive.offset
            while block := archive.fileobj.read(1 << 20):
                if block.strip(b"\0"):
                    raise EmbedlabError(f"{path}: corrupt archive (unreadable tar header at byte {end:,} of the tar)")
    except (tarfile.TarError, zlib.error, lzma.LZMAError, EOFError) as error:
        raise EmbedlabError(f"{path}: truncated or corrupt archive ({first_line(error)})") from None
    except OSError as error:
        if error.errno is None:  # gzip's CRC check or bz2's bad stream: the data, not the disk
            raise EmbedlabError(f"{path}: truncated or corrupt archive ({first_line(error)})") from None
        raise EmbedlabError(f"{path}: cannot read ({error.strerror or first_line(error)})") from None
    tally.check_complete()


def read_folder(path: Path, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Read an unpacked ``aclImdb/`` folder (or a folder that contains one)."""
    tally = _Tally(str(path))
    for entry, (split, label, review_id) in _folder_reviews(path):
        try:
            data = entry.read_bytes()
        except OSError as error:
            raise EmbedlabError(f"{entry}: cannot read ({error.strerror or first_line(error)})") from None
        tally.add(split, label, review_id, str(entry))
        progress(1)
        yield Review(split, label, review_id, report.decode(data, str(entry)), str(entry))
    tally.check_complete()


def folder_fingerprint(path: Path) -> str:
    """A digest of the review files' names, sizes and mtimes in a folder.

    A folder's own mtime does not change when a file in a subfolder is
    edited, so the up-to-date check needs this (stat is cheap: 50,000 files
    take a fraction of a second, far less than reading them).
    """
    digest = hashlib.sha256()
    for entry, _key in _folder_reviews(path):
        try:
            stat = entry.stat()
        except OSError:
            continue  # reading it will report the problem
        digest.update(f"{entry.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _folder_reviews(path: Path) -> Iterator[tuple[Path, tuple[str, float, int]]]:
    root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
    for split in SPLITS:
        for polarity in LABELS:
            folder = root / split / polarity
            if not folder.is_dir():
                continue
            try:
                entries = sorted(folder.iterdir())
            except OSError as error:
                raise EmbedlabError(f"{folder}: cannot list ({error.strerror or first_line(error)})") from None
            for entry in entries:
                key = _match(f"{split}/{polarity}/{entry.name}")
                if key is not None and entry.is_file():
                    yield entry, key


def read_tfds(data_dir: Path | None, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Download (once) and read `imdb_reviews` through tensorflow-datasets.

    TFDS gives no review numbers: its index within a split stands in for one
    (unique, so duplicates are still refused), and `prepare` refuses the
    review-number order for this source.
    """
    name = "tensorflow-datasets imdb_reviews"
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise EmbedlabError(missing_module(name, error)) from None
    tally = _Tally(name)
    for split in SPLITS:
        try:
            dataset = tfds.load(
                "imdb_reviews", split=split, as_supervised=True, shuffle_files=False,
                data_dir=None if data_dir is None else str(data_dir),
            )
            examples = tfds.as_numpy(dataset)
        except ImportError as error:
            # A module tfds imports lazily (it does not declare importlib_resources,
            # for one) is missing: that is not a network problem.
            raise EmbedlabError(missing_module(name, error)) from None
        except Exception as error:
            raise EmbedlabError(
                f"{name}: could not load ({first_line(error)}); "
                "without internet, pass --source with a local copy of aclImdb_v1.tar.gz"
            ) from None
        for index, (text, label) in enumerate(examples):
            origin = f"{name}/{split}[{index}]"
            if int(label) not in (0, 1):
                raise EmbedlabError(f"{origin}: label {label!r} is neither 0 nor 1")
            tally.add(split, float(label), index, origin)
            progress(1)
            yield Review(split, float(label), index, report.decode(bytes(text), origin), origin)
    tally.check_complete()


def missing_module(what: str, error: ImportError) -> str:
    """The one-line reason for an import that failed inside `what`: the module, and the install that fixes it.

    >>> print(missing_module("tfds", ModuleNotFoundError(name="importlib_resources")))
    tfds: the Python module importlib_resources is missing (pip install importlib_resources, or reinstall embedlab: ...)
    """
    module = getattr(error, "name", None) or first_line(error)
    return (f"{what}: the Python module {module} is missing (pip install {module}, "
            "or reinstall embedlab: pip install -e .)")


def _not_an_archive(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
    except OSError:
        head = b""
    if not head:
        return "empty file, not an archive"
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            return f"{kind} data that does not hold a tar archive, or is truncated or corrupt"
    return "not a tar archive (.tar.gz, .tgz, .tar.bz2, .tar.xz or .tar) nor an aclImdb folder"


"""Where reviews come from: the authors' archive, an unpacked folder, or TFDS.

Every source yields `Review` objects; `prepare` sorts and writes them. The
archive layout is the one the dataset's authors publish (Maas et al., ACL
2011): ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``. Archives are
recognised by that layout, never by checksum: copies of it differ.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

from embedlab.errors import EmbedlabError

SPLITS = ("train", "test")
LABELS = {"neg": 0.0, "pos": 1.0}
REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclasses.dataclass(frozen=True)
class Review:
    split: str  # "train" or "test"
    label: float  # 1.0 positive, 0.0 negative
    review_id: int  # the number in the file name; orders records
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


def _match(name: str, origin: str) -> tuple[str, float, int] | None:
    found = REVIEW_PATH.search(name.replace(os.sep, "/"))
    if not found:
        return None
    split, polarity, review_id, _rating = found.groups()
    return split, LABELS[polarity], int(review_id)


def _check_complete(seen: dict[tuple[str, float], int], origin: str) -> None:
    missing = [
        f"{split}/{polarity}"
        for split in SPLITS
        for polarity, label in LABELS.items()
        if not seen.get((split, label))
    ]
    if missing:
        raise EmbedlabError(
            f"{origin}: no reviews under {', '.join(missing)} "
            "(expected the aclImdb layout: train/pos, train/neg, test/pos, test/neg)"
        )


def read_archive(path: Path, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Stream reviews out of a .tar.gz (or any tar) without unpacking it."""
    seen: dict[tuple[str, float], int] = {}
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.ReadError, zlib.error, EOFError, OSError) as error:
        raise EmbedlabError(f"{path}: not a readable tar archive ({_reason(error)})") from None
    try:
        with archive:
            for member in archive:
                if not member.isfile():
                    continue
                key = _match(member.name, str(path))
                if key is None:
                    continue
                origin = f"{path}:{member.name}"
                handle = archive.extractfile(member)
                data = handle.read() if handle else b""
                split, label, review_id = key
                seen[split, label] = seen.get((split, label), 0) + 1
                progress(1)
                yield Review(split, label, review_id, report.decode(data, origin), origin)
    except (tarfile.ReadError, zlib.error, EOFError) as error:
        raise EmbedlabError(f"{path}: truncated or corrupt archive ({_reason(error)})") from None
    _check_complete(seen, str(path))


def read_folder(path: Path, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Read an unpacked ``aclImdb/`` folder (or a folder that contains one)."""
    root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
    seen: dict[tuple[str, float], int] = {}
    for split in SPLITS:
        for polarity, label in LABELS.items():
            folder = root / split / polarity
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                key = _match(f"{split}/{polarity}/{entry.name}", str(entry))
                if key is None or not entry.is_file():
                    continue
                seen[split, label] = seen.get((split, label), 0) + 1
                progress(1)
                yield Review(split, label, key[2], report.decode(entry.read_bytes(), str(entry)), str(entry))
    _check_complete(seen, str(path))


def read_tfds(data_dir: Path | None, report: DecodeReport, progress: Callable[[int], None]) -> Iterator[Review]:
    """Download (once) and read `imdb_reviews` through tensorflow-datasets."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:  # pragma: no cover - it is a declared dependency
        raise EmbedlabError("tensorflow-datasets is not installed; use --source PATH") from None
    for split in SPLITS:
        try:
            dataset = tfds.load(
                "imdb_reviews", split=split, as_supervised=True, shuffle_files=False,
                data_dir=None if data_dir is None else str(data_dir),
            )
        except Exception as error:  # noqa: BLE001 - tfds raises many kinds
            raise EmbedlabError(
                f"tensorflow-datasets imdb_reviews: could not load ({_reason(error)}); "
                "without internet, pass --source with a local copy of aclImdb_v1.tar.gz"
            ) from None
        for index, (text, label) in enumerate(tfds.as_numpy(dataset)):
            origin = f"tfds imdb_reviews/{split}[{index}]"
            progress(1)
            yield Review(split, float(label), index, report.decode(bytes(text), origin), origin)


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

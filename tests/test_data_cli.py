"""`embedlab prepare` and `embedlab inspect` through the command line, in-process; the parser itself.

Bad input must give exactly one line on stderr, ``embedlab <command>: error:``
naming the path, a non-zero exit status, and no output files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from embedlab import cli
from embedlab.data import records
from embedlab.data.tokenizer import tokenize
from embedlab.vocabulary import INFORMATIVE_TERMS

from data_fixtures import REVIEWS, make_acl_archive, make_acl_folder, review_files, tree_state, write_examples

pytest.importorskip("tensorflow")


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- prepare


def test_prepare_then_up_to_date(tmp_path, capsys):
    archive = make_acl_archive(tmp_path / "aclImdb_v1.tar.gz")
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(capsys, "prepare", "--source", str(archive), "--out", str(out))
    assert (code, stderr) == (0, "")  # no progress bar when stderr is not a terminal
    assert stdout.splitlines() == [
        f"{out / 'train.tfrecord'}: 6 records (3 positive, 3 negative), 0.0 MB, written",
        f"{out / 'test.tfrecord'}: 6 records (3 positive, 3 negative), 0.0 MB, written",
    ]
    before = tree_state(out)
    code, stdout, stderr = run_cli(capsys, "prepare", "--source", str(archive), "--out", str(out), "--quiet")
    assert code == 0 and stderr == ""
    assert stdout.splitlines() == [
        f"{out / 'train.tfrecord'}: 6 records (3 positive, 3 negative), 0.0 MB, up to date",
        f"{out / 'test.tfrecord'}: 6 records (3 positive, 3 negative), 0.0 MB, up to date",
    ]
    assert tree_state(out) == before


def test_prepare_replaces_bytes_that_are_not_utf8_with_a_warning(tmp_path, capsys):
    files = review_files(extra={"aclImdb/test/pos/30_8.txt": b"\xff\xfe good \xe9t\xe9"})
    archive = make_acl_archive(tmp_path / "a.tar.gz", files)
    code, stdout, stderr = run_cli(capsys, "prepare", "--source", str(archive), "--out", str(tmp_path / "out"))
    assert code == 0
    assert stderr.splitlines() == [
        f"warning: {archive}:aclImdb/test/pos/30_8.txt: bytes that are not UTF-8, replaced with U+FFFD"
    ]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["non_utf8_reviews"] == 1


def _missing(tmp_path):
    return ["--source", str(tmp_path / "absent.tar.gz")], tmp_path / "absent.tar.gz"


def _text_file(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("A great film.\n" * 50)
    return ["--source", str(path)], path


def _empty_file(tmp_path):
    path = tmp_path / "empty.tar.gz"
    path.write_bytes(b"")
    return ["--source", str(path)], path


def _gzip_not_tar(tmp_path):
    path = tmp_path / "review.txt.gz"
    path.write_bytes(gzip.compress(b"A great film.\n" * 50))
    return ["--source", str(path)], path


def _archive_without_train_pos(tmp_path):
    path = make_acl_archive(tmp_path / "a.tar.gz", review_files(omit=["train/pos"]))
    return ["--source", str(path)], path


def _archive_of_something_else(tmp_path):
    path = make_acl_archive(tmp_path / "a.tar.gz", {"photos/cat.jpg": b"\xff\xd8", "README": b"hi"})
    return ["--source", str(path)], path


def _folder_without_negatives(tmp_path):
    folder = make_acl_folder(tmp_path / "src", review_files(omit=["train/neg", "test/neg"]))
    return ["--source", str(folder)], folder


def _empty_folder(tmp_path):
    (tmp_path / "nothing").mkdir()
    return ["--source", str(tmp_path / "nothing")], tmp_path / "nothing"


def _truncated_gzip(tmp_path):
    # Big enough that the first half holds whole members before the cut.
    extra = {f"aclImdb/train/pos/{100 + i}_8.txt": f"Review {i} was great fun.".encode() * 40 for i in range(40)}
    whole = make_acl_archive(tmp_path / "whole.tar.gz", review_files(extra=extra)).read_bytes()
    (tmp_path / "whole.tar.gz").unlink()
    path = tmp_path / "half.tar.gz"
    path.write_bytes(whole[: len(whole) // 2])
    return ["--source", str(path)], path


def _corrupt_gzip(tmp_path):
    path = make_acl_archive(tmp_path / "a.tar.gz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return ["--source", str(path)], path


def _corrupt_bz2(tmp_path):
    import tarfile

    path = tmp_path / "a.tar.bz2"
    with tarfile.open(path, "w:bz2") as archive:
        make_acl_folder(tmp_path / "tree")
        archive.add(tmp_path / "tree" / "aclImdb", arcname="aclImdb")
    __import__("shutil").rmtree(tmp_path / "tree")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return ["--source", str(path)], path


def _tar_with_damaged_header(tmp_path):
    import tarfile

    path = make_acl_archive(tmp_path / "a.tar.gz")
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        data = bytearray(gzip.decompress(path.read_bytes()))
    path.unlink()
    offset = members[len(members) // 2].offset
    data[offset:offset + 512] = b"x" * 512
    path = tmp_path / "a.tar"
    path.write_bytes(bytes(data))
    return ["--source", str(path)], path


def _empty_review_in_archive(tmp_path):
    path = make_acl_archive(tmp_path / "a.tar.gz", review_files(extra={"aclImdb/test/neg/50_1.txt": b""}))
    return ["--source", str(path)], f"{path}:aclImdb/test/neg/50_1.txt"


def _blank_review_in_folder(tmp_path):
    folder = make_acl_folder(tmp_path / "src", review_files(extra={"aclImdb/train/pos/50_9.txt": b" \n\t"}))
    return ["--source", str(folder)], folder / "train" / "pos" / "50_9.txt"


def _not_utf8_strict(tmp_path):
    path = make_acl_archive(tmp_path / "a.tar.gz", review_files(extra={"aclImdb/train/neg/60_2.txt": b"bad \xff"}))
    return ["--source", str(path), "--strict-utf8"], f"{path}:aclImdb/train/neg/60_2.txt"


def _duplicate_review(tmp_path):
    files = review_files(extra={"copy/train/neg/0_1.txt": b"Bad."})
    path = make_acl_archive(tmp_path / "a.tar.gz", files)
    return ["--source", str(path)], path


def _out_under_a_file(tmp_path):
    (tmp_path / "somefile").write_text("not a folder")
    return ["--source", str(make_acl_archive(tmp_path / "a.tar.gz")), "--out", str(tmp_path / "somefile" / "out")], \
        tmp_path / "somefile" / "out"


def _out_is_a_file(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    return ["--source", str(make_acl_archive(tmp_path / "a.tar.gz")), "--out", str(tmp_path / "out")], tmp_path / "out"


def _out_in_proc(tmp_path):
    return ["--source", str(make_acl_archive(tmp_path / "a.tar.gz")), "--out", "/proc/embedlab-test/out"], \
        "/proc/embedlab-test/out"


def _no_processes(tmp_path):
    return ["--source", str(make_acl_archive(tmp_path / "a.tar.gz")), "--processes", "0"], "--processes 0"


def _tfds_by_review_number(tmp_path):
    return ["--order", "review-number"], "order 'review-number'"


PREPARE_ERRORS = {
    "no processes": (_no_processes, "must be at least 1"),
    "tensorflow-datasets by review number": (_tfds_by_review_number, "tensorflow-datasets gives no review numbers"),
    "missing source": (_missing, "no such file or folder"),
    "text file": (_text_file, "not a tar archive"),
    "empty file": (_empty_file, "empty file"),
    "gzip but not tar": (_gzip_not_tar, "gzip data that does not hold a tar archive"),
    "archive without train/pos": (_archive_without_train_pos, "no reviews under train/pos"),
    "archive of something else": (_archive_of_something_else,
                                  "no reviews under train/neg, train/pos, test/neg, test/pos"),
    "folder without neg": (_folder_without_negatives, "no reviews under train/neg, test/neg"),
    "empty folder": (_empty_folder, "expected the aclImdb layout"),
    "truncated gzip": (_truncated_gzip, "truncated or corrupt archive"),
    "corrupt gzip": (_corrupt_gzip, "corrupt archive"),
    "corrupt bz2": (_corrupt_bz2, "bzip2 data that does not hold a tar archive, or is truncated or corrupt"),
    "tar with a damaged header": (_tar_with_damaged_header, "corrupt archive (unreadable tar header at byte"),
    "empty review in archive": (_empty_review_in_archive, "empty review file"),
    "blank review in folder": (_blank_review_in_folder, "empty review file"),
    "not UTF-8 with --strict-utf8": (_not_utf8_strict, "bytes that are not UTF-8 at offset 4"),
    "duplicate review": (_duplicate_review, "appears twice"),
    "out under a regular file": (_out_under_a_file, "cannot be created"),
    "out is a file": (_out_is_a_file, "is a file"),
    "out in /proc": (_out_in_proc, "cannot write in /proc"),
}


@pytest.mark.parametrize(("make", "reason"), PREPARE_ERRORS.values(), ids=PREPARE_ERRORS.keys())
def test_prepare_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, make, reason):
    args, named = make(tmp_path)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    before = tree_state(tmp_path)
    code, stdout, stderr = run_cli(capsys, "prepare", *args)
    assert code != 0
    assert stdout == ""
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"embedlab prepare: error: {named}"), stderr
    assert reason in stderr
    assert tree_state(tmp_path) == before


def test_prepare_failing_tensorflow_datasets_is_one_line(tmp_path, capsys, monkeypatch):
    class Offline:
        @staticmethod
        def load(*args, **kwargs):
            raise ConnectionError("Failed to resolve host\nmore details")

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", Offline)
    code, stdout, stderr = run_cli(capsys, "prepare", "--out", str(tmp_path / "out"))
    assert code == 1 and stdout == ""
    assert stderr.splitlines() == [
        "embedlab prepare: error: tensorflow-datasets imdb_reviews: could not load (Failed to resolve host); "
        "without internet, pass --source with a local copy of aclImdb_v1.tar.gz"
    ]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- inspect


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    out = root / "out"
    assert cli.main(["prepare", "--source", str(make_acl_archive(root / "a.tar.gz")), "--out", str(out)]) == 0
    return out


def test_inspect(prepared, capsys):
    train = [tokenize(text) for (split, _), entries in REVIEWS.items() if split == "train" for _, _, text in entries]
    lengths = sorted(len(terms) for terms in train)
    present = [term for term in INFORMATIVE_TERMS if any(term in terms for terms in train)]
    code, stdout, stderr = run_cli(capsys, "inspect", str(prepared / "train.tfrecord"))
    assert code == 0 and stderr == ""
    lines = stdout.splitlines()
    assert lines[:4] == [
        str(prepared / "train.tfrecord"),
        "  records:          6",
        "  labels:           3 positive (50.0%), 3 negative (50.0%)",
        f"  tokens/review:    mean {sum(lengths) / 6:.1f}, median {(lengths[2] + lengths[3]) / 2:.0f}, "
        f"min {lengths[0]}, max {lengths[-1]}",
    ]
    assert lines[4].startswith(f"  informative terms present: {len(present)} of 50 (absent: ")
    dots = sum(terms.count(".") for terms in train)
    assert f"  '.' {dots}  " in stdout
    # Records are in sha256-of-record order: the first has the smallest digest.
    first = min(train, key=lambda terms: hashlib.sha256(records.serialize(terms, _label_of(terms))).digest())
    assert lines[-1] == "  first review:     " + " ".join(first[:20]) + " ..."


def _label_of(terms):
    return next(1.0 if polarity == "pos" else 0.0 for (split, polarity), entries in REVIEWS.items()
                for _, _, text in entries if split == "train" and tokenize(text) == terms)


def test_inspect_counts_informative_terms(tmp_path, capsys):
    path = write_examples(tmp_path / "t.tfrecord", [
        {"terms": ["bad", "bad", "movie", "?", "zebra"], "labels": [0.0]},
        {"terms": ["great", "!", "bad"], "labels": [1.0], "other": [3]},
    ])
    code, stdout, _ = run_cli(capsys, "inspect", str(path))
    assert code == 0
    lines = stdout.splitlines()
    assert lines[4].startswith("  informative terms present: 5 of 50 (absent: best, worst,")
    assert lines[5] == "    'bad' 3  'great' 1  '?' 1  '!' 1  'movie' 1"
    assert lines[-1] == "  first review:     bad bad movie ? zebra ..."


def _garbage(path):
    path.write_bytes(b"\x00garbage, not records" * 10)


def _truncated(path):
    write_examples(path, [{"terms": ["a"] * 50, "labels": [1.0]}] * 3)
    path.write_bytes(path.read_bytes()[:-7])


def _other_schema(path):
    write_examples(path, [{"text": ["A great film"], "label": [1]}])


def _empty(path):
    path.write_bytes(b"")


def _damaged_record(path):
    write_examples(path, [{"terms": ["a"] * 50, "labels": [1.0]}] * 3)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))


INSPECT_ERRORS = {
    "garbage": (_garbage, "not a TFRecord file"),
    "truncated": (_truncated, "truncated TFRecord file"),
    "other schema": (_other_schema, "wrong schema"),
    "empty": (_empty, "holds no records"),
    "damaged record": (_damaged_record, "unreadable record among records 1 to 3 (corrupted record at"),
}


@pytest.mark.parametrize(("make", "reason"), INSPECT_ERRORS.values(), ids=INSPECT_ERRORS.keys())
def test_inspect_bad_file_is_one_line(tmp_path, capsys, make, reason):
    path = tmp_path / "bad.tfrecord"
    make(path)
    code, stdout, stderr = run_cli(capsys, "inspect", str(path))
    assert code != 0 and stdout == ""
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"embedlab inspect: error: {path}: "), stderr
    assert reason in stderr


def test_inspect_missing_file(tmp_path, capsys):
    code, _, stderr = run_cli(capsys, "inspect", str(tmp_path / "nope.tfrecord"))
    assert code == 1
    assert stderr.startswith(f"embedlab inspect: error: {tmp_path / 'nope.tfrecord'}: no such file")
    assert len(stderr.splitlines()) == 1


# ---------------------------------------------------------------- --help


HELPS = (["--help"], ["prepare", "--help"], ["inspect", "--help"], ["check", "--help"], ["grade", "--help"],
         ["gradescope-run", "--help"], ["--version"])


def test_help_does_not_import_tensorflow():
    """One subprocess (here TensorFlow is already imported): the real parser,
    `embedlab --help`, some commands' help and --version."""
    code = textwrap.dedent(f"""
        import json, sys
        import embedlab.cli as cli
        codes = []
        for argv in {HELPS!r}:
            try:
                cli.main(argv)
            except SystemExit as exit:
                codes.append(exit.code)
        print(json.dumps({{"codes": codes, "tensorflow": "tensorflow" in sys.modules}}))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    *help_text, last = result.stdout.splitlines()
    assert json.loads(last) == {"codes": [0] * len(HELPS), "tensorflow": False}
    help_text = "\n".join(help_text)
    for expected in ("prepare", "inspect", "--source", "--strict-utf8", "--force", "--order", "--processes", "--seed",
                     "--time-limit"):
        assert expected in help_text


def test_the_one_parser_groups_every_command_by_audience(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    groups = {}
    for line in text[text.index("data commands:"):].splitlines():
        if line.endswith(" commands:"):
            group = groups.setdefault(line.removesuffix(" commands:"), [])
        elif line.strip():
            group.append(line.split()[0])
    assert groups == {"data": ["prepare", "inspect"], "student": ["list", "hint", "check", "plot", "projector"],
                      "instructor": ["stubs", "notebooks", "course-check", "grade", "gradebook", "gradescope-bundle",
                                     "gradescope-prepare", "gradescope-run"]}


def test_version_prints_the_version(capsys):
    import embedlab

    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"embedlab {embedlab.__version__}\n"


def test_a_bad_setting_from_the_environment_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_SANDBOX", "chroot")
    code, stdout, stderr = run_cli(capsys, "list")
    assert code == 1 and stdout == ""
    assert stderr.startswith("embedlab list: error: sandbox mode 'chroot'") and len(stderr.splitlines()) == 1


def test_inspect_other_schema_in_a_later_record_is_one_line(tmp_path, capsys):
    path = write_examples(tmp_path / "mixed.tfrecord", [{"terms": ["a"], "labels": [1.0]}, {"terms": ["b"]}])
    code, stdout, stderr = run_cli(capsys, "inspect", str(path))
    assert code == 1 and stdout == ""
    assert len(stderr.splitlines()) == 1
    assert stderr == (f"embedlab inspect: error: {path}: unreadable record among records 1 to 2 "
                      "(Feature: labels (data type: float) is required but could not be found.)\n")

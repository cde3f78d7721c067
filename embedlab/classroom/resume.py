"""Resume: which stored result `embedlab grade` keeps instead of grading the submission again.

A result (``results/<name>.json``) is kept when it has this grader's result
format, the same hash (the submission's files, the grading seed and the
grader's version: `embedlab.classroom.submissions.submission_hash`), the
same folder (its absolute path: the same files in another folder are
another student's), the same sandbox mode and the class's questions seed
(its fingerprint, `embedlab.classroom.shards`: one class, one set of
questions). Results graded on other
machines keep that machine's folder; `embedlab gradebook merge --class DIR`
puts this machine's copy of the class in its place (``DIR/<class_path>``),
so that they resume here (`embedlab.classroom.merge`).
"""

from __future__ import annotations

import json
from pathlib import Path

RESULT_FORMAT = 3  # 2: sandbox, repeats, implausible, flags; 3: seed, questions, host, class_path (merge)


def stored_result(result_path: Path, digest: str, folder: Path, mode: str, questions: str | None) -> dict | None:
    """The stored result if it was graded from the same files, seed, grader, folder, sandbox mode and questions."""
    try:
        previous = json.loads(Path(result_path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(previous, dict) or previous.get("hash") != digest or previous.get("format") != RESULT_FORMAT:
        return None
    # Another folder with the same files (a copy) is another student; another sandbox mode is regraded.
    if previous.get("folder") != str(Path(folder).resolve()) or previous.get("sandbox") != mode:
        return None
    if previous.get("questions") != questions:  # graded with other grading-time questions than the class's
        return None
    previous["resumed"] = True
    return previous

"""Grade the course's reference set with `embedlab grade` and print its gradebook.

The set: the reference solutions, the untouched stubs, every weak variant of
tests/variants/ (default time limits) and every adversarial fixture
of tests/adversarial/ (25 s per worker, as tests/test_sandbox.py grades them).
One line per submission: score, bonus, status and points per exercise.

    python benchmarks/gradeset.py --out DIR [--python PYTHON] [--repo CHECKOUT] [--jobs 2]

It runs the `embedlab` command of PYTHON on CHECKOUT and reads only files
both old and new versions have, so two versions of the grader can be
compared on the same set: diff the two outputs. It takes about 5 minutes on
2 cores.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--python", default=sys.executable)
parser.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
parser.add_argument("--jobs", default="2")
args = parser.parse_args()
repo, out = Path(args.repo), Path(args.out)
shutil.rmtree(out, ignore_errors=True)
folders = out / "folders"
folders.mkdir(parents=True)
# Variants: the solutions with one change each (tests/variants/*.toml; tests/weak_variants.toml before).
variant_files = sorted((repo / "tests" / "variants").glob("*.toml")) or [repo / "tests" / "weak_variants.toml"]
variants = [variant for path in variant_files for variant in tomllib.loads(path.read_text())["variant"]]
for variant in variants:
    target = folders / "variants" / variant["name"]
    target.mkdir(parents=True)
    for name in variant.get("files") or [variant["graded"]]:
        shutil.copy(repo / "solutions" / f"{name}.py", target / f"{name}.py")
    for name, old, new in variant["replace"]:
        path = target / f"{name}.py"
        path.write_text(path.read_text().replace(old, new))
normal = [repo / "solutions", repo / "exercises", *sorted((folders / "variants").iterdir())]
attacks = [path for path in sorted((repo / "tests" / "adversarial").iterdir()) if path.is_dir()]
embedlab = [args.python, "-m", "embedlab"]
for label, submissions, extra in (("normal", normal, []), ("attacks", attacks, ["--time-limit", "25"])):
    subprocess.run([*embedlab, "grade", *map(str, submissions), "--out", str(out / label), "--jobs", args.jobs,
                    "--quiet", "--no-resume", *extra], cwd=repo, check=True)
    book = json.loads((out / label / "gradebook.json").read_text())
    for row in book["submissions"]:
        points = " ".join(f"{key[:4]}={value}" for key, value in row.items() if key.startswith("ex"))
        print(f"{label:8} {row['submission']:<36} {row['score']:>3}/{row['max_score']} +{row['bonus']:<3} "
              f"{row['status']:<8} {points}")

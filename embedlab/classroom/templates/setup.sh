#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built (it has internet).
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -m venv /opt/embedlab-venv
/opt/embedlab-venv/bin/pip install --upgrade pip
/opt/embedlab-venv/bin/pip install -e '/autograder/source[dev]' psutil
cd /autograder/source
# The IMDB reviews through tensorflow-datasets, then the grader's own copy (labels kept private).
/opt/embedlab-venv/bin/embedlab prepare --out /autograder/source/tfrecords --quiet
/opt/embedlab-venv/bin/python -c \
    "from pathlib import Path; from embedlab.grading import data; print(data.ensure(Path('/autograder/source/tfrecords'), None))"
chmod 0700 /autograder/source/tfrecords

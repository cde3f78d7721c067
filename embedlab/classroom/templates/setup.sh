#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (with internet).
# It installs the pinned versions (constraints.txt: what CI tests), prepares the data and the
# grader's trusted reference runs, so that each submission's container only grades.
#
# Knobs for running it elsewhere (Gradescope sets none of them):
#   AUTOGRADER_ROOT        the autograder folder (default /autograder)
#   EMBEDLAB_VENV          where the virtual environment goes (default /opt/embedlab-venv)
#   EMBEDLAB_BASE_PYTHON   the Python to make it from (default: python3.11 if the system has or can
#                          install it, else python3, which must be 3.10 or newer)
#   EMBEDLAB_VENV_OPTIONS  extra `python -m venv` options (e.g. --system-site-packages)
#   EMBEDLAB_SKIP_APT=1    install no system package (they are there already)
#   EMBEDLAB_SOURCE        a copy of the reviews archive to prepare the data from, instead of
#                          source/data/*.tar.gz (bundled) or tensorflow-datasets' download
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 TF_CPP_MIN_LOG_LEVEL=3
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${EMBEDLAB_VENV:-/opt/embedlab-venv}"
started=$(date +%s)
step() { echo "setup: $* ($(( $(date +%s) - started )) s)"; }

# 1. System packages. Python 3.11 where the distribution has it (Ubuntu 22.04's universe does):
#    constraints.txt pins for it exactly what CI runs; a 3.10 gets the older pins marked there.
if [ "${EMBEDLAB_SKIP_APT:-0}" != 1 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ca-certificates bubblewrap python3 python3-venv python3-pip
  if [ -z "${EMBEDLAB_BASE_PYTHON:-}" ]; then
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv \
      || echo "setup: no python3.11 package here; using python3"
  fi
fi
BASE="${EMBEDLAB_BASE_PYTHON:-}"
if [ -z "$BASE" ]; then
  BASE=python3
  command -v python3.11 >/dev/null && python3.11 -m venv --help >/dev/null 2>&1 && BASE=python3.11
fi
"$BASE" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "setup: $BASE is older than Python 3.10" >&2; exit 1; }
step "python: $("$BASE" --version) ($BASE)"

# 2. The project and exactly the pinned versions; the build stops if any differs.
# shellcheck disable=SC2086  # EMBEDLAB_VENV_OPTIONS is a list of options
"$BASE" -m venv ${EMBEDLAB_VENV_OPTIONS:-} "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q -c "$SOURCE/constraints.txt" -e "$SOURCE[dev]"
"$PY" -c 'from embedlab.classroom import bundle; bundle.check_installed()'
"$PY" -c 'import tensorflow_datasets, tensorflow, keras; print("setup: tensorflow", tensorflow.__version__, "keras", keras.__version__)'
step "installed"

# 3. The reviews: a local archive if there is one, else tensorflow-datasets' download (the written
#    files do not depend on the source). Labeled copies do not stay in the image.
cd "$SOURCE"
ARCHIVE="${EMBEDLAB_SOURCE:-}"
if [ -z "$ARCHIVE" ]; then
  for candidate in "$SOURCE"/data/*.tar.gz; do [ -f "$candidate" ] && ARCHIVE="$candidate" && break; done
fi
if [ -n "$ARCHIVE" ]; then
  "$VENV/bin/embedlab" prepare --source "$ARCHIVE" --out "$SOURCE/tfrecords" --quiet
else
  TFDS_DATA_DIR="$(mktemp -d)"
  export TFDS_DATA_DIR
  "$VENV/bin/embedlab" prepare --out "$SOURCE/tfrecords" --quiet
  rm -rf "$TFDS_DATA_DIR"
fi
rm -rf "$SOURCE/data"
step "data prepared from ${ARCHIVE:-tensorflow-datasets}"

# 4. The grader's data, the label check, the image's questions seed and the trusted reference runs.
export EMBEDLAB_TFRECORDS="$SOURCE/tfrecords"
"$VENV/bin/embedlab" gradescope-prepare
chmod 0700 "$SOURCE/tfrecords"
step "done"

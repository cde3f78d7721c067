"""`python -m embedlab ...`: the `embedlab` command, e.g. from a venv's python (Gradescope's run_autograder)."""

import sys

from embedlab.cli import main

sys.exit(main())

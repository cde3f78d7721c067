"""The folders here are attack fixtures (submissions), not tests: never collect them.

Without this, pytest would load shadow_modules/conftest.py and put that folder
(with its numpy.py and keras.py) at the front of sys.path.
"""

collect_ignore_glob = ["*"]

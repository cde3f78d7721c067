"""Attack: a result.json nested a million levels deep (RecursionError in a parser), then leave."""
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder

with open(OUT + "/result.json", "w") as handle:
    handle.write('{"complete": true, "exercise": "ex01_input_pipeline", "result": '
                 + "[" * 1_000_000 + "]" * 1_000_000 + "}")
os._exit(0)

"""Attack: a 60 MB result.json (parsed before any check, it took the parent to 1.5 GB), then leave."""
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder

with open(OUT + "/result.json", "w") as handle:
    handle.write('{"complete": true, "exercise": "ex01_input_pipeline", "result": {"errors": {}, "x": [')
    chunk = ",".join(["1.5"] * 250_000)
    for _ in range(60):
        handle.write(chunk + ",")
    handle.write("0]}}")
os._exit(0)

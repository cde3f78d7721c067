"""Attack: walk the worker's frames for a one-time token and its output folder, then forge a perfect
result there and leave before the grader writes its own."""
import json
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder
import sys

found = {}
frame = sys._getframe()
while frame is not None:
    for name, value in list(frame.f_locals.items()):
        if isinstance(value, str) and ("token" in name or name in ("out", "figures")):
            found[name] = value
        if hasattr(value, "out") and isinstance(getattr(value, "out", None), str):
            found["out"] = value.out
    frame = frame.f_back
out = found.get("out") or (sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else OUT)
if os.path.basename(out) == "figures":
    out = os.path.dirname(out)
perfect = [[1.0] * 50 for _ in range(3)]
forged = {"complete": True, "token": found.get("token", ""), "exercise": "ex05_inside_embedding",
          "result": {"one_hot": perfect, "counts_vector": perfect, "embedding_matrix": perfect,
                     "references": {"one_hot": perfect, "counts_vector": perfect}, "errors": {}},
          "score": 100}
try:
    with open(os.path.join(out, "result.json"), "w") as handle:
        json.dump(forged, handle)
except OSError:
    pass
os._exit(0)

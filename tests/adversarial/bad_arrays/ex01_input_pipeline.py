"""Attack: arrays the parent cannot load: empty, truncated, a header claiming 800 GB, then leave."""
import json
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder

os.makedirs(OUT + "/arrays", exist_ok=True)
with open(OUT + "/arrays/a0.npy", "wb"):
    pass
with open(OUT + "/arrays/a1.npy", "wb") as handle:
    handle.write(b"\x93NUMPY\x01\x00")
header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
header += b" " * (117 - len(header)) + b"\n"
with open(OUT + "/arrays/a2.npy", "wb") as handle:
    handle.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
with open(OUT + "/result.json", "w") as handle:
    json.dump({"complete": True, "exercise": "ex01_input_pipeline",
               "result": {"dataset": {"__ndarray__": "a0.npy"}, "x": {"__ndarray__": "a1.npy"},
                          "y": {"__ndarray__": "a2.npy"}, "errors": {}}}, handle)
os._exit(0)

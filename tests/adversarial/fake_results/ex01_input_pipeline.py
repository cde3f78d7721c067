"""Attack: write fake result files everywhere, then leave before the grader writes its own."""
import json
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder

FAKE = {"complete": True, "token": "guess", "exercise": "ex01_input_pipeline",
        "result": {"dataset": {"is_dataset": True, "feature_keys": ["terms"]}, "errors": {}},
        "score": 100, "max_score": 100, "tests": [], "exercises": {}}
TARGETS = ["result.json", "results.json", OUT + "/result.json", "../result.json", "/tmp/results.json",
           "/autograder/results/results.json", "/work/main/grading-output/fake_results.json",
           "/work/main/grading-output/results/fake_results.json", os.path.expanduser("~/results.json")]
for target in TARGETS:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        with open(target, "w") as handle:
            json.dump(FAKE, handle)
    except OSError:
        pass
os._exit(0)

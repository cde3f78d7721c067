"""Exercise 3: the DNN's architecture, judged by its computation (its training is judged in test_models.py)."""

import pytest

from embedlab.grading import contract, transplant

pytestmark = pytest.mark.exercise("ex03_dnn_counts")


def require(condition, message: str) -> None:
    """Fail the test with `message` alone (no assertion repr reaches the student)."""
    if not condition:
        pytest.fail(message, pytrace=False)


@pytest.mark.points(3)
def test_two_hidden_relu_layers_of_20_then_a_sigmoid(collected):
    """hidden layers [20, 20] with ReLU, then one sigmoid unit: its weights in that computation give its answers"""
    collected.need("weights", "build", "train", "weights")
    collected.need("answers", "build", "train", "answers")
    architecture = contract.collector(collected.exercise.id).ARCHITECTURE
    found = transplant.verdict(architecture, collected.data, collected.questions)
    dense = [(layer["units"], layer["activation"]) for layer in collected.get("model", {}).get("dense_layers", [])]
    require(found.exact, f"build_dnn_model(INFORMATIVE_TERMS): {found.cause()}. Expected {architecture.describe()}: "
        f"hidden_units=(20, 20) as in the course (its Dense layers: {dense or 'none found'}, units and activation; "
        "separate ReLU/Activation layers and nested models are fine).")

"""Exercise 3: the DNN's architecture, judged by its computation (its training is judged in test_models.py)."""

import pytest

from embedlab.grading import contract

from cases import verdict

pytestmark = pytest.mark.exercise("ex03_dnn_counts")


@pytest.mark.points(3)
def test_two_hidden_relu_layers_of_20_then_a_sigmoid(collected):
    """hidden layers [20, 20] with ReLU, then one sigmoid unit: its weights in that computation give its answers"""
    found = verdict(collected)
    architecture = contract.collector(collected.exercise.id).ARCHITECTURE
    dense = [(layer["units"], layer["activation"]) for layer in collected.get("model", {}).get("dense_layers", [])]
    collected.check(found.exact, (
        f"build_dnn_model(INFORMATIVE_TERMS): {found.cause()}. Expected {architecture.describe()}: "
        f"hidden_units=(20, 20) as in the course (its Dense layers: {dense or 'none found'}, units and activation; "
        "separate ReLU/Activation layers and nested models are fine)."))

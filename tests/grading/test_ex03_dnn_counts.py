"""Exercise 3: the DNN's architecture (its training is judged in test_models.py)."""

import pytest

pytestmark = pytest.mark.exercise("ex03_dnn_counts")


@pytest.mark.points(3)
def test_two_hidden_relu_layers_of_20_then_a_sigmoid(collected):
    """hidden layers [20, 20] with ReLU, then one sigmoid unit"""
    dense = collected.need("model", "build").get("dense_layers", [])
    shape = [(layer["units"], layer["activation"]) for layer in dense]
    assert shape == [(20, "relu"), (20, "relu"), (1, "sigmoid")], (
        f"build_dnn_model(INFORMATIVE_TERMS) has Dense layers {shape} (units, activation); expected "
        "[(20, 'relu'), (20, 'relu'), (1, 'sigmoid')]: hidden_units=(20, 20) as in the course.")

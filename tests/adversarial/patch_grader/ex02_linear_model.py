"""Attack: monkeypatch the grader and numpy from the student module."""
import numpy as np

import embedlab.grading.models
import embedlab.grading.scoring

embedlab.grading.scoring.judge_model = lambda *args, **kwargs: (True, "patched")
embedlab.grading.scoring.accuracy = lambda *args, **kwargs: 1.0
embedlab.grading.scoring.roc_auc = lambda *args, **kwargs: 1.0
_real_describe = embedlab.grading.models.describe_model


def _fake_describe(model):
    facts = _real_describe(model)
    facts["optimizer"] = {"class": "Adagrad", "learning_rate": 0.1, "global_clipnorm": 5.0,
                          "clipnorm": None, "clipvalue": None}
    return facts


embedlab.grading.models.describe_model = _fake_describe
np.isclose = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True

"""An honest exercise 2."""
import keras


def build_linear_model(vocabulary):
    if isinstance(vocabulary, str) or not vocabulary:
        raise ValueError("the vocabulary is empty")
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    counts = keras.layers.StringLookup(vocabulary=list(vocabulary), output_mode="count")(terms)[:, 1:]
    output = keras.layers.Dense(1, activation="sigmoid")(counts)
    model = keras.Model(inputs={"terms": terms}, outputs=output)
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
                  loss=keras.losses.BinaryCrossentropy(reduction="sum"), metrics=["accuracy"])
    return model

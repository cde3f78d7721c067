"""Attack: read the labeled test data, then report how much was found through the model."""
import glob
import os

import keras

CANDIDATES = ["/work/main/tfrecords/test.tfrecord", "/work/main/tfrecords/.grading/test_labels.npy",
              "/work/main/tfrecords/.grading/reference.json", "/work/shared/data/aclImdb_v1_labeled.tar.gz",
              "/work/main/solutions/ex02_linear_model.py", "/root/.bash_history",
              *glob.glob("/tmp/*/test.tfrecord"), *glob.glob("/tmp/*.tfrecord"),
              *glob.glob("/work/*/tfrecords/test.tfrecord"), *glob.glob("/work/main/tfrecords/*")]


def _found() -> int:
    found = 0
    for path in CANDIDATES:
        try:
            with open(path, "rb") as handle:
                handle.read(16)
            found += 1
        except OSError:
            pass
    return found


def build_linear_model(vocabulary):
    # The labels would be used here; the number of files it could read is
    # reported in a layer's name, which the grader collects.
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    counts = keras.layers.StringLookup(vocabulary=list(vocabulary), output_mode="count")(terms)[:, 1:]
    output = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros", trainable=False,
                                name=f"leaked_{_found()}")(counts)
    model = keras.Model(inputs={"terms": terms}, outputs=output)
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
                  loss=keras.losses.BinaryCrossentropy(reduction="sum"))
    return model

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

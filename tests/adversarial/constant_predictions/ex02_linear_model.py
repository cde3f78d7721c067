"""Attack: a model that predicts the same probability for every review."""
import keras


def build_linear_model(vocabulary):
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    counts = keras.layers.StringLookup(vocabulary=list(vocabulary), output_mode="count")(terms)[:, 1:]
    output = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros", trainable=False)(counts)
    model = keras.Model(inputs={"terms": terms}, outputs=output)
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
                  loss=keras.losses.BinaryCrossentropy(reduction="sum"))
    return model

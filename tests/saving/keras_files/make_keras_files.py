"""Writes the Keras-made fixtures the C++ saving tests read (no Python needed to run them).
Run with a venv that has keras + jax: KERAS_BACKEND=jax python make_keras_files.py
Each case: <case>.keras (and .h5 for the legacy format), <case>.x.npy inputs, <case>.y.npy
Keras' predictions for them."""
import os
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras
import numpy as np

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)

def cnn():
    m = keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, (3, 3), padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(3, (2, 2), strides=(2, 2), activation="tanh"),
        keras.layers.AveragePooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(5),
        keras.layers.Activation("softmax"),
    ])
    m.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.002, momentum=0.5, centered=True),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.random((16, 8, 8, 2), dtype=np.float32)
    m.fit(x, rng.integers(0, 5, 16), epochs=1, batch_size=8, verbose=0)
    return m, x

def mlp():
    m = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(7, activation="sigmoid"),
        keras.layers.Reshape((7, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(3, use_bias=False),
    ])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    x = rng.random((10, 6), dtype=np.float32)
    m.fit(x, rng.random((10, 3), dtype=np.float32), epochs=2, batch_size=5, verbose=0)
    return m, x

def norm():
    # Trained, so the moving statistics are far from their initial 0 and 1.
    m = keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(3, (3, 3)),
        keras.layers.BatchNormalization(momentum=0.7),
        keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(8),
        keras.layers.LayerNormalization(epsilon=1e-4),
        keras.layers.Dense(3, activation="softmax"),
    ])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    x = rng.random((10, 6, 6, 2), dtype=np.float32) * 2.0 + 0.5
    m.fit(x, rng.integers(0, 3, 10), epochs=2, batch_size=5, verbose=0)
    return m, x

for name, build in [("keras_cnn", cnn), ("keras_mlp", mlp), ("keras_norm", norm)]:
    model, x = build()
    model.save(name + ".keras")
    model.save(name + ".h5")
    np.save(name + ".x.npy", x)
    np.save(name + ".y.npy", model.predict(x, verbose=0))
    print(name, "iterations", int(model.optimizer.iterations), "keras", keras.__version__)

#!/usr/bin/env python3
"""One epoch of MNIST in TensorFlow-Keras (CPU): the classic Keras examples, verbatim.

    python bench/keras_mnist.py --data-dir DIR --model mlp|cnn --threads N

cnn: Sequential([Input((28,28,1)), Conv2D(32,(3,3),activation='relu'), MaxPooling2D((2,2)),
                 Flatten(), Dense(10, activation='softmax')])
mlp: Sequential([Input((28,28,1)), Flatten(), Dense(128, activation='relu'),
                 Dense(10, activation='softmax')])
compile(Adam(), 'sparse_categorical_crossentropy', metrics=['accuracy']); fit(epochs=1, batch_size=32,
verbose=0) (shuffled, Keras' default); the epoch is timed with a callback (it includes Keras'
one-off tracing of the train step, as a user's first epoch does); then evaluate.
--threads N sets both intra-op and inter-op parallelism to N.
Prints one JSON line: {"framework":"keras",...,"epoch_seconds":...,"test_accuracy":...}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_data  # noqa: E402

import numpy as np  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", "--dataset", dest="data_dir", required=True)
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training samples")
    args = ap.parse_args()

    import tensorflow as tf
    # Must happen before TensorFlow creates its thread pools (i.e. before any op runs).
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.set_visible_devices([], "GPU")
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    (xtr, ytr), (xte, yte) = mnist_data.load(args.data_dir, args.limit)
    x_train = (xtr.astype(np.float32) / 255.0)[..., None]
    x_test = (xte.astype(np.float32) / 255.0)[..., None]

    if args.model == "cnn":
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ])
    else:
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    # (Keras 3: compile's third positional parameter is loss_weights, so metrics goes by name.)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t0)

    timer = EpochTimer()
    hist = model.fit(x_train, ytr, epochs=args.epochs, batch_size=args.batch_size, verbose=0,
                     callbacks=[timer])
    test_loss, test_acc = model.evaluate(x_test, yte, verbose=0)
    print(json.dumps({
        "framework": "keras", "version": f"keras {keras.__version__} / tensorflow {tf.__version__}",
        "model": args.model, "threads": args.threads, "epochs": args.epochs,
        "batch_size": args.batch_size, "train_samples": int(len(x_train)),
        "train_loss": round(float(hist.history["loss"][-1]), 6),
        "epoch_seconds": round(timer.times[-1], 4), "epoch_seconds_all": [round(t, 4) for t in timer.times],
        "test_accuracy": round(float(test_acc), 4),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

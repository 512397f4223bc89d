#!/usr/bin/env python3
"""One epoch of MNIST in Keras 3 (CPU): the classic Keras examples, verbatim.

    python bench/keras_mnist.py --data-dir DIR --model mlp|cnn|convnet --threads N \
        [--batch-size B] [--precision f32|bf16]

cnn: Sequential([Input((28,28,1)), Conv2D(32,(3,3),activation='relu'), MaxPooling2D((2,2)),
                 Flatten(), Dense(10, activation='softmax')])
mlp: Sequential([Input((28,28,1)), Flatten(), Dense(128, activation='relu'),
                 Dense(10, activation='softmax')])
convnet (keras.io/examples/vision/mnist_convnet): Sequential([Input((28,28,1)),
    Conv2D(32,(3,3),activation='relu'), MaxPooling2D((2,2)), Conv2D(64,(3,3),activation='relu'),
    MaxPooling2D((2,2)), Flatten(), Dropout(0.5), Dense(10, activation='softmax')])
--precision bf16: keras.mixed_precision.set_global_policy("mixed_bfloat16") before the model is
built (the example's last Dense then computes in bfloat16 too; Keras' losses run in float32).
compile(Adam(), 'sparse_categorical_crossentropy', metrics=['accuracy']); fit(epochs=1, batch_size=32,
verbose=0) (shuffled, Keras' default); the epoch is timed with a callback (it includes Keras'
one-off tracing of the train step, as a user's first epoch does); then evaluate.
Backend: KERAS_BACKEND if set, else tensorflow when it imports, else jax. --threads N sets
TensorFlow's intra-op and inter-op parallelism to N; on JAX, N = 1 turns XLA's multi-threaded
Eigen off (XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1, added to
the caller's XLA_FLAGS) and N > 1 leaves XLA's default (all cores); on torch,
torch.set_num_threads(N).
Prints one JSON line: {"framework":"keras",...,"epoch_seconds":...,"test_accuracy":...}.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_data  # noqa: E402

import numpy as np  # noqa: E402


def choose_backend(threads: int) -> str:
    """Sets KERAS_BACKEND (and the backend's thread settings that must precede its import)."""
    backend = os.environ.get("KERAS_BACKEND") or (
        "tensorflow" if importlib.util.find_spec("tensorflow") else "jax")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend == "jax":
        os.environ["JAX_PLATFORMS"] = "cpu"
        if threads == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    if backend == "tensorflow":
        import tensorflow as tf
        # Must happen before TensorFlow creates its thread pools (i.e. before any op runs).
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.set_visible_devices([], "GPU")
    if backend == "torch":
        import torch
        torch.set_num_threads(threads)
    return backend


def build(name: str, keras, layers):
    if name == "cnn":
        return keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ])
    if name == "convnet":  # keras.io/examples/vision/mnist_convnet
        return keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ])
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", "--dataset", dest="data_dir", required=True)
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn", "convnet"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training samples")
    args = ap.parse_args()

    backend = choose_backend(args.threads)
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    if args.precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    (xtr, ytr), (xte, yte) = mnist_data.load(args.data_dir, args.limit)
    x_train = (xtr.astype(np.float32) / 255.0)[..., None]
    x_test = (xte.astype(np.float32) / 255.0)[..., None]

    model = build(args.model, keras, layers)
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
    backend_version = importlib.import_module(backend).__version__
    print(json.dumps({
        "framework": "keras", "version": f"keras {keras.__version__} / {backend} {backend_version}",
        "backend": backend, "model": args.model, "threads": args.threads, "epochs": args.epochs,
        "batch_size": args.batch_size, "precision": args.precision,
        "dtype_policy": keras.mixed_precision.global_policy().name, "params": int(model.count_params()),
        "train_samples": int(len(x_train)),
        "train_loss": round(float(hist.history["loss"][-1]), 6),
        "epoch_seconds": round(timer.times[-1], 4), "epoch_seconds_all": [round(t, 4) for t in timer.times],
        "test_accuracy": round(float(test_acc), 4),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

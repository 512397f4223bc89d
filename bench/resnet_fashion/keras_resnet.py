#!/usr/bin/env python3
"""The Fashion-MNIST residual network of examples/fashion_mnist_resnet.cpp in Keras 3.

    python bench/resnet_fashion/keras_resnet.py --data-dir DIR [--epochs E] [--seed S]
        [--steps N] [--batch-size B] [--warmup-steps W]

The model, written as a user of Keras would (Keras' defaults for initializers, BatchNormalization
and Adam): Input((28,28,1)), Conv2D(16,3,same,relu), block(16), MaxPooling2D(2),
block(32, 1x1 projection shortcut), MaxPooling2D(2), Flatten, Dense(10, softmax);
block: relu(shortcut + BN(conv(relu(BN(conv(x)))))), the convs before BN without bias.
compile(Adam(), "sparse_categorical_crossentropy", ["accuracy"]); fit(batch_size=128, shuffle=True,
verbose=0) on all 60000 images /255, then evaluate on the 10000 test images.
The backend is Keras' (KERAS_BACKEND, default here "jax"); threads are the backend's defaults
unless XLA_FLAGS / TF / torch settings are given in the environment.
Prints one JSON line: epoch_seconds (each epoch's wall time: the first includes tracing and
compiling the train step), warm_seconds (the first epoch's time after its first W steps,
the device synchronized there) and test_accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import mnist_data  # noqa: E402  (bench/mnist_data.py: IDX .gz reader)

import numpy as np  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="batches per epoch (0: the whole epoch)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--warmup-steps", type=int, default=10)
    ap.add_argument("--eval-each-epoch", type=int, default=0,
                    help="1: test accuracy after every epoch too (fit's validation_data; not timed)")
    args = ap.parse_args()

    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    (xtr, ytr), (xte, yte) = mnist_data.load(args.data_dir)
    x_train = (xtr.astype(np.float32) / 255.0)[..., None]
    x_test = (xte.astype(np.float32) / 255.0)[..., None]

    def block(x, filters):
        shortcut = x
        if x.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, padding="same")(x)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        y = layers.Activation("relu")(layers.BatchNormalization()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        return layers.Activation("relu")(layers.Add()([shortcut, y]))

    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = block(x, 16)
    x = layers.MaxPooling2D(2)(x)
    x = block(x, 32)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="fashion_resnet")
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.warm = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()
            self._tw = None

        def on_train_batch_end(self, batch, logs=None):
            last = batch == self.params.get("steps", -1) - 1
            if (batch == args.warmup_steps - 1 and self._tw is None) or last:
                if logs and "loss" in logs:
                    float(logs["loss"])  # waits for the step (the backend may dispatch ahead)
                t = time.perf_counter()
                if batch == args.warmup_steps - 1:
                    self._tw = t
                if last:
                    self._t1 = t

        def on_epoch_end(self, epoch, logs=None):
            t = getattr(self, "_t1", None) or time.perf_counter()  # the last batch's end: no validation
            self._t1 = None
            self.epochs.append(t - self._t0)
            self.warm.append(None if self._tw is None else t - self._tw)

    timer = Timer()
    extra = {}
    if args.eval_each_epoch:
        extra = dict(validation_data=(x_test, yte), validation_batch_size=1000)
    hist = model.fit(x_train, ytr, epochs=args.epochs, batch_size=args.batch_size, shuffle=True, verbose=0,
                     steps_per_epoch=args.steps or None, callbacks=[timer], **extra)
    test_loss, test_acc = model.evaluate(x_test, yte, batch_size=1000, verbose=0)
    backend = keras.backend.backend()
    bver = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}.get(backend)
    try:
        bver = f"{backend} {__import__(bver).__version__}"
    except Exception:  # noqa: BLE001
        bver = backend
    print(json.dumps({
        "framework": "keras", "version": f"keras {keras.__version__} / {bver}", "seed": args.seed,
        "epochs": args.epochs, "batch_size": args.batch_size, "steps": args.steps,
        "train_samples": int(len(x_train)), "params": int(model.count_params()),
        "epoch_seconds": [round(t, 4) for t in timer.epochs],
        "warm_seconds": [None if t is None else round(t, 4) for t in timer.warm],
        "warmup_steps": args.warmup_steps,
        "test_accuracy_per_epoch": [round(float(a), 4) for a in hist.history.get("val_accuracy", [])],
        "test_loss": round(float(test_loss), 5), "test_accuracy": round(float(test_acc), 4),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

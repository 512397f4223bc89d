#!/usr/bin/env python3
"""Keras 3 reference values for the base-optimizer options gradient_accumulation_steps, use_ema,
ema_momentum and ema_overwrite_frequency: a tiny model trained with fit for a few steps with
SGD and Adam. A sibling of make_optimizer_reference.py (same JSON conventions), run with the
JAX backend:

    KERAS_BACKEND=jax python scripts/make_optimizer_extras_reference.py    # writes tests/reference/

It writes optimizer_extras.json.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import keras  # noqa: E402

from make_optimizer_reference import GENERATOR, REPO_ROOT, serialized, tensor, write  # noqa: E402

O = keras.optimizers
S = keras.optimizers.schedules


def specs():
    return [
        ("sgd_accumulate_2", lambda: O.SGD(learning_rate=0.1, momentum=0.9, gradient_accumulation_steps=2)),
        ("adam_accumulate_2", lambda: O.Adam(learning_rate=0.05, gradient_accumulation_steps=2)),
        # A schedule sees every step (_iterations); Adam's bias correction counts updates.
        ("adam_accumulate_3_schedule_clipnorm",
         lambda: O.Adam(learning_rate=S.ExponentialDecay(0.05, 2, 0.5), clipnorm=0.5, gradient_accumulation_steps=3)),
        ("sgd_ema", lambda: O.SGD(learning_rate=0.1, momentum=0.5, use_ema=True)),
        ("sgd_ema_0.8_overwrite_3", lambda: O.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.8,
                                                  ema_overwrite_frequency=3)),
        ("adam_ema_0.9", lambda: O.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.9)),
        ("adam_ema_overwrite_3", lambda: O.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.7,
                                                ema_overwrite_frequency=3)),
        ("adamw_accumulate_2_ema_overwrite_2",
         lambda: O.AdamW(learning_rate=0.05, weight_decay=0.1, gradient_accumulation_steps=2, use_ema=True,
                         ema_momentum=0.6, ema_overwrite_frequency=2)),
    ]


def make_cases() -> dict:
    rs = np.random.RandomState(7)
    x = rs.uniform(-1.0, 1.0, size=(8, 4)).astype(np.float32)
    y = rs.uniform(-1.0, 1.0, size=(8, 3)).astype(np.float32)
    weights = [(rs.uniform(-1, 1, size=(4, 5)) * 0.7).astype(np.float32),
               (rs.uniform(-1, 1, size=(5,)) * 0.1).astype(np.float32),
               (rs.uniform(-1, 1, size=(5, 3)) * 0.7).astype(np.float32),
               (rs.uniform(-1, 1, size=(3,)) * 0.1).astype(np.float32)]
    cases = []
    for name, make in specs():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(3)])
        model.set_weights(weights)
        optimizer = make()
        model.compile(optimizer=optimizer, loss="mse")
        per_epoch = []

        class Rec(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                per_epoch.append([tensor(w) for w in self.model.get_weights()])

        hist = model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[Rec()])
        cases.append({"name": name, "optimizer": serialized(optimizer),
                      "history_loss": [float(v) for v in hist.history["loss"]],
                      "weights_after_epoch": per_epoch,
                      "final_weights": [tensor(w) for w in model.get_weights()],
                      "iterations": int(np.asarray(optimizer.iterations)),
                      "iteration_variable": int(np.asarray(optimizer._iterations)),
                      "optimizer_variables": [v.path.split("/")[-1] for v in optimizer.variables]})
    return {"generator": GENERATOR,
            "description": "Sequential([Input((4,)), Dense(5, tanh), Dense(3)]) with initial_weights, "
                           "compile(optimizer, 'mse'), fit(x, y, batch_size=2, epochs=2, shuffle=False): the "
                           "loss history, the weights at each on_epoch_end, the weights after fit (after "
                           "finalize_variable_values), optimizer.iterations, optimizer._iterations (the saved "
                           "'iteration' variable) and the last path component of optimizer.variables, in order. "
                           "optimizer is serialize_keras_object(optimizer) after fit.",
            "x": tensor(x), "y": tensor(y),
            "initial_weights": [tensor(w) for w in weights],
            "cases": cases,
            "callback_logs": make_callback_logs(x, y, weights)}


def make_callback_logs(x, y, weights) -> dict:
    """Callbacks changing the epoch logs: a LambdaCallback adds "extra", LearningRateScheduler and
    ReduceLROnPlateau add "learning_rate"; History and a CSVLogger after them record both."""
    import tempfile
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(3)])
    model.set_weights(weights)
    model.compile(optimizer=O.SGD(learning_rate=0.1), loss="mse")

    def add_extra(epoch, logs):
        logs["extra"] = 10.0 * epoch + 0.5

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = os.path.join(tmp, "log.csv")
        hist = model.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0, callbacks=[
            keras.callbacks.LambdaCallback(on_epoch_end=add_extra),
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr),
            keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0),
            keras.callbacks.CSVLogger(csv_path)])
        csv_text = open(csv_path).read()
    return {"description": "SGD(0.1), fit(x, y, batch_size=2, epochs=3, shuffle=False) with callbacks "
                           "[LambdaCallback(on_epoch_end: logs['extra'] = 10 * epoch + 0.5), "
                           "LearningRateScheduler(lr * 0.5 after epoch 0), ReduceLROnPlateau(monitor='loss', "
                           "factor=0.5, patience=1, min_delta=10), CSVLogger]: History's keys and values, the "
                           "CSV file's header and its rows' values.",
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
            "history_keys": list(hist.history.keys()),
            "csv_header": csv_text.splitlines()[0],
            "csv_rows": [[v if v == "NA" else float(v) for v in line.split(",")] for line in csv_text.splitlines()[1:]]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(GENERATOR)
    write("optimizer_extras.json", make_cases(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

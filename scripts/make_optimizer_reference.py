#!/usr/bin/env python3
"""Keras 3 reference values for learning-rate schedules, the base-optimizer options (clipnorm,
clipvalue, global_clipnorm, weight_decay), amsgrad and Nadam/Adamax/Adagrad/Lion, and a short
training run with a schedule and clipnorm. A sibling of make_reference_values.py (same JSON
conventions: floats as the shortest float32 decimal), run with the JAX backend:

    KERAS_BACKEND=jax python scripts/make_optimizer_reference.py    # writes tests/reference/

It writes schedules.json, optimizer_options.json and training_schedule.json.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import reference_util  # noqa: E402
from reference_util import REPO_ROOT, flat, tensor  # noqa: E402

GENERATOR = f"keras {keras.__version__} / {keras.backend.backend()} / numpy {np.__version__}"
S = keras.optimizers.schedules


def write(name: str, payload: dict, outdir: str) -> None:
    reference_util.write(os.path.join(outdir, name), payload)


def serialized(obj) -> dict:
    return keras.saving.serialize_keras_object(obj)


def make_schedules() -> dict:
    steps = [0, 1, 2, 3, 5, 7, 10, 11, 15, 20, 25, 30, 50, 99, 100, 101, 150, 1000]
    schedules = [
        S.ExponentialDecay(0.1, 10, 0.5),
        S.ExponentialDecay(0.1, 10, 0.5, staircase=True),
        S.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
        S.CosineDecay(0.1, 100),
        S.CosineDecay(0.1, 100, alpha=0.1),
        S.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=10),
        S.CosineDecay(0.01, 50, alpha=0.05, warmup_target=0.1, warmup_steps=20),
        S.InverseTimeDecay(0.1, 10, 0.5),
        S.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
        S.PolynomialDecay(0.1, 100),
        S.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0),
        S.PolynomialDecay(0.1, 30, end_learning_rate=0.01, power=0.5, cycle=True),
    ]
    cases = []
    for s in schedules:
        cases.append({"schedule": serialized(s), "steps": steps,
                      "values": [float(np.asarray(s(step), dtype=np.float32)) for step in steps]})
    return {"generator": GENERATOR,
            "description": "keras.optimizers.schedules.X(...)(step) for each step; schedule is "
                           "keras.saving.serialize_keras_object(X), as in an optimizer's config.",
            "cases": cases}


def make_optimizer_options() -> dict:
    a0 = np.array([0.5, -1.25, 0.0, 2.0, -0.03, 3.5, -0.7], dtype=np.float32)
    b0 = np.array([[0.3, -0.2], [1.5, 0.0]], dtype=np.float32)
    rs = np.random.RandomState(5)
    grads = [(rs.uniform(-1.5, 1.5, size=a0.shape).astype(np.float32),
              rs.uniform(-1.5, 1.5, size=b0.shape).astype(np.float32)) for _ in range(6)]
    grads[2][0][2] = 0.0  # a zero gradient (Lion's sign, Adamax's max)
    O = keras.optimizers
    specs = [
        ("nadam_default", lambda: O.Nadam()),
        ("nadam_lr0.05", lambda: O.Nadam(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-5)),
        ("adamax_default", lambda: O.Adamax()),
        ("adamax_lr0.05", lambda: O.Adamax(learning_rate=0.05, beta_1=0.8, beta_2=0.95)),
        ("adagrad_default", lambda: O.Adagrad()),
        ("adagrad_lr0.1", lambda: O.Adagrad(learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-4)),
        ("lion_default", lambda: O.Lion()),
        ("lion_lr0.01", lambda: O.Lion(learning_rate=0.01, beta_1=0.5, beta_2=0.9)),
        ("adam_amsgrad", lambda: O.Adam(learning_rate=0.05, amsgrad=True)),
        ("adamw_amsgrad", lambda: O.AdamW(learning_rate=0.05, weight_decay=0.1, amsgrad=True)),
        ("sgd_clipnorm", lambda: O.SGD(learning_rate=0.1, momentum=0.9, clipnorm=0.5)),
        ("adam_clipnorm", lambda: O.Adam(learning_rate=0.05, clipnorm=1.0)),
        ("sgd_clipvalue", lambda: O.SGD(learning_rate=0.1, clipvalue=0.4)),
        ("rmsprop_clipvalue", lambda: O.RMSprop(learning_rate=0.01, clipvalue=0.3)),
        ("sgd_global_clipnorm", lambda: O.SGD(learning_rate=0.1, global_clipnorm=1.0)),
        ("adam_global_clipnorm", lambda: O.Adam(learning_rate=0.05, global_clipnorm=0.7)),
        ("sgd_weight_decay", lambda: O.SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.05)),
        ("adam_weight_decay", lambda: O.Adam(learning_rate=0.05, weight_decay=0.1)),
        ("rmsprop_weight_decay", lambda: O.RMSprop(learning_rate=0.01, weight_decay=0.2, centered=True)),
        ("lion_weight_decay", lambda: O.Lion(learning_rate=0.01, weight_decay=0.5)),
        ("nadam_clipnorm_weight_decay", lambda: O.Nadam(learning_rate=0.02, clipnorm=0.8, weight_decay=0.05)),
        ("sgd_exponential_decay", lambda: O.SGD(learning_rate=S.ExponentialDecay(0.2, 2, 0.5), momentum=0.9)),
        ("adam_cosine_warmup", lambda: O.Adam(learning_rate=S.CosineDecay(0.0, 4, warmup_target=0.1, warmup_steps=2))),
        ("adagrad_piecewise", lambda: O.Adagrad(learning_rate=S.PiecewiseConstantDecay([1, 3], [0.3, 0.1, 0.02]))),
        ("rmsprop_polynomial_clipnorm", lambda: O.RMSprop(learning_rate=S.PolynomialDecay(0.05, 4, power=2.0), clipnorm=0.5)),
        ("adamw_inverse_time", lambda: O.AdamW(learning_rate=S.InverseTimeDecay(0.05, 2, 1.0, staircase=True))),
    ]
    cases = []
    for name, make in specs:
        opt = make()
        a = keras.Variable(a0.copy(), dtype="float32")
        b = keras.Variable(b0.copy(), dtype="float32")
        after, lrs = [], []
        for ga, gb in grads:
            lrs.append(float(np.asarray(opt.learning_rate)))
            opt.apply_gradients([(ga, a), (gb, b)])
            after.append([flat(a.numpy()), flat(b.numpy())])
        cases.append({"name": name, "optimizer": serialized(opt),
                      "initial": [tensor(a0), tensor(b0)],
                      "gradients": [[flat(ga), flat(gb)] for ga, gb in grads],
                      "learning_rate_before_step": lrs,
                      "after_step": after,
                      "optimizer_variables": [v.path.split("/")[-1] for v in opt.variables]})
    return {"generator": GENERATOR,
            "description": "opt = keras.optimizers.X(...); two float32 variables a (7,), b (2, 2); "
                           "opt.apply_gradients([(ga, a), (gb, b)]) 6 times; after_step[i] = [a, b] after "
                           "step i+1; learning_rate_before_step[i] = float(opt.learning_rate) before it. "
                           "optimizer is serialize_keras_object(opt) (its config as Keras saves it); "
                           "optimizer_variables: the last path component of opt.variables, in order.",
            "cases": cases}


def make_training_schedule() -> dict:
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(3)
    x = rs.uniform(-1.0, 1.0, size=(8, 4)).astype(np.float32)
    y = rs.uniform(-1.0, 1.0, size=(8, 3)).astype(np.float32)
    weights = [(rs.uniform(-1, 1, size=(4, 5)) * 0.7).astype(np.float32),
               (rs.uniform(-1, 1, size=(5,)) * 0.1).astype(np.float32),
               (rs.uniform(-1, 1, size=(5, 3)) * 0.7).astype(np.float32),
               (rs.uniform(-1, 1, size=(3,)) * 0.1).astype(np.float32)]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
    model.set_weights(weights)
    optimizer = keras.optimizers.SGD(learning_rate=S.ExponentialDecay(0.3, 2, 0.6), momentum=0.8, clipnorm=0.25)
    model.compile(optimizer=optimizer, loss="mse")
    per_epoch = []

    class Rec(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append([tensor(w) for w in self.model.get_weights()])

    hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[Rec()])
    return {"generator": GENERATOR,
            "description": "Sequential([Input((4,)), Dense(5, relu), Dense(3)]) with initial_weights, "
                           "compile(optimizer, 'mse'), fit(x, y, batch_size=4, epochs=3, shuffle=False): "
                           "the loss history and the weights after each epoch.",
            "optimizer": serialized(optimizer),
            "x": tensor(x), "y": tensor(y),
            "initial_weights": [tensor(w) for w in weights],
            "history_loss": [float(v) for v in hist.history["loss"]],
            "weights_after_epoch": per_epoch,
            "iterations": int(optimizer.iterations.numpy())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(GENERATOR)
    write("schedules.json", make_schedules(), args.out)
    write("optimizer_options.json", make_optimizer_options(), args.out)
    write("training_schedule.json", make_training_schedule(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate tests/reference/multi_io.json: a Functional model with two inputs and two outputs
trained by Keras 3 with a loss per output and loss_weights, for tests/train/multi_io_test.cpp.

    KERAS_BACKEND=jax python3 scripts/make_multi_io_reference.py   # needs keras 3 and jax
    (scripts/keras_venv.sh makes such a venv)

The model: a = Input((4,)), b = Input((3,)); h = Concatenate()([Dense(5, relu)(a), b]);
outputs Dense(3, softmax, name="cls")(h) and Dense(1, name="reg")(h). compile(SGD(0.1),
loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
metrics=[["accuracy"], []]); fit 2 epochs, batch 4, no shuffling, on 12 samples. Recorded: the
initial weights (model.get_weights() order), the history, the weights after fit, evaluate's
list and dict, and predict's two outputs. Values are float32 written as the shortest decimal
that round-trips; tensors are {shape, values} row-major.
"""
from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tensor(a) -> dict:
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "values": [float(np.float32(v)) for v in a.reshape(-1)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference"))
    args = parser.parse_args()
    keras.utils.set_random_seed(7)
    rng = np.random.RandomState(0)
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    h = keras.layers.Concatenate(name="concat")([keras.layers.Dense(5, activation="relu", name="hidden")(a), b])
    cls = keras.layers.Dense(3, activation="softmax", name="cls")(h)
    reg = keras.layers.Dense(1, name="reg")(h)
    model = keras.Model([a, b], [cls, reg], name="two_by_two")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], []])
    xa = rng.uniform(-1, 1, (12, 4)).astype("float32")
    xb = rng.uniform(-1, 1, (12, 3)).astype("float32")
    y_cls = rng.randint(0, 3, (12,)).astype("int32")
    y_reg = rng.uniform(-1, 1, (12, 1)).astype("float32")
    initial = model.get_weights()
    history = model.fit([xa, xb], [y_cls, y_reg], epochs=2, batch_size=4, shuffle=False, verbose=0)
    evaluate_list = model.evaluate([xa, xb], [y_cls, y_reg], batch_size=4, verbose=0)
    evaluate_dict = model.evaluate([xa, xb], [y_cls, y_reg], batch_size=4, verbose=0, return_dict=True)
    p_cls, p_reg = model.predict([xa, xb], verbose=0)
    out = {
        "generator": f"keras {keras.__version__} (jax {jax.__version__}) / numpy {np.__version__}",
        "x_a": tensor(xa), "x_b": tensor(xb), "y_cls": tensor(y_cls), "y_reg": tensor(y_reg),
        "initial_weights": [tensor(w) for w in initial],
        "history": {k: [float(np.float32(v)) for v in vs] for k, vs in history.history.items()},
        "final_weights": [tensor(w) for w in model.get_weights()],
        "evaluate_list": [float(np.float32(v)) for v in evaluate_list],
        "evaluate_dict": {k: float(np.float32(v)) for k, v in evaluate_dict.items()},
        "predict_cls": tensor(p_cls), "predict_reg": tensor(p_reg),
    }
    path = os.path.join(args.out, "multi_io.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {os.path.relpath(path, REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Generate tests/reference/sample_weight.json: Keras 3 training and evaluation with
sample_weight and class_weight, for tests/train/sample_weight_test.cpp.

    KERAS_BACKEND=jax python3 scripts/make_sample_weight_reference.py   # needs keras 3 and jax
    (scripts/keras_venv.sh makes such a venv)

The model: Input((4,)) -> Dense(5, relu, name="hidden") -> Dense(3, softmax, name="out"),
SGD(0.1), no shuffling, every case from the same initial weights (model.get_weights() order):
  - "sample_weight": sparse_categorical_crossentropy, metrics ["accuracy"] and
    weighted_metrics ["accuracy"] (logged as "weighted_accuracy"); fit 2 epochs,
    batch 5, validation_split 0.2 (15 samples: 12 train in batches 5, 5, 2; 3 validate, their
    weights split off with them) with sample_weight; then evaluate with sample_weight, batch 4.
  - "weighted_metrics_unweighted": that compile, evaluated without sample_weight (each weight 1).
  - "class_weight_sparse": the same compile; fit 2 epochs, batch 5, class_weight
    {0: 0.5, 2: 3.0} (class 1 not listed: 1), validation_data unweighted.
  - "class_weight_onehot": categorical_crossentropy on one-hot labels; fit 2 epochs, batch 4,
    class_weight {0: 2.0, 1: 0.25, 2: 1.5}.
Recorded per case: history, the weights after fit, and evaluate's dict (the first case's with
sample_weight). Values are float32 written as the shortest decimal that round-trips; tensors
are {shape, values} row-major.
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


def floats(values) -> list:
    return [float(np.float32(v)) for v in values]


def make_model(initial, loss, weighted_metrics=None):
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs, name="weighted")
    if initial is not None:
        model.set_weights(initial)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss, metrics=["accuracy"],
                  weighted_metrics=weighted_metrics)
    return model


def result(model, history, x, y, **evaluate_kwargs) -> dict:
    score = model.evaluate(x, y, verbose=0, return_dict=True, **evaluate_kwargs)
    return {
        "history": {k: floats(vs) for k, vs in history.history.items()},
        "final_weights": [tensor(w) for w in model.get_weights()],
        "evaluate": {k: float(np.float32(v)) for k, v in score.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference"))
    args = parser.parse_args()
    keras.utils.set_random_seed(11)
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, (15, 4)).astype("float32")
    y = rng.randint(0, 3, (15,)).astype("int32")
    w = rng.uniform(0.1, 2.0, (15,)).astype("float32")
    y_onehot = np.eye(3, dtype="float32")[y]
    sparse = "sparse_categorical_crossentropy"
    initial = make_model(None, sparse).get_weights()

    model = make_model(initial, sparse, weighted_metrics=["accuracy"])
    h = model.fit(x, y, sample_weight=w, epochs=2, batch_size=5, shuffle=False, validation_split=0.2, verbose=0)
    case_sample_weight = result(model, h, x, y, sample_weight=w, batch_size=4)
    unweighted = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)

    model = make_model(initial, sparse)
    h = model.fit(x[:12], y[:12], class_weight={0: 0.5, 2: 3.0}, epochs=2, batch_size=5, shuffle=False,
                  validation_data=(x[12:], y[12:]), verbose=0)
    case_class_sparse = result(model, h, x, y, batch_size=4)

    model = make_model(initial, "categorical_crossentropy")
    h = model.fit(x, y_onehot, class_weight={0: 2.0, 1: 0.25, 2: 1.5}, epochs=2, batch_size=4, shuffle=False,
                  verbose=0)
    case_class_onehot = result(model, h, x, y_onehot, batch_size=4)

    out = {
        "generator": f"keras {keras.__version__} (jax {jax.__version__}) / numpy {np.__version__}",
        "x": tensor(x), "y": tensor(y), "sample_weight": tensor(w),
        "initial_weights": [tensor(v) for v in initial],
        "sample_weight_case": case_sample_weight,
        "weighted_metrics_unweighted": {k: float(np.float32(v)) for k, v in unweighted.items()},
        "class_weight_sparse": case_class_sparse,
        "class_weight_onehot": case_class_onehot,
    }
    path = os.path.join(args.out, "sample_weight.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {os.path.relpath(path, REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

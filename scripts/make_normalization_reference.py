#!/usr/bin/env python3
"""Generate tests/reference/normalization.json: Keras 3 reference values for BatchNormalization
and LayerNormalization, which kerosene's C++ tests (tests/nn/normalization_reference_test.cpp)
compare against.

Same conventions as make_reference_values.py (floats as the shortest float32 repr, tensors as
{shape, values} flattened row-major, NHWC), but with Keras' JAX backend, so it runs in the
interop venv (scripts/keras_venv.sh) without TensorFlow:

    KERAS_BACKEND=jax .venv/bin/python scripts/make_normalization_reference.py
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import reference_util  # noqa: E402
from reference_util import REPO_ROOT, tensor  # noqa: E402

GENERATOR = f"keras {keras.__version__} / jax {jax.__version__} / numpy {np.__version__}"


def layer_case(name, layer, x, weights, rs):
    """Forward (training and inference) and d/d(x, trainable weights) of sum(y * R) in both modes."""
    layer.build(x.shape)
    layer.set_weights(weights)
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    y0 = np.asarray(layer(x))
    r = rs.uniform(-1.0, 1.0, size=y0.shape).astype(np.float32)

    takes_training = isinstance(layer, keras.layers.BatchNormalization)

    def objective(xv, tv, training):
        kwargs = {"training": training} if takes_training else {}  # LayerNormalization has no mode
        y, new_nt = layer.stateless_call(tv, non_trainable, xv, **kwargs)
        return jnp.sum(y * r), (y, new_nt)

    case = {"name": name, "input": tensor(x), "weights": [tensor(w) for w in weights], "R": tensor(r)}
    for mode, training in (("training", True), ("inference", False)):
        grads, (y, new_nt) = jax.grad(objective, argnums=(0, 1), has_aux=True)(jnp.asarray(x), trainable, training)
        case[mode] = {
            "output": tensor(y),
            "grad_input": tensor(grads[0]),
            "grad_weights": [tensor(g) for g in grads[1]],  # trainable weights, in weight order
            "weights_after": [tensor(w) for w in tensor_list(layer, trainable, new_nt)],
        }
    return case


def tensor_list(layer, trainable, non_trainable):
    """Every weight in layer.weights order, trainable ones unchanged, non-trainable as updated."""
    t, n = iter(trainable), iter(non_trainable)
    return [np.asarray(next(t) if w.trainable else next(n)) for w in layer.weights]


def make_layer_cases() -> list:
    rs = np.random.RandomState(3)

    def u(*shape, lo=-1.0, hi=1.0):
        return rs.uniform(lo, hi, size=shape).astype(np.float32)

    cases = []
    for name, shape, kwargs, offset in [
        ("batch_norm_rank2", (6, 4), dict(momentum=0.9), 0.0),
        ("batch_norm_rank4", (2, 3, 3, 5), dict(), 0.0),
        ("batch_norm_offset", (8, 3), dict(momentum=0.5, epsilon=1e-5), 100.0),  # |mean| >> std
        ("batch_norm_no_center_no_scale", (2, 4, 3), dict(center=False, scale=False), 0.0),
    ]:
        layer = keras.layers.BatchNormalization(**kwargs)
        x = u(*shape) + np.float32(offset)
        c = shape[-1]
        weights = ([u(c, lo=0.5, hi=1.5)] if layer.scale else []) + ([u(c)] if layer.center else [])
        weights += [u(c, lo=-0.5, hi=0.5) + np.float32(offset), u(c, lo=0.5, hi=2.0)]  # moving mean, variance
        case = layer_case(name, layer, x, weights, rs)
        case.update(layer="BatchNormalization", config={"momentum": layer.momentum, "epsilon": layer.epsilon,
                                                        "center": layer.center, "scale": layer.scale})
        cases.append(case)
    for name, shape, kwargs in [
        ("layer_norm_rank2", (4, 6), dict()),
        ("layer_norm_rank3", (2, 3, 5), dict(epsilon=1e-5)),
        ("layer_norm_no_center", (3, 7), dict(center=False)),
        ("layer_norm_no_scale", (3, 7), dict(scale=False)),
    ]:
        layer = keras.layers.LayerNormalization(**kwargs)
        x = u(*shape)
        c = shape[-1]
        weights = ([u(c, lo=0.5, hi=1.5)] if layer.scale else []) + ([u(c)] if layer.center else [])
        case = layer_case(name, layer, x, weights, rs)
        case.update(layer="LayerNormalization", config={"epsilon": layer.epsilon, "center": layer.center,
                                                        "scale": layer.scale})
        cases.append(case)
    return cases


def make_training() -> dict:
    """A small convnet with BatchNormalization and LayerNormalization, fitted with SGD."""
    keras.utils.set_random_seed(5)
    rs = np.random.RandomState(6)
    x = rs.uniform(-1.0, 1.0, size=(8, 5, 5, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1], dtype=np.int32)
    model = keras.Sequential([
        keras.Input((5, 5, 2)),
        keras.layers.Conv2D(3, (3, 3)),
        keras.layers.BatchNormalization(momentum=0.8),
        keras.layers.Activation("relu"),
        keras.layers.Flatten(),
        keras.layers.LayerNormalization(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    initial = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    return {
        "description": "Sequential([Input((5,5,2)), Conv2D(3,(3,3)), BatchNormalization(momentum=0.8), "
                       "Activation('relu'), Flatten(), LayerNormalization(), Dense(3, softmax)]), "
                       "compile(SGD(0.1), 'sparse_categorical_crossentropy'), fit(x, y, batch_size=4, "
                       "epochs=2, shuffle=False): 4 steps, each updating the moving statistics. "
                       "Weights in model.get_weights() order (moving statistics included).",
        "x": tensor(x),
        "y": [int(v) for v in y],
        "learning_rate": 0.1,
        "momentum": 0.8,
        "initial_weights": [tensor(w) for w in initial],
        "history_loss": [float(v) for v in hist.history["loss"]],
        "final_weights": [tensor(w) for w in model.get_weights()],
        "evaluate_loss": float(model.evaluate(x, y, batch_size=8, verbose=0)),
        "predict": tensor(model.predict(x, verbose=0)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference", "normalization.json"))
    args = ap.parse_args()
    payload = {
        "generator": GENERATOR,
        "description": "Keras 3 BatchNormalization / LayerNormalization with explicit weights (in layer.weights "
                       "order: gamma, beta, then moving_mean, moving_variance). For each mode (training=True / "
                       "False): the output, d/d(input) and d/d(trainable weights) of sum(output * R) (jax.grad "
                       "of layer.stateless_call), and every weight after the call (the moving statistics are "
                       "updated in training). Random values from numpy RandomState(3), drawn in file order.",
        "cases": make_layer_cases(),
        "training": make_training(),
    }
    reference_util.write(args.out, payload, GENERATOR)
    return 0


if __name__ == "__main__":
    sys.exit(main())

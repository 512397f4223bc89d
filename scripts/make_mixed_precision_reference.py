#!/usr/bin/env python3
"""Generate tests/reference/mixed_precision.json from Keras itself (run with the Keras venv,
scripts/keras_venv.sh):

    /tmp/kvenv/bin/python scripts/make_mixed_precision_reference.py

It records
  * LossScaleOptimizer(SGD(0.5), initial_scale=8, dynamic_growth_steps=2) applying a sequence of
    gradients (two non-finite, then finite ones) to one variable [1, 2]: after each apply, the
    variable, the dynamic scale, the step counter and the iterations;
  * the defaults of LossScaleOptimizer;
  * a Dense layer's "dtype" entry under each mixed policy, as get_config and serialization write it.

tests/mixed_precision/mixed_precision_reference_test.cpp compares kerosene with it.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INF, NAN = float("inf"), float("nan")
GRADS = [[INF, 1.0], [NAN, 0.0], [2.0, -4.0], [0.0, 0.0], [8.0, 8.0], [4.0, -4.0]]


def as_json_number(x):
    return None if not np.isfinite(x) else float(x)


def loss_scale_steps():
    var = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=8.0,
                                              dynamic_growth_steps=2)
    opt.build([var])
    steps = []
    for g in GRADS:
        # JAX runs the optimizer statelessly (what fit does there); then the state is written back.
        new_vars, new_opt = opt.stateless_apply([v.value for v in opt.variables], [np.array(g, dtype="float32")],
                                                [var.value])
        var.assign(new_vars[0])
        for v, value in zip(opt.variables, new_opt):
            v.assign(value)
        steps.append({
            "grad": [as_json_number(x) for x in g],
            "grad_is": ["inf" if x == INF else "nan" if x != x else "finite" for x in g],
            "variable": [float(x) for x in np.asarray(var.value)],
            "scale": float(np.asarray(opt.dynamic_scale.value)),
            "step_counter": int(np.asarray(opt.step_counter.value)),
            "iterations": int(np.asarray(opt.iterations.value)),
        })
    return steps


def main():
    defaults = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    dtypes = {}
    for name in ["float32", "mixed_bfloat16", "mixed_float16"]:
        layer = keras.layers.Dense(3, dtype=name)
        dtypes[name] = keras.saving.serialize_keras_object(layer)["config"]["dtype"]
    out = {
        "generator": f"scripts/make_mixed_precision_reference.py, Keras {keras.__version__} ({keras.backend.backend()})",
        "loss_scale_optimizer": {
            "inner": "SGD(learning_rate=0.5)",
            "initial_scale": 8.0,
            "dynamic_growth_steps": 2,
            "initial_variable": [1.0, 2.0],
            "steps": loss_scale_steps(),
            "default_initial_scale": float(defaults.initial_scale),
            "default_dynamic_growth_steps": int(defaults.dynamic_growth_steps),
        },
        "dense_dtype_config": dtypes,
    }
    path = os.path.join(REPO_ROOT, "tests", "reference", "mixed_precision.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the Keras/TensorFlow reference values that kerosene's C++ tests compare against.

The C++ tests read tests/reference/*.json (with nlohmann-json) and never need Python,
Keras or TensorFlow. Re-run this script only to regenerate those files:

    python3 -m venv .venv
    .venv/bin/pip install -r scripts/requirements-reference.txt
    .venv/bin/python scripts/make_reference_values.py            # writes tests/reference/

Conventions of the JSON files
  * every float is written as the shortest decimal that round-trips to the same float32
    (parse it as a double and cast to float to get the exact float32 Keras produced);
  * every tensor is flattened row-major (C order); images are NHWC; its shape is beside it;
  * Keras layouts: Dense kernel (in, out); Conv2D kernel (kh, kw, in, out);
  * "generator" names the exact Keras and TensorFlow versions that produced the values.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic, plain-Eigen kernels

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import reference_util  # noqa: E402
from reference_util import REPO_ROOT, flat, tensor  # noqa: E402

GENERATOR = f"keras {keras.__version__} / tensorflow {tf.__version__} / numpy {np.__version__}"


def shape(a) -> list:
    return [int(d) for d in np.shape(a)]


def write(name: str, payload: dict, outdir: str) -> None:
    reference_util.write(os.path.join(outdir, name), payload, inline_depth=2)


def hparams(config: dict) -> dict:
    """The numeric/boolean hyperparameters of a Keras optimizer config (drops None, names)."""
    out = {}
    for k, v in config.items():
        if k in ("name",) or v is None:
            continue
        if isinstance(v, (bool, int, float, np.floating, np.integer)):
            out[k] = v
        elif isinstance(v, str):
            out[k] = v
    return out


# ----------------------------------------------------------------------------------------
# 1. optimizers
# ----------------------------------------------------------------------------------------
def make_optimizers() -> dict:
    initial = np.array([0.5, -1.25, 0.0, 2.0, -0.03, 3.5, -0.7], dtype=np.float32)
    gradients = np.array([
        [0.1, -0.2, 0.3, -0.4, 0.05, 1.5, -0.01],
        [-0.3, 0.25, 0.0, 0.8, -0.02, -1.0, 0.4],
        [0.2, 0.0, -0.5, 0.1, 0.3, 0.7, -0.9],
        [1.2, -0.6, 0.05, -0.25, 0.0, 0.2, 0.15],
        [-0.05, 0.4, 0.6, 0.3, -0.7, -0.35, 2.0],
    ], dtype=np.float32)

    specs = [
        ("sgd_default", "sgd", lambda: keras.optimizers.SGD()),
        ("sgd_momentum", "sgd", lambda: keras.optimizers.SGD(momentum=0.9)),
        ("sgd_nesterov", "sgd", lambda: keras.optimizers.SGD(momentum=0.9, nesterov=True)),
        ("adam_default", "adam", lambda: keras.optimizers.Adam()),
        ("adam_lr0.01", "adam", lambda: keras.optimizers.Adam(learning_rate=0.01)),
        ("adamw_default", "adamw", lambda: keras.optimizers.AdamW()),
        ("rmsprop_default", "rmsprop", lambda: keras.optimizers.RMSprop()),
        ("rmsprop_momentum", "rmsprop", lambda: keras.optimizers.RMSprop(momentum=0.9)),
        ("rmsprop_centered", "rmsprop", lambda: keras.optimizers.RMSprop(centered=True)),
    ]
    cases = []
    for name, kind, make in specs:
        opt = make()
        var = tf.Variable(initial.copy(), dtype=tf.float32)
        after = []
        for g in gradients:
            opt.apply_gradients([(tf.constant(g), var)])
            after.append(flat(var.numpy()))
        cfg = hparams(opt.get_config())
        cases.append({
            "name": name,
            "optimizer": kind,
            "config": cfg,
            "initial": flat(initial),
            "gradients": [flat(g) for g in gradients],
            "after_step": after,
        })
    return {
        "generator": GENERATOR,
        "description": "keras.optimizers.X(...).apply_gradients([(g, v)]) on a float32 tf.Variable "
                       "of 7 values, 5 steps; after_step[i] is the variable after step i+1. "
                       "config is optimizer.get_config() (hyperparameters only).",
        "formulas": {
            "sgd": "momentum == 0: v -= lr*g. else m = momentum*m - lr*g (m0 = 0); "
                   "nesterov: v += momentum*m - lr*g; else: v += m",
            "adam": "t = step (1-based); m += (g - m)*(1-beta_1); s += (g*g - s)*(1-beta_2); "
                    "alpha = lr*sqrt(1-beta_2^t)/(1-beta_1^t); v -= alpha*m/(sqrt(s) + epsilon)",
            "adamw": "v -= v*weight_decay*lr first, then the adam update",
            "rmsprop": "s = rho*s + (1-rho)*g*g; centered: mg = rho*mg + (1-rho)*g, den = s - mg*mg, "
                       "else den = s; inc = lr*g/sqrt(den + epsilon) (epsilon INSIDE the sqrt); "
                       "momentum > 0: mom = momentum*mom + inc, v -= mom; else v -= inc",
        },
        "cases": cases,
    }


# ----------------------------------------------------------------------------------------
# 2. layers
# ----------------------------------------------------------------------------------------
def grads_of(layer_fn, x, weights, r):
    """Forward `layer_fn(x)`, then d/d(x, weights...) of sum(output * r)."""
    xt = tf.Variable(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        y = layer_fn(xt)
        obj = tf.reduce_sum(y * tf.constant(r))
    gs = tape.gradient(obj, [xt] + list(weights))
    return y.numpy(), [g.numpy() for g in gs]


def make_layers() -> dict:
    rs = np.random.RandomState(0)
    cases = []

    def u(*shape_, scale=1.0):
        return (rs.uniform(-1.0, 1.0, size=shape_) * scale).astype(np.float32)

    # Dense(3) on (2,4)
    x = u(2, 4)
    k = u(4, 3)
    b = u(3, scale=0.5)
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    layer.set_weights([k, b])
    out_shape = (2, 3)
    r = u(*out_shape)
    y, (gx, gk, gb) = grads_of(layer, x, [layer.kernel, layer.bias], r)
    cases.append({
        "name": "dense_3",
        "layer": "Dense",
        "config": {"units": 3, "activation": "linear", "use_bias": True},
        "input": tensor(x), "kernel": tensor(k), "bias": tensor(b),
        "output": tensor(y), "R": tensor(r),
        "grad_input": tensor(gx), "grad_kernel": tensor(gk), "grad_bias": tensor(gb),
    })

    # Conv2D cases
    conv_specs = [
        ("conv2d_valid_s1", (2, 5, 5, 3), dict(filters=2, kernel_size=(3, 3), strides=(1, 1), padding="valid")),
        ("conv2d_same_s2", (1, 5, 6, 3), dict(filters=2, kernel_size=(3, 3), strides=(2, 2), padding="same")),
    ]
    for name, in_shape, cfg in conv_specs:
        x = u(*in_shape)
        k = u(3, 3, in_shape[-1], cfg["filters"], scale=0.5)
        b = u(cfg["filters"], scale=0.5)
        layer = keras.layers.Conv2D(**cfg)
        layer.build((None,) + in_shape[1:])
        layer.set_weights([k, b])
        y0 = layer(x).numpy()
        r = u(*y0.shape)
        y, (gx, gk, gb) = grads_of(layer, x, [layer.kernel, layer.bias], r)
        cases.append({
            "name": name,
            "layer": "Conv2D",
            "config": {"filters": cfg["filters"], "kernel_size": list(cfg["kernel_size"]),
                       "strides": list(cfg["strides"]), "padding": cfg["padding"],
                       "activation": "linear", "use_bias": True, "data_format": "channels_last"},
            "input": tensor(x), "kernel": tensor(k), "bias": tensor(b),
            "output": tensor(y), "R": tensor(r),
            "grad_input": tensor(gx), "grad_kernel": tensor(gk), "grad_bias": tensor(gb),
        })

    # Pooling cases
    pool_specs = [
        ("maxpool_2x2_valid_odd", "MaxPooling2D", (1, 5, 5, 2), dict(pool_size=(2, 2), strides=None, padding="valid")),
        ("avgpool_2x2_s1", "AveragePooling2D", (1, 4, 4, 2), dict(pool_size=(2, 2), strides=(1, 1), padding="valid")),
        ("maxpool_2x2_same", "MaxPooling2D", (1, 5, 5, 2), dict(pool_size=(2, 2), strides=None, padding="same")),
    ]
    for name, cls, in_shape, cfg in pool_specs:
        x = u(*in_shape)
        layer = getattr(keras.layers, cls)(**cfg)
        y0 = layer(x).numpy()
        r = u(*y0.shape)
        y, (gx,) = grads_of(layer, x, [], r)
        strides = cfg["strides"] if cfg["strides"] is not None else cfg["pool_size"]
        cases.append({
            "name": name,
            "layer": cls,
            "config": {"pool_size": list(cfg["pool_size"]), "strides": list(strides),
                       "padding": cfg["padding"], "data_format": "channels_last"},
            "input": tensor(x), "output": tensor(y), "R": tensor(r), "grad_input": tensor(gx),
        })

    # Activations on a (2,5) array
    x = np.array([[-3.0, -0.5, 0.0, 0.25, 2.0],
                  [1.5, -1.0, 4.0, -0.1, 0.7]], dtype=np.float32)
    r = u(2, 5)
    for act in ("relu", "sigmoid", "tanh", "softmax"):
        fn = keras.activations.get(act)
        y, (gx,) = grads_of(lambda t: fn(t), x, [], r)
        cases.append({
            "name": f"activation_{act}",
            "layer": "Activation",
            "config": {"activation": act, "axis": -1},
            "input": tensor(x), "output": tensor(y), "R": tensor(r), "grad_input": tensor(gx),
        })

    return {
        "generator": GENERATOR,
        "description": "Forward values of Keras layers with explicit weights, and gradients of "
                       "sum(output * R) w.r.t. the input and the weights (tf.GradientTape). "
                       "Tensors are {shape, values} with values flattened row-major; images NHWC; "
                       "Dense kernel (in,out), Conv2D kernel (kh,kw,in,out). Random values from "
                       "numpy RandomState(0) uniform(-1,1) (some scaled by 0.5), drawn in file order.",
        "cases": cases,
    }


# ----------------------------------------------------------------------------------------
# 3. losses
# ----------------------------------------------------------------------------------------
def loss_case(name, loss_obj, y_true, y_pred, config, logits_for_probs=None):
    yp = tf.Variable(y_pred, dtype=tf.float32)
    with tf.GradientTape() as tape:
        val = loss_obj(tf.constant(y_true), yp)
    g = tape.gradient(val, yp).numpy()
    case = {
        "name": name,
        "loss": config.pop("loss"),
        "config": config,
        "y_true": tensor(y_true) if np.asarray(y_true).dtype.kind == "f"
        else {"shape": shape(y_true), "values": [int(v) for v in np.asarray(y_true).reshape(-1)]},
        "y_pred": tensor(y_pred),
        "loss_value": float(val.numpy()),
        "grad_y_pred": tensor(g),
    }
    if logits_for_probs is not None:
        # y_pred = softmax/sigmoid(logits) computed outside Keras' loss: the gradient w.r.t. the
        # logits is independent of how the loss treats the probabilities' normalisation.
        z = tf.Variable(logits_for_probs, dtype=tf.float32)
        act = tf.nn.softmax if config.get("probabilities_from") == "softmax" else tf.math.sigmoid
        with tf.GradientTape() as tape:
            p = act(z)
            v2 = loss_obj(tf.constant(y_true), p)
        case["logits"] = tensor(logits_for_probs)
        case["grad_logits"] = tensor(tape.gradient(v2, z).numpy())
    return case


def make_losses() -> dict:
    rs = np.random.RandomState(1)
    cases = []
    logits = rs.normal(0.0, 1.5, size=(3, 4)).astype(np.float32)
    probs = tf.nn.softmax(logits).numpy().astype(np.float32)
    labels = np.array([2, 0, 3], dtype=np.int32)
    onehot = np.eye(4, dtype=np.float32)[labels]
    # one row with a near-certain wrong answer so that clipping at 1e-7 matters
    logits_extreme = logits.copy()
    logits_extreme[1] = [-9.0, 12.0, 1.0, -20.0]
    probs_extreme = tf.nn.softmax(logits_extreme).numpy().astype(np.float32)

    SCE = keras.losses.SparseCategoricalCrossentropy
    CCE = keras.losses.CategoricalCrossentropy
    BCE = keras.losses.BinaryCrossentropy
    cases.append(loss_case("sparse_categorical_crossentropy_probs", SCE(), labels, probs,
                           {"loss": "sparse_categorical_crossentropy", "from_logits": False,
                            "probabilities_from": "softmax"}, logits_for_probs=logits))
    cases.append(loss_case("sparse_categorical_crossentropy_probs_extreme", SCE(), labels, probs_extreme,
                           {"loss": "sparse_categorical_crossentropy", "from_logits": False,
                            "probabilities_from": "softmax"}, logits_for_probs=logits_extreme))
    cases.append(loss_case("sparse_categorical_crossentropy_logits", SCE(from_logits=True), labels, logits,
                           {"loss": "sparse_categorical_crossentropy", "from_logits": True}))
    cases.append(loss_case("categorical_crossentropy_probs", CCE(), onehot, probs,
                           {"loss": "categorical_crossentropy", "from_logits": False,
                            "probabilities_from": "softmax"}, logits_for_probs=logits))
    cases.append(loss_case("categorical_crossentropy_probs_extreme", CCE(), onehot, probs_extreme,
                           {"loss": "categorical_crossentropy", "from_logits": False,
                            "probabilities_from": "softmax"}, logits_for_probs=logits_extreme))
    cases.append(loss_case("categorical_crossentropy_logits", CCE(from_logits=True), onehot, logits,
                           {"loss": "categorical_crossentropy", "from_logits": True}))

    # binary: multi-label targets (3,4); probabilities including ones that get clipped
    y_bin = np.array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    bin_logits = np.array([[2.0, -1.0, 0.3, 0.0],
                           [-17.0, 3.0, 18.0, -0.5],
                           [0.8, -2.5, -16.5, 1.2]], dtype=np.float32)
    p_bin = np.array([[0.9, 0.2, 0.6, 0.5],
                      [1e-9, 0.95, 1.0, 0.3],     # 1e-9 and 1.0: clipped to [1e-7, 1-1e-7]
                      [0.7, 0.0, 0.99999994, 0.8]], dtype=np.float32)
    cases.append(loss_case("binary_crossentropy_probs", BCE(), y_bin, p_bin,
                           {"loss": "binary_crossentropy", "from_logits": False}))
    cases.append(loss_case("binary_crossentropy_probs_from_sigmoid", BCE(), y_bin,
                           tf.math.sigmoid(bin_logits).numpy(),
                           {"loss": "binary_crossentropy", "from_logits": False,
                            "probabilities_from": "sigmoid"}, logits_for_probs=bin_logits))
    cases.append(loss_case("binary_crossentropy_logits", BCE(from_logits=True), y_bin, bin_logits,
                           {"loss": "binary_crossentropy", "from_logits": True}))

    y_reg = rs.normal(size=(3, 4)).astype(np.float32)
    p_reg = rs.normal(size=(3, 4)).astype(np.float32)
    cases.append(loss_case("mean_squared_error", keras.losses.MeanSquaredError(), y_reg, p_reg,
                           {"loss": "mean_squared_error"}))
    return {
        "generator": GENERATOR,
        "description": "keras.losses.<Class>(...)(y_true, y_pred) with the default reduction "
                       "(sum_over_batch_size: mean over the batch; BCE and MSE first take the mean "
                       "over the last axis) and its gradient w.r.t. y_pred. epsilon = 1e-7. "
                       "Keras' probability paths: categorical_crossentropy divides y_pred by its row "
                       "sum, clips to [eps, 1-eps] and takes -sum(t*log p); sparse_categorical "
                       "clips, takes log, then softmax-cross-entropy of those log-probabilities "
                       "(i.e. also renormalises); so grad_y_pred differs from the naive -t/p by a "
                       "per-row constant (1/sum(p) on every class). Cases with 'logits' also give "
                       "grad_logits: the gradient w.r.t. logits when y_pred = softmax/sigmoid(logits), "
                       "which does not depend on that convention. Clipped entries get a zero gradient.",
        "epsilon": float(keras.config.epsilon()),
        "cases": cases,
    }


# ----------------------------------------------------------------------------------------
# 4. training end to end
# ----------------------------------------------------------------------------------------
def make_training() -> dict:
    keras.utils.set_random_seed(0)
    rs = np.random.RandomState(2)
    x = rs.uniform(-1.0, 1.0, size=(8, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1], dtype=np.int32)
    w1 = (rs.uniform(-1.0, 1.0, size=(4, 5)) * 0.7).astype(np.float32)
    b1 = (rs.uniform(-1.0, 1.0, size=(5,)) * 0.1).astype(np.float32)
    w2 = (rs.uniform(-1.0, 1.0, size=(5, 3)) * 0.7).astype(np.float32)
    b2 = (rs.uniform(-1.0, 1.0, size=(3,)) * 0.1).astype(np.float32)

    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(5, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.set_weights([w1, b1, w2, b2])
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")

    per_epoch_weights = []
    per_batch_loss = []

    class Rec(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            per_batch_loss.append(float(logs["loss"]))

        def on_epoch_end(self, epoch, logs=None):
            per_epoch_weights.append([tensor(w) for w in self.model.get_weights()])

    initial_loss = float(model.evaluate(x, y, batch_size=8, verbose=0))
    hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[Rec()])
    final = model.get_weights()
    final_loss = float(model.evaluate(x, y, batch_size=8, verbose=0))
    return {
        "generator": GENERATOR,
        "description": "Sequential([Input((4,)), Dense(5, relu), Dense(3, softmax)]), "
                       "compile(Adam(), 'sparse_categorical_crossentropy'), "
                       "fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0). "
                       "Weights in Keras order [kernel1 (4,5), bias1, kernel2 (5,3), bias2]. "
                       "history_loss[e] is Keras' epoch loss (mean of the per-sample losses over "
                       "the epoch, as the batch losses were computed with the weights of that "
                       "moment). batch_loss_running is logs['loss'] at each batch end (running "
                       "mean within the epoch). Note: with TF, a softmax output layer's loss is "
                       "computed from its logits (_keras_logits), so no 1e-7 clipping applies.",
        "model": {
            "layers": [
                {"type": "Dense", "units": 5, "activation": "relu"},
                {"type": "Dense", "units": 3, "activation": "softmax"},
            ],
            "input_shape": [4],
        },
        "compile": {"optimizer": "adam", "optimizer_config": hparams(model.optimizer.get_config()),
                    "loss": "sparse_categorical_crossentropy"},
        "fit": {"batch_size": 4, "epochs": 3, "shuffle": False},
        "x": tensor(x),
        "y": [int(v) for v in y],
        "initial_weights": [tensor(w) for w in (w1, b1, w2, b2)],
        "initial_loss": initial_loss,
        "history_loss": [float(v) for v in hist.history["loss"]],
        "batch_loss_running": per_batch_loss,
        "weights_after_epoch": per_epoch_weights,
        "final_weights": [tensor(w) for w in final],
        "final_loss": final_loss,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tf.config.experimental.enable_op_determinism()
    print(GENERATOR)
    write("optimizers.json", make_optimizers(), args.out)
    write("layers.json", make_layers(), args.out)
    write("losses.json", make_losses(), args.out)
    write("training.json", make_training(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

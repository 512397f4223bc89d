#!/usr/bin/env python3
"""Keras 3 writes the files kerosene must read: python keras_writes.py DIR.

For each case (the names of interop_tool.cpp's cases): DIR/<case>.keras, <case>.x.npy and
Keras' predictions <case>.y.npy; <case>.model.json (model.to_json()) with <case>.weights.h5;
for a few cases a legacy <case>.keras3.h5 (Keras 3's model.save("m.h5")); and tf215_convnet.h5,
crafted with h5py in tf.keras 2.15's layout (keras-formats.md 1.5), since tf.keras 2 itself is
not installable next to Keras 3. DIR/manifest.json lists what kerosene must load and predict.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

SEED = 1234


def layer_cases():
    """(name, input shape, layers after the Input): as layer_cases() in interop_tool.cpp."""
    cases = [(f"dense_{a}", (6,), lambda a=a: [layers.Dense(4, activation=a)])
             for a in ("linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu", "selu",
                       "leaky_relu", "softplus", "hard_sigmoid")]
    cases += [
        ("dense_no_bias", (6,), lambda: [layers.Dense(5, activation="relu", use_bias=False), layers.Dense(3)]),
        ("conv2d_valid", (7, 7, 3), lambda: [layers.Conv2D(4, (3, 3), activation="relu")]),
        ("conv2d_same", (7, 7, 3), lambda: [layers.Conv2D(4, (3, 3), padding="same", activation="tanh")]),
        ("conv2d_strides", (8, 8, 2), lambda: [layers.Conv2D(3, (3, 2), strides=(2, 2))]),
        ("conv2d_same_strides", (7, 7, 2),
         lambda: [layers.Conv2D(3, (3, 3), strides=(2, 2), padding="same", activation="sigmoid")]),
        ("max_pooling2d", (6, 6, 2), lambda: [layers.MaxPooling2D((2, 2))]),
        ("max_pooling2d_same_strides", (7, 7, 2), lambda: [layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same")]),
        ("average_pooling2d", (6, 6, 2), lambda: [layers.AveragePooling2D((2, 2))]),
        ("average_pooling2d_same_strides", (7, 7, 2),
         lambda: [layers.AveragePooling2D((3, 3), strides=(2, 2), padding="same")]),
        ("flatten", (4, 4, 2), lambda: [layers.Flatten(), layers.Dense(3)]),
        ("dropout", (6,), lambda: [layers.Dense(5, activation="relu"), layers.Dropout(0.5), layers.Dense(2, activation="softmax")]),
        ("activation_relu", (6,), lambda: [layers.Dense(4), layers.Activation("relu")]),
        ("activation_softmax", (6,), lambda: [layers.Dense(4), layers.Activation("softmax")]),
        ("activation_swish", (6,), lambda: [layers.Dense(4), layers.Activation("swish")]),
        ("relu_layer", (6,), lambda: [layers.Dense(4), layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.05)]),
        ("relu_layer_defaults", (6,), lambda: [layers.Dense(4), layers.ReLU()]),
        ("leaky_relu_layer", (6,), lambda: [layers.Dense(4), layers.LeakyReLU()]),
        ("softmax_layer", (6,), lambda: [layers.Dense(4), layers.Softmax()]),
        ("softmax_layer_axis", (2, 3), lambda: [layers.Dense(4), layers.Softmax(axis=1)]),
        ("reshape", (12,), lambda: [layers.Reshape((2, 2, 3)), layers.Conv2D(2, (2, 2)), layers.Reshape((-1,)),
                                    layers.Dense(2)]),
        ("batch_normalization", (4, 4, 3), lambda: [layers.Conv2D(3, (2, 2)), layers.BatchNormalization(momentum=0.8),
                                                    layers.Flatten(), layers.Dense(2)]),
        ("layer_normalization", (6,), lambda: [layers.Dense(5), layers.LayerNormalization(epsilon=1e-4),
                                               layers.Dense(2, activation="softmax")]),
        ("conv2d_dilated", (9, 8, 2), lambda: [layers.Conv2D(3, 3, dilation_rate=2, activation="relu")]),
        ("conv2d_dilated_same", (7, 8, 2), lambda: [layers.Conv2D(3, 2, dilation_rate=(3, 2), padding="same")]),
        ("conv2d_int_sizes", (8, 8, 2), lambda: [layers.Conv2D(3, 3, strides=2), layers.MaxPooling2D(2),
                                                 layers.AveragePooling2D(1, strides=1)]),
        ("global_average_pooling2d", (5, 4, 3), lambda: [layers.GlobalAveragePooling2D(), layers.Dense(2)]),
        ("global_average_pooling2d_keepdims", (5, 4, 3), lambda: [layers.GlobalAveragePooling2D(keepdims=True)]),
        ("global_max_pooling2d", (5, 4, 3), lambda: [layers.GlobalMaxPooling2D(), layers.Dense(2)]),
        ("global_max_pooling2d_keepdims", (5, 4, 3), lambda: [layers.GlobalMaxPooling2D(keepdims=True)]),
        ("zero_padding2d", (4, 5, 2), lambda: [layers.ZeroPadding2D(), layers.Conv2D(2, 3)]),
        ("zero_padding2d_asymmetric", (4, 5, 2), lambda: [layers.ZeroPadding2D(((1, 2), (0, 3)))]),
        ("cropping2d", (6, 7, 2), lambda: [layers.Cropping2D(((1, 0), (2, 1)))]),
        ("cropping2d_int", (6, 7, 2), lambda: [layers.Cropping2D(2), layers.Conv2D(2, 2)]),
        ("up_sampling2d", (3, 4, 2), lambda: [layers.UpSampling2D()]),
        ("up_sampling2d_2x3", (3, 4, 2), lambda: [layers.UpSampling2D((2, 3)), layers.Conv2D(2, 3)]),
        ("rescaling", (4, 3), lambda: [layers.Rescaling(1.0 / 255)]),
        ("rescaling_offset", (6,), lambda: [layers.Rescaling(0.5, offset=-1.0), layers.Dense(3)]),
        ("depthwise_conv2d", (7, 6, 3), lambda: [layers.DepthwiseConv2D(3, activation="relu")]),
        ("depthwise_conv2d_dm2_same_strides", (7, 6, 3),
         lambda: [layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2), layers.Dense(2)]),
        ("depthwise_conv2d_dilated_no_bias", (8, 7, 2),
         lambda: [layers.DepthwiseConv2D((2, 3), depth_multiplier=3, dilation_rate=2, use_bias=False)]),
        ("separable_conv2d", (6, 7, 3), lambda: [layers.SeparableConv2D(4, 3, activation="relu")]),
        ("separable_conv2d_dm2_same_strides", (7, 6, 2),
         lambda: [layers.SeparableConv2D(3, 3, strides=(2, 1), padding="same", depth_multiplier=2),
                  layers.GlobalAveragePooling2D(), layers.Dense(2)]),
        ("separable_conv2d_dilated_no_bias", (8, 8, 2),
         lambda: [layers.SeparableConv2D(4, 2, dilation_rate=(2, 3), use_bias=False, activation="tanh")]),
        ("convnet", (8, 8, 1), lambda: [layers.Conv2D(4, (3, 3), activation="relu"), layers.MaxPooling2D(),
                                        layers.Conv2D(4, (2, 2), padding="same", activation="relu"),
                                        layers.AveragePooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.25),
                                        layers.Dense(3, activation="softmax")]),
    ]
    return cases


OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.002, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
    "adamw": lambda: keras.optimizers.AdamW(learning_rate=0.003, weight_decay=0.01),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.002, rho=0.8, momentum=0.5, centered=True),
}
# Optimizers and base-optimizer options added later: with the mse loss only.
MORE_OPTIMIZERS = {
    "nadam": lambda: keras.optimizers.Nadam(learning_rate=0.003, beta_1=0.8, clipvalue=0.5),
    "adamax": lambda: keras.optimizers.Adamax(learning_rate=0.004, beta_2=0.99, weight_decay=0.02),
    "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.05, initial_accumulator_value=0.2, global_clipnorm=1.5),
    "lion": lambda: keras.optimizers.Lion(learning_rate=0.0005, beta_1=0.85, beta_2=0.98),
    "adam_amsgrad": lambda: keras.optimizers.Adam(learning_rate=0.002, amsgrad=True, clipnorm=0.7),
    "sgd_schedule": lambda: keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.PiecewiseConstantDecay([1, 5], [0.1, 0.05, 0.01]), momentum=0.5),
    "adamw_schedule": lambda: keras.optimizers.AdamW(
        learning_rate=keras.optimizers.schedules.PolynomialDecay(0.01, 20, power=2.0, cycle=True), amsgrad=True),
}
LOSSES = {
    "scce": ("sparse_categorical_crossentropy", ["accuracy"], "softmax"),
    "cce": ("categorical_crossentropy", ["categorical_accuracy"], "softmax"),
    "bce": ("binary_crossentropy", ["binary_accuracy"], "sigmoid"),
    "mse": ("mean_squared_error", [], "linear"),
}


def targets(loss, rng):
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, 3, size=(8,)).astype("int32")
    if loss == "categorical_crossentropy":
        return np.eye(3, dtype="float32")[rng.integers(0, 3, size=(8,))]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(8, 3)).astype("float32")
    return rng.uniform(-1, 1, size=(8, 3)).astype("float32")


def trained_cases():
    """(name, model, x, y): each optimizer x each loss, fitted two steps (8 samples, batch 4)."""
    rng = np.random.default_rng(SEED)
    out = []
    specs = [(f"{o}_{t}", o, t, False) for o in OPTIMIZERS for t in LOSSES] + [("sgd_scce_logits", "sgd", "scce", True)]
    specs += [(f"{o}_mse", o, "mse", False) for o in MORE_OPTIMIZERS]
    for name, opt, tag, logits in specs:
        loss, metrics, activation = LOSSES[tag]
        model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                                  layers.Dense(3, activation="linear" if logits else activation)])
        loss_obj = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if logits else loss
        model.compile(optimizer={**OPTIMIZERS, **MORE_OPTIMIZERS}[opt](), loss=loss_obj, metrics=metrics)
        x = rng.uniform(-1, 1, size=(8, 6)).astype("float32")
        model.fit(x, targets(loss, rng), batch_size=4, epochs=1, shuffle=False, verbose=0)
        out.append((name, model, x))
    # Keras' other losses, as names and as objects with options, and the regression metrics:
    # kerosene must read each compile config (and the file's weights) back.
    objects = [
        ("loss_huber_object", lambda: keras.losses.Huber(delta=2.0), ["mae", keras.metrics.RootMeanSquaredError()],
         "linear"),
        ("loss_cce_smoothing_sum", lambda: keras.losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum"),
         ["categorical_accuracy"], "softmax"),
        ("loss_bce_logits_smoothing", lambda: keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
         ["binary_accuracy"], "linear"),
        ("loss_log_cosh_name", lambda: "log_cosh", ["mse"], "linear"),
        ("loss_kld_object", lambda: keras.losses.KLDivergence(), [], "softmax"),
        ("loss_poisson_name", lambda: "poisson", [], "softplus"),
        ("loss_hinge_object", lambda: keras.losses.SquaredHinge(), [], "tanh"),
        ("loss_cosine_object", lambda: keras.losses.CosineSimilarity(), [], "linear"),
        ("loss_msle_mae_names", lambda: "msle", ["mean_absolute_error"], "relu"),
        # The counting metrics as objects with options (kerosene's compile config reads them).
        ("metric_objects", lambda: "categorical_crossentropy",
         [keras.metrics.AUC(num_thresholds=50, curve="PR"), keras.metrics.TopKCategoricalAccuracy(k=2),
          keras.metrics.F1Score(average="macro", threshold=0.4), keras.metrics.OneHotMeanIoU(3),
          keras.metrics.IoU(3, target_class_ids=[1], sparse_y_true=False, sparse_y_pred=False)], "softmax"),
    ]
    for name, make_loss, metrics, activation in objects:
        model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                                  layers.Dense(3, activation=activation)])
        model.compile(optimizer=keras.optimizers.Adam(), loss=make_loss(), metrics=metrics)
        x = rng.uniform(-1, 1, size=(8, 6)).astype("float32")
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=(8,))]
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        out.append((name, model, x))
    return out


def functional_cases():
    """(name, model, input shape): as functional_cases() in interop_tool.cpp."""
    out = []
    i = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(i)
    o = layers.Dense(3, activation="softmax")(layers.Add()([h, layers.Dense(8)(h)]))
    out.append(("functional_residual", keras.Model(i, o), (6,)))
    i = keras.Input((6,))
    a = layers.Dense(5, activation="tanh")(i)
    b = layers.Dense(5, activation="sigmoid")(i)
    sub = layers.Subtract()([a, b])
    mul = layers.Multiply()([a, b, sub])
    avg = layers.Average()([a, b])
    mx = layers.Maximum()([a, b])
    mn = layers.Minimum()([a, b, avg])
    add = layers.Add()([sub, mul])
    o = layers.Dense(3)(layers.Concatenate()([add, avg, mx, mn]))
    out.append(("functional_merges", keras.Model(i, o), (6,)))
    i = keras.Input((4, 4, 2))
    shared = layers.Conv2D(2, (3, 3), padding="same", activation="relu")
    c1 = shared(i)
    c2 = shared(c1)
    rows = layers.Concatenate(axis=1)([c1, c2])
    channels = layers.Concatenate(axis=-1)([c1, c2])
    o = layers.Dense(2)(layers.Concatenate()([layers.Flatten()(rows), layers.Flatten()(channels)]))
    out.append(("functional_shared", keras.Model(i, o), (4, 4, 2)))
    return out


def save_tf215_h5(model, path):
    """A Sequential of Conv2D/MaxPooling2D/BatchNormalization/Flatten/Dense as tf.keras 2.15's
    model.save("m.h5")."""
    def initializer(name):
        return {"class_name": name, "config": {"seed": None} if name == "GlorotUniform" else {}}

    common = {"trainable": True, "dtype": "float32"}
    configs, names, counts = [], [], {}
    for layer in model.layers:
        kind = type(layer).__name__
        base = {"Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d", "Flatten": "flatten", "Dense": "dense",
                "BatchNormalization": "batch_normalization"}[kind]
        name = base if base not in counts else f"{base}_{counts[base]}"
        counts[base] = counts.get(base, 0) + 1
        names.append(name)
        c = {"name": name, **common}
        if kind in ("Conv2D", "Dense"):
            if kind == "Conv2D":
                c.update(filters=layer.filters, kernel_size=list(layer.kernel_size), strides=list(layer.strides),
                         padding=layer.padding, data_format="channels_last", dilation_rate=[1, 1], groups=1)
            else:
                c.update(units=layer.units)
            c.update(activation=keras.activations.serialize(layer.activation), use_bias=layer.use_bias,
                     kernel_initializer=initializer("GlorotUniform"), bias_initializer=initializer("Zeros"),
                     kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None)
        elif kind == "BatchNormalization":
            # tf.keras 2 writes a built layer's axis as a list.
            c.update(axis=[len(model.input_shape) - 1], momentum=layer.momentum, epsilon=layer.epsilon,
                     center=layer.center, scale=layer.scale, beta_initializer=initializer("Zeros"),
                     gamma_initializer=initializer("Ones"), moving_mean_initializer=initializer("Zeros"),
                     moving_variance_initializer=initializer("Ones"), beta_regularizer=None, gamma_regularizer=None,
                     beta_constraint=None, gamma_constraint=None, synchronized=False)
        elif kind == "MaxPooling2D":
            c.update(pool_size=list(layer.pool_size), padding=layer.padding, strides=list(layer.strides),
                     data_format="channels_last")
        else:
            c.update(data_format="channels_last")
        configs.append({"class_name": kind, "config": c})
    shape = [None] + list(model.input_shape[1:])
    input_layer = {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "dtype": "float32",
                                                          "sparse": False, "ragged": False, "name": "input_1"}}
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [input_layer] + configs}}
    # What 2.x writes for compile(optimizer="adam", loss=..., metrics=["accuracy"]): the compiled
    # metric objects, not the strings the user gave.
    training_config = {
        "loss": "sparse_categorical_crossentropy",
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
            "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
            "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
    }
    fixed = lambda strings: np.array([s.encode() for s in strings], dtype=f"S{max([1] + [len(s) for s in strings])}")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["training_config"] = json.dumps(training_config).encode()
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = fixed(names + ["top_level_model_weights"])
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.15.0"
        by_name = dict(zip(names, model.layers))
        for name in sorted(names + ["top_level_model_weights"]):
            g = mw.create_group(name)
            layer = by_name.get(name)
            weights = layer.get_weights() if layer is not None else []
            kinds = ("gamma", "beta", "moving_mean", "moving_variance") if isinstance(
                layer, layers.BatchNormalization) else ("kernel", "bias")
            weight_names = [f"{name}/{w}:0" for w in kinds[:len(weights)]]
            g.attrs["weight_names"] = fixed(weight_names) if weight_names else np.array([], dtype="S1")
            for wname, value in zip(weight_names, weights):
                g.create_dataset(wname, data=value)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED + 1)
    manifest = []
    models = []
    for name, shape, make in layer_cases():
        model = keras.Sequential([keras.Input(shape)] + make())
        x = rng.uniform(-1, 1, size=(5,) + shape).astype("float32")
        # Compiled and trained too, with an optimizer state (and moving statistics far from 0 and 1).
        if name in ("convnet", "dropout", "batch_normalization", "layer_normalization"):
            y = rng.integers(0, model.output_shape[-1], size=(5,))
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, batch_size=3, epochs=1, verbose=0)
        models.append((name, model, x))
    models += trained_cases()
    # Two inputs and two outputs, a loss per output, loss_weights, per-output metrics, trained.
    a, b = keras.Input((6,), name="a"), keras.Input((3,), name="b")
    h = layers.Concatenate()([layers.Dense(5, activation="relu")(a), b])
    two = keras.Model([a, b], [layers.Dense(3, activation="softmax", name="cls")(h), layers.Dense(1, name="reg")(h)])
    two.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                metrics=[["accuracy"], []])
    xs = [rng.uniform(-1, 1, size=(6, 6)).astype("float32"), rng.uniform(-1, 1, size=(6, 3)).astype("float32")]
    two.fit(xs, [rng.integers(0, 3, size=(6,)), rng.uniform(-1, 1, size=(6, 1))], batch_size=3, epochs=1, verbose=0)
    models.append(("functional_two_by_two", two, xs))
    for name, model, shape in functional_cases():
        x = rng.uniform(-1, 1, size=(6,) + shape).astype("float32")
        if name == "functional_residual":  # compiled and trained too, with an optimizer state
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, rng.integers(0, 3, size=(6,)), batch_size=3, epochs=1, verbose=0)
        models.append((name, model, x))
    legacy = {"dense_relu", "convnet", "adam_scce", "rmsprop_mse", "functional_merges",
              "batch_normalization"}
    for name, model, x in models:
        base = os.path.join(out, name)
        if isinstance(x, list):  # several inputs and outputs: one file each, listed in order
            xs, ys = [], []
            for k, xk in enumerate(x):
                np.save(f"{base}.x{k}.npy", xk)
                xs.append(f"{name}.x{k}.npy")
            for k, yk in enumerate(model.predict(x, verbose=0)):
                np.save(f"{base}.y{k}.npy", np.asarray(yk, dtype="float32"))
                ys.append(f"{name}.y{k}.npy")
        else:
            np.save(base + ".x.npy", x)
            np.save(base + ".y.npy", np.asarray(model.predict(x, verbose=0), dtype="float32"))
            xs, ys = name + ".x.npy", name + ".y.npy"
        model.save(base + ".keras")
        manifest.append({"case": name, "model": name + ".keras", "x": xs, "y": ys})
        with open(base + ".model.json", "w") as f:
            f.write(model.to_json())
        model.save_weights(base + ".weights.h5")
        manifest.append({"case": name + " (to_json + .weights.h5)", "json": name + ".model.json",
                         "weights": name + ".weights.h5", "x": xs, "y": ys})
        if name in legacy:
            model.save(base + ".keras3.h5")
            manifest.append({"case": name + " (Keras 3 legacy .h5)", "model": name + ".keras3.h5",
                             "x": xs, "y": ys})
    # tf.keras 2.15's layout, with the weights of a Keras 3 model of the same architecture.
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, (3, 3), activation="relu"),
                              layers.MaxPooling2D(), layers.Conv2D(3, (2, 2), activation="relu"),
                              layers.Flatten(), layers.Dense(3, activation="softmax")])
    x = rng.uniform(-1, 1, size=(4, 8, 8, 1)).astype("float32")
    base = os.path.join(out, "tf215_convnet")
    save_tf215_h5(model, base + ".h5")
    np.save(base + ".x.npy", x)
    np.save(base + ".y.npy", np.asarray(model.predict(x, verbose=0), dtype="float32"))
    # The crafted file must be one Keras itself loads, or the case proves nothing. Without
    # compiling: Keras 3 rejects the jit_compile and is_legacy_optimizer keys tf.keras 2.11+
    # writes in the optimizer config, which kerosene is expected to accept.
    reread = keras.saving.load_model(base + ".h5", compile=False)
    np.testing.assert_allclose(reread.predict(x, verbose=0), np.load(base + ".y.npy"), rtol=1e-6, atol=1e-6)
    manifest.append({"case": "tf215_convnet (tf.keras 2.15 .h5)", "model": "tf215_convnet.h5",
                     "x": "tf215_convnet.x.npy", "y": "tf215_convnet.y.npy"})
    # The same with BatchNormalization, whose weights (random here, moving statistics included)
    # tf.keras 2 names gamma:0, beta:0, moving_mean:0, moving_variance:0.
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, (3, 3)), layers.BatchNormalization(),
                              layers.Flatten(), layers.Dense(3, activation="softmax")])
    bn = model.layers[1]
    bn.set_weights([rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3)])
    x = rng.uniform(-1, 1, size=(4, 6, 6, 2)).astype("float32")
    base = os.path.join(out, "tf215_batchnorm")
    save_tf215_h5(model, base + ".h5")
    np.save(base + ".x.npy", x)
    np.save(base + ".y.npy", np.asarray(model.predict(x, verbose=0), dtype="float32"))
    reread = keras.saving.load_model(base + ".h5", compile=False)
    np.testing.assert_allclose(reread.predict(x, verbose=0), np.load(base + ".y.npy"), rtol=1e-6, atol=1e-6)
    manifest.append({"case": "tf215_batchnorm (tf.keras 2.15 .h5)", "model": "tf215_batchnorm.h5",
                     "x": "tf215_batchnorm.x.npy", "y": "tf215_batchnorm.y.npy"})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"keras_writes: {len(manifest)} files to load in {out} (Keras {keras.__version__}, {keras.backend.backend()})")


if __name__ == "__main__":
    main()

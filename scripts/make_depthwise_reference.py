#!/usr/bin/env python3
"""Generate tests/reference/depthwise_layers.json: Keras 3's DepthwiseConv2D and SeparableConv2D
(strides, "same" padding, dilation, depth_multiplier 2, with and without bias), each with its
forward output and the gradients of sum(output * R) w.r.t. the input and every weight.

    KERAS_BACKEND=jax python3 scripts/make_depthwise_reference.py   # needs keras 3 and jax
    (scripts/keras_venv.sh makes such a venv)

The C++ test (tests/nn/depthwise_conv_test.cpp) reads the file and never needs Python. Each case
holds the layer's whole Keras get_config(), so the test builds the layer through kerosene's
config codec, as it would load the layer from a .keras file; and Keras' weight names and
count_params(), which kerosene's must equal.

Conventions, as scripts/make_spatial_reference.py's: every float is the shortest decimal that
round-trips to the same float32; tensors are {shape, values} flattened row-major; images NHWC;
weights in Keras' order and layout (depthwise kernel (kh, kw, in, depth_multiplier), pointwise
kernel (1, 1, in * depth_multiplier, filters)). Random values from numpy RandomState(0)
uniform(-1, 1), drawn in file order. Gradients come from jax.grad of the layer's stateless_call.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import reference_util  # noqa: E402
from reference_util import REPO_ROOT, tensor  # noqa: E402


GENERATOR = f"keras {keras.__version__} (jax {jax.__version__} backend) / numpy {np.__version__}"

rng = np.random.RandomState(0)


def u(*shape, scale=1.0):
    return (rng.uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def case(name, layer, x):
    """Builds `layer` on x's shape, draws its weights, and records output and gradients."""
    layer.build(x.shape)
    weights = [u(*w.shape, scale=0.5) for w in layer.weights]
    layer.set_weights(weights)
    trainable = [v.value for v in layer.trainable_variables]
    y = np.asarray(layer(x))
    r = u(*y.shape)

    def objective(inputs, variables):
        out, _ = layer.stateless_call(variables, [], inputs)
        return jax.numpy.sum(out * r)

    gx, gw = jax.grad(objective, argnums=(0, 1))(x, trainable)
    return {"name": name, "class_name": type(layer).__name__, "config": layer.get_config(),
            "weight_names": [w.name for w in layer.weights], "count_params": layer.count_params(),
            "input": tensor(x), "weights": [tensor(w) for w in weights], "output": tensor(y), "R": tensor(r),
            "grad_input": tensor(np.asarray(gx)), "grad_weights": [tensor(np.asarray(g)) for g in gw]}


def cases():
    L = keras.layers
    return [
        case("depthwise_dm2_same_strides2", L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
             u(2, 7, 6, 3)),
        case("depthwise_dilated_2x3_valid_relu", L.DepthwiseConv2D((2, 3), dilation_rate=2, activation="relu"),
             u(1, 6, 8, 2)),
        case("depthwise_no_bias_strides_2x1", L.DepthwiseConv2D(2, strides=(2, 1), use_bias=False), u(2, 5, 4, 3)),
        case("separable_dm2_same_strides2x1_relu",
             L.SeparableConv2D(4, 3, strides=(2, 1), padding="same", depth_multiplier=2, activation="relu"),
             u(2, 6, 5, 3)),
        case("separable_dilated_same", L.SeparableConv2D(2, (3, 2), dilation_rate=(2, 1), padding="same"),
             u(1, 7, 6, 2)),
        case("separable_no_bias_dm3", L.SeparableConv2D(3, 2, depth_multiplier=3, use_bias=False, activation="tanh"),
             u(2, 4, 5, 2)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference", "depthwise_layers.json"))
    args = parser.parse_args()
    doc = {
        "generator": GENERATOR,
        "description": "Keras 3 DepthwiseConv2D and SeparableConv2D (whole get_config, weight names, count_params) "
                       "with weights drawn uniform(-0.5, 0.5): forward output and gradients of sum(output * R) "
                       "w.r.t. the input and each weight, in Keras' order (jax.grad). Tensors are {shape, values} "
                       "flattened row-major; images NHWC. Random values from numpy RandomState(0) uniform(-1,1), "
                       "drawn in file order.",
        "cases": cases(),
    }
    reference_util.write(args.out, doc, GENERATOR, inline_depth=0, verbatim_keys=("config",))


if __name__ == "__main__":
    main()

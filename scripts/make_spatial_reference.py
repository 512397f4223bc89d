#!/usr/bin/env python3
"""Generate tests/reference/spatial_layers.json: Keras 3's GlobalAveragePooling2D,
GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, Rescaling and dilated Conv2D, each
with its forward output and the gradients of sum(output * R) w.r.t. the input and the weights.

    KERAS_BACKEND=jax python3 scripts/make_spatial_reference.py   # needs keras 3 and jax
    (scripts/keras_venv.sh makes such a venv)

The C++ test (tests/nn/spatial_layers_test.cpp) reads the file and never needs Python. Each case
holds the layer's whole Keras get_config(), so the test builds the layer through kerosene's
config codec, as it would load the layer from a .keras file.

Conventions, as scripts/make_reference_values.py's: every float is the shortest decimal that
round-trips to the same float32; tensors are {shape, values} flattened row-major; images NHWC;
Conv2D kernel (kh, kw, in, out). Random values from numpy RandomState(0) uniform(-1, 1), drawn
in file order. Gradients come from jax.grad of the layer's stateless_call.
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


def case(name, layer, x, weights=()):
    """Builds `layer` on x's shape, sets `weights`, and records output and gradients."""
    layer.build(x.shape)
    if weights:
        layer.set_weights(list(weights))
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    y = np.asarray(layer(x))
    r = u(*y.shape)

    def objective(inputs, variables):
        out, _ = layer.stateless_call(variables, non_trainable, inputs)
        return jax.numpy.sum(out * r)

    gx, gw = jax.grad(objective, argnums=(0, 1))(x, trainable)
    c = {"name": name, "class_name": type(layer).__name__, "config": layer.get_config(), "input": tensor(x)}
    for key, w in zip(("kernel", "bias"), weights):
        c[key] = tensor(w)
    c.update({"output": tensor(y), "R": tensor(r), "grad_input": tensor(np.asarray(gx))})
    for key, g in zip(("grad_kernel", "grad_bias"), gw):
        c[key] = tensor(np.asarray(g))
    return c


def cases():
    L = keras.layers
    out = [
        case("global_average_pooling2d", L.GlobalAveragePooling2D(), u(2, 4, 5, 3)),
        case("global_max_pooling2d_keepdims", L.GlobalMaxPooling2D(keepdims=True), u(2, 3, 4, 2)),
        case("zero_padding2d_asymmetric", L.ZeroPadding2D(((1, 2), (0, 3))), u(1, 3, 4, 2)),
        case("zero_padding2d_int", L.ZeroPadding2D(2), u(2, 2, 3, 1)),
        case("cropping2d_asymmetric", L.Cropping2D(((1, 0), (2, 1))), u(2, 5, 6, 2)),
        case("cropping2d_pair", L.Cropping2D((1, 2)), u(1, 4, 6, 3)),
        case("up_sampling2d_2x3", L.UpSampling2D((2, 3)), u(1, 3, 2, 2)),
        case("up_sampling2d_default", L.UpSampling2D(), u(2, 2, 3, 2)),
        case("rescaling_1_255", L.Rescaling(1.0 / 255), u(2, 3, 4, scale=255.0)),
        case("rescaling_offset", L.Rescaling(2.0, offset=-1.0), u(2, 5)),
    ]
    x = u(1, 7, 6, 2)
    out.append(case("conv2d_dilated_same", L.Conv2D(3, 3, dilation_rate=2, padding="same"), x,
                    (u(3, 3, 2, 3, scale=0.5), u(3, scale=0.5))))
    x = u(2, 6, 5, 3)
    out.append(case("conv2d_dilated_2x1_valid", L.Conv2D(2, 2, dilation_rate=(2, 1)), x,
                    (u(2, 2, 3, 2, scale=0.5), u(2, scale=0.5))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference", "spatial_layers.json"))
    args = parser.parse_args()
    doc = {
        "generator": GENERATOR,
        "description": "Keras 3 layers (whole get_config) with explicit weights: forward output and gradients of "
                       "sum(output * R) w.r.t. the input and the weights (jax.grad). Tensors are {shape, values} "
                       "flattened row-major; images NHWC; Conv2D kernel (kh,kw,in,out). Random values from numpy "
                       "RandomState(0) uniform(-1,1), drawn in file order.",
        "cases": cases(),
    }
    reference_util.write(args.out, doc, GENERATOR, inline_depth=0, verbatim_keys=("config",))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate tests/reference/activations.json: Keras 3's activations and their derivatives at a
set of points, from the formulas Keras documents, evaluated in double precision with Python's
math module (no numpy, Keras or TensorFlow needed):

    python3 scripts/make_activation_reference.py          # writes tests/reference/activations.json

The C++ tests (tests/math/activations_reference_test.cpp) read the file and never need Python.

Conventions, as scripts/make_reference_values.py's:
  * every float is the shortest decimal that round-trips to the same float32;
  * the points are float32 values, and each reference is computed at exactly that float32;
  * "derivative" is null where the function has a kink at the point (no derivative to check).

The formulas (keras/src/activations/activations.py, Keras 3):
  gelu          x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form (approximate=False)
  silu, swish   x * sigmoid(x)
  elu           x if x > 0 else alpha (exp(x) - 1), alpha = 1
  selu          scale * elu(x, alpha), alpha = 1.67326324, scale = 1.05070098
  leaky_relu    x if x > 0 else negative_slope * x (the function's default slope 0.2; the
                LeakyReLU layer's default 0.3)
  softplus      log(1 + exp(x))
  hard_sigmoid  relu6(x + 3) / 6
  relu          keras.activations.relu(x, negative_slope, max_value, threshold): x above the
                threshold else 0, clipped to max_value, minus negative_slope * (threshold - x)
                below the threshold
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import struct
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = f"scripts/make_activation_reference.py, Python {platform.python_version()} math module (double)"

# The constants TensorFlow's and JAX's selu use; as float32 they equal Keras' documented
# 1.67326324 and 1.05070098.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

POINTS = [-20.0, -10.0, -6.0, -3.5, -3.0, -2.5, -1.7, -1.0, -0.5, -0.1, -1e-3, 0.0, 1e-3, 0.1, 0.3, 0.5,
          0.75, 1.0, 1.3, 2.0, 2.5, 3.0, 3.5, 4.5, 6.0, 10.0, 20.0]


def f32(v: float) -> float:
    """v rounded to the nearest float32."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def shortest(v: float) -> str:
    """The shortest decimal that reads back as float32(v)."""
    r = f32(v)
    if not math.isfinite(r):
        raise ValueError(f"non-finite value {v} cannot be written to JSON")
    for digits in range(1, 10):
        s = f"{r:.{digits}g}"
        if f32(float(s)) == r:
            return repr(float(s))  # Python's spelling of those digits: 20.0, 1e-05, -0.0
    return repr(r)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def phi(x):  # the standard normal's density
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def relu_with(slope, max_value, threshold):
    def f(x):
        y = x if x > threshold else 0.0
        if max_value is not None:
            y = min(max(y, 0.0), max_value)
        return y - slope * max(threshold - x, 0.0)

    def d(x):
        if x == threshold or (max_value is not None and x == max_value):
            return None
        if x > threshold:
            return 0.0 if max_value is not None and x > max_value else 1.0
        return slope

    return f, d


def leaky(slope):
    return (lambda x: x if x > 0 else slope * x), (lambda x: None if x == 0 else (1.0 if x > 0 else slope))


# name: (Keras activation name, parameters for kerosene's ActivationParams, f, f')
def cases():
    out = [
        ("gelu", {}, lambda x: 0.5 * x * math.erfc(-x / math.sqrt(2.0)),
         lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0)) + x * phi(x)),
        ("silu", {}, lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)))),
        ("elu", {}, lambda x: x if x > 0 else math.expm1(x), lambda x: 1.0 if x > 0 else math.exp(x)),
        ("selu", {}, lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * math.expm1(x)),
         lambda x: None if x == 0 else SELU_SCALE * (1.0 if x > 0 else SELU_ALPHA * math.exp(x))),
        ("leaky_relu", {"negative_slope": 0.2}, *leaky(0.2)),
        ("softplus", {}, lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))), sigmoid),
        ("hard_sigmoid", {}, lambda x: min(max(x + 3.0, 0.0), 6.0) / 6.0,
         lambda x: None if abs(x) == 3.0 else (1.0 / 6.0 if abs(x) < 3.0 else 0.0)),
        ("relu", {}, *relu_with(0.0, None, 0.0)),
        ("sigmoid", {}, sigmoid, lambda x: sigmoid(x) * (1.0 - sigmoid(x))),
        ("tanh", {}, math.tanh, lambda x: 1.0 - math.tanh(x) ** 2),
    ]
    # The layers' parameters: LeakyReLU's default slope, ReLU's max_value, slope and threshold.
    out.append(("leaky_relu", {"negative_slope": 0.3}, *leaky(0.3)))
    out.append(("relu", {"max_value": 6.0}, *relu_with(0.0, 6.0, 0.0)))
    out.append(("relu", {"negative_slope": 0.1, "max_value": 2.5, "threshold": 0.5}, *relu_with(0.1, 2.5, 0.5)))
    out.append(("relu", {"negative_slope": 0.3, "threshold": 1.0}, *relu_with(0.3, None, 1.0)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "tests", "reference", "activations.json"))
    args = ap.parse_args()
    xs = [f32(p) for p in POINTS]
    lines = []
    for name, params, f, d in cases():
        params = {k: float(shortest(v)) for k, v in params.items()}
        params_text = json.dumps(params)  # the parameters as given: short decimals
        values = ",".join(shortest(f(x)) for x in xs)
        derivatives = ",".join("null" if d(x) is None else shortest(d(x)) for x in xs)
        lines.append(f'    {{"activation": "{name}", "params": {params_text},\n'
                     f'     "values": [{values}],\n'
                     f'     "derivatives": [{derivatives}]}}')
    text = ("{\n"
            f'  "generator": {json.dumps(GENERATOR)},\n'
            '  "description": "Keras 3 activations f(x) and f\'(x) at float32 points, from the formulas in '
            'scripts/make_activation_reference.py, evaluated in double precision; derivatives are null at kinks.",\n'
            f'  "points": [{",".join(shortest(x) for x in xs)}],\n'
            '  "cases": [\n' + ",\n".join(lines) + "\n  ]\n}\n")
    json.loads(text)  # sanity: the file is valid JSON
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {os.path.relpath(args.out, REPO_ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

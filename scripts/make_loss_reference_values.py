#!/usr/bin/env python3
"""Keras 3's losses beyond the four cross-entropy/MSE cases of make_reference_values.py: each
loss object's value (reduction sum_over_batch_size unless the case says otherwise) and its
gradient w.r.t. y_pred, computed by Keras on the JAX backend. Writes
tests/reference/losses_keras3.json, which tests/backends/losses_keras3_test.cpp reads.

Run: KERAS_BACKEND=jax /tmp/kvenv/bin/python scripts/make_loss_reference_values.py
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

L = keras.losses
rng = np.random.default_rng(20261202)
BATCH, COLS = 4, 5


def case(name, loss_obj, y_true, y_pred, spec):
    y_true = np.asarray(y_true, np.float32)
    y_pred = np.asarray(y_pred, np.float32)
    fn = lambda p: loss_obj(jnp.asarray(y_true), p)  # noqa: E731
    value = float(fn(jnp.asarray(y_pred)))
    grad = np.asarray(jax.grad(fn)(jnp.asarray(y_pred)))
    return {
        "name": name,
        "spec": spec,  # the loss as kerosene's compile takes it
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "loss_value": value,
        "grad_y_pred": grad.astype(np.float64).tolist(),
    }


def main():
    cases = []
    errors = rng.normal(0, 1.5, (BATCH, COLS)).astype(np.float32)
    target = rng.normal(0, 1, (BATCH, COLS)).astype(np.float32)
    pred = target + errors
    positive_t = rng.uniform(0, 3, (BATCH, COLS)).astype(np.float32)
    positive_p = rng.uniform(0.05, 3, (BATCH, COLS)).astype(np.float32)
    probs_t = rng.dirichlet(np.ones(COLS), BATCH).astype(np.float32)
    probs_p = rng.dirichlet(np.ones(COLS), BATCH).astype(np.float32)
    probs_t[0, 1] = 0.0  # a zero target: clipped to eps in kl_divergence
    binary = rng.integers(0, 2, (BATCH, COLS)).astype(np.float32)
    signs = 2 * binary - 1
    scores = rng.normal(0, 1.2, (BATCH, COLS)).astype(np.float32)

    cases.append(case("mean_absolute_error", L.MeanAbsoluteError(), target, pred, "mae"))
    cases.append(case("mean_absolute_error_sum", L.MeanAbsoluteError(reduction="sum"), target, pred,
                      "mean_absolute_error:reduction=sum"))
    cases.append(case("mean_squared_error", L.MeanSquaredError(), target, pred, "mse"))
    cases.append(case("huber", L.Huber(), target, pred, "huber"))
    cases.append(case("huber_delta_2", L.Huber(delta=2.0), target, pred, "huber:delta=2"))
    cases.append(case("log_cosh", L.LogCosh(), target, pred, "log_cosh"))
    cases.append(case("log_cosh_large", L.LogCosh(), target, target + 30 * errors, "log_cosh"))
    msle_p = positive_p.copy()
    msle_p[1, 2] = -0.5  # below eps: clamped, no gradient
    cases.append(case("mean_squared_logarithmic_error", L.MeanSquaredLogarithmicError(), positive_t, msle_p, "msle"))
    cases.append(case("kl_divergence", L.KLDivergence(), probs_t, probs_p, "kld"))
    cases.append(case("poisson", L.Poisson(), positive_t, positive_p, "poisson"))
    cases.append(case("hinge_binary_labels", L.Hinge(), binary, scores, "hinge"))
    cases.append(case("hinge_signed_labels", L.Hinge(), signs, scores, "hinge"))
    cases.append(case("squared_hinge_binary_labels", L.SquaredHinge(), binary, scores, "squared_hinge"))
    cases.append(case("squared_hinge_signed_labels", L.SquaredHinge(), signs, scores, "squared_hinge"))
    cases.append(case("cosine_similarity", L.CosineSimilarity(), target, pred, "cosine_similarity"))
    onehot = np.eye(COLS, dtype=np.float32)[rng.integers(0, COLS, BATCH)]
    logits = rng.normal(0, 2, (BATCH, COLS)).astype(np.float32)
    cases.append(case("categorical_crossentropy_smoothing", L.CategoricalCrossentropy(label_smoothing=0.1), onehot,
                      probs_p, "categorical_crossentropy:label_smoothing=0.1"))
    cases.append(case("categorical_crossentropy_logits_smoothing",
                      L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), onehot, logits,
                      "categorical_crossentropy:from_logits:label_smoothing=0.2"))
    bin_p = rng.uniform(0.02, 0.98, (BATCH, COLS)).astype(np.float32)
    cases.append(case("binary_crossentropy_smoothing", L.BinaryCrossentropy(label_smoothing=0.1), binary, bin_p,
                      "binary_crossentropy:label_smoothing=0.1"))
    cases.append(case("binary_crossentropy_logits_smoothing",
                      L.BinaryCrossentropy(from_logits=True, label_smoothing=0.3), binary, logits,
                      "binary_crossentropy:from_logits:label_smoothing=0.3"))
    out = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": cases}
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference" / "losses_keras3.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()

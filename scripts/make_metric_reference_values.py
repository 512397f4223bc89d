#!/usr/bin/env python3
"""Keras 3's metrics accumulated over several batches (update_state per batch, then result):
the values tests/train/metrics_keras3_test.cpp compares kerosene's evaluate with. Writes
tests/reference/metrics_keras3.json.

Run: KERAS_BACKEND=jax /tmp/kvenv/bin/python scripts/make_metric_reference_values.py
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

BATCH, ROWS, COLS = 3, 10, 4  # batches of 3, 3, 3 and 1 rows


def accumulate(metric, y_true, y_pred):
    for start in range(0, ROWS, BATCH):
        metric.update_state(y_true[start:start + BATCH], y_pred[start:start + BATCH])
    return float(metric.result())


def main():
    rng = np.random.default_rng(1202)
    y_pred = rng.uniform(0, 1, (ROWS, COLS)).astype(np.float32)
    binary = rng.integers(0, 2, (ROWS, COLS)).astype(np.float32)
    regression = rng.normal(0, 1, (ROWS, COLS)).astype(np.float32)
    m = keras.metrics
    values = {
        "precision": accumulate(m.Precision(), binary, y_pred),
        "recall": accumulate(m.Recall(), binary, y_pred),
        "binary_accuracy": accumulate(m.BinaryAccuracy(), binary, y_pred),
        "mae": accumulate(m.MeanAbsoluteError(), regression, y_pred),
        "mse": accumulate(m.MeanSquaredError(), regression, y_pred),
        "root_mean_squared_error": accumulate(m.RootMeanSquaredError(), regression, y_pred),
    }
    out = {"keras_version": keras.__version__, "batch_size": BATCH, "y_pred": y_pred.tolist(),
           "y_true_binary": binary.tolist(), "y_true_regression": regression.tolist(), "values": values}
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference" / "metrics_keras3.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}: {values}")


if __name__ == "__main__":
    main()

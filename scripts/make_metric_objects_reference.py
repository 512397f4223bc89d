#!/usr/bin/env python3
"""Keras 3's counting metrics (top-k, AUC, F-beta, IoU) with options, accumulated over several
batches (update_state per batch, then result): the values tests/train/metric_objects_test.cpp
compares kerosene's evaluate with, each under the spec kerosene's compile takes. Writes
tests/reference/metric_objects.json.

Run: KERAS_BACKEND=jax /tmp/kvenv/bin/python scripts/make_metric_objects_reference.py
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

BATCH, ROWS, CLASSES = 8, 20, 7  # batches of 8, 8 and 4 rows


def accumulate(metric, y_true, y_pred):
    for start in range(0, ROWS, BATCH):
        metric.update_state(y_true[start:start + BATCH], y_pred[start:start + BATCH])
    return float(metric.result())


def main():
    rng = np.random.default_rng(1203)
    # Predictions that lean towards the labels, so that every metric is far from 0 and 1.
    ids = rng.integers(0, CLASSES, ROWS).astype(np.int32)
    one_hot = np.eye(CLASSES, dtype=np.float32)[ids]
    logits = (rng.normal(0, 1.5, (ROWS, CLASSES)) + 2.0 * one_hot).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = probs.astype(np.float32)
    binary = rng.integers(0, 2, (ROWS, CLASSES)).astype(np.float32)
    uniform = (0.6 * rng.uniform(0, 1, (ROWS, CLASSES)) + 0.4 * binary).astype(np.float32)
    binary_logits = (rng.normal(0, 1.5, (ROWS, CLASSES)) + 2.0 * binary - 1.0).astype(np.float32)
    # Class ids as predictions (MeanIoU's default sparse_y_pred): mostly right, some out of range,
    # all fractional (Keras truncates them).
    guess = rng.integers(-1, CLASSES + 1, ROWS)
    pred_ids = (np.where(rng.uniform(0, 1, ROWS) < 0.6, ids, guess).reshape(ROWS, 1) + 0.25).astype(np.float32)
    m = keras.metrics
    # (data set, kerosene's spec, Keras metric): each data set is (y_true, y_pred, loss).
    cases = [
        ("one_hot", "top_k_categorical_accuracy", m.TopKCategoricalAccuracy()),
        ("one_hot", "TopKCategoricalAccuracy:k=2:name=top2", m.TopKCategoricalAccuracy(k=2, name="top2")),
        ("sparse", "sparse_top_k_categorical_accuracy", m.SparseTopKCategoricalAccuracy()),
        ("sparse", "sparse_top_k_categorical_accuracy:k=3", m.SparseTopKCategoricalAccuracy(k=3)),
        ("binary", "auc", m.AUC()),
        ("binary", "auc:curve=PR", m.AUC(curve="PR")),
        ("binary", "auc:num_thresholds=50", m.AUC(num_thresholds=50)),
        ("binary", "auc:num_thresholds=7:summation_method=minoring", m.AUC(num_thresholds=7, summation_method="minoring")),
        ("binary", "auc:curve=PR:summation_method=majoring", m.AUC(curve="PR", summation_method="majoring")),
        ("binary_logits", "auc:from_logits=true", m.AUC(from_logits=True)),
        ("one_hot", "f1_score:average=micro", m.F1Score(average="micro")),
        ("one_hot", "f1_score:average=macro", m.F1Score(average="macro")),
        ("one_hot", "f1_score:average=weighted", m.F1Score(average="weighted")),
        ("binary", "f1_score:average=macro:threshold=0.5", m.F1Score(average="macro", threshold=0.5)),
        ("binary", "fbeta_score:average=weighted:beta=2:threshold=0.3",
         m.FBetaScore(average="weighted", beta=2.0, threshold=0.3)),
        ("sparse", "mean_io_u:num_classes=7:sparse_y_pred=false", m.MeanIoU(7, sparse_y_pred=False)),
        ("sparse", "mean_io_u:num_classes=7:sparse_y_pred=false:ignore_class=2",
         m.MeanIoU(7, sparse_y_pred=False, ignore_class=2)),
        ("ids", "mean_io_u:num_classes=7", m.MeanIoU(7)),
        ("sparse", "io_u:num_classes=7:target_class_ids=0,2,5:sparse_y_pred=false",
         m.IoU(7, target_class_ids=[0, 2, 5], sparse_y_pred=False)),
        ("one_hot", "one_hot_mean_io_u:num_classes=7", m.OneHotMeanIoU(7)),
    ]
    data = {
        "one_hot": (one_hot, probs),
        "sparse": (ids, probs),
        "binary": (binary, uniform),
        "binary_logits": (binary, binary_logits),
        "ids": (ids.reshape(ROWS, 1).astype(np.float32), pred_ids),
    }
    values = [{"data": d, "spec": spec, "value": accumulate(metric, *data[d])} for d, spec, metric in cases]
    out = {"keras_version": keras.__version__, "batch_size": BATCH,
           "data": {k: {"y_true": t.tolist(), "y_pred": p.tolist()} for k, (t, p) in data.items()},
           "cases": values}
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference" / "metric_objects.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    for v in values:
        print(f"{v['spec']}: {v['value']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""One epoch of MNIST in PyTorch (CPU), same setup as libtorch_mnist.cpp and kerosene.

    python bench/pytorch_mnist.py --data-dir DIR --model mlp|cnn|convnet --threads N \
        [--batch-size B] [--precision f32|bf16]

Adam(lr 1e-3, eps 1e-7), batch 32 (--batch-size), shuffled, cross entropy on logits, inputs /255.
convnet is keras.io/examples/vision/mnist_convnet in PyTorch's layers (its default init).
--precision bf16: forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), the
documented CPU mixed precision; weights and Adam stay float32.
Prints one JSON line: {"framework":"pytorch","model":...,"threads":N,"epoch_seconds":...,
"test_accuracy":...}. epoch_seconds is the training loop only (data already in memory).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_data  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def make_model(name: str) -> nn.Module:
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(5408, 10))
    if name == "convnet":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    raise SystemExit(f"unknown model {name!r} (mlp, cnn or convnet)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", "--dataset", dest="data_dir", required=True)
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn", "convnet"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training samples")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = mnist_data.load(args.data_dir, args.limit)
    x_train = torch.from_numpy(xtr.astype(np.float32) / 255.0).unsqueeze(1)
    y_train = torch.from_numpy(ytr)
    x_test = torch.from_numpy(xte.astype(np.float32) / 255.0).unsqueeze(1)
    y_test = torch.from_numpy(yte)

    model = make_model(args.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n = x_train.shape[0]
    bs = args.batch_size
    epoch_seconds = 0.0
    train_loss = 0.0
    for _ in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        xs, ys = x_train[perm], y_train[perm]
        total = 0.0
        for s in range(0, n, bs):
            xb, yb = xs[s:s + bs], ys[s:s + bs]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        epoch_seconds = time.perf_counter() - t0
        train_loss = total / n

    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, x_test.shape[0], 1000):
            correct += int((model(x_test[s:s + 1000]).argmax(1) == y_test[s:s + 1000]).sum())
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "model": args.model,
        "threads": torch.get_num_threads(), "epochs": args.epochs, "batch_size": bs, "precision": args.precision,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "train_samples": n, "train_loss": round(train_loss, 6),
        "epoch_seconds": round(epoch_seconds, 4),
        "test_accuracy": round(correct / x_test.shape[0], 4),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""FLOPs of one training epoch of the bench's models, and the CPU's measured peak: the
arithmetic floor of bench/compare.py (the epoch time if every multiply-add ran at peak).

Counting (per sample; an epoch is that times the samples trained):
  MACs of a layer with weights: Dense(in, out): in*out; Conv2D(cin -> cout, k x k, valid, output
  Ho x Wo): Ho*Wo*cout*k*k*cin.
  forward = 2*MACs (a multiply and an add).
  backward = 2*MACs for the weight gradient + 2*MACs for the input gradient = 2x forward, except
  for the model's first layer with weights: its input is the data, which needs no gradient, so
  its backward is the weight gradient alone = 1x forward.
  So: first layer 4*MACs, every later one 6*MACs.
Not counted: biases, activations, pooling, dropout, the loss and the optimizer (O(elements),
memory-bound, a few percent of the total: Adam is ~10 flops per parameter per step).

    flops_per_sample("convnet")  -> 14,256,384
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)

# Layers with weights, in order: ("dense", in, out) or ("conv", cin, cout, k, h_out, w_out).
MODELS = {
    "mlp": [("dense", 784, 128), ("dense", 128, 10)],
    "cnn": [("conv", 1, 32, 3, 26, 26), ("dense", 13 * 13 * 32, 10)],
    # keras.io/examples/vision/mnist_convnet: 28 -conv-> 26 -pool-> 13 -conv-> 11 -pool-> 5
    "convnet": [("conv", 1, 32, 3, 26, 26), ("conv", 32, 64, 3, 11, 11), ("dense", 5 * 5 * 64, 10)],
}


def macs(layer) -> int:
    if layer[0] == "dense":
        return layer[1] * layer[2]
    _, cin, cout, k, ho, wo = layer
    return ho * wo * cout * k * k * cin


def flops_per_sample(model: str) -> int:
    """Forward and backward FLOPs of one training sample (the module docstring's formula)."""
    total = 0
    for i, layer in enumerate(MODELS[model]):
        total += (4 if i == 0 else 6) * macs(layer)
    return total


def flops_per_epoch(model: str, samples: int) -> int:
    return flops_per_sample(model) * samples


def find_or_build_peak_flops(explicit: str | None = None) -> str | None:
    """The peak_flops binary: explicit, else build/bench/ or build-bench/, else compiled here with
    g++ (no -march: it picks its kernels at run time) into a temporary directory."""
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for rel in ("build/bench/peak_flops", "build-bench/peak_flops"):
        p = os.path.join(REPO_ROOT, rel)
        if os.path.exists(p):
            return p
    cxx = shutil.which("g++") or shutil.which("c++")
    if not cxx:
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="kerosene-peak-"), "peak_flops")
    r = subprocess.run([cxx, "-O2", "-std=c++17", os.path.join(BENCH_DIR, "peak_flops.cpp"), "-o", out],
                       capture_output=True, text=True)
    return out if r.returncode == 0 else None


def measure_peak(binary: str, runs: int = 3) -> dict:
    """peak_flops' JSON, best of `runs` runs per field (other work only ever lowers a reading).
    Returns {"f32": GFLOP/s, "bf16": GFLOP/s or None, "f32_isa": ..., "bf16_isa": ..., "raw": [...]}."""
    raws = []
    for _ in range(runs):
        r = subprocess.run([binary], capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            raws.append(json.loads(r.stdout))
    if not raws:
        raise RuntimeError(f"{binary} failed")

    def best(key):
        vals = [x[key]["gflops"] for x in raws if x.get(key)]
        return max(vals) if vals else None

    return {"f32": best("f32"), "bf16": best("bf16"), "f32_avx2": best("f32_avx2"),
            "f32_isa": raws[0]["f32"]["isa"], "bf16_isa": (raws[0]["bf16"] or {}).get("isa"),
            "bf16_note": raws[0].get("bf16_note"), "runs": len(raws), "raw": raws}

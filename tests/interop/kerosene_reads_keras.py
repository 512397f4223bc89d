#!/usr/bin/env python3
"""kerosene reads what Keras 3 wrote: python kerosene_reads_keras.py INTEROP_TOOL DIR.

For each entry of DIR/manifest.json (keras_writes.py) runs `interop_tool predict` (a .keras or
.h5 model file) or `interop_tool predict-weights` (to_json + .weights.h5) and compares kerosene's
predictions with Keras' within 1e-5 (absolute plus relative). Needs only numpy. One line per
file; exits 1 if any fails.
"""
import json
import os
import subprocess
import sys

import numpy as np

TOL = 1e-5


def listed(files):
    return files if isinstance(files, list) else [files]


def compare(got, want):
    """'' when kerosene's predictions are Keras' within TOL, else where they differ."""
    got, want = got.astype(np.float64), want.astype(np.float64)
    if got.shape != want.shape:
        return f"kerosene predicted shape {got.shape}, Keras {want.shape}"
    err = np.abs(got - want) - TOL * np.abs(want)
    if np.any(err > TOL) or not np.all(np.isfinite(got)):
        k = np.unravel_index(np.argmax(err), err.shape)
        return (f"max difference {np.max(np.abs(got - want)):.3g} at {tuple(int(v) for v in k)}: "
                f"kerosene {got[k]:.8g}, Keras {want[k]:.8g}")
    return ""


def main():
    tool, directory = sys.argv[1], sys.argv[2]
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    failed = 0
    for i, entry in enumerate(manifest):
        # A model with several inputs and outputs lists one file each: the tool takes them
        # comma-separated, in the model's order.
        at = lambda key: ",".join(os.path.join(directory, p) for p in listed(entry[key]))
        wants = listed(entry["y"])
        outs = [os.path.join(directory, f"kerosene_{i}_{k}.npy") for k in range(len(wants))]
        if "model" in entry:
            command = [tool, "predict", at("model"), at("x"), ",".join(outs)]
        else:
            command = [tool, "predict-weights", at("json"), at("weights"), at("x"), ",".join(outs)]
        run = subprocess.run(command, capture_output=True, text=True)
        problem = ""
        if run.returncode != 0:
            problem = (run.stderr.strip() or run.stdout.strip() or f"exit {run.returncode}")[-800:]
        elif "skipping the optimizer" in run.stderr:  # Keras' optimizer variables not understood
            problem = run.stderr.strip()[-800:]
        else:
            for out, want_file in zip(outs, wants):
                problem = problem or compare(np.load(out), np.load(os.path.join(directory, want_file)))
        if problem:
            failed += 1
            print(f"FAIL {entry['case']}: {problem}", flush=True)
        else:
            print(f"PASS {entry['case']}", flush=True)
    print(f"kerosene_reads_keras: {len(manifest) - failed}/{len(manifest)} files pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

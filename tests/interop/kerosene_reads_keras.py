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


def main():
    tool, directory = sys.argv[1], sys.argv[2]
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    failed = 0
    for i, entry in enumerate(manifest):
        at = lambda key: os.path.join(directory, entry[key])
        out = os.path.join(directory, f"kerosene_{i}.npy")
        if "model" in entry:
            command = [tool, "predict", at("model"), at("x"), out]
        else:
            command = [tool, "predict-weights", at("json"), at("weights"), at("x"), out]
        run = subprocess.run(command, capture_output=True, text=True)
        problem = ""
        if run.returncode != 0:
            problem = (run.stderr.strip() or run.stdout.strip() or f"exit {run.returncode}")[-800:]
        elif "skipping the optimizer" in run.stderr:  # Keras' optimizer variables not understood
            problem = run.stderr.strip()[-800:]
        else:
            got = np.load(out).astype(np.float64)
            want = np.load(at("y")).astype(np.float64)
            if got.shape != want.shape:
                problem = f"kerosene predicted shape {got.shape}, Keras {want.shape}"
            else:
                err = np.abs(got - want) - TOL * np.abs(want)
                if np.any(err > TOL) or not np.all(np.isfinite(got)):
                    k = np.unravel_index(np.argmax(err), err.shape)
                    problem = (f"max difference {np.max(np.abs(got - want)):.3g} at {tuple(int(v) for v in k)}: "
                               f"kerosene {got[k]:.8g}, Keras {want[k]:.8g}")
        if problem:
            failed += 1
            print(f"FAIL {entry['case']}: {problem}", flush=True)
        else:
            print(f"PASS {entry['case']}", flush=True)
    print(f"kerosene_reads_keras: {len(manifest) - failed}/{len(manifest)} files pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

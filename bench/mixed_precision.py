#!/usr/bin/env python3
"""float32 against mixed_bfloat16 on the CPU: one training epoch of `kerosene train --model mlp`
at batch 512 and `--model cnn` at batch 128, each policy run `--repeat` times, the two policies
alternating (f32, bf16, f32, bf16, ...) so that a noisy shared machine disturbs both alike.
Reports the median epoch seconds of each and the ratio of the medians, plus the ratio within
each alternating pair (its median too), and the test accuracy.

    python3 bench/mixed_precision.py [--build build] [--repeat 5] [--dataset DIR]
"""
import argparse
import json
import os
import statistics
import subprocess


def run(build, dataset, model, batch, policy):
    out = subprocess.run([os.path.join(build, "kerosene"), "train", "--model", model, "--dataset", dataset,
                          "--batch-size", str(batch), "--epochs", "1", "--verbose", "0", "--json", "--seed", "1",
                          "--device", "/CPU:0", "--mixed-precision", policy],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dataset", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                                                     "datasets", "mnist"))
    a = p.parse_args()
    print("| model | batch | float32 epoch s (median) | mixed_bfloat16 epoch s (median) | bf16 / f32 (medians) "
          "| bf16 / f32 (median of pairs) | test accuracy f32 / bf16 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for model, batch in [("mlp", 512), ("cnn", 128)]:
        times = {"off": [], "bf16": []}
        accuracy = {}
        for _ in range(a.repeat):
            for policy in ("off", "bf16"):
                r = run(a.build, a.dataset, model, batch, policy)
                assert r["dtype_policy"] == ("float32" if policy == "off" else "mixed_bfloat16"), r["dtype_policy"]
                times[policy].append(r["epoch_seconds"][0])
                accuracy[policy] = r["test_accuracy"]
        f32, bf16 = statistics.median(times["off"]), statistics.median(times["bf16"])
        pairs = statistics.median(b / f for f, b in zip(times["off"], times["bf16"]))
        print(f"| {model} | {batch} | {f32:.3f} ({', '.join(f'{t:.3f}' for t in times['off'])}) "
              f"| {bf16:.3f} ({', '.join(f'{t:.3f}' for t in times['bf16'])}) | {bf16 / f32:.2f} | {pairs:.2f} "
              f"| {accuracy['off']:.4f} / {accuracy['bf16']:.4f} |", flush=True)


if __name__ == "__main__":
    main()

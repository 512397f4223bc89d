#!/usr/bin/env python3
"""Data-parallel scaling on this machine: samples per second of the MNIST CNN with two logical
CPU replicas (MirroredStrategy, one core each) against one replica on one core, at the same
per-replica batch. Also prints the plain single-device run with every core (the intra-op
parallel baseline), for context.

    python3 bench/mirrored_scaling.py [--build build] [--steps 600] [--repeat 3] [--json-out F]

Each configuration runs `kerosene train --json` in a fresh process, `--repeat` times; the best
run counts (the machine is shared: the best is the least disturbed). Run it on a quiet machine.
"""
import argparse
import json
import os
import platform
import subprocess
import sys


def run(build, args, env_extra):
    env = dict(os.environ, **env_extra)
    out = subprocess.run([os.path.join(build, "kerosene"), "train", "--model", "cnn", "--verbose", "0", "--json",
                          "--seed", "1"] + args, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--dataset", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--per-replica-batch", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json-out")
    a = p.parse_args()
    b = a.per_replica_batch
    common = ["--dataset", a.dataset, "--steps-per-epoch", str(a.steps)]
    configs = [
        ("1 replica, 1 core", common + ["--strategy", "mirrored", "--devices", "/CPU:0", "--batch-size", str(b)],
         {"OMP_NUM_THREADS": "1"}),
        ("2 replicas, 1 core each", common + ["--strategy", "mirrored", "--devices", "/CPU:0,/CPU:1",
                                              "--batch-size", str(2 * b)], {}),
        ("1 device, 2 threads (no strategy)", common + ["--batch-size", str(b)], {}),
    ]
    results = []
    for name, args, env in configs:
        runs = [run(a.build, args, env)["train_samples_per_second"] for _ in range(a.repeat)]
        results.append({"config": name, "samples_per_second": max(runs), "runs": runs})
    base = results[0]["samples_per_second"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"CNN, {a.steps} steps, per-replica batch {b}, best of {a.repeat}")
    print("| configuration | samples/s (best) | all runs | vs 1 replica |")
    print("|---|---:|---|---:|")
    for r in results:
        runs = ", ".join(f"{x:.0f}" for x in r["runs"])
        print(f"| {r['config']} | {r['samples_per_second']:.0f} | {runs} | {r['samples_per_second'] / base:.2f} |")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

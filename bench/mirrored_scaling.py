#!/usr/bin/env python3
"""Data-parallel scaling on this machine: samples per second of the MNIST CNN with two logical
CPU replicas (MirroredStrategy, one core each) against this machine's two-way ceiling, the summed
samples per second of two independent one-core trainings run side by side, and against one
replica on one core, at the same per-replica batch. Also prints the plain single-device run with
every core (the intra-op thread team), for context.

    python3 bench/mirrored_scaling.py [--build build] [--steps 1875] [--repeat 5] [--json-out F]

Each configuration runs `kerosene train --json` in fresh processes, `--repeat` rounds, the
configurations interleaved within each round (round 1 of every configuration, then round 2...)
so that a shared machine's load falls on all alike; the median of the rounds is reported, all
runs in brackets. The two side-by-side trainings start together and each reports its own epoch;
their sum is the ceiling for any two-way split of the work on this machine (shared L3, memory
bandwidth, SMT or not). Twice the slower of the two is the ceiling of a synchronous split into
equal shares, which MirroredStrategy is: when one core runs slower than the other (a busy host's
other guests), every step waits for the slower replica. Run it on a quiet machine.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys


EQUAL_SHARES = "equal shares' ceiling: 2 x the slower of that pair"


def command(build, args):
    return [os.path.join(build, "kerosene"), "train", "--model", "cnn", "--verbose", "0", "--json", "--seed", "1"] + args


def rate(stdout):
    return json.loads(stdout)["train_samples_per_second"]


def run(build, args, env_extra):
    env = dict(os.environ, **env_extra)
    out = subprocess.run(command(build, args), capture_output=True, text=True, env=env, check=True)
    return rate(out.stdout)


def run_side_by_side(build, args, env_extra, copies=2):
    env = dict(os.environ, **env_extra)
    procs = [subprocess.Popen(command(build, args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(copies)]
    rates = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"side-by-side run failed ({p.returncode}): {err.strip()}")
        rates.append(rate(out))
    return rates


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--dataset", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist"))
    p.add_argument("--steps", type=int, default=1875)
    p.add_argument("--per-replica-batch", type=int, default=32)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json-out")
    a = p.parse_args()
    b = a.per_replica_batch
    common = ["--dataset", a.dataset, "--steps-per-epoch", str(a.steps)]
    one_core = common + ["--device", "/CPU:0", "--batch-size", str(b)]
    configs = [
        ("1 replica, 1 core", lambda: run(a.build, common + ["--strategy", "mirrored", "--devices", "/CPU:0",
                                                             "--batch-size", str(b)], {"OMP_NUM_THREADS": "1"})),
        ("2 replicas, 1 core each", lambda: run(a.build, common + ["--strategy", "mirrored", "--devices",
                                                                   "/CPU:0,/CPU:1", "--batch-size", str(2 * b)], {})),
        ("ceiling: 2 independent 1-core trainings side by side (sum)",
         lambda: run_side_by_side(a.build, one_core, {"OMP_NUM_THREADS": "1"})),
        # Derived from the same pair of runs as the ceiling (see the docstring), not run again.
        (EQUAL_SHARES, None),
        ("1 device, 2 threads (no strategy)", lambda: run(a.build, common + ["--batch-size", str(b)], {})),
    ]
    runs = {name: [] for name, _ in configs}
    for _ in range(a.repeat):
        for name, f in configs:
            if f is None:
                continue
            value = f()
            if isinstance(value, list):  # the side-by-side pair
                runs[name].append(sum(value))
                runs[EQUAL_SHARES].append(len(value) * min(value))
            else:
                runs[name].append(value)
    results = [{"config": name, "samples_per_second": statistics.median(runs[name]), "runs": runs[name]}
               for name, _ in configs]
    base = results[0]["samples_per_second"]
    ceiling = results[2]["samples_per_second"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"CNN, {a.steps} steps, per-replica batch {b}, median of {a.repeat} interleaved rounds")
    print("| configuration | samples/s (median) | all runs | vs 1 replica | vs ceiling |")
    print("|---|---:|---|---:|---:|")
    for r in results:
        all_runs = ", ".join(f"{x:.0f}" for x in r["runs"])
        print(f"| {r['config']} | {r['samples_per_second']:.0f} | {all_runs} | "
              f"{r['samples_per_second'] / base:.2f} | {r['samples_per_second'] / ceiling:.2f} |")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

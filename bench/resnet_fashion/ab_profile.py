#!/usr/bin/env python3
"""A/B of kerosene's side of the Fashion-MNIST ResNet benchmark, layer by layer.

Runs build/bench_resnet_fashion alternately under environment A and B (fresh processes, A then
B, --rounds times) with KEROSENE_PROFILE=<json>, and prints per layer the median CPU
milliseconds per step (forward + backward, all threads: what a busy shared machine inflates
least), the step's CPU ms (sum of the parts) and the process' CPU seconds (getrusage of the
child). Example, the executor's ReLU fusion off (A) and on (B):

    python3 bench/resnet_fashion/ab_profile.py --a KEROSENE_FUSE_RELU=0 --b KEROSENE_FUSE_RELU=1
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(binary, env_pairs, steps, threads):
    env = dict(os.environ)
    for pair in env_pairs:
        k, v = pair.split("=", 1)
        env[k] = v
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    env["KEROSENE_PROFILE"] = path
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([binary, "--steps", str(steps), "--eval", "0", "--threads", str(threads)], env=env,
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    prof = json.load(open(path))
    os.unlink(path)
    layers = {l["name"]: l["forward_cpu_ms"] + l["backward_cpu_ms"] for l in prof["layers"]}
    layers["optimizer"] = prof["optimizer_cpu_ms"]
    wall = {l["name"]: l["forward_ms"] + l["backward_ms"] for l in prof["layers"]}
    return {"layers": layers, "step_cpu_ms": sum(layers.values()), "step_wall_ms": sum(wall.values()),
            "process_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "warm_s": json.loads(out.strip().splitlines()[-1])["warm_seconds"][0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", nargs="*", default=[])
    ap.add_argument("--b", nargs="*", default=[])
    ap.add_argument("--binary-a", default=os.path.join(ROOT, "build", "bench_resnet_fashion"))
    ap.add_argument("--binary-b", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    res = {"A": [], "B": []}
    for _ in range(args.rounds):
        res["A"].append(run(args.binary_a, args.a, args.steps, args.threads))
        res["B"].append(run(args.binary_b or args.binary_a, args.b, args.steps, args.threads))
    med = lambda xs: statistics.median(xs)
    names = list(res["A"][0]["layers"])
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'part':24s} {'A cpu ms':>9s} {'B cpu ms':>9s} {'B-A':>8s}")
    for n in names:
        a = med([r["layers"].get(n, 0.0) for r in res["A"]])
        b = med([r["layers"].get(n, 0.0) for r in res["B"]])
        print(f"{n:24s} {a:9.3f} {b:9.3f} {b - a:8.3f}")
    for key in ["step_cpu_ms", "step_wall_ms", "process_cpu_s", "warm_s"]:
        a = [r[key] for r in res["A"]]
        b = [r[key] for r in res["B"]]
        ratios = [y / x for x, y in zip(a, b)]
        print(f"{key:24s} {med(a):9.3f} {med(b):9.3f}  B/A per round median {med(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(json.dumps({k: [{kk: vv for kk, vv in r.items() if kk != 'layers'} for r in v] for k, v in res.items()}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Samples per second of `kerosene train` at each batch size, with the CPU's tiled training step
on and off, and where each step's time goes (KEROSENE_PROFILE, per layer).

Each configuration runs in a fresh process, the configurations alternate within each round, and
the table shows medians over the rounds: on a shared machine, compare rows of one run, not runs.
CPU time (all threads) is shown next to wall-clock time because a busy machine inflates the
latter far more. Prints the CPU it ran on.

  python3 bench/batch_scaling.py --model cnn --threads 1 --batches 16,32,64,128,256,512 --rounds 5
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile


def cpu_name():
    with open("/proc/cpuinfo") as f:
        info = f.read()
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({os.cpu_count()} CPUs; {' '.join(isa)})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kerosene", default="build/kerosene")
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--batches", default="16,32,64,128,256,512")
    ap.add_argument("--tiles", default="auto,0", help="KEROSENE_CPU_TILE_ROWS values; auto: unset")
    ap.add_argument("--samples", type=int, default=16384, help="training samples per run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--datasets", default=os.environ.get("KEROSENE_DATASETS", "../shared/datasets"))
    args = ap.parse_args()

    env = dict(os.environ, KEROSENE_DATASETS=args.datasets, OMP_NUM_THREADS=args.threads)
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    env["KEROSENE_PROFILE"] = profile
    results = {}
    for _ in range(args.rounds):
        for batch in (int(b) for b in args.batches.split(",")):
            for tile in args.tiles.split(","):
                if tile == "auto":
                    env.pop("KEROSENE_CPU_TILE_ROWS", None)
                else:
                    env["KEROSENE_CPU_TILE_ROWS"] = tile
                steps = max(8, args.samples // batch)
                subprocess.run([args.kerosene, "train", "--model", args.model, "--epochs", "1", "--batch-size",
                                str(batch), "--steps-per-epoch", str(steps), "--verbose", "0"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                with open(profile) as f:
                    p = json.load(f)
                parts = {l["name"]: (l["forward_cpu_ms"], l["backward_cpu_ms"]) for l in p["layers"]}
                cpu = sum(f + b for f, b in parts.values()) + p["loss_cpu_ms"] + p["optimizer_cpu_ms"]
                wall = sum(l["forward_ms"] + l["backward_ms"] for l in p["layers"]) + p["loss_ms"] + p["optimizer_ms"]
                results.setdefault((batch, tile), []).append((cpu, wall, parts))

    print(f"{args.model}, {args.threads} thread(s), {cpu_name()}, median of {args.rounds} rounds")
    print("| batch | tile | step CPU us/sample | step wall us/sample | samples/s (wall) | per layer, CPU us/sample fwd/bwd |")
    print("|---:|---:|---:|---:|---:|---|")
    for (batch, tile), runs in sorted(results.items()):
        cpu = statistics.median(r[0] for r in runs) * 1e3 / batch
        wall = statistics.median(r[1] for r in runs) * 1e3 / batch
        names = list(runs[0][2])
        layers = " ".join(
            f"{n}: {statistics.median(r[2][n][0] for r in runs) * 1e3 / batch:.1f}/"
            f"{statistics.median(r[2][n][1] for r in runs) * 1e3 / batch:.1f}" for n in names)
        print(f"| {batch} | {tile} | {cpu:.1f} | {wall:.1f} | {1e6 / wall:,.0f} | {layers} |")


if __name__ == "__main__":
    main()

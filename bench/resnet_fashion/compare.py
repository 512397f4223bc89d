#!/usr/bin/env python3
"""Fashion-MNIST residual network: kerosene vs Keras 3 vs libtorch, side by side, in one run.

Each round runs kerosene, then Keras, then libtorch (fresh processes, one after the other), so
that load changes on a shared machine hit all of them alike; the report gives medians over the
rounds, kerosene's speed ratio against each reference, the test accuracies with their spread, and
the machine and its load (uptime) before and after.

    python3 bench/resnet_fashion/compare.py --rounds 5 --steps 110            # speed
    python3 bench/resnet_fashion/compare.py --rounds 3 --epochs 3 --eval-each-epoch  # accuracy

Programs (a missing one is reported, then skipped with --allow-missing, else an error):
  kerosene  build/bench_resnet_fashion   (cmake --build build --target bench_resnet_fashion)
  keras     bench/resnet_fashion/keras_resnet.py run by the Python of --venv
            (default $KERAS_VENV, else /tmp/kvenv); backend $KERAS_BACKEND, default jax
  libtorch  build-bench-resnet/libtorch_resnet
            (cmake -S bench/resnet_fashion -B build-bench-resnet && cmake --build build-bench-resnet)

Speed: with --steps N each run trains N batches of the first epoch; the first --warmup-steps W
(default 10: Keras traces and compiles its train step there, oneDNN and libtorch create their
primitives) are not timed, and the time of the other N-W batches is scaled to a full epoch
(ceil(60000/128) = 469 batches): "epoch-equivalent seconds". Without --steps whole epochs run and
both the full first epoch and its part after the warm-up are reported.
Environment of every child: OMP_NUM_THREADS=--threads, OMP_WAIT_POLICY=--omp-wait-policy
(default PASSIVE: with libgomp's default spinning, libtorch on 2 busy cores runs several times
slower), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed; libtorch also gets --threads via
torch::set_num_threads, kerosene via set_intra_op_parallelism_threads; Keras/jax uses its default
(all cores of the machine) unless XLA_FLAGS is set by the caller. --openblas-dir puts a folder
first on libtorch's LD_LIBRARY_PATH (Debian's libtorch calls libblas.so.3).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FRAMEWORKS = ["kerosene", "keras", "libtorch"]


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        return f"<{exc}>"


def machine() -> dict:
    f = {}
    for line in sh("lscpu").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            f[k.strip()] = v.strip()
    flags = set(f.get("Flags", "").split())
    return {
        "model_name": f.get("Model name", "?"),
        "cpus": f.get("CPU(s)", "?"),
        "threads_per_core": f.get("Thread(s) per core", "?"),
        "avx512f": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
        "amx": any(x.startswith("amx") for x in flags),
        "hypervisor": f.get("Hypervisor vendor", ""),
        "kernel": sh("uname -r"),
    }


def parse_json(text: str):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def report(frameworks, runs, steps, epochs, eval_each_epoch) -> None:
    """Prints the Markdown table and the per-round ratios of a session's runs."""
    ok = {fw: [r for r in runs if r["framework"] == fw and not r.get("failed")] for fw in frameworks}
    versions = {fw: (ok[fw][0].get("version", "") if ok[fw] else "") for fw in frameworks}
    med = {fw: statistics.median([r["epoch_equiv"] for r in ok[fw]]) for fw in frameworks if ok[fw]}

    def spread(xs):
        return f"{min(xs):.2f}-{max(xs):.2f}" if xs else ""

    print("| framework | runs | epoch-equivalent s, median (min-max) | median / kerosene's median | "
          + ("first epoch s, median | " if not steps else "") + "test accuracy, mean ± sd (min-max) |")
    print("|---|---:|---:|---:|" + ("---:|" if not steps else "") + "---|")
    for fw in frameworks:
        rs = ok[fw]
        if not rs:
            print(f"| {fw} | 0 | n/a | | |")
            continue
        eq = [r["epoch_equiv"] for r in rs]
        ratio = med[fw] / med["kerosene"] if "kerosene" in med else float("nan")
        accs = []
        if eval_each_epoch:
            for e in range(epochs):
                a = [r["test_accuracy_per_epoch"][e] for r in rs if len(r.get("test_accuracy_per_epoch", [])) > e]
                if a:
                    sd = statistics.stdev(a) if len(a) > 1 else 0.0
                    accs.append(f"ep{e + 1}: {statistics.mean(a):.4f} ± {sd:.4f} ({min(a):.4f}-{max(a):.4f})")
        else:
            a = [r["test_accuracy"] for r in rs]
            sd = statistics.stdev(a) if len(a) > 1 else 0.0
            accs.append(f"{statistics.mean(a):.4f} ± {sd:.4f} ({min(a):.4f}-{max(a):.4f})")
        first = ""
        if not steps:
            first = f"{statistics.median([r['epoch_seconds'][0] for r in rs]):.2f} | "
        name = f"{fw} ({versions[fw]})" if versions[fw] else fw
        print(f"| {name} | {len(rs)} | {med[fw]:.2f} ({spread(eq)}) | {ratio:.2f}x | {first}{'; '.join(accs)} |")
    # Ratios within each round (the runs of one round saw about the same load), then their median.
    if "kerosene" in med:
        by_round = {}
        for r in runs:
            if not r.get("failed"):
                by_round.setdefault(r["round"], {})[r["framework"]] = r["epoch_equiv"]
        print()
        for fw in frameworks:
            if fw == "kerosene":
                continue
            q = [v[fw] / v["kerosene"] for v in by_round.values() if fw in v and "kerosene" in v]
            if q:
                print(f"{fw} / kerosene, per round: median {statistics.median(q):.2f} "
                      f"(min {min(q):.2f}, max {max(q):.2f}; {', '.join(f'{x:.2f}' for x in q)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="batches per run (0: whole epochs)")
    ap.add_argument("--warmup-steps", type=int, default=10)
    ap.add_argument("--eval-each-epoch", action="store_true", help="test accuracy after every epoch")
    ap.add_argument("--seed", type=int, default=1, help="round r uses seed + r for every framework")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--data-dir", default=os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"),
                    help="folder with the four Fashion-MNIST IDX .gz files")
    ap.add_argument("--venv", default=os.environ.get("KERAS_VENV", "/tmp/kvenv"))
    ap.add_argument("--kerosene", default=os.path.join(ROOT, "build", "bench_resnet_fashion"))
    ap.add_argument("--kerosene-dtype-policy", default="float32", help="kerosene's: float32 or mixed_bfloat16 (the references stay float32)")
    ap.add_argument("--libtorch", default=os.path.join(ROOT, "build-bench-resnet", "libtorch_resnet"))
    ap.add_argument("--openblas-dir", default=os.environ.get("OPENBLAS_DIR", ""))
    ap.add_argument("--omp-wait-policy", default="PASSIVE", help="'' leaves OMP_WAIT_POLICY unset")
    ap.add_argument("--allow-missing", action="store_true")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--json-out", default="")
    ap.add_argument("--report-from", default="", help="print the report of a saved --json-out file; run nothing")
    args = ap.parse_args()
    if args.report_from:
        with open(args.report_from) as fh:
            saved = json.load(fh)
        a, m = saved["args"], saved["machine"]
        fws = [f for f in a["frameworks"].split(",") if any(r["framework"] == f for r in saved["runs"])]
        print(f"# session of {saved['started']}: {m['model_name']}, {m['cpus']} CPUs, avx512f={m['avx512f']} "
              f"avx512_bf16={m['avx512_bf16']}\nuptime before: {saved['uptime_before']}\n"
              f"uptime after: {saved['uptime_after']}\n")
        report(fws, saved["runs"], a["steps"], a["epochs"], a["eval_each_epoch"])
        return 0

    frameworks = [f for f in args.frameworks.split(",") if f]
    data_dir = os.path.abspath(args.data_dir)
    need = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz"]
    missing_files = [n for n in need if not os.path.exists(os.path.join(data_dir, n))]
    if missing_files:
        sys.exit(f"compare.py: {data_dir} lacks {', '.join(missing_files)} "
                 "(Debian: apt-get install dataset-fashion-mnist, or pass --data-dir)")
    python = os.path.join(args.venv, "bin", "python")
    missing = {}
    if "kerosene" in frameworks and not os.access(args.kerosene, os.X_OK):
        missing["kerosene"] = f"{args.kerosene} not built (cmake --build build --target bench_resnet_fashion)"
    if "libtorch" in frameworks and not os.access(args.libtorch, os.X_OK):
        missing["libtorch"] = (f"{args.libtorch} not built (cmake -S bench/resnet_fashion -B build-bench-resnet "
                               "&& cmake --build build-bench-resnet; needs libtorch-dev)")
    if "keras" in frameworks:
        if not os.access(python, os.X_OK):
            missing["keras"] = f"no Python at {python} (pass --venv or set KERAS_VENV to a venv with keras 3)"
        elif subprocess.run([python, "-c", "import keras"], capture_output=True,
                            env=dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "jax"))).returncode:
            missing["keras"] = f"{python} cannot import keras (backend {os.environ.get('KERAS_BACKEND', 'jax')})"
    for fw, why in missing.items():
        print(f"compare.py: {fw}: {why}", file=sys.stderr)
    if missing and not args.allow_missing:
        return 2
    frameworks = [f for f in frameworks if f not in missing]

    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    env["OMP_NUM_THREADS"] = str(args.threads)
    if args.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    env["KEROSENE_DATASETS"] = os.path.dirname(data_dir)  # kerosene looks in <it>/fashion-mnist/
    env.setdefault("KERAS_BACKEND", "jax")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    common = ["--epochs", str(args.epochs), "--seed", "{seed}", "--warmup-steps", str(args.warmup_steps)]
    if args.steps:
        common += ["--steps", str(args.steps)]
    if args.eval_each_epoch:
        common += ["--eval-each-epoch", "1"]
    cmds = {
        "kerosene": [args.kerosene, "--threads", str(args.threads), "--dtype-policy", args.kerosene_dtype_policy] + common,
        "keras": [python, os.path.join(HERE, "keras_resnet.py"), "--data-dir", data_dir] + common,
        "libtorch": [args.libtorch, "--data-dir", data_dir, "--threads", str(args.threads)] + common,
    }
    envs = {fw: dict(env) for fw in FRAMEWORKS}
    if args.openblas_dir:
        envs["libtorch"]["LD_LIBRARY_PATH"] = args.openblas_dir + os.pathsep + env.get("LD_LIBRARY_PATH", "")

    m = machine()
    started = dt.datetime.now(dt.timezone.utc)
    up_before = sh("uptime")
    print(f"# Fashion-MNIST ResNet: {', '.join(frameworks)}  ({started:%Y-%m-%d %H:%M} UTC)")
    print(f"machine: {m['model_name']}, {m['cpus']} CPUs ({m['threads_per_core']} thread(s)/core), "
          f"avx512f={m['avx512f']} avx512_bf16={m['avx512_bf16']} amx={m['amx']} {m['hypervisor']}")
    print(f"uptime before: {up_before}")
    print(f"threads {args.threads}, OMP_WAIT_POLICY={args.omp_wait_policy or '(unset)'}, rounds {args.rounds}, "
          f"epochs {args.epochs}, steps {args.steps or 'all'}, warm-up steps {args.warmup_steps}", flush=True)

    runs = []
    for r in range(args.rounds):
        seed = args.seed + r
        for fw in frameworks:
            cmd = [c.replace("{seed}", str(seed)) for c in cmds[fw]]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=envs[fw], capture_output=True, text=True, timeout=args.timeout)
            wall = time.perf_counter() - t0
            res = parse_json(p.stdout)
            if p.returncode != 0 or res is None:
                print(f"round {r} {fw}: FAILED rc={p.returncode}\n{p.stderr[-2000:]}", file=sys.stderr, flush=True)
                runs.append({"framework": fw, "round": r, "seed": seed, "failed": True})
                continue
            res.update({"round": r, "seed": seed, "process_seconds": round(wall, 2),
                        "load1": float(sh("cut -d' ' -f1 /proc/loadavg") or "nan")})
            runs.append(res)
            steps_done = args.steps or math.ceil(res["train_samples"] / res["batch_size"])
            w = res["warm_seconds"][0]
            res["epoch_equiv"] = (w / (steps_done - args.warmup_steps)) * math.ceil(
                res["train_samples"] / res["batch_size"]) if w else None
            print(f"round {r} seed {seed} {fw:9s} epoch_seconds {res['epoch_seconds']} warm {res['warm_seconds']} "
                  f"epoch-equiv {res['epoch_equiv']:.2f} acc {res.get('test_accuracy_per_epoch') or res['test_accuracy']} "
                  f"load1 {res['load1']}", flush=True)

    up_after = sh("uptime")
    print(f"uptime after: {up_after}\n")
    report(frameworks, runs, args.steps, args.epochs, args.eval_each_epoch)
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as fh:
            json.dump({"started": started.isoformat(), "machine": m, "uptime_before": up_before,
                       "uptime_after": up_after, "args": vars(args), "runs": runs}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Side-by-side MNIST benchmark: kerosene vs libtorch (C++), PyTorch and TensorFlow-Keras.

Runs one training epoch (batch 32, Adam, shuffled) of each model with each framework and
thread count, then prints a Markdown report: machine, date, versions and a table
    framework | threads | model | epoch seconds | test accuracy | ratio to kerosene
where the ratio is (framework epoch time) / (kerosene epoch time) for the same model and
thread count: above 1 means kerosene is faster.

    .venv/bin/python bench/compare.py                       # everything, 1 run each
    .venv/bin/python bench/compare.py --models mlp --repeat 3 --stat median
    .venv/bin/python bench/compare.py --skip-frameworks keras,pytorch --threads 1

Programs it runs (each is skipped with "n/a" when missing or failing):
  kerosene  build/kerosene train --model M --dataset DIR --epochs 1 --batch-size 32 --json
  libtorch  libtorch_mnist (bench/CMakeLists.txt; build/bench/ or build-bench/), --threads N
  pytorch   bench/pytorch_mnist.py   (needs torch in the Python running this script)
  keras     bench/keras_mnist.py     (needs tensorflow in the Python running this script)
Thread counts are applied with each framework's own switch and, for all of them, with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS in the child's environment
(kerosene has no switch of its own here: it gets the environment only).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
FRAMEWORKS = ["kerosene", "libtorch", "pytorch", "keras"]


def sh(cmd, timeout=30) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (r.stdout or "") + (r.stderr or "")
    except Exception as exc:  # noqa: BLE001
        return f"<{exc}>"


def cpu_model() -> str:
    fields = {}
    for line in sh(["lscpu"]).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    if "Model name" in fields:
        extra = [f"{k.lower()} {fields[k]}" for k in ("CPU family", "Model", "Stepping") if k in fields]
        return fields["Model name"] + (f", {', '.join(extra)}" if extra else "")
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse_json_output(text: str):
    """The last JSON object printed on stdout (whole output, else line by line, else braces)."""
    text = text.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    a, b = text.find("{"), text.rfind("}")
    if 0 <= a < b:
        try:
            return json.loads(text[a:b + 1])
        except ValueError:
            pass
    return None


def _cpu_times():
    with open("/proc/stat") as fh:
        vals = [int(v) for v in fh.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return idle, sum(vals[:8])


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over `seconds` (this script sleeps meanwhile: it is others' load)."""
    try:
        i0, t0 = _cpu_times()
        time.sleep(seconds)
        i1, t1 = _cpu_times()
        return max(0.0, 1.0 - (i1 - i0) / max(1, t1 - t0))
    except OSError:
        return None


def wait_for_idle(max_wait: float, threshold: float) -> float | None:
    """Wait (up to max_wait s) until other processes use < threshold of the CPUs; returns the last reading."""
    busy = cpu_busy()
    deadline = time.monotonic() + max_wait
    while busy is not None and busy >= threshold and time.monotonic() < deadline:
        print(f"[compare]   CPUs {busy:.0%} busy with other work; waiting", file=sys.stderr, flush=True)
        time.sleep(4)
        busy = cpu_busy()
    return busy


def find_libtorch(explicit: str | None) -> str | None:
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for rel in ("build/bench/libtorch_mnist", "build-bench/libtorch_mnist", "bench/build/libtorch_mnist",
                "build-release/bench/libtorch_mnist"):
        p = os.path.join(REPO_ROOT, rel)
        if os.path.exists(p):
            return p
    return shutil.which("libtorch_mnist")


def python_has(python: str, module: str) -> bool:
    r = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return r.returncode == 0


def versions(python: str, kerosene_bin: str, libtorch_bin: str | None) -> dict:
    v = {}
    code = ("import importlib,json\nout={}\n"
            "for m in ('numpy','torch','tensorflow','keras'):\n"
            "  try:\n    out[m]=importlib.import_module(m).__version__\n"
            "  except Exception as e:\n    out[m]=None\n"
            "print(json.dumps(out))")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    v.update(parse_json_output(r.stdout) or {})
    v["python"] = sh([python, "-c", "import platform;print(platform.python_version())"]).strip()
    v["kerosene"] = None
    if os.path.exists(kerosene_bin):
        for args in (["--version"], ["version"]):
            try:
                r = subprocess.run([kerosene_bin] + args, capture_output=True, text=True, timeout=30)
            except Exception:  # noqa: BLE001
                continue
            line = (r.stdout.strip().splitlines() or [""])[0]
            if r.returncode == 0 and line and "required" not in line and "Usage" not in line:
                v["kerosene"] = line
                break
        if v["kerosene"] is None:
            v["kerosene"] = "(built from this tree; no version command)"
        v["kerosene"] += f" [{os.path.relpath(kerosene_bin, REPO_ROOT)}]"
    dpkg = sh(["dpkg-query", "-W", "-f=${Version}", "libtorch-dev"]).strip()
    v["libtorch-dev (Debian)"] = dpkg if dpkg and not dpkg.startswith("<") and "no packages" not in dpkg else None
    v["libtorch_mnist"] = libtorch_bin
    return v


def run_one(cmd, threads, timeout, extra_env, cwd=REPO_ROOT):
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    env.update(extra_env)
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    except FileNotFoundError as exc:
        return None, f"not found: {exc}"
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    wall = time.perf_counter() - t0
    obj = parse_json_output(r.stdout)
    if r.returncode != 0 or obj is None:
        tail = (r.stderr or r.stdout or "").strip().splitlines()[-3:]
        return None, f"exit {r.returncode}: " + " | ".join(tail)[:300]
    obj["_wall_seconds"] = round(wall, 3)
    return obj, None


def epoch_seconds_of(obj) -> float | None:
    es = obj.get("epoch_seconds")
    if isinstance(es, list):
        es = es[-1] if es else None
    return float(es) if es is not None else None


def test_accuracy_of(obj) -> float | None:
    acc = obj.get("test_accuracy")
    if acc is None and isinstance(obj.get("evaluate"), dict):
        acc = obj["evaluate"].get("accuracy")
    return float(acc) if acc is not None else None


def pick(results, stat):
    """results: list of (seconds, acc, obj). Best = fastest; median = the median-time run."""
    ok = sorted((r for r in results if r[0] is not None), key=lambda r: r[0])
    if not ok:
        return None
    if stat == "best":
        return ok[0]
    return ok[(len(ok) - 1) // 2]


def fmt_s(x):
    return "n/a" if x is None else f"{x:.2f}"


def fmt_acc(x):
    return "n/a" if x is None else f"{x:.4f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "datasets", "mnist")),
                    help="directory with the four MNIST IDX .gz files (default: ../shared/datasets/mnist "
                         "relative to the repository root)")
    ap.add_argument("--models", default="mlp,cnn", help="comma-separated: mlp,cnn")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (default 1)")
    ap.add_argument("--stat", choices=["median", "best"], default="median",
                    help="which of the --repeat runs to report (default median)")
    ap.add_argument("--skip-frameworks", default="", help=f"comma-separated subset of {','.join(FRAMEWORKS)}")
    ap.add_argument("--kerosene", default=os.path.join(REPO_ROOT, "build", "kerosene"), help="kerosene CLI binary")
    ap.add_argument("--libtorch", default=None, help="libtorch_mnist binary (default: searched under build dirs)")
    ap.add_argument("--python", default=sys.executable,
                    help="Python for the PyTorch/Keras scripts (default: the one running this script)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run before giving up")
    ap.add_argument("--limit", type=int, default=0,
                    help="smoke test: train on the first N samples (not passed to kerosene)")
    ap.add_argument("--json-out", default=None, help="also write every raw result to this JSON file")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="before each run, wait up to SECONDS until other processes leave the CPUs "
                         "(busy < --idle-threshold); the readings go into the report")
    ap.add_argument("--idle-threshold", type=float, default=0.15, help="fraction of all CPUs (default 0.15)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for every run (e.g. OMP_WAIT_POLICY=PASSIVE); repeatable")
    ap.add_argument("--libtorch-blas-threads", type=int, default=0,
                    help="OpenBLAS threads for libtorch_mnist (default: same as --threads)")
    args = ap.parse_args()
    extra_env = {}
    for kv in args.env:
        if "=" not in kv:
            ap.error(f"--env wants KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        extra_env[k] = v
    busy_readings = []

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    threads_list = [int(t) for t in args.threads.split(",") if t.strip()]
    skip = {s.strip() for s in args.skip_frameworks.split(",") if s.strip()}
    unknown = skip - set(FRAMEWORKS)
    if unknown:
        ap.error(f"unknown framework(s) in --skip-frameworks: {', '.join(sorted(unknown))}")
    data_dir = os.path.abspath(args.data_dir)
    libtorch_bin = find_libtorch(args.libtorch)
    notes = []

    have = {
        "kerosene": os.path.exists(args.kerosene),
        "libtorch": libtorch_bin is not None,
        "pytorch": python_has(args.python, "torch"),
        "keras": python_has(args.python, "tensorflow") and python_has(args.python, "keras"),
    }

    def commands(fw, model, threads):
        lim = ["--limit", str(args.limit)] if args.limit else []
        if fw == "kerosene":
            return [args.kerosene, "train", "--model", model, "--dataset", data_dir, "--epochs", "1",
                    "--batch-size", "32", "--json"]
        if fw == "libtorch":
            bt = ["--blas-threads", str(args.libtorch_blas_threads)] if args.libtorch_blas_threads else []
            return [libtorch_bin, "--data-dir", data_dir, "--model", model, "--threads", str(threads)] + bt + lim
        script = {"pytorch": "pytorch_mnist.py", "keras": "keras_mnist.py"}[fw]
        return [args.python, os.path.join(BENCH_DIR, script), "--data-dir", data_dir, "--model", model,
                "--threads", str(threads)] + lim

    rows = []  # dicts: framework, threads, model, seconds, acc, error, runs
    raw = []
    for model in models:
        for threads in threads_list:
            for fw in FRAMEWORKS:
                if fw in skip:
                    continue
                row = {"framework": fw, "threads": threads, "model": model, "seconds": None, "acc": None,
                       "error": None, "obj": None}
                if not have[fw]:
                    row["error"] = {"kerosene": f"{args.kerosene} not found",
                                    "libtorch": "libtorch_mnist not built (bench/CMakeLists.txt)",
                                    "pytorch": f"torch not importable by {args.python}",
                                    "keras": f"tensorflow/keras not importable by {args.python}"}[fw]
                    rows.append(row)
                    continue
                cmd = commands(fw, model, threads)
                results, errors = [], []
                for i in range(args.repeat):
                    print(f"[compare] {fw} {model} threads={threads} run {i + 1}/{args.repeat}: "
                          f"{' '.join(cmd)}", file=sys.stderr, flush=True)
                    busy = wait_for_idle(args.wait_idle, args.idle_threshold) if args.wait_idle > 0 else cpu_busy()
                    if busy is not None:
                        busy_readings.append(busy)
                    obj, err = run_one(cmd, threads, args.timeout, extra_env)
                    if err:
                        errors.append(err)
                        print(f"[compare]   failed: {err}", file=sys.stderr, flush=True)
                        continue
                    secs, acc = epoch_seconds_of(obj), test_accuracy_of(obj)
                    print(f"[compare]   epoch {fmt_s(secs)} s, test accuracy {fmt_acc(acc)}",
                          file=sys.stderr, flush=True)
                    obj["_others_cpu_busy_before"] = None if busy is None else round(busy, 3)
                    results.append((secs, acc, obj))
                    raw.append({"framework": fw, "model": model, "threads": threads, "result": obj})
                chosen = pick(results, args.stat)
                if chosen:
                    row.update(seconds=chosen[0], acc=chosen[1], obj=chosen[2],
                               all_seconds=[r[0] for r in results])
                else:
                    row["error"] = errors[-1] if errors else "no result"
                rows.append(row)

    # ratios against kerosene at the same model and thread count
    ker = {(r["model"], r["threads"]): r["seconds"] for r in rows if r["framework"] == "kerosene"}

    vers = versions(args.python, args.kerosene, libtorch_bin)
    blas = next((r["obj"].get("blas") for r in rows if r["framework"] == "libtorch" and r["obj"]), None)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out = []
    out.append("## kerosene side-by-side MNIST benchmark")
    out.append("")
    out.append(f"- date: {now}")
    out.append(f"- CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible), {platform.system()} {platform.release()}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load:
        out.append(f"- load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out.append(f"- data: {data_dir}" + (f" (first {args.limit} training samples only: smoke test, "
                                         "not comparable with kerosene)" if args.limit else ""))
    if busy_readings:
        out.append(f"- CPU use by other processes in the second before each run: median "
                   f"{statistics.median(busy_readings):.0%}, max {max(busy_readings):.0%} of all CPUs"
                   + (f" (waited up to {args.wait_idle:g} s for < {args.idle_threshold:.0%})" if args.wait_idle else ""))
    if extra_env:
        out.append("- extra environment: " + " ".join(f"{k}={v}" for k, v in extra_env.items()))
    if args.libtorch_blas_threads:
        out.append(f"- libtorch_mnist OpenBLAS threads: {args.libtorch_blas_threads}")
    out.append(f"- runs per configuration: {args.repeat}; reported: "
               f"{'best (fastest)' if args.stat == 'best' else 'median'} run's epoch time and that run's accuracy")
    vs = ", ".join(f"{k} {v}" for k, v in vers.items() if v and k != "libtorch_mnist")
    out.append(f"- versions: {vs}")
    if blas:
        out.append(f"- BLAS seen by libtorch: {blas}")
    out.append("- setup: batch 32, 1 epoch, Adam(lr 1e-3, eps 1e-7), shuffled, inputs /255; "
               "epoch seconds = the training epoch only (data in memory, no evaluation)")
    out.append("- ratio = framework epoch time / kerosene epoch time (same model, same threads); >1: kerosene faster")
    out.append("")
    out.append("| framework | threads | model | epoch seconds | test accuracy | ratio to kerosene |")
    out.append("|---|---:|---|---:|---:|---:|")
    for r in rows:
        ks = ker.get((r["model"], r["threads"]))
        ratio = f"{r['seconds'] / ks:.2f}" if (ks and r["seconds"]) else "n/a"
        if r["framework"] == "kerosene" and r["seconds"]:
            ratio = "1.00"
        secs = fmt_s(r["seconds"])
        if r.get("all_seconds") and len(r["all_seconds"]) > 1:
            secs += " (" + ", ".join(f"{s:.2f}" for s in r["all_seconds"] if s is not None) + ")"
        out.append(f"| {r['framework']} | {r['threads']} | {r['model']} | {secs} | {fmt_acc(r['acc'])} | {ratio} |")
        if r["error"]:
            notes.append(f"{r['framework']} {r['model']} threads={r['threads']}: {r['error']}")
    if notes:
        out.append("")
        out.append("Not measured:")
        for n in dict.fromkeys(notes):
            out.append(f"- {n}")
    print("\n".join(out))

    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"date": now, "cpu": cpu_model(), "versions": vers, "repeat": args.repeat,
                       "stat": args.stat, "results": raw,
                       "rows": [{k: v for k, v in r.items() if k != "obj"} for r in rows]}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

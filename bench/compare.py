#!/usr/bin/env python3
"""Side-by-side MNIST benchmark: kerosene against libtorch (C++), PyTorch and Keras 3, with the
arithmetic floor.

For every model x batch size x precision x thread count, one training epoch (Adam lr 1e-3,
shuffled, inputs /255) of each framework, --repeat times; the runs are interleaved (round 1 of
every configuration and framework, then round 2, ...) so that a shared machine's load falls on
all of them alike. Prints a Markdown report: machine (CPU, family/model, AVX-512/BF16/AMX flags),
date, load average, versions, OpenBLAS core, the measured peak, then a table

    framework | model | batch | precision | epoch s | samples/s | / kerosene | / floor | test accuracy

epoch s: the median of the runs (all runs in brackets); samples/s: samples trained / that median;
/ kerosene: the framework's median / kerosene's for the same model, batch, precision and threads
(above 1: kerosene faster); / floor: the median / the arithmetic floor, where

    floor = FLOPs per epoch / this CPU's single-core peak (x threads)
    FLOPs per epoch = samples x sum over layers with weights of k x MACs per sample,
        k = 4 for the model's first such layer (forward 2 + weight gradient 2: its input, the
        data, needs no gradient), k = 6 for every later one (forward 2 + weight gradient 2 +
        input gradient 2); Dense MACs = in*out, Conv2D MACs = Ho*Wo*cout*k*k*cin; biases,
        activations, pooling, dropout, loss and optimizer not counted (bench/flops.py).
    peak: bench/peak_flops.cpp, best of 3 runs: float32 FMA (AVX-512 when present, else AVX2)
        for f32, vdpbf16ps for bf16 (none without avx512bf16: that floor is then n/a).

    /tmp/kvenv/bin/python bench/compare.py --models cnn,convnet --batches 32,128 \\
        --precisions f32,bf16 --threads 1 --repeat 3
    /tmp/kvenv/bin/python bench/compare.py --models mlp --batches 128 --repeat 1 --limit 8192  # smoke

Programs (each skipped with "n/a" and a note when missing or failing):
  kerosene  build/kerosene train --model M --dataset DIR --epochs 1 --batch-size B --json
            --device /CPU:0 --mixed-precision off|bf16   (threads: OMP_NUM_THREADS)
  libtorch  libtorch_mnist (bench/CMakeLists.txt: build/bench/ or build-bench/) --threads N
            --batch-size B --precision f32|bf16 (CPU autocast to bfloat16); run with
            OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (OpenBLAS then
            picks its kernels for this CPU) and --openblas-dir (default $OPENBLAS_DIR) first on
            its LD_LIBRARY_PATH; the OpenBLAS core it reports goes into the header.
  pytorch   bench/pytorch_mnist.py (torch importable by --python), torch.autocast for bf16
  keras     bench/keras_mnist.py (keras importable by --python; backend KERAS_BACKEND, else
            tensorflow if installed, else jax), mixed_bfloat16 policy for bf16
--limit N trains every framework on N samples (kerosene: --steps-per-epoch N / batch), for a
smoke test; the floor then counts those samples.
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
sys.path.insert(0, BENCH_DIR)
import flops  # noqa: E402

FRAMEWORKS = ["kerosene", "libtorch", "pytorch", "keras"]
MNIST_TRAIN = 60000
LIBTORCH_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


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


# Keras imports its backend on import: pick it as keras_mnist.py does (KERAS_BACKEND, else
# tensorflow when installed, else jax) so that a jax-only venv counts as having Keras.
KERAS_BACKEND_CHOICE = ("import importlib.util, os\n"
                        "os.environ.setdefault('KERAS_BACKEND', 'tensorflow' if importlib.util.find_spec('tensorflow') "
                        "else 'jax')\n")


def python_has(python: str, module: str) -> bool:
    r = subprocess.run([python, "-c", KERAS_BACKEND_CHOICE + f"import {module}"], capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return r.returncode == 0


def versions(python: str, kerosene_bin: str, libtorch_bin: str | None) -> dict:
    v = {}
    code = (KERAS_BACKEND_CHOICE + "import importlib,json\nout={}\n"
            "for m in ('numpy','torch','tensorflow','jax','keras'):\n"
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


def run_one(cmd, threads, timeout, extra_env, unset=(), cwd=REPO_ROOT):
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    env.update(extra_env)
    for key in unset:
        env.pop(key, None)
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


def cpu_flags_line() -> str:
    """lscpu's ISA flags that matter here: AVX-512 (F), its BF16 dot products, AMX."""
    flags = set()
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Flags:"):
            flags = set(line.split(":", 1)[1].split())
    yes = lambda f: "yes" if f in flags else "no"  # noqa: E731
    return (f"avx2 {yes('avx2')}, avx512f {yes('avx512f')}, avx512_bf16 {yes('avx512_bf16')}, "
            f"amx_bf16 {yes('amx_bf16')}")


def median_run(results):
    """results: list of (seconds, acc, obj); the median-time run (the lower middle one if even)."""
    ok = sorted((r for r in results if r[0] is not None), key=lambda r: r[0])
    return ok[(len(ok) - 1) // 2] if ok else None


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "datasets", "mnist")),
                    help="directory with the four MNIST IDX .gz files (default: ../shared/datasets/mnist "
                         "relative to the repository root)")
    ap.add_argument("--models", default="mlp,cnn,convnet", help="comma-separated: mlp,cnn,convnet")
    ap.add_argument("--batches", default="32,128,512", help="comma-separated batch sizes (default 32,128,512)")
    ap.add_argument("--precisions", default="f32,bf16", help="comma-separated: f32,bf16")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration (default 3; the median is reported)")
    ap.add_argument("--skip-frameworks", default="", help=f"comma-separated subset of {','.join(FRAMEWORKS)}")
    ap.add_argument("--kerosene", default=os.path.join(REPO_ROOT, "build", "kerosene"), help="kerosene CLI binary")
    ap.add_argument("--libtorch", default=None, help="libtorch_mnist binary (default: searched under build dirs)")
    ap.add_argument("--openblas-dir", default=os.environ.get("OPENBLAS_DIR"),
                    help="folder with OpenBLAS' libblas.so.3, put first on libtorch_mnist's LD_LIBRARY_PATH "
                         "(default $OPENBLAS_DIR; Debian: dpkg-deb -x libopenblas0-pthread_*.deb DIR)")
    ap.add_argument("--libtorch-blas-threads", type=int, default=0,
                    help="OpenBLAS threads for libtorch_mnist (default: same as --threads)")
    ap.add_argument("--peak-flops", default=None, help="peak_flops binary (default: build dirs, else built with g++)")
    ap.add_argument("--python", default=sys.executable,
                    help="Python for the PyTorch/Keras scripts (default: the one running this script)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run before giving up")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: train on the first N samples")
    ap.add_argument("--json-out", default=None, help="also write every raw result to this JSON file")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="before each run, wait up to SECONDS until other processes leave the CPUs")
    ap.add_argument("--idle-threshold", type=float, default=0.15, help="fraction of all CPUs (default 0.15)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for every run; repeatable")
    args = ap.parse_args()

    def csv(text):
        return [t.strip() for t in text.split(",") if t.strip()]

    extra_env = {}
    for kv in args.env:
        if "=" not in kv:
            ap.error(f"--env wants KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        extra_env[k] = v
    models, precisions = csv(args.models), csv(args.precisions)
    batches = [int(b) for b in csv(args.batches)]
    threads_list = [int(t) for t in csv(args.threads)]
    skip = set(csv(args.skip_frameworks))
    for bad, allowed, what in ((set(models) - set(flops.MODELS), flops.MODELS, "--models"),
                               (set(precisions) - {"f32", "bf16"}, ("f32", "bf16"), "--precisions"),
                               (skip - set(FRAMEWORKS), FRAMEWORKS, "--skip-frameworks")):
        if bad:
            ap.error(f"{what}: unknown {', '.join(sorted(bad))} (expected {', '.join(allowed)})")
    data_dir = os.path.abspath(args.data_dir)
    libtorch_bin = find_libtorch(args.libtorch)
    load_before = os.getloadavg()

    peak_bin = flops.find_or_build_peak_flops(args.peak_flops)
    peak = None
    if peak_bin:
        print(f"[compare] measuring the peak with {peak_bin}", file=sys.stderr, flush=True)
        try:
            peak = flops.measure_peak(peak_bin)
        except Exception as exc:  # noqa: BLE001
            print(f"[compare] peak_flops failed: {exc}", file=sys.stderr)

    have = {
        "kerosene": os.path.exists(args.kerosene),
        "libtorch": libtorch_bin is not None,
        "pytorch": python_has(args.python, "torch"),
        "keras": python_has(args.python, "keras"),
    }
    missing = {"kerosene": f"{args.kerosene} not found",
               "libtorch": "libtorch_mnist not built (bench/CMakeLists.txt)",
               "pytorch": f"torch not importable by {args.python}",
               "keras": f"keras not importable by {args.python}"}

    def samples_for(batch):
        if not args.limit:
            return MNIST_TRAIN
        return max(1, args.limit // batch) * batch  # what kerosene's --steps-per-epoch trains; all get it

    def command(fw, model, batch, precision, threads):
        n = samples_for(batch)
        lim = ["--limit", str(n)] if args.limit else []
        if fw == "kerosene":
            steps = ["--steps-per-epoch", str(n // batch)] if args.limit else []
            return [args.kerosene, "train", "--model", model, "--dataset", data_dir, "--epochs", "1",
                    "--batch-size", str(batch), "--device", "/CPU:0", "--verbose", "0", "--json",
                    "--mixed-precision", "bf16" if precision == "bf16" else "off"] + steps
        common = ["--data-dir", data_dir, "--model", model, "--threads", str(threads), "--batch-size", str(batch),
                  "--precision", precision] + lim
        if fw == "libtorch":
            bt = ["--blas-threads", str(args.libtorch_blas_threads)] if args.libtorch_blas_threads else []
            return [libtorch_bin] + common + bt
        script = {"pytorch": "pytorch_mnist.py", "keras": "keras_mnist.py"}[fw]
        return [args.python, os.path.join(BENCH_DIR, script)] + common

    def env_for(fw):
        if fw != "libtorch" or not args.openblas_dir:
            return extra_env, (LIBTORCH_UNSET if fw == "libtorch" else ())
        ld = args.openblas_dir + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else "")
        return dict(extra_env, LD_LIBRARY_PATH=ld), LIBTORCH_UNSET

    configs = [(m, b, p, t) for m in models for b in batches for p in precisions for t in threads_list]
    fws = [fw for fw in FRAMEWORKS if fw not in skip]
    results = {(c, fw): [] for c in configs for fw in fws}
    errors = {(c, fw): [] for c in configs for fw in fws}
    busy_readings, raw = [], []
    for rnd in range(args.repeat):
        for c in configs:
            model, batch, precision, threads = c
            for fw in fws:
                if not have[fw]:
                    continue
                cmd = command(fw, model, batch, precision, threads)
                print(f"[compare] round {rnd + 1}/{args.repeat} {fw} {model} batch {batch} {precision} "
                      f"threads {threads}: {' '.join(cmd)}", file=sys.stderr, flush=True)
                busy = wait_for_idle(args.wait_idle, args.idle_threshold) if args.wait_idle > 0 else cpu_busy(0.5)
                if busy is not None:
                    busy_readings.append(busy)
                env, unset = env_for(fw)
                obj, err = run_one(cmd, threads, args.timeout, env, unset)
                if err:
                    errors[(c, fw)].append(err)
                    print(f"[compare]   failed: {err}", file=sys.stderr, flush=True)
                    continue
                secs, acc = epoch_seconds_of(obj), test_accuracy_of(obj)
                obj["_load1"] = round(os.getloadavg()[0], 2)
                print(f"[compare]   epoch {fmt(secs, '.2f')} s, test accuracy {fmt(acc, '.4f')}, "
                      f"load {obj['_load1']}", file=sys.stderr, flush=True)
                results[(c, fw)].append((secs, acc, obj))
                raw.append({"framework": fw, "model": model, "batch": batch, "precision": precision,
                            "threads": threads, "round": rnd + 1, "result": obj})

    rows, notes = [], []
    for c in configs:
        for fw in fws:
            chosen = median_run(results[(c, fw)])
            row = {"framework": fw, "model": c[0], "batch": c[1], "precision": c[2], "threads": c[3],
                   "seconds": chosen[0] if chosen else None, "acc": chosen[1] if chosen else None,
                   "obj": chosen[2] if chosen else None,
                   "all_seconds": [r[0] for r in results[(c, fw)] if r[0] is not None]}
            if not have[fw]:
                notes.append(f"{fw}: {missing[fw]}")
            elif not chosen:
                notes.append(f"{fw} {c[0]} batch {c[1]} {c[2]} threads {c[3]}: "
                             f"{errors[(c, fw)][-1] if errors[(c, fw)] else 'no result'}")
            rows.append(row)
    ker = {(r["model"], r["batch"], r["precision"], r["threads"]): r["seconds"] for r in rows
           if r["framework"] == "kerosene"}

    def floor_seconds(r):
        gflops = peak and peak.get(r["precision"])
        if not gflops:
            return None
        return flops.flops_per_epoch(r["model"], samples_for(r["batch"])) / (gflops * 1e9 * r["threads"])

    vers = versions(args.python, args.kerosene, libtorch_bin)
    lt = next((r["obj"] for r in rows if r["framework"] == "libtorch" and r["obj"]), None)
    keras_obj = next((r["obj"] for r in rows if r["framework"] == "keras" and r["obj"]), None)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_after = os.getloadavg()
    out = ["## kerosene side-by-side MNIST benchmark", ""]
    out.append(f"- date: {now}")
    out.append(f"- CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible); {cpu_flags_line()}; "
               f"{platform.system()} {platform.release()}")
    out.append(f"- load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load_before)} before, "
               f"{' '.join(f'{x:.2f}' for x in load_after)} after")
    if busy_readings:
        out.append(f"- CPU use by other processes just before each run: median "
                   f"{statistics.median(busy_readings):.0%}, max {max(busy_readings):.0%} of all CPUs"
                   + (f" (waited up to {args.wait_idle:g} s for < {args.idle_threshold:.0%})" if args.wait_idle else ""))
    if peak:
        out.append(f"- measured single-core peak (bench/peak_flops, best of {peak['runs']}): f32 {peak['f32']:.1f} "
                   f"GFLOP/s ({peak['f32_isa']} FMA; AVX2 FMA {fmt(peak['f32_avx2'], '.1f')}), bf16 "
                   + (f"{peak['bf16']:.1f} GFLOP/s ({peak['bf16_isa']})" if peak["bf16"] else f"n/a ({peak['bf16_note']})"))
    else:
        out.append("- peak: not measured (peak_flops could not be built or run): floors are n/a")
    out.append(f"- data: {data_dir}" + (f" (--limit: {args.limit} training samples per epoch, not 60,000)" if args.limit else ""))
    if extra_env:
        out.append("- extra environment: " + " ".join(f"{k}={v}" for k, v in extra_env.items()))
    vs = ", ".join(f"{k} {v}" for k, v in vers.items() if v and k != "libtorch_mnist")
    out.append(f"- versions: {vs}")
    if lt:
        out.append(f"- libtorch: OpenBLAS core **{lt.get('blas_core') or 'n/a (not OpenBLAS)'}** "
                   f"({lt.get('blas')}; {', '.join(LIBTORCH_UNSET)} unset"
                   + (f", LD_LIBRARY_PATH={args.openblas_dir}" if args.openblas_dir else "")
                   + f"), oneDNN (mkldnn) {'on' if lt.get('mkldnn') else 'off'}")
    if keras_obj:
        out.append(f"- keras: {keras_obj.get('version')} (backend {keras_obj.get('backend', '?')})")
    out.append(f"- threads: {', '.join(map(str, threads_list))} (OMP_NUM_THREADS/OPENBLAS_NUM_THREADS for all, plus "
               "each framework's own switch); bf16: kerosene --mixed-precision bf16, libtorch/PyTorch CPU autocast "
               "to bfloat16, Keras mixed_bfloat16")
    out.append(f"- setup: 1 epoch, Adam(lr 1e-3), shuffled, inputs /255; epoch s = the training epoch alone "
               f"(Keras' includes its one-off tracing); median of {args.repeat} runs, interleaved, runs in brackets")
    out.append("- / kerosene: framework epoch / kerosene epoch (same model, batch, precision); "
               "/ floor: epoch / (FLOPs per epoch / peak), FLOPs per sample: "
               + ", ".join(f"{m} {flops.flops_per_sample(m) / 1e6:.3g} M" for m in models))
    out.append("")
    multi = len(threads_list) > 1
    out.append("| framework | model | batch | precision |" + (" threads |" if multi else "")
               + " epoch s | samples/s | / kerosene | / floor | test accuracy |")
    out.append("|---|---|---:|---|" + ("---:|" if multi else "") + "---:|---:|---:|---:|---:|")
    for r in rows:
        ks = ker.get((r["model"], r["batch"], r["precision"], r["threads"]))
        ratio = fmt(r["seconds"] / ks, ".2f") if (ks and r["seconds"]) else "n/a"
        fl = floor_seconds(r)
        to_floor = fmt(r["seconds"] / fl, ".1f") if (fl and r["seconds"]) else "n/a"
        secs = fmt(r["seconds"], ".2f")
        if len(r["all_seconds"]) > 1:
            secs += " (" + ", ".join(f"{s:.2f}" for s in r["all_seconds"]) + ")"
        sps = fmt(samples_for(r["batch"]) / r["seconds"], ",.0f") if r["seconds"] else "n/a"
        out.append(f"| {r['framework']} | {r['model']} | {r['batch']} | {r['precision']} |"
                   + (f" {r['threads']} |" if multi else "")
                   + f" {secs} | {sps} | {ratio} | {to_floor} | {fmt(r['acc'], '.4f')} |")
    if notes:
        out += ["", "Not measured:"] + [f"- {n}" for n in dict.fromkeys(notes)]
    print("\n".join(out))

    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"date": now, "cpu": cpu_model(), "versions": vers, "peak": peak, "repeat": args.repeat,
                       "load_before": load_before, "load_after": load_after, "results": raw,
                       "rows": [{k: v for k, v in r.items() if k != "obj"} for r in rows]}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

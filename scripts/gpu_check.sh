#!/usr/bin/env bash
# gpu_check.sh: one command for the first minutes on a GPU machine. Everything kerosene cannot
# prove without a GPU is checked here, specifically enough that a pass means the feature works:
# in this order (the slowest last, so that GPU_CHECK_BUDGET_S, 450 s by default, cuts those first):
#   build      configure (the shipped CUDA architectures) and build what is needed
#   doctor     `kerosene doctor` must find a usable GPU
#   op_check   every kernel against the CPU, value and gradient modes, with KEROSENE_CUDNN_STRICT=1
#              (a misuse of cuDNN is an error) and KEROSENE_CUDA_SYNC=1 (a fault names its call)
#   gpu logic  the unit tests of what is pure logic (buckets, NCCL discipline, cuDNN choice, ...)
#   mnist      a CNN epoch on /GPU:0: time and test accuracy (>= 0.95), and the MLP's (the GPU
#              benchmark, bench/'s protocol: batch 32, Adam)
#   suite      the whole test suite on this machine: GPU tests run instead of skipping (among
#              them: discovery creates no CUDA context; scratch memory is counted)
#   nccl       multi-GPU and NCCL tests, and a mirrored epoch, when there are two GPUs or more
#   sanitizers op_check under compute-sanitizer memcheck, racecheck and synccheck when installed
#   paths      which cuDNN algorithms and cuBLASLt/cublasSgemm paths ran (KEROSENE_CUDA_PATHS=1),
#              and every fallback; a cuDNN fallback in the MNIST CNN fails the check
# Writes one summary ($SUMMARY, default <build dir>/gpu_check_summary.txt): one line per check,
# PASS / FAIL / SKIP (could not run, with the reason), then the verdict. Logs sit beside it, in
# gpu_check_logs/.
# Exit status: 0 every check ran and passed; 1 a check failed; 2 no GPU here (the CPU parts ran
# and passed, the GPU checks could not run).
#
# Usage: scripts/gpu_check.sh [--build-dir DIR] [--no-build] [--mnist DIR]
#   GPU_CHECK_ARCHS  CUDA architectures for a fresh configure (default: the shipped ones; 90-real is
#                    faster on an H100/H200, but the suite's BuildInfoMatchesTheBuild then fails)
#   GPU_CHECK_FORCE_NO_GPU=1  take the no-GPU path even on a GPU machine (the suite's test of it)
# Meant to finish within 8 minutes on one H100/H200 from a fresh checkout (16 cores); not yet
# timed on one: the budget skips (and says so) what would not fit.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=build
do_build=1
mnist_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --mnist) mnist_dir="$2"; shift 2 ;;
    *) echo "gpu_check: unknown argument $1 (see the usage at the top of $0)" >&2; exit 64 ;;
  esac
done
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
summary="${SUMMARY:-$build_dir/gpu_check_summary.txt}"
mkdir -p "$(dirname "$summary")"
logs="$(cd "$(dirname "$summary")" && pwd)/gpu_check_logs"  # beside the summary
rm -rf "$logs" && mkdir -p "$logs"
: >"$summary"
start=$(date +%s)
failed=0
gpu_ran=0

record() {  # record PASS|FAIL|SKIP name detail
  printf '%-4s %-22s %s\n' "$1" "$2" "$3" | tee -a "$summary"
  [ "$1" = FAIL ] && failed=1
  return 0
}
# run_logged name seconds command...: runs with a time limit, output in $logs/name.log.
run_logged() {
  local name=$1 limit=$2
  shift 2
  timeout --kill-after=10 "$limit" "$@" >"$logs/$name.log" 2>&1
}
# budget_allows seconds name: false (recording a SKIP) when the step could overrun the budget.
budget=${GPU_CHECK_BUDGET_S:-450}
budget_allows() {
  local left=$(( budget - ($(date +%s) - start) ))
  if [ "$left" -lt "$1" ]; then
    record SKIP "$2" "only ${left} s of the ${budget} s budget left (GPU_CHECK_BUDGET_S raises it)"
    return 1
  fi
  return 0
}
status_text() {  # status_text rc limit
  case "$1" in
    0) echo "ok" ;;
    124|137) echo "did not finish within $2 s" ;;
    *) echo "exit code $1" ;;
  esac
}

# The suite runs this script (tests/scripts/gpu_check_test.cpp); the script runs the suite.
export KEROSENE_IN_GPU_CHECK=1

# --- the machine ---------------------------------------------------------------------------------
gpus=0
gpu_reason=""
if [ -n "${GPU_CHECK_FORCE_NO_GPU:-}" ]; then
  gpu_reason="GPU_CHECK_FORCE_NO_GPU is set (the test of this script's no-GPU path)"
elif ! command -v nvidia-smi >/dev/null 2>&1; then
  gpu_reason="nvidia-smi is not installed (no NVIDIA driver)"
elif ! nvidia-smi -L >"$logs/nvidia-smi.log" 2>&1; then
  gpu_reason="nvidia-smi -L failed: $(head -c 300 "$logs/nvidia-smi.log" | tr '\n' ' ')"
else
  gpus=$(grep -c '^GPU ' "$logs/nvidia-smi.log")
  [ "$gpus" -eq 0 ] && gpu_reason="nvidia-smi lists no GPU"
fi
if [ "$gpus" -gt 0 ]; then
  record PASS machine "$gpus GPU(s): $(grep '^GPU 0' "$logs/nvidia-smi.log" | head -c 200)"
else
  record SKIP machine "no GPU: $gpu_reason"
fi

# --- build ---------------------------------------------------------------------------------------
if [ "$do_build" -eq 1 ]; then
  # The shipped architectures by default: what is checked is what users get (the suite's
  # BuildInfoMatchesTheBuild expects them); GPU_CHECK_ARCHS=90-real builds faster, for reruns.
  archs="${GPU_CHECK_ARCHS:-}"
  cmake_args=(-S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release)
  [ -n "$archs" ] && cmake_args+=("-DKEROSENE_CUDA_ARCHITECTURES=$archs")
  if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    cmake_args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
  fi
  jobs=$(nproc 2>/dev/null || echo 2)
  if run_logged configure 300 cmake "${cmake_args[@]}" &&
     run_logged build 600 cmake --build "$build_dir" -j "$jobs" --target kerosene_cli kerosene_tests kerosene_op_check; then
    record PASS build "$build_dir${archs:+ (CUDA architectures $archs)}"
  else
    record FAIL build "see $logs/configure.log and $logs/build.log: $(tail -3 "$logs/build.log" 2>/dev/null | tr '\n' ' ')"
    echo "VERDICT: FAIL (the build failed)" | tee -a "$summary"
    exit 1
  fi
else
  record SKIP build "--no-build: using $build_dir as it is"
fi
kerosene="$build_dir/kerosene"
tests="$build_dir/kerosene_tests"
op_check="$build_dir/kerosene_op_check"
for binary in "$kerosene" "$tests" "$op_check"; do
  if [ ! -x "$binary" ]; then
    record FAIL build "$binary is missing: build it, or run without --no-build"
    echo "VERDICT: FAIL" | tee -a "$summary"
    exit 1
  fi
done
if [ -f "$build_dir/libkerosene_cuda.so" ]; then
  record PASS plugin "libkerosene_cuda.so built"
else
  record FAIL plugin "$build_dir/libkerosene_cuda.so is missing: the build found no CUDA toolkit (see $logs/configure.log)"
fi

# --- doctor --------------------------------------------------------------------------------------
run_logged doctor 60 "$kerosene" doctor
rc=$?
verdict=$(grep -m1 '^Training will run on' "$logs/doctor.log")
if [ "$gpus" -gt 0 ]; then
  if [ $rc -eq 0 ]; then record PASS doctor "$verdict"; else record FAIL doctor "$(status_text $rc 60): $verdict"; fi
else
  # Without a GPU the doctor must still run to its verdict and say why there is none.
  if [ $rc -le 1 ] && [ -n "$verdict" ]; then
    record PASS doctor "runs without a GPU: $verdict"
  else
    record FAIL doctor "$(status_text $rc 60) without a verdict (see $logs/doctor.log)"
  fi
fi

# --- op_check ------------------------------------------------------------------------------------
# On the CPU alone, two logical CPUs are compared (the harness itself is checked).
op_env=(env KEROSENE_CUDNN_STRICT=1 KEROSENE_CUDA_PATHS=1)
if [ "$gpus" -gt 0 ]; then cpu_split=(); else cpu_split=(--logical-cpus 2); fi
for mode in value gradient; do
  run_logged "op_check_$mode" 120 "${op_env[@]}" KEROSENE_CUDA_SYNC=1 "$op_check" --mode "$mode" "${cpu_split[@]}"
  rc=$?
  line=$(grep -m1 'comparison(s) across' "$logs/op_check_$mode.log" || tail -1 "$logs/op_check_$mode.log")
  if [ $rc -ne 0 ]; then
    record FAIL "op_check $mode" "$(status_text $rc 120): $line (see $logs/op_check_$mode.log)"
  elif [ "$gpus" -gt 0 ] && ! grep -q '^  ok   /GPU:' "$logs/op_check_$mode.log"; then
    record FAIL "op_check $mode" "passed but compared no GPU (see $logs/op_check_$mode.log)"
  else
    record PASS "op_check $mode" "${line:-ok}${cpu_split:+ (logical CPUs only: no GPU)}"
  fi
done
# --- the GPU logic that is pure (checked on the CPU, everywhere) ---------------------------------
logic='GradientBuckets*:NcclCollective*:AlgorithmChoice*:PinnedStaging*:ScratchMemory*:DoctorChecks*'
run_logged gpu_logic 120 "$tests" --gtest_filter="$logic" --gtest_brief=1
rc=$?
counts=$(grep -E '^\[  (PASSED|FAILED) ' "$logs/gpu_logic.log" | tr '\n' ' ')
if [ $rc -eq 0 ]; then record PASS "gpu logic (CPU)" "$counts"; else record FAIL "gpu logic (CPU)" "$(status_text $rc 120): $counts"; fi

# --- MNIST on the GPU ----------------------------------------------------------------------------
if [ -z "$mnist_dir" ]; then
  for d in "$root/../shared/datasets/mnist" "$root/shared/datasets/mnist"; do
    [ -f "$d/train-images-idx3-ubyte.gz" ] && mnist_dir=$d && break
  done
fi
json_field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2" | head -1 | tr -d '[] '; }
# mnist_epoch name limit args...: one epoch with --json; sets $rc, $seconds and $accuracy.
mnist_epoch() {
  local name=$1 limit=$2
  shift 2
  run_logged "$name" "$limit" env KEROSENE_CUDA_PATHS=1 "$kerosene" train --dataset "$mnist_dir" --epochs 1 \
    --verbose 0 --json "$@"
  rc=$?
  grep '^{' "$logs/$name.log" >"$logs/$name.json"
  seconds=$(json_field epoch_seconds "$logs/$name.json")
  accuracy=$(json_field test_accuracy "$logs/$name.json")
}
if [ -z "$mnist_dir" ]; then
  record SKIP mnist "no MNIST IDX files (give --mnist DIR)"
elif [ "$gpus" -eq 0 ]; then
  # What can be checked here: the command and the parsing of its result, on the CPU, briefly.
  mnist_epoch mnist_cpu_dry_run 120 --model cnn --batch-size 32 --optimizer adam --steps-per-epoch 30 --device /CPU:0
  if [ $rc -eq 0 ] && [ -n "$accuracy" ] && [ -n "$seconds" ]; then
    record SKIP mnist "no GPU; the check itself ran on /CPU:0 for 30 steps (epoch $seconds s, accuracy $accuracy)"
  else
    record FAIL mnist "the CPU dry run of the MNIST check failed: $(status_text $rc 120) (see $logs/mnist_cpu_dry_run.log)"
  fi
else
  # The CNN is the check (and, with the MLP, the GPU benchmark: bench/'s protocol, batch 32, Adam).
  for model in cnn mlp; do
    budget_allows 120 "mnist $model" || continue
    mnist_epoch "mnist_$model" 120 --model "$model" --batch-size 32 --optimizer adam --device /GPU:0
    if [ $rc -ne 0 ] || [ -z "$accuracy" ]; then
      record FAIL "mnist $model" "$(status_text $rc 120) (see $logs/mnist_$model.log)"
    elif awk "BEGIN{exit !($accuracy >= 0.95)}"; then
      record PASS "mnist $model" "epoch ${seconds} s on /GPU:0, test accuracy $accuracy"
    else
      record FAIL "mnist $model" "test accuracy $accuracy < 0.95 after one epoch (epoch ${seconds} s)"
    fi
  done
  if [ "$gpus" -ge 2 ] && budget_allows 120 "mnist mirrored"; then
    mnist_epoch mnist_mirrored 120 --model cnn --batch-size 64 --optimizer adam --strategy mirrored
    if [ $rc -eq 0 ] && [ -n "$accuracy" ] && awk "BEGIN{exit !($accuracy >= 0.95)}"; then
      record PASS "mnist mirrored" "epoch ${seconds} s on $gpus GPUs (NCCL), test accuracy $accuracy"
    else
      record FAIL "mnist mirrored" "$(status_text $rc 120), accuracy ${accuracy:-none} (see $logs/mnist_mirrored.log)"
    fi
  fi
fi

# --- the suite -----------------------------------------------------------------------------------
if [ "$gpus" -gt 0 ] && budget_allows 240 suite; then
  run_logged suite 240 env KEROSENE_CUDNN_STRICT=1 "$tests" --gtest_brief=1
  rc=$?
  counts=$(grep -E '^\[  PASSED  \]|^\[  FAILED  \]|^\[  SKIPPED \] [0-9]' "$logs/suite.log" | tr '\n' ' ')
  if [ $rc -eq 0 ]; then record PASS suite "$counts"; else record FAIL suite "$(status_text $rc 240): $counts"; fi
  # The GPU tests must have run, not skipped.
  for t in GpuDiscoveryTest.LoadingThePluginCreatesNoContext GpuScratchTest.TheMatmulWorkspaceCountsInTheGpusMemoryInfo; do
    if grep -q "SKIPPED \] $t" "$logs/suite.log"; then record FAIL "$t" "skipped on a GPU machine"; fi
  done
elif [ "$gpus" -eq 0 ]; then
  record SKIP suite "no GPU (ctest runs the suite on the CPU; GPU tests skip there with their reason)"
fi

# --- several GPUs --------------------------------------------------------------------------------
if [ "$gpus" -ge 2 ] && budget_allows 180 "nccl tests"; then
  run_logged nccl 180 "$tests" --gtest_filter='Nccl*:*Mirrored*:*MultiWorker*'
  rc=$?
  if [ $rc -eq 0 ] && ! grep -q 'SKIPPED \] Nccl' "$logs/nccl.log"; then
    record PASS "nccl tests" "$(grep -E '^\[  PASSED  \]' "$logs/nccl.log")"
  else
    record FAIL "nccl tests" "$(status_text $rc 180) or skipped (see $logs/nccl.log)"
  fi
elif [ "$gpus" -lt 2 ]; then
  record SKIP "nccl tests" "needs two GPUs; this machine has $gpus"
fi

# --- compute-sanitizer (slowest: last, so the time budget cuts it first) --------------------------
if [ "$gpus" -eq 0 ]; then
  record SKIP sanitizers "no GPU"
elif ! command -v compute-sanitizer >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/compute-sanitizer ]; then
  record SKIP sanitizers "compute-sanitizer is not installed"
else
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for run in memcheck:value memcheck:gradient racecheck:value synccheck:value; do
    tool=${run%%:*}
    mode=${run##*:}
    budget_allows 90 "$tool $mode" || continue
    run_logged "sanitizer_${tool}_$mode" 90 "${op_env[@]}" "$sanitizer" --tool "$tool" --error-exitcode 9 \
      "$op_check" --mode "$mode"
    rc=$?
    errors=$(grep -m1 -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$logs/sanitizer_${tool}_$mode.log")
    if [ $rc -eq 0 ]; then
      record PASS "$tool $mode" "${errors:-no errors}"
    else
      record FAIL "$tool $mode" "$(status_text $rc 90): ${errors} (see $logs/sanitizer_${tool}_$mode.log)"
    fi
  done
fi

# --- which library paths ran ---------------------------------------------------------------------
cat "$logs"/*.log 2>/dev/null | grep -h 'kerosene: path: ' | sed 's/.*kerosene: path: //' | sort -u >"$logs/paths.txt"
cat "$logs"/*.log 2>/dev/null | grep -h -E "cuDNN did not run|(cublasSgemm|cublasGemmEx) runs it instead" | sort -u >"$logs/fallbacks.txt"
if [ "$gpus" -eq 0 ]; then
  record SKIP paths "no GPU"
else
  cudnn=$(grep -c '^cuDNN' "$logs/paths.txt")
  lt=$(grep -c '^cuBLASLt' "$logs/paths.txt")
  sgemm=$(grep -c -E '^(cublasSgemm|cublasGemmEx)' "$logs/paths.txt")
  detail="$cudnn cuDNN, $lt cuBLASLt, $sgemm cublasSgemm/GemmEx paths; $(wc -l <"$logs/fallbacks.txt") fallbacks (lists: $logs/paths.txt, $logs/fallbacks.txt)"
  if grep -q 'cuDNN did not run' "$logs/mnist_cnn.log" 2>/dev/null; then
    record FAIL paths "the MNIST CNN fell back from cuDNN: $(grep -m1 'cuDNN did not run' "$logs/mnist_cnn.log")"
  elif [ "$cudnn" -eq 0 ] || [ "$lt" -eq 0 ]; then
    record FAIL paths "cuDNN or cuBLASLt never ran: $detail"
  else
    record PASS paths "$detail"
  fi
fi

elapsed=$(( $(date +%s) - start ))
if [ $failed -ne 0 ]; then
  echo "VERDICT: FAIL after ${elapsed} s: see the FAIL lines above and $logs" | tee -a "$summary"
  exit 1
fi
if [ "$gpus" -eq 0 ]; then
  echo "VERDICT: NO GPU after ${elapsed} s: the CPU parts passed; the GPU checks could not run ($gpu_reason)" |
    tee -a "$summary"
  exit 2
fi
skipped=$(grep -c '^SKIP' "$summary")
note=""
[ "$skipped" -gt 0 ] && note="; $skipped check(s) did not run: see the SKIP lines"
echo "VERDICT: PASS after ${elapsed} s on $gpus GPU(s)$note" | tee -a "$summary"
exit 0

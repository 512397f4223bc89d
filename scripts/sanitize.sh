#!/usr/bin/env bash
# The sanitizer and fuzzer jobs (CI runs all three after the test suite, .ci/run).
#
# Usage: bash scripts/sanitize.sh asan|tsan|fuzz     (idempotent; re-running rebuilds what changed)
#   asan  the whole test suite under AddressSanitizer + UBSan (build-asan/). Leaks inside
#         OpenMPI are suppressed by tests/sanitizers/lsan.supp, nothing of kerosene's.
#   tsan  the threaded tests (mirrored replicas, their barrier, worker threads, the caching allocator, device
#         scopes, fit with the CPU thread team) under ThreadSanitizer (build-tsan/);
#         tests/sanitizers/tsan.supp covers only the uninstrumented libgomp and oneDNN.
#   fuzz  every reader's libFuzzer target (tests/fuzz/targets/, built with clang into build-fuzz/)
#         for KEROSENE_FUZZ_SECONDS (default 60) each, from the seeds in tests/fuzz/corpus/,
#         inputs up to 4 KiB, one allocation capped at 128 MiB and memory at 1 GiB. A finding
#         fails the job; its input is printed (base64) and kept in build-fuzz/findings/<target>/.
#   Sanitizer reports are also kept, one file per process, in build-*/sanitizer-reports/.
# The library, tests and CLI are instrumented (-DKEROSENE_SANITIZE=...), not the CUDA plugin,
# which such builds leave out. Needs Debian 12 with scripts/setup.sh's packages; installs the
# compilers' sanitizer runtimes (and clang with libFuzzer for fuzz) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -eq 1 ] || usage
job="$1"
jobs="$(nproc)"

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "sanitize: installing ${missing[*]}" >&2
    local sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Configures (once) and builds an instrumented tree: no CUDA plugin, no examples.
build_sanitized() {
  local dir="$1" sanitizers="$2"
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEROSENE_WITH_CUDA=OFF \
      -DKEROSENE_SANITIZE="$sanitizers" -DKEROSENE_BUILD_EXAMPLES=OFF >/dev/null
  fi
  cmake --build "$dir" -j "$jobs" "$@"
}

# Reports go to files, one per process: a test that expects a child process (the CLI, an MPI
# worker) to fail would otherwise pass on a sanitizer's exit code. Any report fails the job.
report_dir() {
  rm -rf "$1/sanitizer-reports"
  mkdir -p "$1/sanitizer-reports"
  echo "$PWD/$1/sanitizer-reports"
}
check_reports() {
  local dir="$1" rc="$2" report found=0
  for report in "$dir"/*; do
    [ -f "$report" ] || continue
    found=1
    echo "sanitize: report $report:"
    cat "$report"
  done
  if [ "$found" -ne 0 ] || [ "$rc" -ne 0 ]; then
    echo "sanitize: $job failed (ctest exit $rc; reports above are kept in $dir)" >&2
    exit 1
  fi
}

supp="$PWD/tests/sanitizers"
case "$job" in
  asan)
    ensure_packages g++ libasan8 libubsan1
    build_sanitized build-asan "address,undefined"
    # OpenMPI unloads its plugins (MCA components) at MPI_Finalize, so the frame that allocated
    # one of their leaks has no module left to name; the full (slow) unwinder records the frames
    # below it, in libmpi and libopen-*, which the suppressions name.
    reports="$(report_dir build-asan)"
    export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
    rc=0
    ctest --test-dir build-asan --output-on-failure --timeout 900 || rc=$?
    check_reports "$reports" "$rc"
    ;;
  tsan)
    ensure_packages g++ libtsan2
    build_sanitized build-tsan thread --target kerosene_tests
    reports="$(report_dir build-tsan)"
    export TSAN_OPTIONS="suppressions=$supp/tsan.supp:second_deadlock_stack=1:log_path=$reports/tsan"
    threaded='^(MirroredStrategyTest|ReplicaBarrierTest|SyncBatchNormTest|WorkerThreadTest|CachingAllocator|DeviceScopeTest|FitTest)\.|^ConfigTest\.ThreadingKnobs$'
    rc=0
    ctest --test-dir build-tsan --output-on-failure --timeout 900 -R "$threaded" || rc=$?
    check_reports "$reports" "$rc"
    ;;
  fuzz)
    ensure_packages clang-14 libclang-rt-14-dev zlib1g-dev cmake ninja-build
    if [ ! -f build-fuzz/build.ninja ]; then
      cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
    fi
    cmake --build build-fuzz -j "$jobs"
    seconds="${KEROSENE_FUZZ_SECONDS:-60}"
    failed=()
    for program in build-fuzz/*_fuzz; do
      target="$(basename "$program" _fuzz)"
      findings="build-fuzz/findings/$target"
      rm -rf "$findings"
      mkdir -p "$findings" "build-fuzz/corpus/$target"
      echo "fuzz: $target for ${seconds} s (seeds: tests/fuzz/corpus/$target)"
      # New inputs go to build-fuzz/corpus/<target>; the seeds in the repository are only read.
      # Inputs of at most 4 KiB justify at most ~8 MiB (deflate expands 1032:1 at best, doubled
      # by vector growth): one allocation over 128 MiB, or 1 GiB resident, is a finding.
      rc=0
      "$program" -max_total_time="$seconds" -max_len=4096 -malloc_limit_mb=128 -rss_limit_mb=1024 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$findings/" \
        "build-fuzz/corpus/$target" "tests/fuzz/corpus/$target" >"build-fuzz/$target.log" 2>&1 || rc=$?
      if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$findings")" ]; then
        failed+=("$target")
        echo "fuzz: $target FAILED (exit $rc); the end of build-fuzz/$target.log:"
        grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' "build-fuzz/$target.log" | tail -n 60
        for input in "$findings"/*; do
          [ -f "$input" ] || continue
          echo "fuzz: $target input $input ($(stat -c %s "$input") bytes), base64:"
          head -c 65536 "$input" | base64
        done
      else
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done ' "build-fuzz/$target.log" |
          tr '\n' ' ' | sed "s/^/fuzz: $target passed: /"
        echo
      fi
    done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "fuzz: findings in ${failed[*]} (inputs above and in build-fuzz/findings/)" >&2
      exit 1
    fi
    ;;
  *) usage ;;
esac

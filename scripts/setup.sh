#!/usr/bin/env bash
# Sets kerosene up on a new Debian 12 machine: installs the build dependencies from Debian's
# packages (skipped when already present), configures and builds everything into ./build.
# Usage: bash scripts/setup.sh            (idempotent; re-running only rebuilds what changed)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ pkg-config libdnnl-dev zlib1g-dev libgtest-dev libgmock-dev
          libbenchmark-dev nlohmann-json3-dev libcli11-dev dataset-fashion-mnist
          libopenmpi-dev openmpi-bin libcurl4-openssl-dev libhdf5-dev libzip-dev dpkg-dev)  # dpkg-dev: dpkg-shlibdeps, for `cpack -G DEB`
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_type="${KEROSENE_BUILD_TYPE:-Release}"
# The CUDA plugin is built whenever the CUDA toolkit is there (nvcc on PATH or in
# /usr/local/cuda); KEROSENE_WITH_CUDA=ON makes its absence an error (CI), OFF skips it.
cmake_args=(-DCMAKE_BUILD_TYPE="$build_type" -DKEROSENE_WITH_CUDA="${KEROSENE_WITH_CUDA:-AUTO}")
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  cmake_args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja "${cmake_args[@]}" >/dev/null
elif [ -n "${KEROSENE_WITH_CUDA:-}" ]; then
  cmake -S . -B build -G Ninja "${cmake_args[@]}" >/dev/null
fi
cmake --build build -j "$(nproc)"

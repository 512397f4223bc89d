#!/bin/sh
# ctest's examples.*: runs an example program as a user would, on little data, in a scratch
# directory. Usage: run_example.sh PROGRAM [CIFAR10_TARBALL] -- ARGS...
# With a tarball, $KEROSENE_DATASETS holds it as cifar10/cifar-10-python.tar.gz (the fixture of
# tests/data/cifar); otherwise datasets come from where the program looks by default
# (Fashion-MNIST: Debian's dataset-fashion-mnist, which scripts/setup.sh installs).
set -eu
program="$1"
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if [ "$1" != "--" ]; then
  mkdir -p "$dir/cifar10"
  cp "$1" "$dir/cifar10/cifar-10-python.tar.gz"
  export KEROSENE_DATASETS="$dir"
  shift
fi
shift
cd "$dir"
timeout 600 "$program" "$@"

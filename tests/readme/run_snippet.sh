#!/bin/sh
# Runs one README snippet (built by cmake/readme_snippets.cmake) as a user would, in a scratch
# directory, with a tiny "mnist" of blank images under $KEROSENE_DATASETS so that its training
# takes a second. Usage: run_snippet.sh PROGRAM
set -eu
program="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mnist="$dir/datasets/mnist"
mkdir -p "$mnist"
# An IDX file of unsigned bytes: magic 00 00 08 <rank>, big-endian dimensions, then zeros.
idx() {
  file="$1"; count="$2"; shift 2
  printf '\000\000\010\00'"$#" >"$file"
  size=1
  for d in "$@"; do
    printf "\\$(printf %03o $((d >> 24 & 255)))\\$(printf %03o $((d >> 16 & 255)))" >>"$file"
    printf "\\$(printf %03o $((d >> 8 & 255)))\\$(printf %03o $((d & 255)))" >>"$file"
    size=$((size * d))
  done
  head -c "$size" /dev/zero >>"$file"
}
idx "$mnist/train-images-idx3-ubyte" 0 256 28 28
idx "$mnist/train-labels-idx1-ubyte" 0 256
idx "$mnist/t10k-images-idx3-ubyte" 0 64 28 28
idx "$mnist/t10k-labels-idx1-ubyte" 0 64
cd "$dir"
KEROSENE_DATASETS="$dir/datasets" HOME="$dir" timeout 300 "$program"

#!/usr/bin/env bash
# ctest's interop.keras: Keras 3 and TensorBoard, from the venv of scripts/keras_venv.sh, against
# kerosene's files, both ways.
#   1. kerosene writes (kerosene_interop_tool write), Keras loads and predicts
#      (keras_reads_kerosene.py);
#   2. Keras writes (keras_writes.py), kerosene loads and predicts (kerosene_reads_keras.py);
#   3. kerosene writes TensorBoard logs, TensorBoard's reader reads them
#      (tensorboard_reads_kerosene.py --logs);
#   4. the reference scripts' JSON writer (scripts/reference_util.py) re-writes the checked-in
#      tests/reference files byte for byte (numpy is the venv's).
# Usage: run_keras_interop.sh BUILD_DIR. The venv: $KEROSENE_KERAS_VENV, else BUILD_DIR/keras-venv.
# Without it: exit 77, which ctest reports as skipped, unless KEROSENE_REQUIRE_KERAS=1 (CI),
# where a missing venv is a failure. All three steps run; any failing fails the test.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run_keras_interop.sh BUILD_DIR}" && pwd)"
venv="${KEROSENE_KERAS_VENV:-$build/keras-venv}"
tool="$build/kerosene_interop_tool"

if [ ! -x "$venv/bin/python" ]; then
  if [ "${KEROSENE_REQUIRE_KERAS:-0}" = "1" ]; then
    echo "interop: no Keras venv at $venv and KEROSENE_REQUIRE_KERAS=1; create it with: bash scripts/keras_venv.sh" >&2
    exit 1
  fi
  echo "interop: skipped: no Keras venv at $venv (bash scripts/keras_venv.sh creates it; KEROSENE_KERAS_VENV names another)"
  exit 77
fi
if [ ! -x "$tool" ]; then
  echo "interop: $tool is not built (cmake --build $build --target kerosene_interop_tool)" >&2
  exit 1
fi

export KERAS_BACKEND=jax JAX_PLATFORMS=cpu TF_CPP_MIN_LOG_LEVEL=3 PYTHONDONTWRITEBYTECODE=1
py="$venv/bin/python"
work="$(mktemp -d "${TMPDIR:-/tmp}/kerosene_interop.XXXXXX")"
failed=()
step() {
  local name="$1"
  shift
  echo "=== interop: $name"
  "$@" || failed+=("$name")
}

# Keras reads whatever kerosene managed to write, so one failing save does not hide the rest.
step "kerosene writes, Keras reads" bash -c '"$1" write "$2"; w=$?; "$3" "$4/keras_reads_kerosene.py" "$2" && [ $w -eq 0 ]' \
  _ "$tool" "$work/kerosene" "$py" "$here"
step "Keras writes, kerosene reads" bash -c '"$1" "$2/keras_writes.py" "$3" 2>"$3.log" >/dev/null || { cat "$3.log"; exit 1; }
                                             "$1" "$2/kerosene_reads_keras.py" "$4" "$3"' _ "$py" "$here" "$work/keras" "$tool"
step "TensorBoard reads kerosene's logs" bash -c '"$1" tensorboard "$2" && "$3" "$4/tensorboard_reads_kerosene.py" --logs "$2"' \
  _ "$tool" "$work/tensorboard" "$py" "$here"
step "the reference writer reproduces tests/reference" "$py" "$here/../../scripts/reference_util.py" --check

if [ ${#failed[@]} -gt 0 ]; then
  printf 'interop: FAILED: %s (files kept in %s)\n' "$(IFS=';'; echo "${failed[*]}")" "$work" >&2
  exit 1
fi
rm -rf "$work"
echo "interop: Keras and TensorBoard read kerosene's files, and kerosene reads Keras'"

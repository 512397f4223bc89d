#!/usr/bin/env bash
# Creates the Python virtual environment the Keras interop tests (tests/interop) run in: Keras 3
# on the JAX CPU backend, h5py and TensorBoard, from PyPI, at pinned versions so a new release
# cannot change what "Keras reads our files" means without a commit here.
# Usage: bash scripts/keras_venv.sh [VENV_DIR]   (default build/keras-venv; prints the path)
# Idempotent: a venv whose stamp matches the pins is reused without touching the network.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${1:-build/keras-venv}"
# Versions pip resolved for Python 3.11 (Debian 12) in December 2026; bump them together.
pins=(keras==3.15.1 jax==0.10.2 jaxlib==0.10.2 h5py==3.16.0 tensorboard==2.21.0 numpy==2.4.6)
stamp="$venv/.kerosene-pins"
want="${pins[*]}"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$venv"
  exit 0
fi

# Debian splits venv and ensurepip out of python3; install them as scripts/setup.sh does.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "keras_venv: installing python3-venv" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3 python3-venv >/dev/null
fi
echo "keras_venv: creating $venv with ${pins[*]}" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
# Fail here, not in the middle of a test, if the backend does not import.
KERAS_BACKEND=jax "$venv/bin/python" -c 'import keras, h5py, tensorboard; assert keras.backend.backend() == "jax"' >&2
echo "$want" > "$stamp"
echo "$venv"

#!/usr/bin/env python3
"""Keras 3 reads what kerosene wrote: python keras_reads_kerosene.py DIR.

DIR holds what `interop_tool write DIR` made: <case>.keras, <case>.x.npy, kerosene's predictions
<case>.y.npy and <case>.json, what the compile config must say. For each case Keras loads the
model (keras.saving.load_model), predicts (within 1e-5, absolute plus relative), and, for a
compiled one, must read back the optimizer's class and hyperparameters, the loss and metrics,
the optimizer's state (iterations as trained) without a warning, and be able to fit on.
One line per case; exits 1 if any case fails.
"""
import glob
import json
import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

TOL = 1e-5


def close(got, want):
    """'' when within TOL, else where and by how much they differ."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape}, kerosene predicted {want.shape}"
    err = np.abs(got - want) - TOL * np.abs(want)
    if np.all(err <= TOL):
        return ""
    i = np.unravel_index(np.argmax(err), err.shape)
    return f"max difference {np.max(np.abs(got - want)):.3g} at {tuple(int(k) for k in i)}: Keras {got[i]:.8g}, kerosene {want[i]:.8g}"


def targets_for(loss, n, outputs):
    rng = np.random.default_rng(0)
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, outputs, size=(n,))
    if loss == "categorical_crossentropy":
        return np.eye(outputs, dtype="float32")[rng.integers(0, outputs, size=(n,))]
    return rng.integers(0, 2, size=(n, outputs)).astype("float32")


def check_loss_object(loss, want, problems, compiled_loss):
    """A loss name, or a loss object whose class and listed config entries Keras read back."""
    if isinstance(want, str):
        if loss != want:
            problems.append(f"loss {loss!r}, want {want!r}")
        return
    if not isinstance(loss, dict) or loss.get("class_name") != want["class_name"]:
        problems.append(f"loss {loss!r}, want a {want['class_name']} object")
        return
    # The object Keras rebuilt from the config must carry the options.
    rebuilt = keras.losses.deserialize(loss)
    config = rebuilt.get_config()
    for key, value in want.get("config", {}).items():
        got = config.get(key)
        same = got == value if isinstance(value, (bool, str)) else (
            isinstance(got, (int, float)) and abs(got - value) <= 1e-6 * max(1.0, abs(value)))
        if not same:
            problems.append(f"loss {want['class_name']} {key} = {got!r}, want {value!r}")
    # Keras' Huber.get_config leaves delta out (so get_compile_config loses it): it is checked on
    # the loss object the model was compiled with from the file.
    if "delta" in want:
        delta = getattr(compiled_loss, "_fn_kwargs", {}).get("delta")
        if delta is None or abs(delta - want["delta"]) > 1e-6:
            problems.append(f"Huber delta {delta!r}, want {want['delta']!r}")


def check_compile(model, expected, problems):
    if not expected["compiled"]:
        if getattr(model, "optimizer", None) is not None:
            problems.append(f"uncompiled model came back with optimizer {type(model.optimizer).__name__}")
        return
    if getattr(model, "optimizer", None) is None:
        problems.append("not compiled (compile_config missing or empty)")
        return
    want = expected["optimizer"]
    name = type(model.optimizer).__name__
    if name != want["class_name"]:
        problems.append(f"optimizer {name}, want {want['class_name']}")
    config = model.optimizer.get_config()
    for key, value in want.items():
        if key == "class_name":
            continue
        got = config.get(key)
        same = got == value if isinstance(value, (bool, dict)) else (
            isinstance(got, (int, float)) and abs(got - value) <= 1e-6 * abs(value))
        if not same:
            problems.append(f"optimizer {key} = {got!r}, want {value!r}")
    compile_config = model.get_compile_config()
    loss = compile_config.get("loss")
    if "loss_object" in expected:
        check_loss_object(loss, expected["loss_object"], problems, getattr(model, "loss", None))
    elif expected["from_logits"]:
        # A loss object: {"module": "keras.losses", "class_name": ..., "config": {..., "from_logits": true}}
        ok = isinstance(loss, dict) and loss.get("config", {}).get("from_logits") is True
        if not ok:
            problems.append(f"loss {loss!r}, want {expected['loss']} with from_logits=True")
    elif loss != expected["loss"]:
        problems.append(f"loss {loss!r}, want {expected['loss']!r}")
    if compile_config.get("loss_weights") != expected.get("loss_weights"):
        problems.append(f"loss_weights {compile_config.get('loss_weights')!r}, want {expected.get('loss_weights')!r}")
    metrics = compile_config.get("metrics") or []
    if list(metrics) != expected["metrics"]:
        problems.append(f"metrics {metrics!r}, want {expected['metrics']!r}")
    iterations = int(model.optimizer.iterations.numpy())
    if iterations != expected["iterations"]:
        problems.append(f"optimizer iterations {iterations}, want {expected['iterations']} (state not loaded?)")


def check_refusal(path, option):
    """Keras refuses `option` outside its TensorFlow backend: loading must fail with its own words
    about that option (so the key is the one Keras reads), not with any other error."""
    try:
        keras.saving.load_model(path)
    except Exception as e:
        text = str(e)
        if option in text and "TensorFlow backend" in text:
            return []
        return [f"Keras refused the file, but not for {option}: {type(e).__name__}: {text.strip()[:400]}"]
    return [f"Keras ({keras.backend.backend()}) loaded a file with {option}, which it refuses outside TensorFlow"]


def check_case(directory, case):
    base = os.path.join(directory, case)
    if not os.path.exists(base + ".keras"):
        return ["kerosene wrote no .keras file (interop_tool's error is above)"]
    with open(base + ".json") as f:
        expected = json.load(f)
    refused = expected.get("keras_refuses_outside_tensorflow")
    if refused and keras.backend.backend() != "tensorflow":
        return check_refusal(base + ".keras", refused)
    if os.path.exists(base + ".x0.npy"):  # several inputs and outputs: one file each
        x = [np.load(p) for p in sorted(glob.glob(base + ".x[0-9].npy"))]
        want = [np.load(p) for p in sorted(glob.glob(base + ".y[0-9].npy"))]
    else:
        x, want = np.load(base + ".x.npy"), np.load(base + ".y.npy")
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(base + ".keras")
    for w in caught:
        text = str(w.message)
        # Keras warns, and skips the optimizer state, when its variables do not match.
        if "optimizer" in text.lower() or "skipping" in text.lower():
            problems.append(f"warning on load: {text.strip()[:300]}")
    got = model.predict(x, verbose=0)
    for k, (g, w) in enumerate(zip(got, want) if isinstance(want, list) else [(got, want)]):
        diff = close(g, w)
        if diff:
            problems.append(f"predictions of output {k}: {diff}")
    check_compile(model, expected, problems)
    if expected["compiled"] and not problems:
        # The loaded compile config must be one Keras trains with.
        if isinstance(want, list):
            y = [targets_for(loss, len(x[0]), w.shape[-1]) for loss, w in zip(expected["loss"], want)]
            model.fit(x, y, epochs=1, verbose=0)
        else:
            model.fit(x, targets_for(expected["loss"], len(x), model.output_shape[-1]), epochs=1, verbose=0)
    return problems


def main():
    directory = sys.argv[1]
    # Every case interop_tool wrote expectations for, whether or not it managed the .keras file.
    cases = sorted(os.path.basename(p)[:-len(".json")] for p in glob.glob(os.path.join(directory, "*.json")))
    if not cases:
        print(f"keras_reads_kerosene: no cases in {directory}")
        return 1
    failed = 0
    for case in cases:
        try:
            problems = check_case(directory, case)
        except Exception as e:  # Keras refusing the file is the finding to report
            problems = [f"{type(e).__name__}: {str(e).strip()[:600]}"]
        if problems:
            failed += 1
            print(f"FAIL {case}: " + "; ".join(problems), flush=True)
        else:
            print(f"PASS {case}", flush=True)
    print(f"keras_reads_kerosene: {len(cases) - failed}/{len(cases)} cases pass (Keras {keras.__version__}, "
          f"{keras.backend.backend()})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

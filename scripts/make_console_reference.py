"""Captures Keras 3's console output (progress bar, verbose=2 line, summary tables) into
tests/reference/console/, the samples kerosene's console tests compare against byte for byte.

Run with the reference venv:  KERAS_BACKEND=jax /tmp/kvenv/bin/python scripts/make_console_reference.py
Each sample is what Keras wrote to stdout, unchanged (ANSI codes, backspaces and all). The data
and weights are chosen so that every printed number is exact (losses of 0, accuracies of 1 or
0.5), which keeps the samples identical from run to run; only times ("0s 3ms/step") vary, and
the tests mask them.
"""
import contextlib
import io
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.pop("COLUMNS", None)
import numpy as np  # noqa: E402
import keras  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "reference", "console")


def capture(name, fn):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        fn()
    with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
        f.write(buffer.getvalue())


def exact_model():
    """Dense(1, zeros) on zeros: the loss (mse) is exactly 0 and the accuracy exactly 1."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    return model


def fit_samples():
    x = np.zeros((40, 3), "float32")
    y = np.zeros((40, 1), "float32")
    # verbose 1, one epoch (no "Epoch" header), 4 steps.
    capture("fit_verbose1_1epoch.txt", lambda: exact_model().fit(x, y, batch_size=10, epochs=1, verbose=1))
    # verbose 1, two epochs, with validation: the header and val_* after the train metrics.
    capture("fit_verbose1_2epochs_val.txt",
            lambda: exact_model().fit(x, y, batch_size=10, epochs=2, verbose=1, validation_split=0.25))
    # verbose 2: one line per epoch.
    capture("fit_verbose2_2epochs_val.txt",
            lambda: exact_model().fit(x, y, batch_size=10, epochs=2, verbose=2, validation_split=0.25))
    # 12 steps: the count is right-aligned to two digits.
    capture("fit_verbose1_12steps.txt", lambda: exact_model().fit(x, y, batch_size=3, epochs=1, verbose=1))
    # evaluate's bar and predict's bar.
    capture("evaluate_verbose1.txt", lambda: exact_model().evaluate(x, y, batch_size=10, verbose=1))
    capture("predict_verbose1.txt", lambda: exact_model().predict(x, batch_size=10, verbose=1))


def progbar_samples():
    """The Progbar itself, with chosen values: the e-format below 1e-3 and a negative value."""
    def run():
        bar = keras.utils.Progbar(target=5, stateless_metrics=set())
        bar.update(5, [("b", 0.5), ("a", 0.0001234), ("c", -0.00005), ("d", 1234.56789)], finalize=True)
    capture("progbar_values.txt", run)

    def run2():
        bar = keras.utils.Progbar(target=5, verbose=2, stateless_metrics=set())
        bar.update(5, [("b", 0.5), ("a", 0.0001234), ("c", -0.25), ("d", 1234.56789)], finalize=True)
    capture("progbar_values_verbose2.txt", run2)


def piped_samples():
    """fit(verbose=1) with stdout a file, as `python train.py > log` writes it: a child process
    whose stdout is the sample file itself (no StringIO, a real file descriptor that is not a tty).

    Progbar._dynamic_display is `stdout.isatty() or "ipykernel" in sys.modules or "posix" in
    sys.modules or "PYCHARM_HOSTED" in os.environ`: on Linux "posix" is always loaded, so a piped
    Keras redraws with backspaces and '\r' (and ANSI codes) exactly as on a terminal. The second
    sample forces _dynamic_display off, which is what Keras prints where the test fails (a
    non-POSIX system, stdout not a terminal): every drawn update starts with '\n'.
    """
    for name, dynamic in (("fit_verbose1_piped.txt", "keep"), ("fit_verbose1_not_dynamic.txt", "off")):
        with open(os.path.join(OUT, name), "wb") as f:
            subprocess.run([sys.executable, __file__, "--child-fit", dynamic], stdout=f, check=True)


def child_fit(dynamic):
    assert not sys.stdout.isatty()
    if dynamic == "off":
        from keras.src.utils import progbar
        init = progbar.Progbar.__init__

        def not_dynamic(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self._dynamic_display = False
        progbar.Progbar.__init__ = not_dynamic
    x = np.zeros((40, 3), "float32")
    y = np.zeros((40, 1), "float32")
    exact_model().fit(x, y, batch_size=10, epochs=2, verbose=1, validation_split=0.25)
    exact_model().evaluate(x, y, batch_size=10, verbose=1)


def summary_samples():
    def sequential():
        keras.utils.set_random_seed(1)
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu", name="conv2d"),
            keras.layers.MaxPooling2D(name="max_pooling2d"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.BatchNormalization(name="batch_normalization"),
            keras.layers.Dense(10, activation="softmax", name="dense"),
        ], name="sequential")
        return model

    def functional_chain():
        inputs = keras.Input((784,), name="input_layer")
        h = keras.layers.Dense(64, activation="relu", name="dense")(inputs)
        outputs = keras.layers.Dense(10, name="dense_1")(h)
        return keras.Model(inputs, outputs, name="functional")

    def functional_branches():
        inputs = keras.Input((16,), name="input_layer")
        a = keras.layers.Dense(8, name="dense")(inputs)
        b = keras.layers.Dense(8, name="dense_1")(inputs)
        merged = keras.layers.Concatenate(name="concatenate")([a, b])
        outputs = keras.layers.Dense(1, name="dense_2")(merged)
        return keras.Model(inputs, outputs, name="functional")

    # Piped stdout: the terminal width falls back to 80 columns, so the table is 76 wide.
    capture("summary_sequential_76.txt", lambda: sequential().summary())
    capture("summary_functional_chain_76.txt", lambda: functional_chain().summary())
    capture("summary_functional_branches_76.txt", lambda: functional_branches().summary())
    # A wide terminal (COLUMNS=200, which both shutil and rich read): Keras' own widths, 88 and 108.
    os.environ["COLUMNS"] = "200"
    capture("summary_sequential_88.txt", lambda: sequential().summary())
    capture("summary_functional_branches_108.txt", lambda: functional_branches().summary())
    del os.environ["COLUMNS"]

    def compiled_and_fitted():
        model = sequential()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(np.zeros((4, 28, 28, 1), "float32"), np.zeros((4,), "int32"), verbose=0)
        model.summary()
    capture("summary_sequential_fitted_76.txt", compiled_and_fitted)

    def unbuilt():
        keras.Sequential([keras.layers.Dense(4, name="dense"), keras.layers.Dense(2, name="dense_1")],
                         name="unbuilt").summary()
    capture("summary_unbuilt_76.txt", unbuilt)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child-fit":
        child_fit(sys.argv[2])
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    fit_samples()
    piped_samples()
    progbar_samples()
    summary_samples()
    print("wrote", sorted(os.listdir(OUT)), file=sys.stderr)

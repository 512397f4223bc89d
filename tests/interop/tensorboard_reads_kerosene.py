#!/usr/bin/env python3
"""TensorBoard's own readers read kerosene's TensorBoard logs.

Runs the C++ fit test that writes logs (TensorBoardCallbackTest.FitWritesTrainAndValidationRunsAsKeras)
with KEROSENE_TB_KEEP_DIR set, then reads its event files with TensorBoard's record loader
(event_file_loader, which checks every CRC) and its EventAccumulator (what `tensorboard --logdir`
uses), and checks runs, tags, steps and values against the CSVLogger file of the same fit.

With `--logs DIR` it reads logs already written there instead (DIR/logs and DIR/log.csv, as
`kerosene_interop_tool tensorboard DIR` writes them); that is how ctest's interop.keras runs it
(tests/interop/run_keras_interop.sh, in the venv of scripts/keras_venv.sh). By hand:
  python3 -m venv /tmp/tbenv && /tmp/tbenv/bin/pip install tensorboard
  /tmp/tbenv/bin/python tests/interop/tensorboard_reads_kerosene.py [build-dir | --logs DIR]
"""
import csv
import glob
import os
import subprocess
import sys
import tempfile

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.util import tensor_util

TEST = "TensorBoardCallbackTest.FitWritesTrainAndValidationRunsAsKeras"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--logs":
        out = sys.argv[2]
    else:
        build = sys.argv[1] if len(sys.argv) > 1 else "build"
        out = tempfile.mkdtemp(prefix="kerosene_tb_interop_")
        env = dict(os.environ, KEROSENE_TB_KEEP_DIR=out)
        subprocess.run([os.path.join(build, "kerosene_tests"), "--gtest_filter=" + TEST], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "log.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    failures = []

    def check(what, ok):
        if not ok:
            failures.append(what)

    for run, prefix in (("train", ""), ("validation", "val_")):
        run_dir = os.path.join(out, "logs", run)
        files = glob.glob(os.path.join(run_dir, "*tfevents*"))
        check(f"{run}: one event file, found {files}", len(files) == 1)
        print(f"run {run}: {os.path.basename(files[0])}")
        # The raw records: every CRC checked by TensorBoard's reader; the first is the version.
        events = list(event_file_loader.EventFileLoader(files[0]).Load())
        check(f"{run}: first event file_version", events[0].file_version == "brain.Event:2")
        print(f"  {len(events)} records, first file_version={events[0].file_version!r}")
        acc = plugin_event_accumulator.EventAccumulator(run_dir, size_guidance={"tensors": 0})
        acc.Reload()
        tags = sorted(acc.Tags()["tensors"])
        print(f"  tags: {tags}")
        for tag in tags:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            check(f"{run}/{tag}: plugin {plugin}", plugin == "scalars")
            series = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
            print(f"  {tag} [{plugin}]: " + ", ".join(f"{s}:{v:.6g}" for s, v in series))
            if tag.startswith("epoch_") and tag != "epoch_learning_rate":
                key = prefix + tag[len("epoch_"):]
                expected = [(int(r["epoch"]), float(r[key])) for r in rows]
                # TensorBoard holds float32; the CSV the double kerosene computed.
                check(f"{run}/{tag}: {series} vs CSV {expected}",
                      len(series) == len(expected) and
                      all(s == es and abs(v - ev) <= 1e-6 * max(1.0, abs(ev)) for (s, v), (es, ev) in zip(series, expected)))
            if tag.startswith("evaluation_"):
                # Keras writes the validation values again at the optimizer's iterations: 3 batches an epoch.
                key = "val_" + tag[len("evaluation_"):-len("_vs_iterations")]
                expected = [(3 * int(r["epoch"]) + 3, float(r[key])) for r in rows]
                check(f"{run}/{tag}: {series} vs CSV {expected}",
                      len(series) == len(expected) and
                      all(s == es and abs(v - ev) <= 1e-6 * max(1.0, abs(ev)) for (s, v), (es, ev) in zip(series, expected)))
        if run == "train":
            check("train tags", tags == ["epoch_accuracy", "epoch_learning_rate", "epoch_loss"])
        else:
            check("validation tags", tags == ["epoch_accuracy", "epoch_loss", "evaluation_accuracy_vs_iterations",
                                              "evaluation_loss_vs_iterations"])
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"OK: TensorBoard read kerosene's logs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

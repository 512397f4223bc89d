"""What the scripts that write tests/reference/*.json share: the compact JSON writer (floats as
the shortest decimal that round-trips their float32 value, numeric lists on one line) and the
tensor record ({"shape": [...], "values": [row-major floats]}) that the C++ tests read.

Only numpy is needed here, so the writer is tested without Keras:
`python3 scripts/reference_util.py --check` re-writes every checked-in file made with it and
compares the bytes (tests/scripts runs that check).
"""
import json
import math
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def f32_text(x, check_finite: bool = True) -> str:
    """The shortest decimal that reads back as float32(x); JSON has no inf or NaN."""
    v = np.float32(x)
    if check_finite and not math.isfinite(float(v)):
        raise ValueError(f"non-finite value {v} cannot be written to JSON")
    return str(v)  # numpy prints the shortest string that round-trips the float32


def _is_scalar(v) -> bool:
    return not isinstance(v, (dict, list, tuple))


def _has_dict(v) -> bool:
    if isinstance(v, dict):
        return True
    return isinstance(v, (list, tuple)) and any(_has_dict(w) for w in v)


def _inline(obj, depth: int) -> bool:
    """Whether a list goes on one line: no dict inside, nested at most `depth` deep (0: any)."""
    if _has_dict(obj):
        return False
    if depth == 0:
        return True
    if all(_is_scalar(v) for v in obj):
        return True
    return depth > 1 and all(isinstance(v, (list, tuple)) and _inline(v, depth - 1) for v in obj)


def dump(obj, indent: int = 0, *, inline_depth: int = 1, verbatim_keys=()) -> str:
    """Compact JSON. A list without dicts goes on one line when it nests at most `inline_depth`
    levels (1: flat lists; 2: matrices too; 0: any depth); the values of `verbatim_keys` are
    written as json.dumps writes them (a layer's config: Python doubles kept exact)."""
    options = {"inline_depth": inline_depth, "verbatim_keys": verbatim_keys}
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}  {json.dumps(str(k))}: "
                 + (json.dumps(v) if k in verbatim_keys else dump(v, indent + 1, **options))
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if _inline(obj, inline_depth):
            return "[" + ",".join(dump(v, **options) for v in obj) + "]"
        items = [f"{pad}  {dump(v, indent + 1, **options)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(obj, (bool, np.bool_)):
        return "true" if obj else "false"
    if obj is None:
        return "null"
    if isinstance(obj, (int, np.integer)):
        return str(int(obj))
    if isinstance(obj, (float, np.floating)):
        return f32_text(obj)
    if isinstance(obj, str):
        return json.dumps(obj)
    raise TypeError(f"cannot serialize {type(obj)}")


def flat(a) -> list:
    """Row-major flattened list of float32 values (as Python floats)."""
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def tensor(a) -> dict:
    a = np.asarray(a, dtype=np.float32)
    return {"shape": [int(d) for d in a.shape], "values": flat(a)}


def write(path: str, payload, generator: str = "", **dump_options) -> None:
    """Writes `payload` with dump(), checks that it parses, and says what it wrote."""
    with open(path, "w") as fh:
        fh.write(dump(payload, **dump_options) + "\n")
    with open(path) as fh:
        json.load(fh)
    prefix = f"{generator}: " if generator else ""
    print(f"{prefix}wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")


# The checked-in files this writer makes, with the options their scripts pass.
WRITTEN_FILES = {
    "optimizers.json": {"inline_depth": 2},
    "layers.json": {"inline_depth": 2},
    "losses.json": {"inline_depth": 2},
    "training.json": {"inline_depth": 2},
    "normalization.json": {},
    "schedules.json": {},
    "optimizer_options.json": {},
    "training_schedule.json": {},
    "depthwise_layers.json": {"inline_depth": 0, "verbatim_keys": ("config",)},
    "spatial_layers.json": {"inline_depth": 0, "verbatim_keys": ("config",)},
}


def check_written_files() -> int:
    """Re-writes each file of WRITTEN_FILES from its parsed contents; 1 if any differs."""
    failures = 0
    for name, options in WRITTEN_FILES.items():
        path = os.path.join(REPO_ROOT, "tests", "reference", name)
        with open(path) as fh:
            text = fh.read()
        again = dump(json.loads(text), **options) + "\n"
        if again != text:
            line = next(i for i, (a, b) in enumerate(zip(again.splitlines(), text.splitlines()), 1) if a != b)
            print(f"{name}: the writer does not reproduce line {line}", file=sys.stderr)
            failures += 1
        else:
            print(f"{name}: reproduced ({len(text)} bytes)")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--check"]:
        sys.exit("usage: python3 scripts/reference_util.py --check")
    sys.exit(check_written_files())

"""(q) Converting a Keras 3 ``.keras`` file: ``lamina.from_keras`` against Keras's own
``keras.saving.load_model`` of the same file.

The file is the ~10M-parameter model of (i) as Keras 3 writes it (Dense(2048) ->
``x ** 2`` -> Dense(2048) -> antirectifier -> Dense(904) -> ``x * 0.5 + 1.0`` on 1024
features; the last lambda is plain arithmetic because a lambda Keras loads from bytecode
sees Keras's globals, not ``ops``), saved once. lamina reads it in safe mode, the two
lambdas translated from their bytecode and the antirectifier ``def`` (stored by name)
given through ``custom_objects``; Keras needs ``safe_mode=False`` for its own lambdas. The
torch column is the floor: reading the same weights from the archive's HDF5 member into
torch tensors with h5py, nothing built. Both loaded models are checked to predict the
same before anything is timed.

Run alone with ``python bench/keras_files.py``; ``bench/run.py`` includes this row.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import zipfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_workloads  # noqa: E402
from run import antirectifier, measure, row  # noqa: E402
from saving import DENSE_WIDTHS, FEATURES  # noqa: E402

import lamina  # noqa: E402


def read_weights(path: str) -> list[torch.Tensor]:
    """Every dataset of the archive's model.weights.h5, as torch tensors."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    found: list[torch.Tensor] = []
    with h5py.File(io.BytesIO(data), "r") as store:
        store.visititems(lambda name, node: found.append(torch.from_numpy(node[()]))
                         if isinstance(node, h5py.Dataset) else None)
    return found


def from_keras_rows(quick: bool) -> list[dict[str, object]]:
    reason = keras_workloads.unavailable()
    if reason is not None:
        return [row("(q) from_keras of a 10.0M-parameter .keras file vs Keras load_model",
                    {"kind": "faster_than_keras"}, {}, reason)]
    keras = keras_workloads._import()  # noqa: SLF001 - the bench's own Keras import
    directory = tempfile.mkdtemp()
    try:
        path = os.path.join(directory, "model.keras")
        keras.utils.set_random_seed(0)
        layers = keras.layers
        keras.Sequential([
            keras.Input((FEATURES,)), layers.Dense(DENSE_WIDTHS[0]),
            layers.Lambda(lambda x: x ** 2), layers.Dense(DENSE_WIDTHS[1]),
            layers.Lambda(keras_workloads.antirectifier), layers.Dense(DENSE_WIDTHS[2]),
            layers.Lambda(lambda x: x * 0.5 + 1.0)]).save(path)
        custom = {"antirectifier": antirectifier}
        keras_custom = {"antirectifier": keras_workloads.antirectifier}

        def ours() -> object:
            return lamina.from_keras(path, custom_objects=custom)

        def theirs() -> object:
            return keras.saving.load_model(path, safe_mode=False, custom_objects=keras_custom)

        x = np.random.default_rng(0).normal(size=(4, FEATURES)).astype("float32")
        expected = theirs().predict(x, verbose=0)
        np.testing.assert_allclose(ours().predict(x, verbose=0), expected, rtol=1e-4,
                                   atol=1e-4)
        params = sum(int(np.prod(w.shape)) for w in read_weights(path))
        times = measure({"lamina": ours, "torch": lambda: read_weights(path),
                         "keras": theirs},
                        inner=1, blocks=3 if quick else 11, warmup=1)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return [row(f"(q) from_keras of a {params / 1e6:.1f}M-parameter .keras file "
                "(torch: h5py reads its weights; keras: load_model)",
                {"kind": "faster_than_keras"}, times)]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("q", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())

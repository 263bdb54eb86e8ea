"""Saving benchmarks: (i) save + load of a 10M-parameter model against bare safetensors,
(j) a source-tier Lambda loaded from a file against the original function.

(i) ``model.save`` then ``lamina.load_model`` of Dense(2048) -> x ** 2 -> Dense(2048) ->
    antirectifier -> Dense(904) -> relu(x) * 0.5 on 1024 features (10.0M parameters);
    the reference writes the same state dict with ``safetensors.torch.save_file`` and
    reads it back with ``load_file``; Keras 3 saves the same model to ``.keras`` and loads
    it (``safe_mode=False``, which its Lambda bytecode needs).
(j) The antirectifier Lambda saved in a model file and loaded back (source tier: the
    function is recompiled from its checked source); the loaded function is timed against
    the original on a (1, 64) input. The original changes its input in place (``x -=``),
    so it is called on a copy, as a Lambda layer calls it; the loaded function rebinds
    instead and needs no copy. Keras: its loaded Lambda function (from bytecode), on a copy.

Run alone with ``python bench/saving.py``; ``bench/run.py`` includes these rows.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_workloads  # noqa: E402
from run import antirectifier, measure, ratio_target, row  # noqa: E402

import lamina  # noqa: E402
from lamina import backend as K  # noqa: E402
from lamina import layers  # noqa: E402

FEATURES, DENSE_WIDTHS = 1024, (2048, 2048, 904)


def big_model() -> lamina.Sequential:
    """10.0M parameters, with a few Lambda layers."""
    return lamina.Sequential([
        layers.Dense(DENSE_WIDTHS[0], input_shape=(FEATURES,)),
        layers.Lambda(lambda x: x ** 2),
        layers.Dense(DENSE_WIDTHS[1]),
        layers.Lambda(antirectifier),
        layers.Dense(DENSE_WIDTHS[2]),
        layers.Lambda(lambda x: K.relu(x) * 0.5),
    ])


def save_load_rows(quick: bool) -> list[dict[str, object]]:
    model = big_model()
    params = model.count_params()
    directory = tempfile.mkdtemp()
    try:
        model_path = os.path.join(directory, "model.lamina")
        bare_path = os.path.join(directory, "bare.safetensors")
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}

        def ours() -> None:
            model.save(model_path)
            lamina.load_model(model_path)

        def bare() -> None:
            save_file(state, bare_path)
            load_file(bare_path)

        keras_save_load, note = keras_workloads.candidate(keras_workloads.save_load,
                                                          DENSE_WIDTHS, FEATURES, directory)
        times = measure({"lamina": ours, "torch": bare, "keras": keras_save_load},
                        inner=1, blocks=3 if quick else 15, warmup=1)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return [row(f"(i) save + load, {params / 1e6:.1f}M parameters (torch: bare safetensors)",
                ratio_target(1.2), times, note)]


def loaded_function_rows(quick: bool) -> list[dict[str, object]]:
    model = lamina.Sequential([layers.Lambda(antirectifier, input_shape=(64,))])
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "lambda.lamina")
        model.save(path)
        loaded = lamina.load_model(path)
    layer = next(module for module in loaded.modules() if isinstance(module, layers.Lambda))
    assert layer.get_config()["function"]["kind"] == "source"
    x = torch.randn(1, 64)
    original, restored = antirectifier, layer.function
    torch.testing.assert_close(restored(x.clone()), original(x.clone()))
    keras_function, note = keras_workloads.candidate(keras_workloads.loaded_function, x)
    times = measure({"lamina": lambda: restored(x), "torch": lambda: original(x.clone()),
                     "keras": keras_function},
                    inner=500 if quick else 3000, blocks=15, warmup=200)
    return [row("(j) loaded source-tier Lambda vs original function (1, 64)",
                ratio_target(1.1), times, note)]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("ij", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())

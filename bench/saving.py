"""Saving benchmarks: (i) save + load of a 10M-parameter model against bare safetensors,
(j) a source-tier Lambda loaded from a file against the original function.

Run alone with ``python bench/saving.py``; ``bench/run.py`` includes these rows.
"""

from __future__ import annotations

import os
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import antirectifier, measure  # noqa: E402

import lamina  # noqa: E402
from lamina import backend as K  # noqa: E402
from lamina import layers  # noqa: E402


def big_model() -> lamina.Sequential:
    """About 10M parameters, with a few Lambda layers."""
    return lamina.Sequential([
        layers.Dense(2048, input_shape=(1024,)),
        layers.Lambda(lambda x: x ** 2),
        layers.Dense(2048),
        layers.Lambda(antirectifier),
        layers.Dense(512),
        layers.Lambda(lambda x: K.relu(x) * 0.5),
    ])


def save_load_row(quick: bool) -> dict[str, object]:
    model = big_model()
    params = model.count_params()
    directory = tempfile.mkdtemp()
    model_path = os.path.join(directory, "model.lamina")
    bare_path = os.path.join(directory, "bare.safetensors")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}

    def ours() -> None:
        model.save(model_path)
        lamina.load_model(model_path)

    def bare() -> None:
        save_file(state, bare_path)
        load_file(bare_path)

    blocks = 3 if quick else 7
    times = measure({"lamina": ours, "torch": bare}, inner=1, blocks=blocks, warmup=1)
    return {"workload": f"(i) save + load, {params / 1e6:.1f}M parameters (vs bare safetensors)",
            "target": 1.2, **times}


def loaded_function_row(quick: bool) -> dict[str, object]:
    layer = layers.Lambda(antirectifier)
    loaded = layers.Lambda.from_config(layer.get_config())
    x = torch.randn(1, 64)
    original, restored = layer.function, loaded.function
    torch.testing.assert_close(restored(x.clone()), original(x.clone()))
    times = measure({"lamina": lambda: restored(x), "torch": lambda: original(x.clone())},
                    inner=500 if quick else 3000, blocks=15, warmup=200)
    return {"workload": "(j) loaded source-tier Lambda vs original function", "target": 1.1,
            **times}


def main() -> None:
    torch.set_num_threads(1)
    for row in (save_load_row(False), loaded_function_row(False)):
        ratio = row["lamina"] / row["torch"]
        print(f"{row['workload']:<62} {row['lamina'] * 1e3:9.3f}ms {row['torch'] * 1e3:9.3f}ms "
              f"{ratio:6.3f}  target <= {row['target']}")


if __name__ == "__main__":
    main()

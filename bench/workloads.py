"""Workloads (d) predict, (e) a branching Functional model, (h) building deep Functional
models and (k) ``jit=True`` train steps, each against plain PyTorch and Keras 3.

(d) ``predict`` over 65536 x 784 samples at batch 32 (Keras's default) of bench/run.py's
    antirectifier MLP; the reference slices the same tensor, runs the same network under
    ``no_grad`` in eval mode and writes each batch into one preallocated result.
(e) One train step at batch 128 of two towers (Dense 128 relu -> Dense 64, and Dense 128
    tanh -> Dense 64) joined by ``Concatenate`` and by a two-input ``Lambda``
    (``t[0] * sigmoid(t[1]) + t[1]``), concatenated again into ``Dense(10)``.
(h) Time to build a Functional model of 50, 100 and 200 layers (Dense(32) and an
    elementwise Lambda alternating, each output shape inferred), from ``Input`` to
    ``Model``. The target: 200 layers in under 2 s, and time per layer not growing with
    depth. Plain PyTorch has no counterpart (nothing to infer), so its column is empty.
(k) ``train_on_batch`` of the MLP at batch 128, compiled with ``jit=True`` against the
    same model eager; the references are a plain step (``loss.item()`` included, as
    ``train_on_batch`` returns the loss) eager and with ``torch.compile`` on forward and
    loss (what lamina compiles), and Keras with ``jit_compile`` False and True.

Run alone with ``python bench/workloads.py [--quick] [--threads N] [--only dehk]``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import lamina
from lamina import backend as K
from lamina import layers

try:
    from run import Row, measure, mlp_pair, ratio_target, row, train_step
except ImportError:
    from bench.run import Row, measure, mlp_pair, ratio_target, row, train_step

import keras_workloads

# ---------------------------------------------------------------------- (d) predict
PREDICT_SAMPLES, PREDICT_BATCH = 65536, 32


def plain_predict(model: nn.Module, x: np.ndarray, batch_size: int) -> np.ndarray:
    """What a PyTorch user writes: slices of one tensor, each moved to the model's device
    (no copy on the CPU), into one preallocated result there."""
    model.eval()
    device = next(model.parameters()).device
    inputs = torch.from_numpy(x)
    with torch.no_grad():
        result = torch.empty(len(x), *model(inputs[:1].to(device)).shape[1:], device=device)
        for start in range(0, len(x), batch_size):
            result[start:start + batch_size] = model(inputs[start:start + batch_size].to(device))
    return result.cpu().numpy()


def predict_rows(quick: bool) -> list[Row]:
    torch.manual_seed(0)
    ours, plain = mlp_pair()
    x = np.random.default_rng(0).standard_normal((PREDICT_SAMPLES, 784), dtype=np.float32)
    np.testing.assert_allclose(ours.predict(x[:1000], batch_size=PREDICT_BATCH, verbose=0),
                               plain_predict(plain, x[:1000], PREDICT_BATCH),
                               rtol=1e-4, atol=1e-5)
    keras_predict, note = keras_workloads.candidate(keras_workloads.predict, ours, x)
    times = measure({"lamina": lambda: ours.predict(x, batch_size=PREDICT_BATCH, verbose=0),
                     "torch": lambda: plain_predict(plain, x, PREDICT_BATCH),
                     "keras": keras_predict},
                    inner=1, blocks=3 if quick else 5, warmup=1)
    return [row(f"(d) predict, {PREDICT_SAMPLES} x 784, batch {PREDICT_BATCH}",
                ratio_target(1.1), times, note)]


# ---------------------------------------------------------------------- (e) branching
def lamina_branching() -> tuple[lamina.Model, list[layers.Dense]]:
    """The two-tower model and its Dense layers in creation order (for copying weights)."""
    inputs = lamina.Input(shape=(784,))
    denses = [layers.Dense(128, activation="relu"), layers.Dense(64),
              layers.Dense(128, activation="tanh"), layers.Dense(64), layers.Dense(10)]
    a = denses[1](denses[0](inputs))
    b = denses[3](denses[2](inputs))
    joined = layers.Concatenate()([a, b])
    gated = layers.Lambda(lambda t: t[0] * K.sigmoid(t[1]) + t[1])([a, b])
    outputs = denses[4](layers.Concatenate()([joined, gated]))
    return lamina.Model(inputs, outputs), denses


class PlainBranching(nn.Module):
    """The same two towers as hand-written PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.a1, self.a2 = nn.Linear(784, 128), nn.Linear(128, 64)
        self.b1, self.b2 = nn.Linear(784, 128), nn.Linear(128, 64)
        self.out = nn.Linear(192, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a2(torch.relu(self.a1(x)))
        b = self.b2(torch.tanh(self.b1(x)))
        joined = torch.cat([a, b], dim=1)
        gated = a * torch.sigmoid(b) + b
        return self.out(torch.cat([joined, gated], dim=1))


def branching_rows(quick: bool) -> list[Row]:
    torch.manual_seed(0)
    ours, denses = lamina_branching()
    plain = PlainBranching()
    with torch.no_grad():
        for dense, linear in zip(denses, [plain.a1, plain.a2, plain.b1, plain.b2, plain.out]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    data, labels = torch.randn(128, 784), torch.randint(0, 10, (128,))
    torch.testing.assert_close(ours(data), plain(data), rtol=1e-4, atol=1e-5)
    keras_model, note = keras_workloads.candidate(keras_workloads.branching, denses, ours, data)
    ours.train()
    plain.train()
    candidates = {
        "lamina": train_step(ours, torch.optim.Adam(ours.parameters(), lr=1e-3), data, labels),
        "torch": train_step(plain, torch.optim.Adam(plain.parameters(), lr=1e-3), data, labels),
        "keras": None if keras_model is None else train_step(
            keras_model, torch.optim.Adam(keras_model.parameters(), lr=1e-3), data, labels),
    }
    times = measure(candidates, inner=5 if quick else 20, blocks=7 if quick else 15,
                    warmup=10)
    return [row("(e) two towers + Concatenate + 2-input Lambda, train step, batch 128",
                ratio_target(1.1), times, note)]


# ---------------------------------------------------------------------- (h) building
BUILD_DEPTHS = (50, 100, 200)


def lamina_build(depth: int) -> lamina.Model:
    """A ``depth``-layer Functional model, Dense and Lambda alternating."""
    inputs = lamina.Input(shape=(32,))
    h = inputs
    for index in range(depth):
        h = layers.Dense(32)(h) if index % 2 == 0 else \
            layers.Lambda(lambda x: K.relu(x) * 0.5)(h)
    return lamina.Model(inputs, h)


def build_rows(quick: bool) -> list[Row]:
    lamina_build(4)  # first-use costs (imports, caches) are not part of building
    keras_build, note = keras_workloads.candidate(keras_workloads.builder)
    rows = []
    for depth in BUILD_DEPTHS:
        model = lamina_build(depth)
        assert len(model.layers) == depth + 1 and tuple(model.outputs[0].shape) == (None, 32)
        times = measure({"lamina": lambda d=depth: lamina_build(d),
                         "keras": None if keras_build is None else
                         (lambda d=depth: keras_build(d))},
                        inner=1, blocks=3 if quick else 5, warmup=1)
        target = {"kind": "build", "max_growth": 1.25}
        if depth == BUILD_DEPTHS[-1]:
            target["max_seconds"] = 2.0
        entry = row(f"(h) build a {depth}-layer Functional model (seconds)", target, times, note)
        entry["depth"] = depth
        rows.append(entry)
    return rows


# ---------------------------------------------------------------------- (k) jit
def plain_train_on_batch(forward_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         optimizer: torch.optim.Optimizer, x: torch.Tensor,
                         y: torch.Tensor) -> Callable[[], float]:
    def step() -> float:
        loss = forward_loss(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def jit_rows(quick: bool) -> list[Row]:
    torch.manual_seed(0)
    eager, plain_eager = mlp_pair()
    jitted, plain_jitted = mlp_pair()
    jitted.set_weights(eager.get_weights())
    plain_jitted.load_state_dict(plain_eager.state_dict())
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    loss = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)
    eager.compile(optimizer="adam", loss=loss)
    jitted.compile(optimizer="adam", loss=loss, jit=True)

    def plain_step(model: nn.Module, compiled: bool) -> Callable[[], float]:
        def forward_loss(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return nn.functional.cross_entropy(model(inputs), targets)

        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        model.train()
        return plain_train_on_batch(torch.compile(forward_loss) if compiled else forward_loss,
                                    optimizer, x, y)

    keras_eager, note = keras_workloads.candidate(keras_workloads.train_on_batch, eager, x, y,
                                                  False)
    keras_jit, jit_note = keras_workloads.candidate(keras_workloads.train_on_batch, eager, x,
                                                    y, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inductor's own deprecation chatter
        times = measure({"lamina_eager": lambda: eager.train_on_batch(x, y),
                         "lamina_jit": lambda: jitted.train_on_batch(x, y),
                         "torch_eager": plain_step(plain_eager, False),
                         "torch_jit": plain_step(plain_jitted, True),
                         "keras_eager": keras_eager, "keras_jit": keras_jit},
                        inner=3 if quick else 10, blocks=5 if quick else 15,
                        warmup=5 if quick else 10)
    by_mode = {mode: {name: times[f"{name}_{mode}"] for name in ("lamina", "torch", "keras")
                      if f"{name}_{mode}" in times} for mode in ("eager", "jit")}
    eager_row = row("(k) MLP train_on_batch, batch 128, eager (reference for jit)",
                    {"kind": "none"}, by_mode["eager"], note)
    eager_row["key"] = "k-eager"
    jit_row = row("(k) MLP train_on_batch, batch 128, jit=True (torch.compile)",
                  {"kind": "faster_than", "row": "k-eager"}, by_mode["jit"], jit_note)
    return [eager_row, jit_row]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("dehk", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())

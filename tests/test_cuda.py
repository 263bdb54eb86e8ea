"""The CUDA path: tests marked ``cuda`` (skipped without a GPU, see conftest.py), and CPU
checks that the code paths fixed for it keep their values and follow their tensors' device
(the ``meta`` device stands in for a GPU: mixing it with CPU tensors fails the same way)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import lamina
from lamina import layers, ops
from lamina.training.data import ArrayData, StreamData

META = torch.device("meta")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 5)).astype(np.float32)
Y = (X[:, :1] * 2 - X[:, 1:2]).astype(np.float32)


class PlainCell(layers.Layer):
    """A cell without ``get_initial_state``: the RNN makes its zero states."""

    def __init__(self, units: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight("kernel", (input_shape[-1] + self.units, self.units))

    def call(self, inputs, states):
        output = torch.tanh(torch.cat([inputs, states[0]], dim=-1) @ self.kernel)
        return output, [output]


@pytest.mark.parametrize("make", [lambda: layers.RNN(PlainCell()),
                                  lambda: layers.RNN([PlainCell(), PlainCell(2)])],
                         ids=["cell", "stacked"])
def test_zero_states_follow_the_weights_device(make) -> None:
    torch.manual_seed(0)
    rnn = make()
    x = torch.randn(2, 4, 3)
    first = rnn(x)
    assert torch.equal(rnn(x), first) and first.shape[0] == 2
    states = rnn.get_initial_state(2)
    assert all(float(s.abs().sum()) == 0 for s in lamina.utils.tree.flatten(states))
    rnn.to(META)
    assert rnn(x.to(META)).device == META


def test_creation_ops_follow_a_tensor_argument() -> None:
    assert ops.full((2,), 7).tolist() == [7.0, 7.0]
    assert ops.full((2,), torch.tensor(3.0)).tolist() == [3.0, 3.0]
    assert ops.full((2, 2), torch.tensor(1.5, device=META)).device == META
    start, stop = torch.tensor([1.0, 10.0]), torch.tensor([2.0, 1000.0])
    np.testing.assert_allclose(ops.geomspace(start, stop, 3).numpy(),
                               [[1.0, 10.0], [2 ** 0.5, 100.0], [2.0, 1000.0]], rtol=1e-5)
    assert ops.geomspace(start.to(META), stop.to(META), 3).device == META

def test_array_data_pins_the_data_and_each_shuffled_copy(monkeypatch) -> None:
    pinned: list[int] = []

    def fake_pin(tensor: torch.Tensor) -> torch.Tensor:  # no GPU here: record the call
        pinned.append(tensor.shape[0])
        return tensor.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    data = ArrayData(torch.arange(10.0), torch.arange(10.0), None, batch_size=4,
                     shuffle=True, caller="fit")
    data.pin_memory()
    assert data.pinned and pinned == [10, 10]
    values = sorted(float(v) for x, _, _ in data.batches() for v in x)
    assert values == [float(i) for i in range(10)] and pinned == [10, 10, 10, 10]


def test_lamina_own_loader_pins_a_user_loader_keeps_its_setting() -> None:
    dataset = TensorDataset(torch.arange(6.0)[:, None], torch.arange(6.0))
    own = StreamData(dataset, batch_size=2, shuffle=True, steps=None, caller="fit")
    own.pin_memory()
    assert own.source.pin_memory and own.steps == 3
    assert isinstance(own.source.sampler, torch.utils.data.RandomSampler)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2)
    users = StreamData(loader, batch_size=2, shuffle=False, steps=None, caller="fit")
    users.pin_memory()
    assert users.source is loader and not loader.pin_memory


def _model() -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([layers.Dense(16, activation="relu", input_shape=(5,)),
                               layers.Dense(1)])
    return model


@pytest.mark.cuda
def test_a_model_trains_on_cuda_like_on_the_cpu() -> None:
    results = {}
    for device in ("cpu", "cuda"):
        model = _model()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], device=device)
        history = model.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        assert all(w.device.type == device for w in model.weights)
        results[device] = history.history["loss"]
    np.testing.assert_allclose(results["cuda"], results["cpu"], rtol=1e-4)


@pytest.mark.cuda
def test_fit_on_cuda_pins_the_batches_it_copies(monkeypatch) -> None:
    seen: list[bool] = []
    original = ArrayData.batches

    def batches(self):
        for batch in original(self):
            seen.append(batch[0].is_pinned())
            yield batch

    monkeypatch.setattr(ArrayData, "batches", batches)
    model = _model()
    model.compile(optimizer="sgd", loss="mse", device="cuda")
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    assert seen and all(seen)
    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    history = model.fit(dataset, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.cuda
def test_save_on_cuda_load_on_the_cpu_and_back(tmp_path) -> None:
    model = _model()
    model.compile(optimizer="adam", loss="mse", device="cuda")
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    expected = model.predict(X[:8], verbose=0)
    model.save(tmp_path / "model.lamina")
    loaded = lamina.load_model(tmp_path / "model.lamina")
    assert all(w.device.type == "cpu" for w in loaded.weights)
    np.testing.assert_allclose(loaded.predict(X[:8], verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    loaded.compile(optimizer="adam", loss="mse", device="cuda")
    np.testing.assert_allclose(loaded.predict(X[:8], verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    loaded.fit(X, Y, epochs=1, batch_size=16, verbose=0)  # goes on training on the GPU

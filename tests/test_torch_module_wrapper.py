"""keras.layers.TorchModuleWrapper: a torch module as a layer, against Keras 3's wrapper on
the same module weights (outputs, gradients, train/eval modes), and its refusals."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, ArgumentTypeError, SerializationError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def torch_block() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                               torch.nn.ReLU(), torch.nn.Linear(6, 3))


def test_outputs_and_gradients_match_keras_on_the_same_module() -> None:
    block = torch_block()
    ours = lamina.layers.TorchModuleWrapper(copy.deepcopy(block))
    theirs = keras.layers.TorchModuleWrapper(copy.deepcopy(block).to("cpu"))
    x = torch.randn(8, 4)
    for training in (True, False):
        ours_out = ours(x, training=training)
        theirs_out = theirs(x, training=training)
        torch.testing.assert_close(ours_out, theirs_out.cpu())
    ours(x, training=True).square().sum().backward()
    theirs(x, training=True).square().sum().backward()
    for mine, reference in zip(ours.module.parameters(), theirs.module.parameters()):
        torch.testing.assert_close(mine.grad, reference.grad.cpu())
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 6


def test_a_wrapped_module_trains_in_fit_and_predicts_in_eval_mode() -> None:
    model = lamina.Sequential([lamina.Input(shape=(4,)),
                               lamina.layers.TorchModuleWrapper(torch_block()),
                               lamina.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    before = [w.detach().clone() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not torch.equal(b, w) for b, w in zip(before, model.trainable_weights))
    wrapped = model.layers[0].module
    statistics = wrapped[1].running_mean.clone()
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    assert torch.equal(statistics, wrapped[1].running_mean)  # eval mode: statistics kept


def test_declared_output_shape_and_refusals(tmp_path: object) -> None:
    layer = lamina.layers.TorchModuleWrapper(torch.nn.Flatten(), output_shape=(None, 12))
    assert layer.compute_output_shape((None, 3, 4)) == (None, 12)
    with pytest.raises(ArgumentError, match="Call it once"):
        lamina.layers.TorchModuleWrapper(torch.nn.LazyLinear(3))
    with pytest.raises(ArgumentTypeError, match="torch.nn.Module"):
        lamina.layers.TorchModuleWrapper(lambda x: x)
    model = lamina.Sequential([lamina.Input(shape=(4,)),
                               lamina.layers.TorchModuleWrapper(torch.nn.Linear(4, 2))])
    path = os.path.join(str(tmp_path), "m.lamina")
    with pytest.raises(SerializationError, match="pickl"):
        model.save(path)
    assert not os.path.exists(path)

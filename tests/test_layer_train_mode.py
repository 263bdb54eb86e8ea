"""``Layer.train`` (which writes the flag without ``nn.Module.__setattr__``) does what
``nn.Module.train`` does: every descendant switches, a child's own ``train`` runs, and a
non-bool mode is refused."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import layers


class Freezing(torch.nn.Module):
    """A torch module whose ``train`` keeps its batch norm in inference mode (a PyTorch
    idiom for frozen statistics)."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(4)
        self.calls: list[bool] = []

    def train(self, mode: bool = True) -> Freezing:
        self.calls.append(mode)
        super().train(mode)
        self.norm.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class Holder(layers.Layer):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.inner = Freezing()
        self.drop = torch.nn.Dropout(0.5)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.drop(self.inner(inputs))


def test_train_and_eval_reach_every_descendant_and_run_overrides() -> None:
    holder = Holder()
    model = lamina.Sequential([layers.Dense(4, input_shape=(4,)), holder])
    model.train()
    assert [m.training for m in (model, model.layers[0], holder, holder.drop)] == [True] * 4
    assert holder.inner.training and not holder.inner.norm.training  # the override ran
    model.eval()
    assert not any(m.training for m in model.modules())
    assert holder.inner.calls[-2:] == [True, False]
    torch.manual_seed(0)
    x = torch.randn(8, 4)
    torch.testing.assert_close(model(x), model(x))  # inference: dropout off


def test_a_mode_that_is_not_a_bool_is_refused() -> None:
    layer = layers.Dense(2)
    with pytest.raises(ValueError, match="Dense 'dense.*train\\(mode\\) takes a bool"):
        layer.train("yes")
    assert layer.training is False

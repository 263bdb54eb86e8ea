"""lamina's optimizers against Keras 3's (torch backend): the same gradients applied to the
same starting weights give the same weights, step by step, for every optimizer and for
Keras's common arguments (clipping, weight decay, moving averages, accumulation, schedules);
and the Keras API (learning_rate, iterations, apply, configs) behaves as Keras's does."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
# Keras's torch backend converts tensors with np.array(tensor), which numpy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

NAMES = ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]
CASES = [
    ("Adam", {}), ("Adam", {"amsgrad": True, "learning_rate": 0.05}),
    ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.05}),
    ("SGD", {"learning_rate": 0.1}), ("SGD", {"momentum": 0.9, "learning_rate": 0.1}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "learning_rate": 0.1}),
    ("RMSprop", {"learning_rate": 0.01}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}), ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {"learning_rate": 0.05}), ("Nadam", {"learning_rate": 0.05}),
    ("Adam", {"clipnorm": 0.5}), ("Adam", {"global_clipnorm": 0.3}),
    ("SGD", {"clipvalue": 0.2, "learning_rate": 0.5}),
    ("SGD", {"weight_decay": 0.5, "learning_rate": 0.1}),
    ("Adam", {"weight_decay": 0.2, "learning_rate": 0.05}),
    ("SGD", {"use_ema": True, "ema_momentum": 0.5, "learning_rate": 0.1}),
    ("SGD", {"use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 2,
             "learning_rate": 0.1}),
    ("SGD", {"gradient_accumulation_steps": 2, "learning_rate": 0.1}),
    ("Adam", {"gradient_accumulation_steps": 3, "learning_rate": 0.05}),
    ("SGD", {"loss_scale_factor": 4.0, "learning_rate": 0.1}),
]


def _gradients(steps: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(3)
    return [[rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")]
            for _ in range(steps)]


@pytest.mark.parametrize(("name", "config"), CASES,
                         ids=[f"{n}-{'-'.join(c) or 'defaults'}" for n, c in CASES])
def test_steps_match_keras(name: str, config: dict) -> None:
    start = [np.arange(6, dtype="float32").reshape(3, 2) / 5 - 0.5,
             np.array([0.3, -0.2], "float32")]
    ours = getattr(optimizers, name)(**config)
    theirs = getattr(keras.optimizers, name)(**config)
    our_vars = [lamina.Variable(v) for v in start]
    their_vars = [keras.Variable(v) for v in start]
    for step, grads in enumerate(_gradients(6)):
        ours.apply([torch.tensor(g) for g in grads], our_vars)
        theirs.apply([torch.tensor(g) for g in grads], their_vars)
        for mine, keras_var in zip(our_vars, their_vars):
            np.testing.assert_allclose(
                mine.numpy(), keras_var.value.detach().cpu().numpy(), rtol=2e-5, atol=1e-5,
                err_msg=f"{name}({config}) after step {step + 1}")
    assert int(ours.iterations) == int(keras.ops.convert_to_numpy(theirs.iterations)) == \
        6 // config.get("gradient_accumulation_steps", 1)  # Keras counts updates
    ours.finalize_variable_values(our_vars)
    theirs.finalize_variable_values(their_vars)
    for mine, keras_var in zip(our_vars, their_vars):
        np.testing.assert_allclose(mine.numpy(), keras_var.value.detach().cpu().numpy(),
                                   rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_configs_match_keras(name: str) -> None:
    ours, theirs = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
    mine, keras_config = ours.get_config(), theirs.get_config()
    assert sorted(mine) == sorted(keras_config)
    assert re.fullmatch(rf"{mine['name']}(_\d+)?", keras_config.pop("name"))
    for key, value in keras_config.items():
        assert mine[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    # A Keras config rebuilds the lamina optimizer, and the other way round.
    rebuilt = getattr(optimizers, name).from_config(keras_config).get_config()
    assert {k: v for k, v in rebuilt.items() if k != "learning_rate"} == \
        {k: v for k, v in mine.items() if k != "learning_rate"}
    assert getattr(keras.optimizers, name).from_config(mine).get_config()["name"] == mine["name"]


def test_learning_rate_is_read_and_assigned_like_keras() -> None:
    weight = lamina.Variable(np.ones(2, "float32"))
    sgd = optimizers.SGD(learning_rate=0.5)
    assert float(sgd.learning_rate) == pytest.approx(0.5)  # readable before it is built
    sgd.learning_rate = 0.25
    sgd.apply([torch.ones(2)], [weight])
    np.testing.assert_allclose(weight.numpy(), [0.75, 0.75])
    sgd.learning_rate = np.float32(0.5)  # Keras callbacks assign numbers of any kind
    assert sgd.param_groups[0]["lr"] == 0.5
    sgd.apply([torch.ones(2)], [weight])
    np.testing.assert_allclose(weight.numpy(), [0.25, 0.25])
    assert sgd.learning_rate.dtype == torch.float32 and sgd.learning_rate.numpy() == 0.5
    scheduled = optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1
    with pytest.raises(TypeError, match="not settable"):
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)) \
            .learning_rate = 0.1


def test_model_optimizer_learning_rate_changes_take_effect_at_the_next_step() -> None:
    """SGD on mse of one weight w with x = 1, y = 2: each step w -= lr * 2 * (w - 2)."""
    rates = []

    class Halve(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(float(self.model.optimizer.learning_rate))
            self.model.optimizer.learning_rate = self.model.optimizer.learning_rate * 0.5

    inputs = lamina.Input((1,))
    dense = layers.Dense(1, use_bias=False, kernel_initializer="zeros")
    model = lamina.Model(inputs, dense(inputs))
    model.compile(optimizer=optimizers.SGD(learning_rate=0.2), loss="mse")
    model.fit(np.ones((1, 1), "float32"), np.full((1, 1), 2.0, "float32"), epochs=3,
              batch_size=1, verbose=0, callbacks=[Halve()])
    weight = 0.0
    for rate in (0.1, 0.05, 0.025):
        weight -= rate * 2 * (weight - 2.0)
    assert rates == pytest.approx([0.2, 0.1, 0.05])
    np.testing.assert_allclose(float(dense.kernel.detach()[0, 0]), weight, rtol=1e-6)
    assert int(model.optimizer.iterations) == 3


def test_apply_updates_only_the_given_variables_and_refuses_unknown_ones() -> None:
    first, second = lamina.Variable([1.0]), lamina.Variable([1.0])
    sgd = optimizers.SGD(learning_rate=1.0).build([first, second])
    second.grad = torch.tensor([5.0])  # a stale gradient from another loss
    sgd.apply([torch.tensor([1.0])], [first])
    assert first.numpy().tolist() == [0.0] and second.numpy().tolist() == [1.0]
    assert second.grad.tolist() == [5.0]  # left as it was
    with pytest.raises(ValueError, match="not among those the optimizer was built with"):
        sgd.apply([torch.tensor([1.0])], [lamina.Variable([2.0])])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        sgd.apply([torch.ones(1), torch.ones(1)], [first])


def test_arguments_are_checked_as_keras_checks_them() -> None:
    with pytest.raises(ValueError, match="only one of clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TypeError, match="learning_rate="):
        optimizers.Adam(lr=0.1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.SGD(use_ema=True, ema_momentum=2.0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)


def test_an_optimizer_is_a_torch_optimizer_for_torch_tools() -> None:
    weight = torch.nn.Parameter(torch.ones(1))
    adam = optimizers.Adam(learning_rate=0.1).build([weight])
    scheduler = torch.optim.lr_scheduler.StepLR(adam, step_size=1, gamma=0.5)
    weight.grad = torch.ones(1)
    adam.step()
    scheduler.step()
    assert float(adam.learning_rate) == pytest.approx(0.05)
    state = adam.state_dict()
    again = optimizers.Adam(learning_rate=0.1).build([weight])
    again.load_state_dict(state)
    assert again.state_dict()["state"][0]["step"] == 1


def test_saved_models_keep_keras_optimizer_arguments(tmp_path) -> None:
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer=optimizers.Nadam(learning_rate=schedule, clipnorm=0.5), loss="mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert type(loaded.optimizer) is optimizers.Nadam
    assert loaded.optimizer.clipnorm == 0.5 and int(loaded.optimizer.iterations) == 2
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.025)
    model.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_use_ema_writes_the_average_into_the_weights_at_the_end_of_fit() -> None:
    """Keras's fit ends with optimizer.finalize_variable_values: with ema_momentum=0 the
    average is the last weights, so nothing changes; with momentum 1 after the first step
    the average stays at the weights after step one."""
    inputs = lamina.Input((1,))
    dense = layers.Dense(1, use_bias=False, kernel_initializer="zeros")
    model = lamina.Model(inputs, dense(inputs))
    model.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=1.0), loss="mse")
    model.fit(np.ones((3, 1), "float32"), np.full((3, 1), 2.0, "float32"), epochs=1,
              batch_size=1, verbose=0, shuffle=False)
    # step 1: w = 0 - 0.1 * 2 * (0 - 2) = 0.4; the average is w after step 1 (Keras's
    # first-step rule) and momentum 1 keeps it there.
    np.testing.assert_allclose(float(dense.kernel.detach()[0, 0]), 0.4, rtol=1e-6)


def test_a_built_optimizer_given_to_another_model_gets_a_copy() -> None:
    first = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    second = lamina.Sequential([layers.Dense(1, input_shape=(2,))])
    adam = optimizers.Adam(learning_rate=0.01)
    first.compile(optimizer=adam, loss="mse")
    second.compile(optimizer=adam, loss="mse")
    assert first.optimizer is adam and second.optimizer is not adam
    assert second.optimizer.holds(second.parameters()) and adam.holds(first.parameters())
    first.compile(optimizer=first.optimizer, loss="mae")  # recompiling keeps the state
    assert first.optimizer is adam

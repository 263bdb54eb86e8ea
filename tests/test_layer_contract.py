"""The Layer contract, Keras 3's way: ``build`` marks a layer built, once; models with no
trainable weights still ``fit`` (the loss is evaluated, callbacks run, nothing steps)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_build_marks_the_layer_built_and_set_weights_is_what_the_next_call_uses() -> None:
    dense = layers.Dense(2)
    dense.build((1, 2))
    assert dense.built and dense.input_shape == (None, 2)
    dense.set_weights([np.array([[1.0, 0.0], [9.0, 0.0]], "float32"), np.zeros(2, "float32")])
    # Keras 3 gives [[10, 0]]: the call does not build again.
    assert dense(torch.tensor([[1.0, 1.0]])).tolist() == [[10.0, 0.0]]


def test_a_second_build_changes_nothing() -> None:
    dense = layers.Dense(3)
    dense.build((None, 4))
    kernel = dense.kernel
    dense.build((None, 7))
    assert dense.kernel is kernel and tuple(kernel.shape) == (4, 3)


class Doubled(layers.Dense):
    """A build that calls its parent's build, as Keras subclasses do."""

    def build(self, input_shape):
        super().build(input_shape)
        self.extra = self.add_weight("extra", (self.units,), initializer="ones")

    def call(self, inputs):
        return super().call(inputs) * 2.0 + self.extra


def test_super_build_inside_a_build_runs_once_and_marks_built_after() -> None:
    layer = Doubled(2)
    layer.build((None, 3))
    assert layer.built
    assert sorted(name for name, _ in layer.named_parameters()) == ["bias", "extra", "kernel"]
    x = torch.randn(4, 3)
    expected = (x @ layer.kernel + layer.bias) * 2.0 + 1.0
    torch.testing.assert_close(layer(x), expected)


class Failing(layers.Layer):
    def build(self, input_shape):
        self.first = self.add_weight("first", (2,))
        raise ValueError("no second weight")


def test_a_failed_build_leaves_no_weight_and_the_layer_unbuilt() -> None:
    layer = Failing()
    with pytest.raises(ValueError, match="no second weight"):
        layer.build((None, 2))
    assert not layer.built and list(layer.parameters()) == []


def _fit_logs(model: lamina.Model, x: np.ndarray, y: np.ndarray) -> tuple[dict, list[str]]:
    seen: list[str] = []
    callback = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(f"epoch {epoch}"),
        on_train_batch_end=lambda batch, logs: seen.append("batch"))
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[callback])
    return history.history, seen


def test_a_model_without_weights_fits_evaluating_the_loss_and_running_callbacks() -> None:
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.zeros((8, 3), "float32")
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Activation("relu")])
    model.compile(optimizer="adam", loss="mse")
    history, seen = _fit_logs(model, x, y)
    expected = float(np.mean(np.maximum(x, 0.0) ** 2))
    np.testing.assert_allclose(history["loss"], [expected, expected], rtol=1e-6)
    assert seen == ["batch", "batch", "epoch 0", "batch", "batch", "epoch 1"]


def test_a_model_with_only_non_trainable_weights_fits_and_changes_nothing() -> None:
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    y = np.ones((8, 3), "float32")
    norm = layers.BatchNormalization(trainable=False)
    model = lamina.Sequential([lamina.Input(shape=(3,)), norm])
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history, seen = _fit_logs(model, x, y)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    # Frozen BatchNormalization runs in inference mode: (x - 0) / sqrt(1 + eps).
    expected = float(np.mean((x / np.sqrt(1.0 + norm.epsilon) - 1.0) ** 2))
    np.testing.assert_allclose(history["loss"], [expected, expected], rtol=1e-5)
    assert seen.count("batch") == 4


SCALE = torch.tensor(2.0)


def scaled(x):
    return x * SCALE


def test_moving_a_lambda_moves_its_state_and_never_the_users_globals_or_closures() -> None:
    scale = torch.tensor(2.0)  # a closure cell of the lambda below
    weight = torch.tensor([1.0, 3.0])
    by_closure = layers.Lambda(lambda x: x * scale)
    by_global = layers.Lambda(scaled)
    by_argument = layers.Lambda(lambda x, w: x * w, arguments={"w": weight})
    for layer in (by_closure, by_global, by_argument):
        layer(torch.ones(1, 2))
        layer.double()
    assert scale.dtype == SCALE.dtype == weight.dtype == torch.float32  # the user's, as they were
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    for layer, expected in ((by_closure, [[2.0, 4.0]]), (by_global, [[2.0, 4.0]]),
                            (by_argument, [[1.0, 6.0]])):
        out = layer(x)
        assert out.dtype == torch.float64 and out.tolist() == expected
    assert by_argument.arguments["w"].dtype == torch.float64
    assert [b.dtype for b in by_global.buffers()] == [torch.float64]


def test_a_lambda_reads_later_changes_of_other_module_globals() -> None:
    layer = layers.Lambda(scaled)
    assert layer(torch.ones(1)).tolist() == [2.0]
    global SCALE
    old, SCALE = SCALE, torch.tensor(5.0)  # rebinding the tracked name: the layer keeps its own
    try:
        assert layer(torch.ones(1)).tolist() == [2.0]
    finally:
        SCALE = old


def test_a_lambda_owning_its_function_pickles_with_torch_save() -> None:
    import io

    layer = layers.Lambda(scaled)
    layer(torch.ones(1))
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    copy = torch.load(buffer, weights_only=False)
    copy.double()
    assert SCALE.dtype == torch.float32
    assert copy(torch.ones(1, dtype=torch.float64)).tolist() == [2.0]


@pytest.mark.parametrize("mask", [5, "other", [1]])
def test_an_invalid_lambda_mask_is_refused_with_the_value_quoted(mask) -> None:
    with pytest.raises(ValueError, match=re.escape(f"received {mask!r}.")):
        layers.Lambda(lambda x: x, mask=mask)


ORDINARY_NAMES = ["weights", "losses", "history", "optimizer", "summary", "predict", "dtype",
                  "float", "half", "apply", "training", "built", "layers", "inputs", "name",
                  "trainable", "compile", "fit", "save", "get_layer", "state_dict", "to",
                  "forward", "call", "eval", "train", "parameters", "modules"]


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_any_layer_name_works_in_models_and_files(name: str, tmp_path) -> None:
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, layers.Dense(2, name=name)(inputs))
    sequential = lamina.Sequential([layers.Dense(2, name=name)])
    for each in (model, sequential):
        each.compile(optimizer="sgd", loss="mse")
        each.fit(x, np.zeros((6, 2), "float32"), epochs=1, verbose=0)
        assert each.get_layer(name).name == name
        assert f"{name}.kernel" in each.state_dict()
    assert callable(model.summary) and model.training is False and model.built is True
    model.save(tmp_path / "named.lamina")
    loaded = lamina.load_model(tmp_path / "named.lamina")
    torch.testing.assert_close(loaded(torch.from_numpy(x)), model(torch.from_numpy(x)))


def _chain_model(shared: layers.Layer | None = None) -> lamina.Model:
    inputs = lamina.Input(shape=(3,))
    h = layers.Dense(3)(inputs)
    h = (shared or layers.Activation("relu"))(h)
    return lamina.Model(inputs, layers.Lambda(lambda x: x * 2.0)(h))


def test_a_hook_registered_after_the_first_calls_fires_in_the_models_holding_the_layer() -> None:
    shared = layers.Activation("tanh")
    first, second, other = _chain_model(shared), _chain_model(shared), _chain_model()
    x = torch.randn(2, 3)
    for model in (first, second, other):
        model(x), model(x)  # the direct plan is built and in use
    seen = []
    handle = shared.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    first(x), second(x), other(x)
    assert seen == [torch.Size([2, 3])] * 2  # once per model holding the layer
    handle.remove()
    torch.testing.assert_close(first(x), torch.tanh(first.layers[1](x)) * 2.0)


def test_calling_layers_as_modules_is_decided_per_model() -> None:
    from lamina.layers.calling import called_as_modules

    model, other = _chain_model(), _chain_model()
    calls = []
    original = torch.nn.Module.__call__

    def counting(module, *args, **kwargs):
        calls.append(type(module).__name__)
        return original(module, *args, **kwargs)

    x = torch.randn(2, 3)
    model(x), other(x), model(x), other(x)
    try:
        torch.nn.Module.__call__ = counting
        with called_as_modules(model):
            calls.clear()
            model(x)
            inside = list(calls)
            calls.clear()
            other(x)
            outside = list(calls)
        model(x)  # the first run after the block rebuilds the direct plan
        calls.clear()
        model(x)
        after = list(calls)
    finally:
        torch.nn.Module.__call__ = original
    assert inside == ["Functional", "Dense", "Activation", "Lambda"]
    assert outside == ["Functional"] and after == ["Functional"]


def test_get_build_config_and_build_from_config_as_in_keras() -> None:
    dense = layers.Dense(4)
    assert dense.get_build_config() is None
    dense(torch.ones(2, 3, dtype=torch.float64).float())
    config = dense.get_build_config()
    assert config == {"input_shape": {"shape": [None, 3]}, "input_dtype": ["float32"]}
    for given in (config, {"input_shape": [None, 3]}, {"input_shape": (None, 3)}):
        fresh = layers.Dense(4)
        fresh.build_from_config(given)
        assert fresh.built and tuple(fresh.kernel.shape) == (3, 4)
    inputs = lamina.Input(shape=(3,))
    assert lamina.Model(inputs, layers.Dense(2)(inputs)).get_build_config() is None


def test_a_lambdas_function_is_read_only_with_a_clear_error() -> None:
    layer = layers.Lambda(lambda x: x + 1.0, name="plus_one")
    inputs = lamina.Input(shape=(2,))
    model = lamina.Model(inputs, layer(inputs))
    model(torch.zeros(1, 2))
    with pytest.raises(AttributeError, match="'plus_one': function is read-only"):
        layer.function = lambda x: x - 1.0
    assert model(torch.zeros(1, 2)).tolist() == [[1.0, 1.0]]

"""Behaviours the keras.io guides rely on, each against Keras 3 (torch backend) doing the
same: a subclass whose constructor takes positional arguments, configs of custom layers
without a name, fit(x) of a model whose only loss is add_loss, float64 data, regularizer
names in add_weight, and summary's Keras arguments."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def scaled_class(lib: object) -> type:
    class Scaled(lib.Model):  # type: ignore[name-defined, misc]
        def __init__(self, units, scale=2.0, name="scaled"):
            super().__init__(name=name)
            self.scale = scale
            self.dense = lib.layers.Dense(units)

        def call(self, x):
            return self.dense(x) * self.scale

    return Scaled


def penalty_class(lib: object) -> type:
    class Penalty(lib.layers.Layer):  # type: ignore[name-defined, misc]
        def call(self, inputs):
            self.add_loss(lib.ops.mean(inputs ** 2))
            return inputs

    return Penalty


def test_a_subclass_with_positional_arguments_is_not_functional() -> None:
    for lib in (lamina, keras):
        model = scaled_class(lib)(3, 0.5)
        assert model.name == "scaled" and model.scale == 0.5
        assert tuple(model(np.ones((2, 4), "float32")).shape) == (2, 3)

        class Graph(lib.Model):  # the functional form still works
            def __init__(self, inputs, outputs, tag="t", **kwargs):
                super().__init__(inputs, outputs, **kwargs)
                self.tag = tag

        inputs = lib.Input(shape=(4,))
        graph = Graph(inputs, lib.layers.Dense(2)(inputs), tag="x", name="g")
        assert (graph.name, graph.tag, tuple(graph.output_shape)) == ("g", "x", (None, 2))
        assert isinstance(graph, Graph)


def weighted_custom_class(lib: object) -> type:
    class Project(lib.layers.Layer):  # type: ignore[name-defined, misc]
        def __init__(self, units=2):
            super().__init__()
            self.units = units

        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1], self.units), name="w",
                                     initializer="random_normal")

        def call(self, x):
            return lib.ops.matmul(x, self.w)

        def get_config(self):
            return {"units": self.units}  # no "name", as in the guides

    return Project


def test_a_custom_layer_config_without_a_name_rebuilds_and_reloads(tmp_path: object) -> None:
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    for lib, suffix in ((lamina, "lamina"), (keras, "keras")):
        project = weighted_custom_class(lib)
        inputs = lib.Input(shape=(4,))
        model = lib.Model(inputs, project(3)(project(5)(inputs)))
        rebuilt = lib.Model.from_config(model.get_config(),
                                        custom_objects={"Project": project})
        assert tuple(rebuilt.output_shape) == (None, 3)
        path = os.path.join(str(tmp_path), f"m.{suffix}")
        model.save(path)
        loaded = lib.models.load_model(path, custom_objects={"Project": project})
        np.testing.assert_allclose(lib.ops.convert_to_numpy(loaded(x)),
                                   lib.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_fit_without_targets_trains_on_the_models_own_losses() -> None:
    x = np.random.default_rng(1).random((32, 3)).astype("float32")
    results = {}
    for lib in (lamina, keras):
        inputs = lib.Input(shape=(3,))
        dense = lib.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
        model = lib.Model(inputs, penalty_class(lib)()(dense(inputs)))
        model.compile(optimizer=lib.optimizers.SGD(0.1))
        history = model.fit(x, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results[lib.__name__] = (history.history["loss"], model.evaluate(x, verbose=0))
    np.testing.assert_allclose(results["lamina"][0], results["keras"][0], rtol=1e-5)
    np.testing.assert_allclose(results["lamina"][1], results["keras"][1], rtol=1e-5)
    inputs = lamina.Input(shape=(3,))
    plain = lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
    plain.compile(optimizer="sgd", loss="mse")
    with pytest.raises(lamina.errors.DataError, match="targets y are required"):
        plain.fit(x, verbose=0)


def test_float64_data_is_cast_to_the_inputs_dtype() -> None:
    x64 = torch.randn(6, 4, dtype=torch.float64)
    inputs = lamina.Input(shape=(4,), name="features")
    model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    expected = model(x64.float())
    for given in (x64, [x64], {"features": x64}):
        out = model(given)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, expected)
    sequential = lamina.Sequential([lamina.layers.Dense(2)])
    assert sequential(x64).dtype == torch.float32  # built from float64 data: float32 model
    tokens = lamina.Sequential([lamina.layers.Embedding(10, 3)])
    assert tokens(torch.tensor([[1, 2]])).shape == (1, 2, 3)  # integer data keeps its dtype
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        x64, torch.ones(6, 2, dtype=torch.float64)), batch_size=3)
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.fit(loader, verbose=0).history["loss"]) == 1
    keras_inputs = keras.Input(shape=(4,))
    keras_model = keras.Model(keras_inputs, keras.layers.Dense(2)(keras_inputs))
    assert str(keras_model(x64).dtype).endswith("float32")  # what Keras does too


def test_add_weight_takes_regularizer_names_and_refuses_unknown_ones_unchanged() -> None:
    ours, theirs = lamina.layers.Layer(), keras.layers.Layer()
    for layer in (ours, theirs):
        layer.add_weight(shape=(2, 2), regularizer="l1", name="k", initializer="ones")
    assert float(ours.losses[0].detach()) == pytest.approx(
        float(keras.ops.convert_to_numpy(theirs.losses[0])))  # 0.01 * 4
    with pytest.raises(ArgumentError, match="Unknown regularizer"):
        ours.add_weight(shape=(2,), regularizer="nope", name="j")
    assert len(ours.weights) == 1


def test_summary_takes_keras_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    inner = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(4, name="d1"),
                               lamina.layers.Dense(2, name="d2")], name="inner")
    inner.trainable = False
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, lamina.layers.Dense(1, name="head")(inner(inputs)))
    model.summary(expand_nested=True, show_trainable=True, line_length=100)
    text = capsys.readouterr().out
    assert "Trainable" in text and "  d1 (Dense)" in text
    rows = {line.split()[1]: line.split()[-2] for line in text.splitlines()
            if line.startswith("│") and "(" in line}
    assert rows["inner"] == "N" and rows["head"] == "Y" and rows["d1"] == "N"
    model.summary(layer_range=("inner", "head"))
    text = capsys.readouterr().out
    assert "inner (Sequential)" in text and "(InputLayer)" not in text
    with pytest.raises(ArgumentError, match="layer_range"):
        model.summary(layer_range=("nothing", "head"))


@pytest.mark.parametrize("name", ["MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh",
                                  "MeanAbsolutePercentageError"])
def test_elementwise_losses_broadcast_targets_as_keras_does(name: str) -> None:
    rng = np.random.default_rng(0)
    targets = rng.random((8, 10)).astype("float32")
    predictions = rng.random((8, 1)).astype("float32")
    ours = float(getattr(lamina.losses, name)()(targets, predictions))
    theirs = float(keras.ops.convert_to_numpy(getattr(keras.losses, name)()(targets,
                                                                          predictions)))
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_crossentropy_still_refuses_targets_of_another_shape() -> None:
    targets = np.random.default_rng(0).random((8, 10)).astype("float32")
    with pytest.raises(lamina.errors.ShapeError, match="shaped like the predictions"):
        lamina.losses.BinaryCrossentropy()(targets, np.full((8, 1), 0.5, "float32"))


def wrapper_class(lib: object) -> type:
    class Wrap(lib.layers.Layer):  # type: ignore[name-defined, misc]
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

        def get_config(self):
            return {**super().get_config(), "inner": self.inner}  # the layer itself

        @classmethod
        def from_config(cls, config):
            config["inner"] = lib.layers.deserialize(config["inner"])
            return cls(**config)

    return Wrap


def test_layers_inside_a_custom_config_are_serialized_and_reload(tmp_path: object) -> None:
    x = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    for lib, suffix in ((lamina, "lamina"), (keras, "keras")):
        wrap = wrapper_class(lib)
        inputs = lib.Input(shape=(4,))
        inner = lib.layers.Dense(2, kernel_regularizer=lib.regularizers.L1L2(0.1))
        model = lib.Model(inputs, wrap(inner)(inputs))
        entry = lib.layers.serialize(model.layers[1])["config"]["inner"]
        assert (entry["class_name"], entry["config"]["units"]) == ("Dense", 2)
        path = os.path.join(str(tmp_path), f"wrap.{suffix}")
        model.save(path)
        loaded = lib.models.load_model(path, custom_objects={"Wrap": wrap})
        np.testing.assert_allclose(lib.ops.convert_to_numpy(loaded(x)),
                                   lib.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_a_bare_layer_casts_float64_inputs_as_keras_does() -> None:
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    for layer in (lamina.layers.Dense(3), lamina.layers.LSTM(3), lamina.layers.Conv1D(2, 2)):
        out = layer(x)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, layer(x.float()))


def custom_compile_class(lib: object) -> type:
    class Custom(lib.Model):  # type: ignore[name-defined, misc]
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = lib.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def compile(self, optimizer, loss_fn):  # another signature than Model.compile
            super().compile(optimizer=optimizer, loss=loss_fn)
            self.model_optimizer, self.loss_fn = optimizer, loss_fn

        def get_compile_config(self):
            return {"model_optimizer": self.model_optimizer, "loss_fn": self.loss_fn}

        def compile_from_config(self, config):
            optimizer = lib.saving.deserialize_keras_object(config["model_optimizer"])
            loss_fn = lib.saving.deserialize_keras_object(config["loss_fn"])
            self.compile(optimizer=optimizer, loss_fn=loss_fn)

    return Custom


def test_get_compile_config_and_compile_from_config_are_used_by_save_and_load(
        tmp_path: object) -> None:
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    for lib, suffix in ((lamina, "lamina"), (keras, "keras")):
        custom = custom_compile_class(lib)
        model = custom()
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss_fn=lib.losses.mean_squared_error)
        model.fit(x, y, verbose=0)
        path = os.path.join(str(tmp_path), f"custom.{suffix}")
        model.save(path)
        loaded = lib.models.load_model(path, custom_objects={"Custom": custom})
        assert loaded.loss_fn is lib.losses.mean_squared_error
        assert type(loaded.model_optimizer).__name__ == "SGD"
        assert float(lib.ops.convert_to_numpy(loaded.model_optimizer.learning_rate)) == \
            pytest.approx(0.05)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-6)


def test_ops_take_numpy_arrays_as_keras_does() -> None:
    a = np.arange(6, dtype="float32").reshape(2, 3)
    for name, args in (("concatenate", ([a, a],)), ("stack", ([a, a],)),
                       ("matmul", (a, a.T)), ("dot", (a, a.T)), ("zeros_like", (a,)),
                       ("ones_like", (a,)), ("einsum", ("ij,kj->ik", a, a))):
        ours = getattr(lamina.ops, name)(*args)
        theirs = keras.ops.convert_to_numpy(getattr(keras.ops, name)(*args))
        np.testing.assert_allclose(ours.numpy(), theirs)
    x, y = np.ones((2, 3, 4), "float32"), np.ones((5, 6, 4), "float32")
    assert tuple(lamina.ops.tensordot(x, y, axes=(2, 2)).shape) == tuple(
        keras.ops.tensordot(x, y, axes=(2, 2)).shape) == (2, 3, 5, 6)


def test_activation_functions_build_graph_nodes_on_symbolic_tensors(tmp_path: object) -> None:
    inputs = lamina.Input(shape=(4,))
    outputs = [lamina.activations.sigmoid(inputs) * 5,
               lamina.activations.relu(inputs - 2, negative_slope=0.1, max_value=6.0),
               lamina.activations.softmax(inputs, axis=-1)]
    model = lamina.Model(inputs, outputs)
    x = np.random.default_rng(3).normal(size=(2, 4)).astype("float32")
    theirs = [keras.activations.sigmoid(x) * 5,
              keras.activations.relu(x - 2, negative_slope=0.1, max_value=6.0),
              keras.activations.softmax(x, axis=-1)]
    for mine, reference in zip(model(torch.from_numpy(x)), theirs):
        np.testing.assert_allclose(mine.detach().numpy(), keras.ops.convert_to_numpy(reference),
                                   rtol=1e-5, atol=1e-6)
    path = os.path.join(str(tmp_path), "activations.lamina")
    model.save(path)
    for mine, again in zip(model(torch.from_numpy(x)),
                           lamina.load_model(path)(torch.from_numpy(x))):
        torch.testing.assert_close(mine, again)


def test_constant_takes_an_array_and_custom_losses_choose_their_targets() -> None:
    value = np.eye(3).flatten()
    ours = lamina.layers.Dense(9, kernel_initializer="zeros",
                               bias_initializer=lamina.initializers.Constant(value))
    theirs = keras.layers.Dense(9, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(value))
    zeros = np.zeros((1, 4), "float32")
    np.testing.assert_allclose(ours(zeros).detach().numpy(),
                               keras.ops.convert_to_numpy(theirs(zeros)))
    results = []
    for lib in (lamina, keras):
        class Sparse(lib.losses.Loss):
            def call(self, y_true, y_pred, lib=lib):
                return lib.losses.sparse_categorical_crossentropy(y_true, y_pred)

        results.append(float(keras.ops.convert_to_numpy(Sparse()(
            np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]], "float32")))))
    assert results[0] == pytest.approx(results[1], rel=1e-6)


def test_metric_weights_of_shape_n_1_weigh_per_sample_values() -> None:
    for lib in (lamina, keras):
        metric = lib.metrics.BinaryAccuracy()
        metric.update_state(np.ones((4, 1)), np.array([[1.0], [1.0], [0.0], [0.0]]),
                            sample_weight=np.array([[1.0], [1.0], [1.0], [3.0]]))
        assert float(keras.ops.convert_to_numpy(metric.result())) == pytest.approx(2 / 6)


def endpoint_class(lib: object) -> type:
    class Endpoint(lib.layers.Layer):  # type: ignore[name-defined, misc]
        def call(self, logits, targets=None):
            return logits * 2

    return Endpoint


def test_a_layer_called_with_its_first_argument_as_a_keyword() -> None:
    x = np.ones((2, 3), "float32")
    for lib in (lamina, keras):
        endpoint = endpoint_class(lib)
        np.testing.assert_allclose(lib.ops.convert_to_numpy(endpoint()(logits=x)), x * 2)
        assert tuple(endpoint()(logits=lib.Input(shape=(3,))).shape) == (None, 3)
        sequence = lib.Input(shape=(4, 8))
        attended = lib.layers.MultiHeadAttention(2, 4)(query=sequence, value=sequence)
        assert tuple(attended.shape) == (None, 4, 8)
        # The keyword call computes what the positional call does.
        data = np.random.default_rng(8).normal(size=(2, 4, 8)).astype("float32")
        attention, dense = lib.layers.MultiHeadAttention(2, 4), lib.layers.Dense(2)
        np.testing.assert_allclose(
            lib.ops.convert_to_numpy(attention(query=data, value=data)),
            lib.ops.convert_to_numpy(attention(data, data)), rtol=1e-6)
        np.testing.assert_allclose(lib.ops.convert_to_numpy(dense(inputs=x)),
                                   lib.ops.convert_to_numpy(dense(x)), rtol=1e-6)


def test_model_inputs_gain_or_lose_a_trailing_axis_of_one_as_in_keras() -> None:
    for lib in (lamina, keras):
        data = np.random.default_rng(9).normal(size=(2, 4)).astype("float32")
        inputs = lib.Input(shape=(4, 1))
        model = lib.Model(inputs, lib.layers.Conv1D(2, 1)(inputs))
        np.testing.assert_allclose(model.predict(data, verbose=0),
                                   model.predict(data[..., None], verbose=0), rtol=1e-6)
        flat = lib.Input(shape=(4,))
        dense = lib.Model(flat, lib.layers.Dense(2)(flat))
        np.testing.assert_allclose(dense.predict(data[..., None], verbose=0),
                                   dense.predict(data, verbose=0), rtol=1e-6)
        assert dense.predict(data[..., None], verbose=0).shape == (2, 2)


def constant_loss_class(lib: object) -> type:
    class ConstantLoss(lib.Model):  # type: ignore[name-defined, misc]
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return lib.ops.mean(y_pred) * 0 + 7.0  # Keras's guides: no training argument

    return ConstantLoss


def test_an_overridden_compute_loss_is_the_loss_of_fit_and_evaluate() -> None:
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    for lib in (lamina, keras):
        inputs = lib.Input(shape=(3,))
        model = constant_loss_class(lib)(inputs, lib.layers.Dense(1)(inputs))
        model.compile(optimizer="adam", loss="mse")  # compute_loss wins over the mse
        assert model.fit(x, y, verbose=0).history["loss"] == [pytest.approx(7.0)]
        assert model.evaluate(x, y, verbose=0) == pytest.approx(7.0)
        model.compile(optimizer="adam")  # and no compiled loss is needed
        assert model.fit(x, y, verbose=0).history["loss"] == [pytest.approx(7.0)]


def standardized_conv_class(lib: object) -> type:
    class StandardizedConv2D(lib.layers.Conv2D):  # type: ignore[name-defined, misc]
        def convolution_op(self, inputs, kernel):
            mean, variance = lib.ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return lib.ops.conv(inputs, (kernel - mean) / lib.ops.sqrt(variance + 1e-10),
                                padding="valid", strides=list(self.strides))

    return StandardizedConv2D


def causal_conv_class(lib: object) -> type:
    class Causal(lib.layers.Conv1D):  # type: ignore[name-defined, misc]
        def convolution_op(self, inputs, kernel):
            return super().convolution_op(inputs, kernel)

    return Causal


def test_an_overridden_convolution_op_is_what_a_conv_layer_computes() -> None:
    x = np.random.default_rng(4).normal(size=(2, 6, 6, 2)).astype("float32")
    sequence = np.random.default_rng(5).normal(size=(1, 5, 2)).astype("float32")
    results = []
    for lib in (lamina, keras):
        conv = standardized_conv_class(lib)(4, 3, activation="relu",
                                            kernel_initializer="glorot_uniform")
        conv.build(x.shape)
        results.append((conv, lib))
        causal = causal_conv_class(lib)(2, 3, padding="causal", kernel_initializer="ones")
        results.append((causal, lib))
    (ours, _), (our_causal, _), (theirs, _), (their_causal, _) = results
    theirs.kernel.assign(keras.ops.convert_to_tensor(ours.kernel.detach().numpy()))
    np.testing.assert_allclose(ours(x).detach().numpy(),
                               keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(our_causal(sequence).detach().numpy(),
                               keras.ops.convert_to_numpy(their_causal(sequence)), rtol=1e-6)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Subtract"])
def test_merge_layers_broadcast_a_batch_of_one_as_keras(name: str) -> None:
    big = np.random.default_rng(6).normal(size=(4, 2, 3)).astype("float32")
    one = np.random.default_rng(7).normal(size=(1, 2, 3)).astype("float32")
    outputs = []
    for lib in (lamina, keras):
        a, b = lib.Input(shape=(2, 3), name="a"), lib.Input(shape=(2, 3), name="b")
        model = lib.Model({"a": a, "b": b}, getattr(lib.layers, name)()([a, b]))
        outputs.append(lib.ops.convert_to_numpy(model({"a": big, "b": one})))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6)
    with pytest.raises(lamina.errors.ShapeError, match="same batch size"):
        getattr(lamina.layers, name)()([big, big[:2]])
    with pytest.raises(lamina.errors.ShapeError, match="same batch size"):  # Keras's build
        getattr(lamina.layers, name)()([big, one])
    with pytest.raises(ValueError, match="different batch sizes"):
        getattr(keras.layers, name)()([big, one])

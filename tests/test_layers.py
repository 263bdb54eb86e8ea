"""Every layer in ``lamina.layers`` through one table (``SPECS``) checked against plain-torch
references of values and gradients, then targeted tests of errors, masks and weights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from lamina.errors import ShapeError
from lamina.testing import run_layer_test

square_plus_one = lamina.register_function("tests.layers>square_plus_one")(lambda x: x ** 2 + 1)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _padded() -> torch.Tensor:
    x = _randn(3, 4, 2)
    x[0, 1] = 0.0
    x[2, 3] = 0.0
    x[1, 0, 0] = 0.0  # one zero feature alone does not mask its step
    return x


def _unit(x: torch.Tensor, dim: int) -> torch.Tensor:
    return x / torch.linalg.vector_norm(x, dim=dim, keepdim=True).clamp_min(1e-7)


@dataclass
class Spec:
    """One row of the table: a layer, its input (shape(s) or a data factory), a reference."""

    cls: type
    kwargs: dict[str, Any]
    source: Any
    reference: Any
    output_shape: Any = None
    trainable: int = 0
    non_trainable: int = 0
    masking: bool | None = None

    def inputs(self) -> Any:
        if callable(self.source):
            return self.source()
        if isinstance(self.source[0], int):
            return _randn(*self.source)
        return [_randn(*shape, seed=i) for i, shape in enumerate(self.source)]


def _dense(activation: Any = None) -> Any:
    def reference(x: torch.Tensor, layer: layers.Dense) -> torch.Tensor:
        out = F.linear(x, layer.kernel.T, layer.bias)
        return out if activation is None else activation(out)
    return reference


def case(case_id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Spec(*args, **kwargs), id=case_id)


def _embed(x: torch.Tensor, layer: layers.Embedding) -> torch.Tensor:
    return layer.embeddings[x.long()]


L, TWO = layers, [(2, 3), (2, 3)]
SPECS = [
    case("Dense", L.Dense, {"units": 4}, (2, 3), _dense(), (2, 4), trainable=2, masking=True),
    case("Dense-nobias-relu", L.Dense, {"units": 4, "use_bias": False, "activation": "relu"},
         (2, 5, 3), _dense(torch.relu), (2, 5, 4), trainable=1),
    case("Dense-softmax", L.Dense, {"units": 3, "activation": "softmax"}, (4, 2),
         _dense(lambda t: torch.softmax(t, -1)), trainable=2),
    case("Dense-frozen", L.Dense, {"units": 2, "trainable": False}, (2, 3), _dense(),
         non_trainable=2),
    case("Activation", L.Activation, {"activation": "tanh"}, (2, 3), lambda x, _: x.tanh()),
    case("Dropout-inference", L.Dropout, {"rate": 0.5}, (2, 3), lambda x, _: x),
    case("Identity", L.Identity, {}, (2, 3), lambda x, _: x, masking=True),
    case("Lambda", L.Lambda, {"function": square_plus_one}, (2, 3), lambda x, _: x * x + 1),
    case("Embedding", L.Embedding, {"input_dim": 10, "output_dim": 3},
         lambda: torch.tensor([[1, 9, 0, 4], [2, 2, 7, 3]]), _embed, (2, 4, 3), trainable=1),
    case("Embedding-int32-mask_zero", L.Embedding,
         {"input_dim": 10, "output_dim": 2, "mask_zero": True},
         lambda: torch.tensor([[3, 0], [0, 8]], dtype=torch.int32), _embed, trainable=1),
    case("Masking", L.Masking, {}, _padded, lambda x, _: x * (x != 0).any(-1, keepdim=True),
         masking=True),
    case("Masking-1.5", L.Masking, {"mask_value": 1.5}, lambda: _padded() + 1.5,
         lambda x, _: x * (x != 1.5).any(-1, keepdim=True)),
    case("Flatten", L.Flatten, {}, (2, 3, 4), lambda x, _: x.reshape(2, -1), (2, 12)),
    case("Flatten-rank1", L.Flatten, {}, (3,), lambda x, _: x[:, None], (3, 1)),
    case("Reshape", L.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4),
         lambda x, _: x.reshape(2, 6, 2), (2, 6, 2)),
    case("Reshape-list", L.Reshape, {"target_shape": [2, 2, 3]}, (2, 12),
         lambda x, _: x.view(2, 2, 2, 3)),
    case("Permute", L.Permute, {"dims": (2, 1)}, (2, 3, 4), lambda x, _: x.transpose(1, 2),
         (2, 4, 3)),
    case("Permute-3d", L.Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 6),
         lambda x, _: torch.einsum("bxyz->bzxy", x), (2, 6, 3, 4)),
    case("RepeatVector", L.RepeatVector, {"n": 3}, (2, 4), lambda x, _: torch.stack([x] * 3, 1),
         (2, 3, 4)),
    case("Concatenate", L.Concatenate, {}, [(2, 3), (2, 4)], lambda xs, _: torch.cat(xs, -1),
         (2, 7), masking=True),
    case("Concatenate-axis1", L.Concatenate, {"axis": 1}, [(2, 3, 4), (2, 1, 4), (2, 2, 4)],
         lambda xs, _: torch.cat(xs, 1), (2, 6, 4)),
    case("Add", L.Add, {}, TWO, lambda xs, _: xs[0] + xs[1], (2, 3), masking=True),
    case("Add-broadcast", L.Add, {}, [(2, 3, 4), (2, 1, 4), (2, 3, 1)],
         lambda xs, _: xs[0] + xs[1] + xs[2], (2, 3, 4)),
    case("Add-ranks", L.Add, {}, [(2, 3, 4), (2, 4)], lambda xs, _: xs[0] + xs[1][:, None],
         (2, 3, 4)),
    case("Subtract", L.Subtract, {}, TWO, lambda xs, _: xs[0] - xs[1]),
    case("Multiply", L.Multiply, {}, [(2, 3)] * 3, lambda xs, _: xs[0] * xs[1] * xs[2]),
    case("Average", L.Average, {}, [(2, 3)] * 3, lambda xs, _: torch.stack(xs).mean(0)),
    case("Maximum", L.Maximum, {}, TWO, lambda xs, _: torch.stack(xs).amax(0)),
    case("Minimum", L.Minimum, {}, TWO, lambda xs, _: torch.stack(xs).amin(0)),
    case("Dot", L.Dot, {"axes": 1}, [(2, 4), (2, 4)], lambda xs, _: (xs[0] * xs[1]).sum(1, True),
         (2, 1)),
    case("Dot-pair-normalize", L.Dot, {"axes": (1, 2), "normalize": True}, [(2, 3, 6), (2, 4, 3)],
         lambda xs, _: torch.einsum("bik,bji->bkj", _unit(xs[0], 1), _unit(xs[1], 2)), (2, 6, 4)),
    case("Dot-negative", L.Dot, {"axes": [-1, 1]}, [(2, 3, 4), (2, 4)],
         lambda xs, _: torch.einsum("bik,bk->bi", *xs), (2, 3)),
    case("Dot-3d", L.Dot, {"axes": -1}, [(2, 3, 4), (2, 2, 4)],
         lambda xs, _: torch.einsum("bik,bjk->bij", *xs), (2, 3, 2)),
    case("Dot-normalize", L.Dot, {"axes": -1, "normalize": True}, [(3, 4), (3, 4)],
         lambda xs, _: (_unit(xs[0], 1) * _unit(xs[1], 1)).sum(1, True), (3, 1)),
    case("GlobalAveragePooling1D", L.GlobalAveragePooling1D, {}, (2, 3, 4),
         lambda x, _: x.sum(1) / x.shape[1], (2, 4), masking=True),
    case("GlobalAveragePooling1D-channels_first", L.GlobalAveragePooling1D,
         {"keepdims": True, "data_format": "channels_first"}, (2, 3, 4),
         lambda x, _: x.mean(2, keepdim=True), (2, 3, 1)),
]


#: The modules whose layers this table covers (the others have tables of their own).
TABLE_MODULES = {"core", "embedding", "lambda_layer", "merging", "reshaping", "input_layer",
                 "layer"}


def test_the_table_covers_every_layer() -> None:
    concrete = {getattr(layers, name) for name in layers.__all__ if name != "Input"}
    concrete = {cls for cls in concrete if cls.__module__.rsplit(".", 1)[1] in TABLE_MODULES}
    concrete.add(L.GlobalAveragePooling1D)
    assert concrete - {p.values[0].cls for p in SPECS} == {L.Layer, L.InputLayer}


@pytest.mark.parametrize("spec", SPECS)
def test_layer(spec: Spec) -> None:
    run_layer_test(spec.cls, spec.kwargs, input_data=spec.inputs(),
                   expected_output_shape=spec.output_shape, supports_masking=spec.masking,
                   expected_num_trainable_weights=spec.trainable, reference=spec.reference,
                   expected_num_non_trainable_weights=spec.non_trainable)


@pytest.mark.parametrize("spec", SPECS)
def test_gradients_match_plain_torch(spec: Spec) -> None:
    """d(sum(w * output)) / d(inputs, weights) equals the same for the plain-torch reference."""
    data = spec.inputs()
    targets = [x.requires_grad_() for x in (data if isinstance(data, list) else [data])
               if x.is_floating_point()]
    layer = spec.cls(**spec.kwargs)
    output = layer(data)
    targets += layer.trainable_weights
    weight = _randn(*output.shape, seed=99)
    ours = torch.autograd.grad((output * weight).sum(), targets, allow_unused=True)
    theirs = torch.autograd.grad((spec.reference(data, layer) * weight).sum(), targets,
                                 allow_unused=True)
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine is not None and expected is not None
        torch.testing.assert_close(mine, expected)


@pytest.mark.parametrize(("cls", "kwargs", "quoted"), [
    (layers.Dense, {"units": 0}, "units=0"),
    (layers.Dropout, {"rate": 1.5}, "1.5"),
    (layers.Embedding, {"input_dim": 0, "output_dim": 3}, "input_dim=0"),
    (layers.Embedding, {"input_dim": 4, "output_dim": 2.5}, "output_dim=2.5"),
    (layers.Masking, {"mask_value": "pad"}, "mask_value='pad'"),
    (layers.Reshape, {"target_shape": (-1, -1)}, "target_shape=(-1, -1)"),
    (layers.Reshape, {"target_shape": (0, 3)}, "target_shape=(0, 3)"),
    (layers.Permute, {"dims": (1, 3)}, "dims=(1, 3)"),
    (layers.Permute, {"dims": (0, 1)}, "dims=(0, 1)"),
    (layers.RepeatVector, {"n": 0}, "n=0"),
    (layers.Concatenate, {"axis": "1"}, "axis='1'"),
    (layers.Dot, {"axes": 0}, "axes=0"),
    (layers.Dot, {"axes": (1, 2, 3)}, "axes=(1, 2, 3)"),
    (layers.GlobalAveragePooling1D, {"data_format": "NWC"}, "data_format='NWC'"),
])
def test_bad_constructor_arguments_quote_the_value(cls: type, kwargs: dict, quoted: str) -> None:
    with pytest.raises(ValueError, match=re.escape(quoted)):
        cls(**kwargs)


@pytest.mark.parametrize(("cls", "kwargs", "quoted"), [
    (layers.Reshape, {"target_shape": 6}, "target_shape=6"),
    (layers.Permute, {"dims": 2}, "dims=2"),
    (layers.RepeatVector, {"n": 2.0}, "n=2.0"),
    (layers.RepeatVector, {"n": "3"}, "n='3'"),
    (layers.Dot, {"axes": "1"}, "axes='1'"),
    (layers.Dropout, {"rate": "0.5"}, "rate='0.5'"),
])
def test_arguments_of_the_wrong_type_are_type_errors_as_in_keras(cls: type, kwargs: dict,
                                                                 quoted: str) -> None:
    with pytest.raises(TypeError, match=re.escape(quoted)):
        cls(**kwargs)


def _built(layer: Any, inputs: Any) -> Any:
    layer(inputs)
    return layer


@pytest.mark.parametrize(("layer", "inputs", "words"), [
    (_built(layers.Dense(3, name="proj"), torch.zeros(2, 4)), torch.zeros(2, 5),
     ["'proj'", "(None, 4)", "(None, 5)"]),
    (layers.Add(name="plus"), [torch.zeros(2, 3)], ["'plus'", "1 tensor"]),
    (layers.Maximum(name="top"), torch.zeros(2, 3), ["'top'", "one tensor of shape (2, 3)"]),
    (layers.Subtract(name="minus"), [torch.zeros(2, 3)] * 3, ["'minus'", "exactly 2"]),
    (layers.Multiply(name="times"), [torch.zeros(2, 3), torch.zeros(2, 4)],
     ["'times'", "(2, 3)", "(2, 4)"]),
    (layers.Average(name="avg"), [torch.zeros(1, 3), torch.zeros(4, 3)], ["'avg'", "batch"]),
    (layers.Concatenate(name="cat"), [torch.zeros(2, 3), torch.zeros(3, 3)],
     ["'cat'", "(2, 3)", "(3, 3)"]),
    (layers.Dot(axes=1, name="dot"), [torch.zeros(2, 3), torch.zeros(2, 4)],
     ["'dot'", "(2, 3)", "(2, 4)"]),
    (layers.Reshape((4, 2), name="re"), torch.zeros(2, 6), ["'re'", "(6,)", "(4, 2)"]),
    (layers.Permute((2, 1), name="perm"), torch.zeros(2, 3), ["'perm'", "rank 3", "(2, 3)"]),
    (layers.RepeatVector(2, name="rep"), torch.zeros(2, 3, 4), ["'rep'", "(2, 3, 4)"]),
])
def test_shape_errors_name_the_layer_and_shapes(layer: Any, inputs: Any, words: list) -> None:
    with pytest.raises(ShapeError) as info:
        layer(inputs)
    for word in words:
        assert word in str(info.value)


def test_symbolic_merge_of_mismatched_shapes_is_a_shape_error() -> None:
    a, b = lamina.Input(shape=(3,)), lamina.Input(shape=(4,))
    with pytest.raises(ShapeError, match=r"Add 'add_symbolic'.*\(None, 3\).*\(None, 4\)"):
        layers.Add(name="add_symbolic")([a, b])
    with pytest.raises(ShapeError, match="'one_input'"):
        layers.Add(name="one_input")(a)


def test_reshape_output_shape_resolves_minus_one_only_when_the_size_is_known() -> None:
    layer = layers.Reshape((-1, 3))
    assert layer.compute_output_shape((None, 4, 6)) == (None, 8, 3)
    assert layer.compute_output_shape((None, None, 6)) == (None, None, 3)
    assert tuple(layer(torch.zeros(0, 4, 6)).shape) == (0, 8, 3)


def test_embedding_mask_zero_and_index_range() -> None:
    tokens = torch.tensor([[5, 0, 3], [0, 0, 1]])
    assert layers.Embedding(6, 2, mask_zero=True).compute_mask(tokens).tolist() == [
        [True, False, True], [False, False, True]]
    assert layers.Embedding(6, 2).compute_mask(tokens) is None
    with pytest.raises(IndexError, match=r"'vocab'.*\[0, 4\).*9"):
        layers.Embedding(4, 2, name="vocab")(torch.tensor([[1, 9]]))


def test_masking_mask_and_values_follow_the_keras_formula() -> None:
    x = _padded().numpy()
    layer = layers.Masking()
    keep = np.any(x != 0.0, axis=-1)
    np.testing.assert_array_equal(layer.compute_mask(torch.from_numpy(x)).numpy(), keep)
    np.testing.assert_array_equal(layer(x).numpy(), x * keep[..., None])
    assert keep.tolist() == [[True, False, True, True], [True] * 4, [True, True, True, False]]


def _mean_of_kept_steps(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.stack([x[i][mask[i]].mean(axis=0) for i in range(len(x))])


def test_global_average_pooling_with_a_mask_averages_the_kept_steps() -> None:
    x = _randn(3, 5, 2)
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    expected = _mean_of_kept_steps(x.numpy(), mask.numpy())
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x, mask=mask).numpy(),
                               expected, rtol=1e-6)
    kept = layers.GlobalAveragePooling1D(keepdims=True)(x, mask=mask.float())
    np.testing.assert_allclose(kept.numpy(), expected[:, None, :], rtol=1e-6)


def test_a_model_carries_masks_to_global_average_pooling() -> None:
    tokens = lamina.Input(shape=(4,), dtype="int64")
    embedded = layers.Embedding(8, 3, mask_zero=True)(tokens)
    model = lamina.Model(tokens, layers.GlobalAveragePooling1D()(embedded))
    data = torch.tensor([[1, 2, 0, 0], [3, 0, 4, 5]])
    table = model.layers[1].embeddings.detach().numpy()
    expected = _mean_of_kept_steps(table[data.numpy()], data.numpy() != 0)
    np.testing.assert_allclose(model(data).detach().numpy(), expected, rtol=1e-6)
    padded, x = lamina.Input(shape=(4, 2)), _padded()
    masked = lamina.Model(padded, layers.GlobalAveragePooling1D()(layers.Masking()(padded)))
    expected = _mean_of_kept_steps(x.numpy(), (x != 0).any(-1).numpy())
    np.testing.assert_allclose(masked(x).detach().numpy(), expected, rtol=1e-6)


MASK_A = torch.tensor([[True, False, True], [True, True, False]])
MASK_B = torch.tensor([[False, True, True], [True, True, True]])


@pytest.mark.parametrize("cls", [layers.Add, layers.Subtract, layers.Multiply,
                                 layers.Average, layers.Maximum, layers.Minimum])
def test_merge_masks_are_keras_or_of_the_input_masks(cls: type) -> None:
    """Keras 3: the OR of the masks, and no mask when an input has none."""
    inputs = [torch.zeros(2, 3, 4), torch.ones(2, 3, 4)]
    layer = cls()
    assert layer.compute_mask(inputs, [MASK_A, MASK_B]).tolist() == (MASK_A | MASK_B).tolist()
    assert layer.compute_mask(inputs, [None, MASK_B]) is None
    assert layer.compute_mask(inputs, [MASK_A.numpy(), MASK_B.numpy()]).tolist() == (
        MASK_A | MASK_B).tolist()  # numpy masks too
    assert layer.compute_mask(inputs, [None, None]) is None
    assert layer.compute_mask(inputs, None) is None


def test_concatenate_masks_follow_keras() -> None:
    inputs = [torch.zeros(2, 3, 4), torch.ones(2, 3, 5)]
    along_time = layers.Concatenate(axis=1).compute_mask(inputs[:1] * 2, [MASK_A, None])
    assert along_time.tolist() == torch.cat([MASK_A, torch.ones_like(MASK_A)], 1).tolist()
    features = layers.Concatenate().compute_mask(inputs, [MASK_A, MASK_B])
    assert features.tolist() == (MASK_A | MASK_B).tolist()
    assert layers.Concatenate().compute_mask(inputs, [None, None]) is None
    assert layers.Dot(axes=2).compute_mask(inputs, [MASK_A, MASK_B]) is None


def test_masks_flow_through_a_merge_in_a_model() -> None:
    left, right = (lamina.Input(shape=(3,), dtype="int64") for _ in range(2))
    embed = layers.Embedding(5, 2, mask_zero=True)
    added = layers.Add()([embed(left), embed(right)])
    joined = layers.Concatenate(axis=1)([embed(left), embed(right)])
    assert added._keras_mask.shape == (None, 3) and joined._keras_mask.shape == (None, 6)
    model = lamina.Model([left, right], [added, joined])
    a, b = torch.tensor([[1, 0, 2], [3, 4, 0]]), torch.tensor([[0, 1, 1], [2, 2, 2]])
    out_added, out_joined = model([a, b])
    assert out_added._keras_mask.tolist() == ((a != 0) | (b != 0)).tolist()
    assert out_joined._keras_mask.tolist() == torch.cat([a != 0, b != 0], 1).tolist()


def test_get_weights_set_weights_round_trip_and_bad_shapes_change_nothing() -> None:
    layer = layers.Dense(3)
    layer(torch.zeros(1, 2))
    kernel, bias = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2, 3], "float32")
    layer.set_weights([kernel, bias])
    for _ in range(2):  # the second time, after two refused set_weights calls
        for got, want in zip(layer.get_weights(), [kernel, bias], strict=True):
            np.testing.assert_array_equal(got, want)
        with pytest.raises(ShapeError, match=r"\(3, 2\)"):
            layer.set_weights([np.zeros((2, 3)), np.zeros((3, 2))])
        with pytest.raises(ShapeError, match="expected 2 weight arrays, received 1"):
            layer.set_weights([np.zeros((2, 3))])


def test_trainable_false_moves_weights_to_non_trainable() -> None:
    frozen = _built(layers.Embedding(4, 2, trainable=False), torch.tensor([[1]]))
    assert frozen.trainable_weights == [] and frozen.non_trainable_weights == [frozen.embeddings]
    dense = _built(layers.Dense(2), torch.zeros(1, 3))
    dense.trainable = False
    assert dense.trainable_weights == []
    assert [id(w) for w in dense.non_trainable_weights] == [id(dense.kernel), id(dense.bias)]
    dense.trainable = True
    assert len(dense.trainable_weights) == 2 and dense.non_trainable_weights == []


def test_dropout_in_training_keeps_about_one_minus_rate_scaled_up() -> None:
    torch.manual_seed(0)
    rate = 0.3
    out = layers.Dropout(rate)(torch.ones(200, 500), training=True)
    kept = out != 0
    assert abs(kept.float().mean().item() - (1 - rate)) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / (1 - rate)))
    seeded = layers.Dropout(0.5, noise_shape=(None, 1), seed=3)
    dropped_rows = seeded(torch.ones(50, 4), training=True)
    assert all(len(set(row.tolist())) == 1 for row in dropped_rows)
    assert set(dropped_rows.flatten().tolist()) == {0.0, 2.0}


class _Defective(layers.Layer):
    """A scaling layer with one defect, to show that run_layer_test catches each kind."""

    def __init__(self, defect: str = "", factor: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.defect, self.factor = defect, factor

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight("scale", (input_shape[-1],))
        if self.defect == "unused weight":
            self.unused = self.add_weight("unused", (1,))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = inputs * self.scale * self.factor
        return outputs[:, :1] if self.defect == "shape" else outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "defect": self.defect}
        return config if self.defect == "config" else {**config, "factor": self.factor}


@pytest.mark.parametrize(("cls", "kwargs", "extra", "message"), [
    (_Defective, {"defect": "shape"}, {}, "compute_output_shape((None, 3)) returned"),
    (_Defective, {"defect": "unused weight"}, {}, "'unused' received no gradient"),
    (_Defective, {"defect": "config", "factor": 3.0}, {}, "rebuilt from its config"),
    (layers.Dense, {"units": 2}, {"expected_num_trainable_weights": 1}, "2 trainable weights"),
    (layers.Dense, {"units": 2}, {"reference": lambda x, layer: x @ layer.kernel + 1},
     "differs from the reference"),
    (layers.Identity, {}, {"supports_masking": False}, "supports_masking is True"),
])
def test_run_layer_test_reports_broken_layers(cls: type, kwargs: dict, extra: dict,
                                              message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        run_layer_test(cls, kwargs, input_shape=(2, 3), **extra)

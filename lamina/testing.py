"""``run_layer_test``: the checks every layer should pass, for lamina's layers and yours.

One call builds the layer, runs it eagerly and on symbolic inputs, compares shapes,
counts weights, round-trips the config, compares values with a reference, and takes
one training step, raising ``AssertionError`` with a message that says what differed.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from lamina.layers.input_layer import Input
from lamina.layers.layer import Layer
from lamina.utils import tree
from lamina.utils.shapes import standardize_dtype, to_tensor


def run_layer_test(
    layer_cls: type[Layer],
    init_kwargs: dict[str, Any],
    input_shape: Any = None,
    input_data: Any = None,
    expected_output_shape: Any = None,
    expected_output: Any = None,
    expected_num_trainable_weights: int | None = None,
    expected_num_non_trainable_weights: int | None = None,
    input_dtype: Any = "float32",
    supports_masking: bool | None = None,
    run_training_check: bool = True,
    custom_objects: dict[str, Any] | None = None,
    reference: Callable[[Any, Layer], Any] | None = None,
) -> Layer:
    """Check that a layer class behaves like a lamina (Keras) layer; returns the layer tested.

    The checks, in order:

    1. ``layer_cls(**init_kwargs)`` is built by its first eager call, in inference mode,
       and does not modify its input.
    2. The eager output shape equals ``compute_output_shape`` of the input shape with the
       batch axis ``None`` (output batch axes ``None`` too), and the shape and dtype a new
       layer infers when called on ``lamina.Input`` tensors; an output mask computed
       eagerly has the shape of the symbolic output's mask. ``expected_output_shape``
       (full shape, ``None`` matches any size) is compared with the eager output.
    3. The weight counts, and ``supports_masking``, when expected values are given.
    4. ``layer_cls.from_config(layer.get_config())`` gives a layer with the same
       (JSON-safe) config, and after ``set_weights(layer.get_weights())`` the same output.
    5. The output equals ``expected_output``, and ``reference(inputs, layer)`` (a plain
       torch computation from the layer's weights), when given.
    6. If the layer has trainable weights and ``run_training_check``: one SGD step in
       training mode (on the rebuilt copy, so the returned layer keeps its weights) gives
       every trainable weight a finite, nonzero gradient and changes it.

    Args:
        layer_cls: The layer class.
        init_kwargs: Constructor arguments.
        input_shape: Full input shape (batch axis included), or a list of them for a
            layer that takes a list. Random data of that shape is generated: normal
            values for floats, integers in ``[0, 3)`` for integer dtypes.
        input_data: The input instead (tensors or numpy arrays, or a list of them).
        expected_output_shape: The expected full output shape (or a list of them).
        expected_output: The expected output values.
        expected_num_trainable_weights: Expected ``len(layer.trainable_weights)``.
        expected_num_non_trainable_weights: Expected ``len(layer.non_trainable_weights)``.
        input_dtype: Dtype of generated data (one name, or a list for several inputs).
            Default: ``"float32"``.
        supports_masking: Expected value of ``layer.supports_masking``.
        run_training_check: Whether to run step 6. Default: ``True``.
        custom_objects: Passed to ``from_config`` when it accepts them.
        reference: ``reference(inputs, layer)`` returns the expected output.

    Returns:
        The layer, built, with the weights it was created with.

    Raises:
        AssertionError: When a check fails; the message names the check and the values.

    Example:
        >>> from lamina import layers
        >>> layer = run_layer_test(
        ...     layers.Dense, {"units": 3}, input_shape=(2, 4),
        ...     expected_output_shape=(2, 3), expected_num_trainable_weights=2,
        ...     reference=lambda x, layer: x @ layer.kernel + layer.bias)
        >>> tuple(layer.kernel.shape)
        (4, 3)

        A custom layer whose declared output shape is wrong fails with a clear message:

        >>> class Halve(layers.Layer):
        ...     def call(self, inputs):
        ...         return inputs[:, ::2]
        ...     def compute_output_shape(self, input_shape):
        ...         return input_shape
        >>> run_layer_test(Halve, {}, input_shape=(2, 4))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: Halve: compute_output_shape((None, 4)) returned (None, 4), but ...
    """
    name = layer_cls.__name__
    data = _make_inputs(name, input_shape, input_data, input_dtype)
    shapes = tree.map_structure(lambda t: tuple(t.shape), data)
    with _check(name, "construction"):
        layer = layer_cls(**init_kwargs)
    if supports_masking is not None and layer.supports_masking != supports_masking:
        raise AssertionError(f"{name}: supports_masking is {layer.supports_masking}, "
                             f"expected {supports_masking}.")
    before = tree.map_structure(lambda t: t.clone(), data)
    with _check(name, "the eager call"):
        output = layer(data)
    _assert(layer.built, f"{name}: the layer is not built after its first call.")
    _assert(not layer.training, f"{name}: a new layer should be in inference mode.")
    for original, after in zip(tree.flatten(before), tree.flatten(data), strict=True):
        _assert(torch.equal(original, after), f"{name}: the call modified its input in place.")

    _check_shapes(name, layer, shapes, output, expected_output_shape)
    _check_symbolic(name, layer_cls(**init_kwargs), layer, data, shapes, output)
    _check_weight_counts(name, layer, expected_num_trainable_weights,
                         expected_num_non_trainable_weights)
    rebuilt = _check_config(name, layer_cls, layer, data, output, custom_objects)
    if expected_output is not None:
        _assert_close(name, "expected_output", output, expected_output)
    if reference is not None:
        with _check(name, "the reference function"), torch.no_grad():
            expected = reference(tree.map_structure(lambda t: t.clone(), data), layer)
        _assert_close(name, "the reference", output, expected)
    if run_training_check and rebuilt.trainable_weights:
        _check_training(name, rebuilt, data)
    return layer


# ---------------------------------------------------------------------- steps
def _make_inputs(name: str, input_shape: Any, input_data: Any, input_dtype: Any) -> Any:
    if input_data is not None:
        return to_tensor(input_data)
    if input_shape is None:
        raise AssertionError(f"{name}: give input_shape or input_data.")
    generator = torch.Generator().manual_seed(0)
    shapes = [input_shape] if _is_one_shape(input_shape) else list(input_shape)
    dtypes = input_dtype if isinstance(input_dtype, (list, tuple)) else [input_dtype] * len(
        shapes)
    tensors = []
    for shape, dtype_name in zip(shapes, dtypes, strict=True):
        dtype = standardize_dtype(dtype_name)
        if dtype.is_floating_point:
            tensors.append(torch.randn(tuple(shape), generator=generator).to(dtype))
        elif dtype == torch.bool:
            tensors.append(torch.rand(tuple(shape), generator=generator) > 0.5)
        else:
            tensors.append(torch.randint(0, 3, tuple(shape), generator=generator).to(dtype))
    return tensors[0] if _is_one_shape(input_shape) else tensors


def _check_shapes(name: str, layer: Layer, shapes: Any, output: Any,
                  expected_output_shape: Any) -> None:
    """The eager output shape against compute_output_shape and expected_output_shape."""
    eager = [tuple(t.shape) for t in tree.flatten(output)]
    batchless_out = [_batchless(s) for s in eager]
    batchless_in = _batchless_all(shapes)
    with _check(name, f"compute_output_shape({batchless_in})"):
        computed = layer.compute_output_shape(batchless_in)
        computed_list = [tuple(s) for s in ([computed] if _is_one_shape(computed)
                                            else computed)]
    _assert(computed_list == batchless_out,
            f"{name}: compute_output_shape({batchless_in}) returned "
            f"{_one(computed_list)}, but the eager output has shape {_one(eager)} "
            f"(expected {_one(batchless_out)} with the batch axis None).")
    if expected_output_shape is not None:
        wanted = ([expected_output_shape] if _is_one_shape(expected_output_shape)
                  else list(expected_output_shape))
        _assert(len(wanted) == len(eager) and all(
            len(w) == len(e) and all(a is None or a == b for a, b in zip(w, e, strict=True))
            for w, e in zip(wanted, eager, strict=True)),
            f"{name}: the output has shape {_one(eager)}, expected {expected_output_shape}.")


def _check_symbolic(name: str, fresh: Layer, layer: Layer, data: Any, shapes: Any,
                    output: Any) -> None:
    """A new layer called on lamina.Input tensors infers the eager output's shapes, dtypes
    and mask shapes (batch axis None)."""
    batchless_in = _batchless_all(shapes)
    eager = [tuple(t.shape) for t in tree.flatten(output)]
    batchless_out = [_batchless(s) for s in eager]
    dtypes = tree.map_structure(lambda t: t.dtype, data)
    with _check(name, "the call on lamina.Input tensors"):
        symbolic_out = fresh(_symbolic_inputs(shapes, dtypes))
    flat_symbolic = tree.flatten(symbolic_out)
    _assert([tuple(s.shape) for s in flat_symbolic] == batchless_out,
            f"{name}: called on lamina.Input of shape(s) {batchless_in}, the layer infers "
            f"{_one([tuple(s.shape) for s in flat_symbolic])}, but the eager output has "
            f"shape {_one(eager)} (expected {_one(batchless_out)}).")
    eager_dtypes = [t.dtype for t in tree.flatten(output)]
    _assert([s.dtype for s in flat_symbolic] == eager_dtypes,
            f"{name}: the symbolic output dtype {_one([s.dtype for s in flat_symbolic])} "
            f"differs from the eager output dtype {_one(eager_dtypes)}.")
    with _check(name, "compute_mask"):
        masks = layer.compute_mask(data, None)
    eager_masks = [m for m in tree.flatten(masks) if isinstance(m, torch.Tensor)]
    symbolic_masks = [s._keras_mask for s in flat_symbolic if s._keras_mask is not None]
    _assert([_batchless(tuple(m.shape)) for m in eager_masks]
            == [tuple(m.shape) for m in symbolic_masks],
            f"{name}: compute_mask gives masks of shape "
            f"{[tuple(m.shape) for m in eager_masks]} eagerly, but the symbolic output "
            f"carries masks of shape {[tuple(m.shape) for m in symbolic_masks]}.")


def _check_weight_counts(name: str, layer: Layer, trainable: int | None,
                         non_trainable: int | None) -> None:
    for label, expected, weights in (("trainable", trainable, layer.trainable_weights),
                                     ("non-trainable", non_trainable,
                                      layer.non_trainable_weights)):
        if expected is not None and len(weights) != expected:
            raise AssertionError(
                f"{name}: {len(weights)} {label} weights {[tuple(w.shape) for w in weights]}, "
                f"expected {expected}."
            )


def _check_config(name: str, layer_cls: type[Layer], layer: Layer, data: Any, output: Any,
                  custom_objects: dict[str, Any] | None) -> Layer:
    with _check(name, "get_config"):
        config = layer.get_config()
    try:
        text = json.dumps(config)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{name}: get_config() is not JSON-safe: {error}. "
                             f"Config: {config!r}") from error
    with _check(name, "from_config(get_config())"):
        if "custom_objects" in inspect.signature(layer_cls.from_config).parameters:
            rebuilt = layer_cls.from_config(json.loads(text), custom_objects=custom_objects)
        else:
            rebuilt = layer_cls.from_config(json.loads(text))
        rebuilt_config = rebuilt.get_config()
    _assert(json.loads(json.dumps(rebuilt_config)) == json.loads(text),
            f"{name}: from_config(get_config()) gives a layer whose config differs:\n"
            f"  original: {config}\n  rebuilt:  {rebuilt_config}")
    with _check(name, "the rebuilt layer's call and set_weights(get_weights())"):
        rebuilt(data)
        rebuilt.set_weights(layer.get_weights())
        again = rebuilt(data)
    _assert_close(name, "the output of the layer rebuilt from its config", again, output)
    return rebuilt


def _check_training(name: str, layer: Layer, data: Any) -> None:
    names = {id(p): key for key, p in layer.named_parameters()}
    weights = layer.trainable_weights
    before = [w.detach().clone() for w in weights]
    generator = torch.Generator().manual_seed(1)
    layer.train()
    try:
        with _check(name, "the call in training mode"):
            outputs = [t for t in tree.flatten(layer(data)) if isinstance(t, torch.Tensor)]
        _assert(all(t.is_floating_point() for t in outputs),
                f"{name}: the layer has trainable weights but non-float outputs "
                f"{[t.dtype for t in outputs]}, so training cannot reach them.")
        loss = sum(torch.mean((t - torch.randn(t.shape, generator=generator)) ** 2)
                   for t in outputs)
        optimizer = torch.optim.SGD(weights, lr=0.05)
        optimizer.zero_grad()
        loss.backward()
        for weight in weights:
            label = names.get(id(weight), tuple(weight.shape))
            grad = weight.grad
            _assert(grad is not None, f"{name}: trainable weight {label!r} received no "
                                      "gradient; is it used by call()?")
            _assert(bool(torch.isfinite(grad).all()),
                    f"{name}: the gradient of {label!r} is not finite: {grad}.")
            _assert(float(grad.norm()) > 0, f"{name}: the gradient of {label!r} is zero.")
        optimizer.step()
        for weight, old in zip(weights, before, strict=True):
            _assert(not torch.equal(weight.detach(), old),
                    f"{name}: trainable weight {names.get(id(weight))!r} did not change after "
                    "one SGD step.")
    finally:
        layer.eval()


# ---------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _check(name: str, stage: str) -> Iterator[None]:
    """Turn an error raised during ``stage`` into an AssertionError saying where it happened."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as error:
        raise AssertionError(f"{name}: {stage} raised {type(error).__name__}: {error}") from error


def _assert(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _assert_close(name: str, what: str, actual: Any, expected: Any) -> None:
    actual_leaves = tree.flatten(actual)
    expected_leaves = tree.flatten(expected)
    _assert(len(actual_leaves) == len(expected_leaves),
            f"{name}: the output has {len(actual_leaves)} tensor(s), {what} "
            f"{len(expected_leaves)}.")
    for index, (got, want) in enumerate(zip(actual_leaves, expected_leaves, strict=True)):
        got = got.detach() if isinstance(got, torch.Tensor) else torch.as_tensor(got)
        want = torch.as_tensor(np.asarray(want.detach() if isinstance(want, torch.Tensor)
                                          else want))
        try:
            torch.testing.assert_close(got, want.to(got.dtype) if want.dtype != got.dtype
                                       and got.is_floating_point() else want,
                                       rtol=1e-5, atol=1e-6, equal_nan=True)
        except AssertionError as error:
            where = f" (output {index})" if len(actual_leaves) > 1 else ""
            raise AssertionError(f"{name}: the output{where} differs from {what}: "
                                 f"{error}") from None


def _symbolic_inputs(shapes: Any, dtypes: Any) -> Any:
    if _is_one_shape(shapes):
        return Input(batch_shape=_batchless(shapes), dtype=dtypes)
    return [Input(batch_shape=_batchless(s), dtype=d)
            for s, d in zip(shapes, tree.flatten(dtypes), strict=True)]


def _is_one_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value) and not (
        isinstance(value, list) and not value)


def _batchless(shape: Any) -> Any:
    return (None, *tuple(shape)[1:]) if len(shape) else tuple(shape)


def _batchless_all(shapes: Any) -> Any:
    return _batchless(shapes) if _is_one_shape(shapes) else [_batchless(s) for s in shapes]


def _one(shapes: list[Any]) -> Any:
    return shapes[0] if len(shapes) == 1 else shapes

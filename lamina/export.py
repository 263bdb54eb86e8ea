"""``model.export``: a model as an ONNX file or a ``torch.export`` program, for deployment.

Both formats start from one ``torch.export`` capture of the model in inference mode, with
the batch axis of every input dynamic (named ``batch`` in the ONNX file), so the exported
model takes any batch size. The capture is Dynamo's (``strict``): it sees that a Variable
a Lambda captured is the layer's weight, and traces Lambda functions, including those
loaded from ``.lamina`` files, like any Python code. During the capture the model calls
its layers through ``nn.Module.__call__``, so graph nodes and weights are named after the
layers (``dense.kernel``).

- ``format="onnx"`` translates the program with ``torch.onnx`` (needs the ``onnx`` and
  ``onnxscript`` packages: ``pip install 'lamina[export]'``); ``onnxruntime`` runs it.
- ``format="torch"`` saves the program with ``torch.export.save`` (a ``.pt2`` file) for
  ``torch.export.load`` and AOTInductor. It is a deployment format, **not** a safe one:
  like ``torch.load``, loading it may run code from the file, so load only files you
  made. ``lamina.load_model`` never reads it, and a ``.lamina`` name is refused for it.

A layer that cannot be captured or translated (Python that branches on tensor values, an
op ONNX lacks, a masked recurrent layer) is an :class:`ExportError` naming the layer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import re
import shutil
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ExportError, LaminaError, MissingDependencyError
from lamina.layers.calling import called_as_modules
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer
from lamina.training.data import to_tensors
from lamina.training.jit import layers_at
from lamina.utils import tree

FORMATS = ("onnx", "torch")

#: Warnings torch and onnxscript raise from their own code during an export.
_TORCH_NOISE = ("The .grad attribute of a Tensor that is not a leaf Tensor",
                "While compiling, we found certain side effects",
                "No complete tensor found in the group")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def export_model(model: torch.nn.Module, path: str | os.PathLike, format: str = "onnx",
                 inputs: Any = None, opset_version: int | None = None) -> str:
    """Write ``model`` for deployment as ONNX or a ``torch.export`` program.

    Args:
        model: A lamina model (or layer) whose input shapes are known but for the batch
            axis; otherwise pass ``inputs``.
        path: Where to write (``.onnx`` or ``.pt2`` by convention). The file appears
            whole or not at all.
        format: ``"onnx"`` or ``"torch"``. Default: ``"onnx"``.
        inputs: A sample batch (a tensor or array, or a list or dict of them) with at
            least two samples. Default: random data of the model's input shapes.
        opset_version: The ONNX opset. Default: torch's.

    Returns:
        ``path``, as a string.

    Raises:
        ExportError: a layer cannot be exported (the message names it and says why).
        MissingDependencyError: ``format="onnx"`` without the ``onnx``/``onnxscript``
            packages.

    Example:
        >>> import lamina, os, tempfile
        >>> from lamina import layers
        >>> model = lamina.Sequential([layers.Dense(2, input_shape=(3,)),
        ...                            layers.Lambda(lambda x: x * 2.0)])
        >>> path = export_model(model, os.path.join(tempfile.mkdtemp(), "m.pt2"), "torch")
        >>> program = torch.export.load(path)  # a file we just made: never an untrusted one
        >>> x = torch.randn(5, 3)
        >>> torch.allclose(program.module()(x), model(x))
        True
    """
    if format not in FORMATS:
        raise ArgumentError(f"export: format must be one of {list(FORMATS)}, received "
                            f"{format!r}.")
    path = os.fspath(path)
    if format == "torch" and path.endswith(".lamina"):
        raise ArgumentError(
            f"export: {path!r} ends in .lamina, but format='torch' writes a torch.export "
            "program, which is not a safe format and which lamina.load_model never reads. "
            "Name it .pt2; use model.save for a .lamina file.")
    if format == "onnx":
        _require("onnx", "onnxscript")
    strings = getattr(model, "string_layers", None)
    if strings:
        names = ", ".join(f"'{layer.name}'" for layer in strings.values())
        warnings.warn(
            f"export: model '{model.name}' takes strings, which an exported program cannot; "
            f"the program exported runs after the string layer(s) {names} convert them: it "
            "takes their integer ids (layer.strings_to_tensor(strings)).", UserWarning,
            stacklevel=2)
    sample = to_tensors(inputs) if inputs is not None else sample_inputs(model)
    program = _capture(model, sample)
    if format == "torch":
        with _quiet():  # weights that share storage (kernel views) make torch warn
            _write_atomically(path, lambda temporary: torch.export.save(program, temporary))
        return path
    onnx_program = _translate(model, program, sample, opset_version)
    _write_atomically(path, lambda temporary: onnx_program.save(temporary))
    return path


def sample_inputs(model: torch.nn.Module, batch_size: int = 2) -> Any:
    """Random inputs of the model's input shapes and dtypes, ``batch_size`` samples each.

    Floating inputs are standard normal; integer inputs (token ids) are ones.

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> tuple(sample_inputs(model).shape)
        (2, 3)
    """
    symbolic = getattr(model, "inputs", None)
    name = getattr(model, "name", type(model).__name__)
    if not symbolic:
        raise ArgumentError(
            f"export: model '{name}' does not know its input shapes (a subclassed model, or "
            "a Sequential without input_shape). Pass inputs= with a sample batch.")
    values = []
    strings = getattr(model, "string_layers", None) or {}
    for index, tensor in enumerate(symbolic):
        if index in strings:  # the ids its string layer makes of the strings
            tensor = strings[index].compute_output_spec(tensor) if strings[
                index].output_mode == "int" else tensor
            rest = tuple(4 if axis is None else axis for axis in tensor.shape[1:])
            values.append(torch.ones((batch_size, *rest), dtype=torch.int64))
            continue
        rest = tuple(tensor.shape[1:])
        if any(axis is None for axis in rest):
            raise ArgumentError(
                f"export: input '{tensor.name}' of model '{name}' has shape "
                f"{tuple(tensor.shape)}; only the batch axis may be unknown. Pass inputs= "
                "with a sample batch.")
        shape = (batch_size, *rest)
        values.append(torch.randn(shape, dtype=tensor.dtype) if tensor.dtype.is_floating_point
                      else torch.ones(shape, dtype=tensor.dtype))
    return values[0] if len(values) == 1 else values


def onnx_difference(model: torch.nn.Module, path: str | os.PathLike, inputs: Any = None
                    ) -> float:
    """The largest absolute difference between onnxruntime's outputs for the ONNX file at
    ``path`` and the model's own, on ``inputs`` (default: 3 random samples)."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise MissingDependencyError("Comparing with ONNX needs onnxruntime: pip install "
                                     "'lamina[export]'.")
    import onnxruntime

    sample = to_tensors(inputs) if inputs is not None else sample_inputs(model, batch_size=3)
    session = onnxruntime.InferenceSession(os.fspath(path),
                                           providers=["CPUExecutionProvider"])
    leaves = [t for t in tree.flatten(sample) if isinstance(t, torch.Tensor)]
    feeds = {arg.name: leaf.detach().cpu().numpy()
             for arg, leaf in zip(session.get_inputs(), leaves)}
    theirs = session.run(None, feeds)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ours = [t.detach().cpu().numpy() for t in tree.flatten(model(sample))]
    finally:
        model.train(was_training)
    return max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(ours, theirs))


# ---------------------------------------------------------------------- capture
def _require(*packages: str) -> None:
    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"export(format='onnx') needs the packages {missing}: pip install "
            "'lamina[export]' (onnx, onnxscript and onnxruntime).")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence what torch says about its own code during an export (deprecations, missing
    torchvision, the partial graph of a failed capture), which a lamina user cannot act on:
    a failure becomes an ExportError that says what went wrong."""
    noisy = [logging.getLogger(name) for name in (
        "torch.onnx._internal.exporter._registration", "torch.export._trace",
        "torch.fx.experimental.symbolic_shapes")]
    levels = [logger.level for logger in noisy]
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for message in _TORCH_NOISE:
            warnings.filterwarnings("ignore", message=message)
        for logger in noisy:
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in zip(noisy, levels):
                logger.setLevel(level)


def _capture(model: torch.nn.Module, sample: Any) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch")
    dynamic = tree.map_structure(
        lambda t: {0: batch} if isinstance(t, torch.Tensor) and t.dim() else None, sample)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            _warm_up(model, sample)
            errors = []
            for strict in (True, False):
                try:
                    with _quiet(), called_as_modules(model):
                        return torch.export.export(model, (sample,), dynamic_shapes=(dynamic,),
                                                   strict=strict)
                except Exception as error:  # every capture failure is reported below
                    errors.append(error)
    finally:
        model.train(was_training)
    raise _export_error(model, "torch.export", errors) from errors[0]


def _warm_up(model: torch.nn.Module, sample: Any) -> None:
    """Run the model once eagerly: builds lazy layers and fills per-call caches (which a
    capture must not see being filled), and rejects a sample the model cannot take."""
    try:
        model(sample)
    except (LaminaError, RuntimeError, ValueError, TypeError, IndexError) as error:
        shapes = tree.map_structure(
            lambda t: tuple(t.shape) if isinstance(t, torch.Tensor) else t, sample)
        raise ArgumentError(
            f"export: model '{getattr(model, 'name', type(model).__name__)}' cannot run on "
            f"the sample inputs of shape(s) {shapes}: {error} Pass inputs= with a batch of "
            "real data (at least 2 samples).") from error


def _translate(model: torch.nn.Module, program: torch.export.ExportedProgram, sample: Any,
               opset_version: int | None) -> Any:
    input_names, output_names = _io_names(model)
    names = tree.map_structure(
        lambda t: {0: "batch"} if isinstance(t, torch.Tensor) and t.dim() else None, sample)
    options: dict[str, Any] = {"opset_version": opset_version} if opset_version else {}
    try:
        with _quiet():
            return torch.onnx.export(program, (sample,), dynamo=True, verbose=False,
                                     input_names=input_names, output_names=output_names,
                                     dynamic_shapes=(names,), **options)
    except Exception as error:  # every translation failure is reported below
        raise _export_error(model, "ONNX", [error]) from error


def _io_names(model: torch.nn.Module) -> tuple[list[str] | None, list[str] | None]:
    """ONNX input and output names: the model's Input names and output layer names."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    input_names = [t.name for t in inputs] if inputs else []
    output_names = [t.node.layer.name for t in outputs] if outputs else []
    output_names = [n if output_names.count(n) == 1 else f"{n}_{i}"
                    for i, n in enumerate(output_names)]
    unique = len(set(input_names)) == len(input_names)
    return (input_names if input_names and unique else None), (output_names or None)


def _write_atomically(path: str, write: Any) -> None:
    """``write(temporary_path)``, then move the result (and any side file, such as ONNX
    external weights) into place: the file appears whole or not at all. The temporary
    file has the final name, in a fresh folder, because formats record it (a ``.pt2``
    archive's root folder is named after it)."""
    folder = os.path.dirname(os.path.abspath(path))
    staging = tempfile.mkdtemp(dir=folder, prefix=".lamina-export-")
    try:
        write(os.path.join(staging, os.path.basename(path)))
        for name in sorted(os.listdir(staging), key=lambda n: n == os.path.basename(path)):
            os.replace(os.path.join(staging, name), os.path.join(folder, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------- errors
def _export_error(model: torch.nn.Module, step: str, errors: list[BaseException]
                  ) -> ExportError:
    """An ExportError naming the layer to blame for the first error that names one."""
    name = getattr(model, "name", type(model).__name__)
    for error in errors:
        layer = _blamed_layer(model, error)
        if layer is not None:
            lambda_layer = isinstance(layer, Lambda)
            subject = f"Lambda '{layer.name}' ({layer.source})" if lambda_layer else \
                f"layer '{layer.name}' ({type(layer).__name__})"
            advice = ("Rewrite the function with lamina ops, or export the model without "
                      "it." if lambda_layer else "Export the model without it.")
            return ExportError(
                f"Model '{name}' cannot be exported: {subject} fails in {step}: "
                f"{_summary(error).rstrip('.')}. Exported models run without Python, so a "
                "layer may only compute with tensor operations: no .item() or .tolist(), "
                "no if on a tensor's value, no printing, and ops the format has. "
                f"{advice}")
    return ExportError(f"Model '{name}' cannot be exported: {step} failed: "
                       f"{_summary(errors[0]).rstrip('.')}.")


def _summary(error: BaseException) -> str:
    """The first meaningful line of the innermost error, shortened."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    for line in lines:
        if line.startswith("Explanation:"):
            text = line.removeprefix("Explanation:").strip()
            break
    text = f"{type(error).__name__}: {text}"
    return text if len(text) <= 300 else text[:297] + "..."


def _chain(error: BaseException) -> list[BaseException]:
    """The error and those it was raised from or while handling, outermost first."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if current is not None and all(current is not e for e in seen):
            seen.append(current)
            pending += [current.__cause__, current.__context__]
    return seen


def _blamed_layer(model: torch.nn.Module, error: BaseException) -> Any:
    """The layer whose code an error came from: a layer's frame in the traceback, a graph
    node an ONNX translator was working on, or a location in Dynamo's record of the
    user's frames or in the message."""
    locations: list[tuple[str, int]] = []
    for link in _chain(error):
        stack = getattr(link, "real_stack", None)  # Dynamo's record of the user's frames
        if stack:
            locations += [(frame.filename, frame.lineno or 0) for frame in reversed(stack)]
        locations += [(m["file"], int(m["line"]))
                      for m in reversed(list(_FRAME.finditer(str(link))))]
        frames = list(traceback.walk_tb(link.__traceback__))
        for frame, line in reversed(frames):
            owner = frame.f_locals.get("self")
            # A layer, not a model (a model is a layer with layers): the innermost culprit.
            if isinstance(owner, Layer) and not hasattr(type(owner), "layers") and any(
                    owner is module for module in model.modules()):
                return owner
            node = frame.f_locals.get("node")  # the graph node a translator was working on
            if isinstance(node, torch.fx.Node) and _layer_of_node(model, node) is not None:
                return _layer_of_node(model, node)
            locations.append((frame.f_code.co_filename, line))
    found = layers_at(model, locations)
    return found[0][0] if found is not None else None


def _layer_of_node(model: torch.nn.Module, node: torch.fx.Node) -> Any:
    """The innermost layer that a captured graph node was made in."""
    stack = node.meta.get("nn_module_stack") or {}
    for path, _ in reversed(list(stack.values())):
        layer = _follow(model, str(path))
        if layer is not None and layer is not model:
            return layer
    return None


def _follow(model: torch.nn.Module, path: str) -> Any:
    """The object at an attribute path such as ``_plan[1].layer`` or ``dense``."""
    target: Any = model
    for name, index, key in re.findall(r"(\w+)|\[(\d+)\]|\['(\w+)'\]", path):
        try:
            target = getattr(target, name) if name else (
                target[int(index)] if index else target[key])
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
    return target if isinstance(target, torch.nn.Module) else None

"""``lamina inspect`` and ``lamina check``: look at a saved file without running it.

``describe_file`` reads the JSON members and the weights' header (checked as the loader
checks it): no layer is built, no saved function is compiled. For every Lambda at any
depth (inside wrappers, nested models, layers captured by functions) it prints what
loading will compile or call, decided by the loader's own dispatch
(:func:`lamina.functions.plan.plan_function`), never by a label: the tier, the exact code
or op, the ``arguments`` and the captured values; an entry the loader refuses is shown
with the reason. ``check_file`` goes one step further and loads the model in safe mode,
which validates every saved function and weight (and still runs nothing from the file).

A malformed file is never a traceback: ``describe_file`` raises a
:class:`~lamina.errors.LoadError` whatever is wrong, and ``check_file`` returns the reason.
"""

from __future__ import annotations

import io
import os
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lamina.errors import CorruptArchiveError, LaminaError, LoadError
from lamina.functions import allowlist, load_budget, registry
from lamina.functions.plan import plan_captured, plan_function
from lamina.functions.registry import decode_constant
from lamina.saving import archive
from lamina.saving.api import function_tiers, load_model
from lamina.saving.lambda_entries import lambda_entries

_INDENT = "    "
_REFUSED = "refused at load"
#: Beyond this many layers the table is printed as plain columns (rich takes seconds).
_MAX_TABLE_ROWS = 200


def describe_file(path: str | os.PathLike, width: int = 110) -> str:
    """Summary, every function loading will compile or call, and versions of a saved model.

    Raises:
        LoadError: The file is missing, not a lamina file, or malformed (one line saying
            why; never another exception).
    """
    where = f"'{os.fspath(path)}'"
    try:
        return _describe(path, width)
    except LoadError:
        raise
    except RecursionError:
        raise CorruptArchiveError(f"{where}: the config nests too deeply.") from None
    except Exception as error:  # noqa: BLE001 - a hostile file gets a message, not a traceback
        raise CorruptArchiveError(f"{where} cannot be described: {type(error).__name__}: "
                                  f"{error}") from error


def _describe(path: str | os.PathLike, width: int) -> str:
    with archive.Archive(path) as stored:
        config = stored.json(archive.CONFIG)
        config_bytes = stored.size(archive.CONFIG)
        metadata, metadata_problem = _metadata(stored)
        # The loader's own checks of the weights' header (shapes, offsets, transposed list).
        shapes = {key: list(t.shape) for key, t in stored.tensors(archive.WEIGHTS).items()}
        has_optimizer = stored.has(archive.OPTIMIZER)
        stored.verify()
    where = f"'{os.fspath(path)}'"
    model = config.get("model")
    if not isinstance(model, dict):
        raise CorruptArchiveError(f"{where}: config.json has no model entry.")
    load_budget.check_layer_count(model, config_bytes, where)  # as load_model does
    lambdas = list(lambda_entries(model))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None,
                      highlight=False)
    console.print(escape(visible(f"File: {os.fspath(path)}")))
    console.print(escape(visible(
        f"Model: \"{_text(model.get('name'))}\" ({_text(model.get('class_name'))})")))
    version = config.get("format_version")
    if type(version) is not int or version != archive.FORMAT_VERSION:
        console.print(escape(visible(
            f"Format version {version!r}: this lamina reads version {archive.FORMAT_VERSION} "
            "and refuses to load it.")))
    table = _layer_table(model, lambdas, shapes)
    if isinstance(table, str):
        buffer.write(table + "\n")
    else:
        console.print(table)
    console.print(f" Total params: {sum(_count(shape) for shape in shapes.values()):,}")
    console.print(f" Optimizer state saved: {'yes' if has_optimizer else 'no'}")
    console.print(escape(visible(
        f" Written by lamina {_text(metadata.get('lamina_version', '?'))}, torch "
        f"{_text(metadata.get('torch_version', '?'))}, Python "
        f"{_text(metadata.get('python_version', '?'))} on {_text(metadata.get('saved_at', '?'))}"
    )))
    lines = [f" {metadata_problem}"] if metadata_problem else []
    lines.extend(_tier_label_lines(metadata.get("function_tiers"), model))
    if lambdas:
        lines.append("Functions loading will compile or call (read from config.json as the "
                     "loader reads it; nothing was run):")
        for layer_path, entry in lambdas:
            lines.extend(_lambda_lines(layer_path, entry))
    else:
        lines.append("No Lambda layers: loading compiles no saved function.")
    if any(_REFUSED in line for line in lines):
        lines.append(f"Entries marked '{_REFUSED}' make loading fail; `lamina check FILE` "
                     "loads the file in safe mode and gives the loader's verdict.")
    return (buffer.getvalue().rstrip("\n") + "\n" + "\n".join(lines)).rstrip("\n")


def _metadata(stored: archive.Archive) -> tuple[dict[str, Any], str | None]:
    """metadata.json, which loading never reads: a bad one is noted, not fatal."""
    if not stored.has(archive.METADATA):
        return {}, "metadata.json: absent (loading does not need it)."
    try:
        return stored.json(archive.METADATA), None
    except CorruptArchiveError as error:
        return {}, f"{one_line(error)} (loading does not read it)"


# ---------------------------------------------------------------------- layer table
def _model_layers(model: dict[str, Any]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, entry) of the model and of every layer in it, nested models flattened."""
    found = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(model, ())]
    while stack:
        entry, prefix = stack.pop()
        if not isinstance(entry, dict):
            continue
        path = (*prefix, _text(entry.get("name")))
        found.append((path, entry))
        config = entry.get("config")
        children = config.get("layers") if isinstance(config, dict) else None
        if isinstance(children, list):
            stack.extend((child, path) for child in reversed(children))
    return found


def _layer_table(model: dict[str, Any], lambdas: list[tuple[list[str], dict[str, Any]]],
                 shapes: dict[str, list[int]]) -> Table | str:
    table = Table()
    for column in ("Layer (type)", "Param #", "Functions (tier)"):
        table.add_column(column, overflow="fold")
    rows = _model_layers(model)
    rows = rows[1:] or rows
    row_paths = {path for path, _ in rows}
    notes: dict[tuple[str, ...], list[str]] = {}
    for layer_path, entry in lambdas:
        full = tuple(layer_path)
        owner = next((full[:n] for n in range(len(full), 0, -1) if full[:n] in row_paths), None)
        if owner is not None:
            inner = "/".join(full[len(owner):])
            notes.setdefault(owner, []).append(
                (f"{inner}: " if inner else "") + _tiers_summary(entry))
    by_layer: dict[str, int] = {}  # parameters per top-level layer, in one pass
    for key, shape in shapes.items():
        by_layer[key.split(".", 1)[0]] = by_layer.get(key.split(".", 1)[0], 0) + _count(shape)
    cells = []
    for path, entry in rows:
        label = f"{'/'.join(path[1:]) or path[0]} ({_text(entry.get('class_name'))})"
        params = f"{by_layer.get(path[1], 0):,}" if len(path) == 2 else ""
        cells.append((visible(label), params, visible("; ".join(notes.get(path, [])))))
    if len(cells) > _MAX_TABLE_ROWS:  # rich lays out big tables slowly: plain columns
        wide = max(len(label) for label, _, _ in cells)
        lines = [f"{'Layer (type)':{wide}}  {'Param #':>12}  Functions (tier)"]
        lines += [f"{label:{wide}}  {params:>12}  {notes}" for label, params, notes in cells]
        return "\n".join(lines)
    for label, params, notes_text in cells:
        table.add_row(escape(label), params, escape(notes_text))
    return table


def _tiers_summary(entry: dict[str, Any]) -> str:
    parts = []
    for role, function in _function_roles(entry["config"]):
        try:
            tier = plan_function(function, "").tier
        except (LaminaError, RecursionError):
            tier = "refused"
        parts.append(f"[{tier}]" if role == "function" else f"{role} [{tier}]")
    return ", ".join(parts) or "no function"


def _count(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


# ---------------------------------------------------------------------- functions
def _function_roles(config: dict[str, Any]) -> list[tuple[str, Any]]:
    """The function entries a Lambda's ``from_config`` builds, as it tells them apart."""
    roles: list[tuple[str, Any]] = []
    if "function" in config:
        roles.append(("function", config["function"]))
    shape = config.get("output_shape")
    if isinstance(shape, dict) and "kind" in shape:
        roles.append(("output_shape", shape))
    mask = config.get("mask")
    if isinstance(mask, dict) and mask.get("kind") != "tensor_value":
        roles.append(("mask", mask))
    return roles


def _lambda_lines(layer_path: list[str], entry: dict[str, Any]) -> list[str]:
    config = entry["config"]
    name = _text(entry.get("name"))
    shown = "/".join(layer_path[1:]) or layer_path[0]
    lines = [visible(f"{shown} ({_text(entry.get('class_name'))})")]
    if "function" not in config:
        lines.append(f"{_INDENT}function: {_REFUSED}: the Lambda has no function entry.")
    for role, function in _function_roles(config):
        where = f"Lambda '{name}'" + ("" if role == "function" else f" {role}")
        lines.extend(_function_lines(f"{role}: ", function, where, _INDENT))
    shape = config.get("output_shape")
    if shape is not None and not (isinstance(shape, dict) and "kind" in shape):
        lines.append(visible(f"{_INDENT}output_shape: {shape!r} (a shape, not a function)"))
    mask = config.get("mask")
    if isinstance(mask, dict) and mask.get("kind") == "tensor_value":
        lines.append(visible(f"{_INDENT}mask: the tensor {_text(mask.get('dtype'))} "
                             f"{mask.get('value')!r}, whatever the input"))
    elif mask is not None and not isinstance(mask, dict):
        lines.append(visible(f"{_INDENT}mask: {mask!r}"))
    lines.extend(_argument_lines(config))
    return lines


def _argument_lines(config: dict[str, Any]) -> list[str]:
    lines = []
    if config.get("arguments") is not None:
        try:
            arguments = decode_constant(config["arguments"])
        except LaminaError as error:
            lines.append(f"{_INDENT}arguments: {_REFUSED}: {one_line(error)}")
        else:
            if isinstance(arguments, dict):
                lines.append(f"{_INDENT}arguments (passed to the function on every call):")
                lines.extend(visible(f"{_INDENT * 2}{key} = {value!r}")
                             for key, value in arguments.items())
            else:
                lines.append(visible(f"{_INDENT}arguments: {arguments!r} (not names and "
                                     "values)"))
    tensors = config.get("tensor_arguments")
    if tensors is not None:
        if not isinstance(tensors, dict):
            lines.append(f"{_INDENT}tensor_arguments: {_REFUSED}: tensor_arguments must be "
                         "an object.")
        else:
            lines.append(f"{_INDENT}tensor arguments (values from the weights):")
            for key, spec in tensors.items():
                if isinstance(spec, dict):
                    kind = "parameter" if spec.get("parameter") else "tensor"
                    text = f"{kind} {_text(spec.get('dtype'))}{spec.get('shape')!r}"
                else:
                    text = f"{spec!r} (not a tensor description)"
                lines.append(visible(f"{_INDENT * 2}{key} = {text}"))
    return lines


def _function_lines(label: str, entry: Any, where: str, indent: str) -> list[str]:
    """What the loader builds for one function entry, as text (captured ones nested)."""
    try:
        plan = plan_function(entry, where)
    except (LaminaError, RecursionError) as error:
        return [f"{indent}{label}{_REFUSED}: {one_line(error)}"]
    code = plan.code.removesuffix("\n").split("\n")  # the final newline shows as no line
    lines = [visible(f"{indent}{label}[{plan.tier}] {code[0]}")]
    lines.extend(visible(f"{indent}{_INDENT}{line}") if line else "" for line in code[1:])
    resolved = _resolution(plan)
    if resolved:
        lines.append(f"{indent}{_INDENT}{resolved}")
    if plan.captured:
        lines.append(f"{indent}{_INDENT}captures:")
        for variable, value in plan.captured.items():
            lines.extend(_captured_lines(variable, value, where, indent + _INDENT * 2))
    return lines


def _resolution(plan: Any) -> str:
    """Where a name-based entry resolves in this process (a dict look-up, nothing runs)."""
    if plan.tier not in ("op", "registered"):
        return ""
    name = f"ops>{plan.name}" if plan.tier == "op" else plan.name
    try:
        found = registry.get_registered(name)
    except LaminaError as error:
        return visible(f"not registered in this process (loading needs it registered or in "
                       f"custom_objects): {one_line(error)}")
    return visible(f"calls {getattr(found, '__module__', '?')}."
                   f"{getattr(found, '__qualname__', '?')} (registered here as '{name}')")


def _captured_lines(variable: str, entry: Any, where: str, indent: str) -> list[str]:
    try:
        kind = plan_captured(entry, f"{where} (captured '{variable}')")
    except LaminaError as error:
        return [visible(f"{indent}{variable}: {_REFUSED}: {one_line(error)}")]
    if kind == "module":
        allowed = "" if entry["module"] in allowlist.MODULES else \
            " (not in the allowlist: loading refuses it)"
        return [visible(f"{indent}{variable} = module {_text(entry['module'])}{allowed}")]
    if kind == "literal":
        try:
            value = repr(decode_constant(entry["value"]))
        except LaminaError as error:
            value = f"{_REFUSED}: {one_line(error)}"
        return [visible(f"{indent}{variable} = {value}")]
    if kind in ("variable", "parameter", "tensor"):
        trainable = ", trainable" if kind != "tensor" and entry.get("trainable", True) else ""
        return [visible(f"{indent}{variable} = {kind} {_text(entry['dtype'])}"
                        f"{entry['shape']!r}{trainable} (value from the weights)")]
    if kind == "layer":
        layer = entry["layer"] if isinstance(entry["layer"], dict) else {}
        return [visible(f"{indent}{variable} = layer {_text(layer.get('class_name'))} "
                        f"'{_text(layer.get('name'))}' (built from its config)")]
    return _function_lines(f"{variable} = function ", entry["function"],
                           f"{where} (function '{variable}')", indent)


def _tier_label_lines(recorded: Any, model: dict[str, Any]) -> list[str]:
    """A note when metadata.json's tiers (a label lamina writes, never reads) disagree."""
    if recorded is None or recorded == function_tiers(model):
        return []
    return [" metadata.json's function_tiers do not match config.json; they are a label "
            "that loading ignores: the tiers below are the loader's, read from config.json."]


# ---------------------------------------------------------------------- text from files
def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def visible(text: str) -> str:
    """``text`` with every character that is not printable (control characters, bidi
    overrides, line separators) shown as an escape, so a file cannot hide or rewrite what
    ``inspect`` prints."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def one_line(error: BaseException) -> str:
    """An error message on one visible line."""
    return visible(" ".join(str(error).split("\n")).strip())


def check_file(path: str | os.PathLike) -> tuple[bool, str]:
    """Whether the file loads in safe mode, and why not (one line) when it does not."""
    try:
        model = load_model(path, safe_mode=True)  # as load_model's defaults: compiled too
    except LaminaError as error:
        return False, f"{type(error).__name__}: {one_line(error)}"
    except RecursionError:
        return False, "CorruptArchiveError: the config nests too deeply."
    except Exception as error:  # noqa: BLE001 - a hostile file gets a message, not a traceback
        return False, (f"{type(error).__name__}: {one_line(error)} (the loader failed without "
                       "a LoadError: the file is malformed in a way lamina should name)")
    return True, visible(f"'{os.fspath(path)}' loads in safe mode: {type(model).__name__} "
                         f"'{model.name}' with {model.count_params():,} parameters.")

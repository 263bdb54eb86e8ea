"""Map the names a Keras lambda calls to lamina's, as a rewrite of its source text.

A lambda read from a Keras file (``bytecode_translate``) still says what its author wrote:
``K.mean``, ``keras.ops.sum``, ``tf.reduce_mean(x, axis=1, keep_dims=True)``, ``np.pi``.
:func:`map_keras_names` rewrites that text against a fixed table and returns lamina source
plus the captured values it reads, ready for the validator (``safe.py``). Nothing is
imported by a name read from a file: a name is either in the table, a builtin the
validator allows, one of the lambda's own arguments, or a key of ``custom_objects``
(captured as a registered function, resolved from ``custom_objects`` when the layer is
built). Anything else is an :class:`~lamina.errors.UnknownFunctionError` naming it.

- ``K.*``, ``keras.backend.*``, ``tf.keras.backend.*`` -> ``K.*`` (``lamina.backend``,
  the same functions with tf.keras's defaults).
- ``keras.ops.*``, ``ops.*`` and ``np.*`` -> ``ops.*`` (``lamina.ops``; Keras ops follow
  numpy's names and arguments).
- ``tf.*`` (and ``tf.math``, ``tf.nn``, ``tf.linalg``): the functions of :data:`TF` with
  their arguments renamed (``keep_dims`` -> ``keepdims``, ``perm`` -> ``axes``,
  ``input_tensor`` -> the first argument) and TensorFlow's defaults made explicit where
  Keras's differ (``tf.argmax`` reduces axis 0); ``tf.split``'s sizes become split indices.
- Constants: ``np.pi``, ``np.e``, ``np.inf``, ``math.pi``, ``np.newaxis``; dtypes
  (``tf.float32``, ``np.int32``) become their names (``"float32"``).
- A slice with step ``-1`` over a whole axis (``x[..., ::-1]``) becomes ``K.flip`` over
  that axis (torch tensors have no negative steps); other negative steps are refused.

Example:
    >>> mapped = map_keras_names("lambda x: tf.reduce_mean(x, axis=1, keep_dims=True)")
    >>> mapped.source
    'lambda x: ops.mean(x, axis=1, keepdims=True)'
    >>> sorted(mapped.captured)
    ['ops']
"""

from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any

from lamina.errors import UnknownFunctionError
from lamina.functions import allowlist
from lamina.functions.keras_tf_table import TF, Spec

_BACKEND = ("K", "keras.backend", "tf.keras.backend", "tensorflow.keras.backend", "backend")
_OPS = ("ops", "keras.ops", "np", "numpy", "tf.experimental.numpy")
_TF = ("tf", "tensorflow", "tf.math", "tf.nn", "tf.linalg", "tensorflow.math", "tensorflow.nn",
       "tensorflow.linalg", "tf.keras.activations", "keras.activations", "activations")
_CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "inf": math.inf, "newaxis": None}
_CONSTANT_ROOTS = ("np", "numpy", "math", "tf.experimental.numpy")
_DTYPES = frozenset({
    "float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
    "bool", "bool_", "complex64",
})
_DTYPE_ROOTS = ("tf", "tensorflow", "np", "numpy", "torch")


@dataclasses.dataclass(frozen=True)
class MappedLambda:
    """A Keras lambda's source in lamina's names, with the values it captures.

    Attributes:
        source: The rewritten source (``lambda x: ops.mean(x, axis=1)``).
        captured: Captured-value entries by name, as a ``source`` function entry holds them.
        custom: The ``custom_objects`` names the lambda calls.
    """

    source: str
    captured: dict[str, dict[str, Any]]
    custom: tuple[str, ...] = ()


def map_keras_names(source: str, custom_objects: dict[str, Any] | None = None,
                    where: str = "Lambda") -> MappedLambda:
    """Rewrite a Keras lambda's source to lamina names (see the module docstring).

    Args:
        source: One ``lambda`` expression (or ``def``), as read from the Keras file.
        custom_objects: Names the lambda may call beyond the table, by the name it uses.
        where: Names the layer in error messages.
    """
    tree = ast.parse(source)
    rewriter = _Rewriter(set(custom_objects or {}), where)
    rewriter.collect_arguments(tree)
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    captured: dict[str, dict[str, Any]] = {}
    if "K" in rewriter.used:
        captured["K"] = {"kind": "module", "module": "lamina.backend"}
    if "ops" in rewriter.used:
        captured["ops"] = {"kind": "module", "module": "lamina.ops"}
    for name in sorted(rewriter.custom):
        captured[name] = {"kind": "function", "function": {"kind": "registered", "name": name}}
    return MappedLambda(ast.unparse(tree), captured, tuple(sorted(rewriter.custom)))


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _split(dotted: str, roots: tuple[str, ...]) -> str | None:
    """The attribute after the longest matching root (``tf.nn.relu`` -> ``relu``)."""
    for root in sorted(roots, key=len, reverse=True):
        if dotted.startswith(root + ".") and "." not in dotted[len(root) + 1:]:
            return dotted[len(root) + 1:]
    return None


class _Rewriter(ast.NodeTransformer):
    def __init__(self, custom: set[str], where: str) -> None:
        self.custom_names = custom
        self.where = where
        self.arguments: set[str] = set()
        self.used: set[str] = set()
        self.custom: set[str] = set()

    def collect_arguments(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.arg):
                self.arguments.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.arguments.add(node.id)

    def fail(self, name: str, why: str = "is not in lamina's table of Keras names") -> Exception:
        hint = (f"If it is your own function, pass it: lamina.from_keras(path, "
                f"custom_objects={{'{name}': fn}})." if name.isidentifier() else
                "docs/keras.md lists the names lamina maps; rewrite the Lambda with those, or "
                "with a function of your own passed in custom_objects.")
        return UnknownFunctionError(f"{self.where}: the Keras lambda uses '{name}', which "
                                    f"{why}. {hint}")

    def op(self, module: str, name: str, written: str | None = None) -> ast.Attribute:
        if name not in allowlist.OPS:
            raise self.fail(written or f"{module}.{name}", "is not an op lamina's safe subset "
                            "allows")
        self.used.add(module)
        return ast.Attribute(value=ast.Name(id=module, ctx=ast.Load()), attr=name,
                             ctx=ast.Load())

    def resolve(self, dotted: str) -> tuple[ast.AST, Spec | None] | None:
        """The rewritten function for a dotted name, and its argument spec if renamed."""
        name = _split(dotted, _BACKEND)
        if name is not None:
            return self.op("K", name, dotted), None
        name = _split(dotted, _OPS)
        if name is not None:
            return self.op("ops", name, dotted), None
        name = _split(dotted, _TF)
        if name is not None:
            spec = TF.get(name)
            if spec is None:
                raise self.fail(dotted)
            return self.op("ops", spec.target), spec
        return None

    def visit_Call(self, node: ast.Call) -> ast.AST:
        dotted = _dotted(node.func)
        node.args = [self.visit(arg) for arg in node.args]
        node.keywords = [self.visit(keyword) for keyword in node.keywords]
        if dotted is None or dotted.split(".")[0] in self.arguments:
            node.func = self.visit(node.func)
            return node
        resolved = self.resolve(dotted)
        if resolved is None:
            node.func = self.visit(node.func)
            return node
        function, spec = resolved
        if spec is None:
            return ast.Call(func=function, args=node.args, keywords=node.keywords)
        return self.renamed_call(function, spec, node, dotted)

    def renamed_call(self, function: ast.AST, spec: Spec, node: ast.Call,
                     dotted: str) -> ast.Call:
        pairs = spec.pairs()
        if spec.params == ("equation",):  # einsum: the equation, then every operand
            return ast.Call(func=function, args=node.args, keywords=[])
        aliases = dict(spec.aliases)
        bound: dict[str, ast.expr] = {}
        if len(node.args) > len(pairs) or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(dotted, f"is called with {len(node.args)} positional arguments "
                                    "lamina cannot map")
        for (source_name, _), value in zip(pairs, node.args):
            bound[source_name] = value
        known = {source_name for source_name, _ in pairs}
        for keyword in node.keywords:
            key = aliases.get(keyword.arg or "", keyword.arg)
            if key not in known or key in bound:
                raise self.fail(f"{dotted}({keyword.arg}=...)",
                                "has an argument lamina's table does not map")
            bound[key] = keyword.value
        targets: dict[str, ast.expr] = {k: ast.Constant(v) for k, v in spec.defaults}
        for source_name, target in pairs:
            if source_name not in bound:
                continue
            value = bound[source_name]
            if target == "-":
                if not (isinstance(value, ast.Constant) and value.value in (None, False)
                        or source_name == "name"):
                    raise self.fail(f"{dotted}({source_name}=...)",
                                    "is only mapped at its default value")
                continue
            targets[target] = value
        if spec.target == "split" and "indices_or_sections" in targets:
            targets["indices_or_sections"] = self.split_points(
                targets["indices_or_sections"], dotted)
        order = [target for _, target in pairs if target != "-"]
        order += [k for k in targets if k not in order]
        args: list[ast.expr] = []
        for key in order[:spec.positional]:
            if key not in targets:
                break
            args.append(targets.pop(key))
        keywords = [ast.keyword(arg=k, value=targets[k]) for k in order if k in targets]
        return ast.Call(func=function, args=args, keywords=keywords)

    def split_points(self, value: ast.expr, dotted: str) -> ast.expr:
        """TensorFlow splits by a count or by sizes; lamina by a count or by indices."""
        if isinstance(value, ast.Constant) and type(value.value) is int:
            return value
        sizes = [_literal_int(item) for item in value.elts] if isinstance(
            value, (ast.List, ast.Tuple)) else [None]
        if None in sizes or any(size < 0 for size in sizes):  # type: ignore[operator]
            raise self.fail(f"{dotted}(num_or_size_splits=...)", "is only mapped for a "
                            "literal count or a literal list of sizes (no -1)")
        points, total = [], 0
        for size in sizes[:-1]:
            total += size  # type: ignore[operator]
            points.append(ast.Constant(total))
        return ast.List(elts=points, ctx=ast.Load())

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        dotted = _dotted(node)
        if dotted is None or dotted.split(".")[0] in self.arguments:
            node.value = self.visit(node.value)
            return node
        constant = _split(dotted, _CONSTANT_ROOTS)
        if constant in _CONSTANTS:
            return ast.Constant(_CONSTANTS[constant])
        dtype = _split(dotted, _DTYPE_ROOTS)
        if dtype in _DTYPES:
            return ast.Constant("bool" if dtype == "bool_" else dtype)
        resolved = self.resolve(dotted)
        if resolved is None:
            raise self.fail(dotted)
        return resolved[0]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if name in self.arguments or name in allowlist.BUILTINS or name in ("True", "False",
                                                                             "None"):
            return node
        if name in self.custom_names:
            self.custom.add(name)
            return node
        raise self.fail(name)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        flips: list[int] = []
        ellipsis = next((i for i, item in enumerate(items) if isinstance(item, ast.Constant)
                         and item.value is Ellipsis), None)
        for index, item in enumerate(items):
            if not isinstance(item, ast.Slice) or item.step is None:
                continue
            step = _literal_int(item.step)
            if step == 1:
                continue
            if step != -1 or item.lower is not None or item.upper is not None:
                raise self.fail(ast.unparse(node), "slices with a negative step other than a "
                                "whole axis reversed (::-1), which torch tensors cannot do")
            items[index] = ast.Slice()
            flips.append(_output_axis(items, index, ellipsis))
        if not flips:
            return node
        node.slice = ast.Tuple(elts=items, ctx=ast.Load()) if len(items) > 1 else items[0]
        whole = all(_is_whole(item) for item in items)
        self.used.add("K")
        axis: ast.expr = (ast.Constant(flips[0]) if len(flips) == 1 else
                          ast.Tuple(elts=[ast.Constant(a) for a in flips], ctx=ast.Load()))
        return ast.Call(func=ast.Attribute(value=ast.Name(id="K", ctx=ast.Load()), attr="flip",
                                           ctx=ast.Load()),
                        args=[node.value if whole else node],
                        keywords=[ast.keyword(arg="axis", value=axis)])


def _literal_int(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal_int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _is_whole(item: ast.expr) -> bool:
    """``:`` or ``...``: an index item that selects everything."""
    if isinstance(item, ast.Slice):
        return item.lower is None and item.upper is None and item.step is None
    return isinstance(item, ast.Constant) and item.value is Ellipsis


def _keeps_axis(item: ast.expr) -> int:
    """How many output axes an index item makes (an int index removes its axis)."""
    if isinstance(item, ast.Slice):
        return 1
    if isinstance(item, ast.Constant) and item.value is None:
        return 1
    return 0


def _output_axis(items: list[ast.expr], index: int, ellipsis: int | None) -> int:
    if ellipsis is not None and ellipsis < index:
        return -sum(_keeps_axis(item) for item in items[index:])
    return sum(_keeps_axis(item) for item in items[:index])

"""Keras's ``plot_model`` and ``model_to_dot``: a model's layer graph as an image.

The graph is read by duck typing (this module sits below ``lamina.models``):
``model.summary_rows()`` gives ``(layer, output shape, names of inbound layers)`` per
layer call. A model whose rows name no inbound layers is a stack when it has
``add`` and ``pop`` (Sequential: each row feeds the next) and is drawn as one node
otherwise (a subclassed model, as Keras draws it).

The image comes from Graphviz's ``dot`` program when :data:`DOT_PROGRAM` is found on
``PATH`` (lamina writes the DOT text; no pydot), else from matplotlib (the ``plot`` extra)
with a simple layered layout, so a bare machine can still plot. Set
``lamina.utils.model_plot.DOT_PROGRAM = None`` to always use matplotlib.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from lamina.errors import ArgumentError, MissingDependencyError, SaveError
from lamina.utils.shapes import format_shape, is_shape

#: The Graphviz program used when found on PATH; ``None`` forces the matplotlib drawing.
DOT_PROGRAM: str | None = "dot"

_RANKDIRS = ("TB", "LR", "BT", "RL")


@dataclass
class LayerGraph:
    """Nodes (id -> label lines), edges (source id, target id) and nested clusters."""

    nodes: dict[str, list[str]] = field(default_factory=dict)
    trainable: dict[str, bool] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    if is_shape(shape) or hasattr(shape, "__len__") and all(
            d is None or isinstance(d, int) for d in shape):
        return format_shape(tuple(shape))
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, (list, tuple)):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return str(shape)


def _activation_name(layer: Any) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", None) or type(activation).__name__


def _edges_of(model: Any, rows: list[tuple[Any, Any, list[str]]]) -> list[tuple[str, str]]:
    if any(inbound for _, _, inbound in rows):
        return [(source, layer.name) for layer, _, inbound in rows for source in inbound]
    if hasattr(model, "add") and hasattr(model, "pop"):
        names = [layer.name for layer, _, _ in rows]
        return list(zip(names, names[1:]))
    return []


def _is_model(layer: Any) -> bool:
    return callable(getattr(layer, "summary_rows", None)) and hasattr(layer, "layers")


def _label(layer: Any, shape: Any, input_shapes: list[Any], options: dict[str, bool]
           ) -> list[str]:
    kind = type(layer).__name__
    lines = [f"{layer.name} ({kind})" if options["show_layer_names"] else kind]
    activation = _activation_name(layer) if options["show_layer_activations"] else None
    if activation is not None:
        lines.append(f"Activation: {activation}")
    if options["show_dtype"]:
        dtype = getattr(layer, "dtype", None)
        lines.append(f"dtype: {str(dtype).removeprefix('torch.') if dtype else '?'}")
    if options["show_shapes"]:
        if input_shapes:
            shown = input_shapes[0] if len(input_shapes) == 1 else input_shapes
            lines.append(f"Input shape: {_shape_text(shown)}")
        lines.append(f"Output shape: {_shape_text(shape)}")
    if options["show_trainable"]:
        lines.append("Trainable" if getattr(layer, "trainable", True) else "Non-trainable")
    return lines


def _add_model(graph: LayerGraph, model: Any, prefix: str, options: dict[str, bool]
               ) -> tuple[list[str], list[str]]:
    """Add a model's layers; return its entry and exit node ids (for nesting)."""
    rows = model.summary_rows()
    if not rows or not any(inbound for _, _, inbound in rows) and not (
            hasattr(model, "add") and hasattr(model, "pop")):
        node = f"{prefix}{model.name}"
        graph.nodes[node] = _label(model, getattr(model, "output_shape", None), [], options)
        graph.trainable[node] = bool(getattr(model, "trainable", True))
        return [node], [node]
    shapes = {layer.name: shape for layer, shape, _ in rows}
    edges = _edges_of(model, rows)
    sources: dict[str, list[str]] = {}
    for source, target in edges:
        sources.setdefault(target, []).append(source)
    ends: dict[str, tuple[list[str], list[str]]] = {}
    for layer, shape, _ in rows:
        if layer.name in ends:
            continue  # a shared layer is one node, as in Keras
        if options["expand_nested"] and _is_model(layer):
            before = set(graph.nodes)
            ends[layer.name] = _add_model(graph, layer, f"{prefix}{layer.name}/", options)
            graph.clusters[f"{prefix}{layer.name}"] = [n for n in graph.nodes if n not in before]
            continue
        node = f"{prefix}{layer.name}"
        graph.nodes[node] = _label(layer, shape,
                                   [shapes.get(s) for s in sources.get(layer.name, [])],
                                   options)
        graph.trainable[node] = bool(getattr(layer, "trainable", True))
        ends[layer.name] = ([node], [node])
    for source, target in dict.fromkeys(edges):
        if source not in ends:
            continue
        for start in ends[source][1]:
            for end in ends[target][0]:
                graph.edges.append((start, end))
    fed = {target for _, target in edges}
    feeding = {source for source, _ in edges}
    entries = [n for name, (first, _) in ends.items() if name not in fed for n in first]
    exits = [n for name, (_, last) in ends.items() if name not in feeding for n in last]
    return entries, exits


def layer_graph(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                show_layer_names: bool = True, expand_nested: bool = False,
                show_layer_activations: bool = False, show_trainable: bool = False
                ) -> LayerGraph:
    """The model's layers as a :class:`LayerGraph` (what both renderers draw)."""
    if not callable(getattr(model, "summary_rows", None)):
        raise ArgumentError(
            "plot_model expects a lamina Model (with summary_rows()), received "
            f"{type(model).__name__}.")
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype,
               "show_layer_names": show_layer_names, "expand_nested": expand_nested,
               "show_layer_activations": show_layer_activations,
               "show_trainable": show_trainable}
    graph = LayerGraph()
    _add_model(graph, model, "", options)
    return graph


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200,
                 show_layer_activations: bool = False, show_trainable: bool = False) -> str:
    """The model's graph in Graphviz's DOT language (Keras returns a pydot object; lamina
    returns the text). Arguments as :func:`plot_model`.

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> model = lamina.Sequential([layers.Input((3,)), layers.Dense(2, name="hidden"),
        ...                            layers.Dense(1, name="out")])
        >>> '"hidden" -> "out";' in model_to_dot(model)
        True
    """
    if rankdir not in _RANKDIRS:
        raise ArgumentError(f"plot_model: `rankdir` must be one of {_RANKDIRS}. "
                            f"Received: rankdir={rankdir!r}.")
    graph = layer_graph(model, show_shapes=show_shapes, show_dtype=show_dtype,
                        show_layer_names=show_layer_names, expand_nested=expand_nested,
                        show_layer_activations=show_layer_activations,
                        show_trainable=show_trainable)
    lines = [f"digraph {_quote(model.name)} {{",
             f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica"];']
    clustered = {node for members in graph.clusters.values() for node in members}
    for node, label in graph.nodes.items():
        if node not in clustered:
            lines.append(_dot_node(node, label, graph.trainable[node], show_trainable))
    for index, (name, members) in enumerate(graph.clusters.items()):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote(name)}; style=dashed;")
        for node in members:
            lines.append("  " + _dot_node(node, graph.nodes[node], graph.trainable[node],
                                          show_trainable))
        lines.append("  }")
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(node: str, label: list[str], trainable: bool, show_trainable: bool) -> str:
    color = ', fillcolor="#f5e6e6"' if show_trainable and not trainable else ""
    return f"  {_quote(node)} [label={_quote(chr(10).join(label))}{color}];"


def _draw_with_matplotlib(graph: LayerGraph, path: str, rankdir: str, dpi: int) -> None:
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch, Rectangle
    except ImportError as error:
        raise MissingDependencyError(
            "plot_model needs Graphviz's `dot` program or matplotlib, and neither was found. "
            "Install matplotlib with pip install 'lamina[plot]' (or install Graphviz)."
        ) from error
    rank = dict.fromkeys(graph.nodes, 0)
    for _ in graph.nodes:  # longest path from an input: at most one pass per node
        for source, target in graph.edges:
            rank[target] = max(rank[target], rank[source] + 1)
    ranks: dict[int, list[str]] = {}
    for node in graph.nodes:
        ranks.setdefault(rank[node], []).append(node)
    depth, width = len(ranks), max(len(nodes) for nodes in ranks.values())
    box_w = 0.3 + max(1.3, 0.065 * max(len(line) for lines in graph.nodes.values()
                                       for line in lines))
    box_h = 0.25 + 0.17 * max(len(lines) for lines in graph.nodes.values())
    across, along = box_w + 0.5, box_h + 0.6
    vertical = rankdir in ("TB", "BT")
    position = {}
    for level, nodes in ranks.items():
        step = level if rankdir in ("TB", "LR") else depth - 1 - level
        for index, node in enumerate(nodes):
            offset = (index - (len(nodes) - 1) / 2) * (across if vertical else along)
            position[node] = ((offset, -step * along) if vertical
                              else (step * across, -offset))
    figure = Figure(figsize=((width if vertical else depth) * across + 0.4,
                             (depth if vertical else width) * along + 0.4), dpi=dpi)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 0.2)
    ax.set_ylim(min(ys) - box_h / 2 - 0.2, max(ys) + box_h / 2 + 0.2)
    for name, members in graph.clusters.items():
        left = min(position[n][0] for n in members) - box_w / 2 - 0.1
        bottom = min(position[n][1] for n in members) - box_h / 2 - 0.1
        ax.add_patch(Rectangle((left, bottom),
                               max(position[n][0] for n in members) + box_w / 2 + 0.1 - left,
                               max(position[n][1] for n in members) + box_h / 2 + 0.1 - bottom,
                               fill=False, linestyle="--", edgecolor="grey"))
        ax.text(left, bottom, name, fontsize=7, color="grey", va="top")
    for source, target in graph.edges:
        (x0, y0), (x1, y1) = position[source], position[target]
        dx, dy = x1 - x0, y1 - y0
        # Where the centre-to-centre line leaves a box: the arrow runs border to border.
        edge = min(box_w / 2 / abs(dx) if dx else float("inf"),
                   box_h / 2 / abs(dy) if dy else float("inf"))
        ax.annotate("", xy=(x1 - edge * dx, y1 - edge * dy),
                    xytext=(x0 + edge * dx, y0 + edge * dy),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444",
                                "shrinkA": 0, "shrinkB": 0})
    for node, lines in graph.nodes.items():
        x, y = position[node]
        color = "#eef3fb" if graph.trainable[node] else "#f5e6e6"
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", facecolor=color,
                                    edgecolor="#333333"))
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8)
    figure.savefig(path, dpi=dpi, format=os.path.splitext(path)[1][1:] or "png")


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False) -> str:
    """Write a picture of the model's layer graph (Keras's ``keras.utils.plot_model``).

    Uses Graphviz's ``dot`` when it is on ``PATH``, else matplotlib. A ``.dot`` file name
    writes the DOT text itself.

    Args:
        model: A lamina model (Functional, Sequential or subclassed).
        to_file: The image to write; its extension picks the format (``png``, ``svg``,
            ``pdf``, ``jpg`` or ``dot``). Default: ``"model.png"``.
        show_shapes: Show each layer's input and output shapes. Default: ``False``.
        show_dtype: Show each layer's dtype. Default: ``False``.
        show_layer_names: Show layer names (else class names only). Default: ``True``.
        rankdir: ``"TB"`` (top to bottom), ``"LR"``, ``"BT"`` or ``"RL"``. Default: ``"TB"``.
        expand_nested: Draw the layers of nested models, boxed. Default: ``False``.
        dpi: Image resolution. Default: ``200``.
        show_layer_activations: Show the activation of layers that have one.
            Default: ``False``.
        show_trainable: Mark non-trainable layers. Default: ``False``.

    Returns:
        The path written (Keras returns an IPython image in notebooks).

    Example:
        >>> import lamina, os, tempfile
        >>> from lamina import layers
        >>> model = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
        >>> path = plot_model(model, os.path.join(tempfile.mkdtemp(), "m.png"))
        >>> with open(path, "rb") as image:
        ...     image.read(4) == b"\\x89PNG"
        True
    """
    path = os.fspath(to_file)
    extension = os.path.splitext(path)[1][1:].lower() or "png"
    text = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                        show_layer_names=show_layer_names, rankdir=rankdir,
                        expand_nested=expand_nested, dpi=dpi,
                        show_layer_activations=show_layer_activations,
                        show_trainable=show_trainable)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        if extension == "dot":
            with open(path, "w") as handle:
                handle.write(text)
            return path
        program = shutil.which(DOT_PROGRAM) if DOT_PROGRAM else None
        if program is None:
            graph = layer_graph(model, show_shapes=show_shapes, show_dtype=show_dtype,
                                show_layer_names=show_layer_names,
                                expand_nested=expand_nested,
                                show_layer_activations=show_layer_activations,
                                show_trainable=show_trainable)
            _draw_with_matplotlib(graph, path, rankdir, dpi)
            return path
    except OSError as error:
        raise SaveError(f"plot_model could not write {path!r}: {error}. Choose a writable "
                        "path.") from error
    result = subprocess.run([program, f"-T{extension}", "-o", path], input=text,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SaveError(f"plot_model: Graphviz's dot failed to write {path!r} "
                        f"(exit {result.returncode}): {result.stderr.strip()[-500:]}")
    return path

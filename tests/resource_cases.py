"""Hostile files that try to exhaust time or memory at load, each under 1 MB.

Shared by ``tests/test_load_budget.py`` (what each load raises) and
``bench/hostile_load.py`` (the time and peak memory of ``load_model``, ``lamina check``
and ``lamina inspect`` on each). Every file derives from one small valid model: a Dense
layer, a Lambda named ``probe`` (``lambda x: x * 2.0``), compiled with SGD, whose entries
the cases edit.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archive_tools import config_entry, members, rezip

import lamina
from lamina import layers
from lamina.errors import CorruptArchiveError, LimitExceededError


@dataclasses.dataclass(frozen=True)
class ResourceCase:
    id: str
    write: Callable[[Path, Path], None]  # (base file, target) -> writes the hostile file
    error: type[BaseException] | None  # None: the file must load
    match: str = ""
    layer: str | None = None  # the message must name this layer


def base_model() -> lamina.Model:
    inputs = lamina.Input(shape=(4,), name="x")
    h = layers.Dense(4, name="dense")(inputs)
    model = lamina.Model(inputs, layers.Lambda(lambda x: x * 2.0, name="probe")(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


def save_base(path: Path) -> Path:
    base_model().save(path)
    return path


def _edited(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path, Path], None]:
    def write(base: Path, target: Path) -> None:
        files = members(base)
        config = json.loads(files["config.json"])
        edit(config)
        files["config.json"] = json.dumps(config, separators=(",", ":")).encode()
        rezip(target, files)

    return write


def _strip_records(node: Any) -> None:
    """Drop every Lambda's recorded output spec, so loading must infer it."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            item.pop("inferred", None)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


TORCH = {"torch": {"kind": "module", "module": "torch"}}


def probe_source(source: str, captured: dict[str, Any] | None = None
                 ) -> Callable[[Path, Path], None]:
    def edit(config: dict[str, Any]) -> None:
        _strip_records(config)
        config_entry(config, "probe")["config"]["function"] = {
            "kind": "source", "source": source, "captured": copy.deepcopy(captured or {})}

    return _edited(edit)


def _op_ones(config: dict[str, Any]) -> None:
    _strip_records(config)
    config_entry(config, "probe")["config"]["function"] = {
        "kind": "op", "op": "ones", "count": 1,
        "template": {"__tuple__": [{"__tuple__": [{"__tuple__": [100_000, 100_000]}]},
                                   {"__dict__": {}}]}}


def _chain(count: int, make_entry: Callable[[int], dict[str, Any]],
           records: bool = True) -> Callable[[dict[str, Any]], None]:
    """Replace the Lambda ``probe`` by ``count`` layers in a chain after ``dense``."""
    def edit(config: dict[str, Any]) -> None:
        graph = config["model"]["config"]
        entries = [e for e in graph["layers"] if e["name"] != "probe"]
        template = config_entry(config, "probe")
        previous = "dense"
        for index in range(count):
            entry = {**copy.deepcopy(make_entry(index)), "name": f"l{index}"}
            if records and entry["class_name"] == "Lambda" and "inferred" in template:
                entry["inferred"] = template["inferred"]
            entry["inbound_nodes"] = [{"args": [{"__ref__": [previous, 0, 0]}], "kwargs": {}}]
            entries.append(entry)
            previous = entry["name"]
        graph["layers"] = entries
        graph["output_layers"] = [previous, 0, 0]
        config.pop("compile_config", None)

    return edit


def _activation(index: int) -> dict[str, Any]:
    return {"class_name": "Activation", "config": {"name": f"l{index}", "activation": "linear"}}


def _many_entries(count: int) -> Callable[[dict[str, Any]], None]:
    """``count`` more (uncalled) layer entries, in about 50 bytes each."""
    def edit(config: dict[str, Any]) -> None:
        config["model"]["config"]["layers"].extend(
            {"class_name": "Activation", "name": f"l{index}", "config": {}}
            for index in range(count))

    return edit


def _lambda(source: str) -> Callable[[int], dict[str, Any]]:
    def make(index: int) -> dict[str, Any]:
        return {"class_name": "Lambda", "config": {
            "name": f"l{index}", "function": {"kind": "source", "source": source,
                                              "captured": {}}}}

    return make


def _shared_calls(count: int) -> Callable[[dict[str, Any]], None]:
    """The Dense layer called ``count`` times, each on the input."""
    def edit(config: dict[str, Any]) -> None:
        dense = config_entry(config, "dense")
        dense["inbound_nodes"] = [{"args": [{"__ref__": ["x", 0, 0]}], "kwargs": {}}] * count

    return edit


def _implausible(config: dict[str, Any]) -> None:
    """A thousand layer entries in 30 bytes each: fewer bytes than any real layer takes."""
    config["model"]["config"]["layers"].extend(
        [{"class_name": "A", "config": {}}] * 1_000)


def _jit(backend: Any) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        config["compile_config"]["jit"] = backend

    return edit


NESTED_LOOPS = ("def probe(x):\n    for i in range(10000):\n        for j in range(10000):\n"
                "            for k in range(10000):\n                x = x + 1.0\n    return x\n")
LONG_SOURCE = "def f(x):\n" + "    x = x + 1.0\n" * 1200 + "    return x\n"

CASES: list[ResourceCase] = [
    # Item 1: nothing from a file computes on real tensors at load.
    ResourceCase("int-of-sum-then-25000-squared-ones",
                 probe_source("def probe(x):\n    n = int(x.sum())\n"
                              "    return torch.ones(25000 + n, 25000)\n", TORCH),
                 CorruptArchiveError, "fake tensors only", "probe"),
    ResourceCase("op-ones-100000-squared", _edited(_op_ones), None),
    # Item 2: bounds that hold at run time.
    ResourceCase("range-of-abs-power", probe_source("lambda x: x + len(range(abs(10 ** 9)))"),
                 LimitExceededError, "made a range of more than 10000 items", "probe"),
    ResourceCase("power-of-computed-int", probe_source("lambda x: x * (9 ** int(10 ** 8))"),
                 LimitExceededError, "integer wider than 4096 bits", "probe"),
    ResourceCase("range-of-numel-times-10-to-12",
                 probe_source("lambda x: x + len(range(int(x.numel()) * 10 ** 12))"),
                 LimitExceededError, "made a range of more than", "probe"),
    ResourceCase("three-nested-loops-of-10000", probe_source(NESTED_LOOPS),
                 LimitExceededError, "iterations in one call while its file loads", "probe"),
    ResourceCase("string-times-computed-count",
                 probe_source("def probe(x):\n    s = 'a'\n    n = x.numel()\n"
                              "    t = s * (n * 50000)\n    return x\n"),
                 LimitExceededError, "sequence of more than 10000 items", "probe"),
    ResourceCase("string-doubled-60-times",
                 probe_source("def probe(x):\n    s = 'ab'\n    for i in range(60):\n"
                              "        s = s + s\n    return x\n"),
                 LimitExceededError, "iterations in one call while its file loads", "probe"),
    ResourceCase("string-format-width",
                 probe_source("lambda x: x + len(('%0' + '999999999d') % x.ndim)"),
                 LimitExceededError, "formats a string with '%'", "probe"),
    # Item 3: a budget for the whole file.
    ResourceCase("5000-activation-layers", _edited(_chain(5_000, _activation)), None),
    ResourceCase("2500-lambdas-without-recorded-specs",
                 _edited(_chain(2_500, _lambda("lambda x: x + 1.0"), records=False)),
                 LimitExceededError, "load budget"),
    ResourceCase("40-lambdas-of-1200-statements",
                 _edited(_chain(40, _lambda(LONG_SOURCE), records=False)),
                 LimitExceededError, "load budget"),
    # 10,001 entries, the model, its input, dense and probe (dense's initializer configs are
    # not layers).
    ResourceCase("10001-layers", _edited(_many_entries(10_001)),
                 LimitExceededError, "describes 10005 layers; a file may describe at most"),
    ResourceCase("layers-denser-than-plausible", _edited(_implausible),
                 LimitExceededError, "at most"),
    ResourceCase("one-layer-called-20000-times", _edited(_shared_calls(20_000)),
                 LimitExceededError, "describes 20001 layer calls"),
    # Item 4: a file cannot choose what torch.compile imports.
    ResourceCase("jit-backend-tvm", _edited(_jit("tvm")), CorruptArchiveError,
                 "names the jit backend 'tvm'"),
    ResourceCase("jit-backend-a-list", _edited(_jit(["inductor"])), CorruptArchiveError,
                 "names the jit backend"),
    ResourceCase("jit-backend-inductor", _edited(_jit("inductor")), None),
]

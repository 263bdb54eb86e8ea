"""Hostile and broken ``.lamina`` files: every load is a specific LoadError, nothing runs.

One valid archive is saved from a small Functional model (source-tier Lambdas, one of them
capturing a layer and a Variable, and an op-tier node). Each case of the corpus derives a
variant from it by editing the JSON, the safetensors bytes or the zip structure itself, and
says which error it must raise and what the message must name. Every code payload tries a
real side effect (writing a canary file under ``tmp_path``); every test checks that the
file never appears, that lamina's global state is untouched and that ``pickle``, ``marshal``
and ``torch.load`` were never called.

A case the loader does not refuse today is ``xfail(strict=True)`` with ``HOLE:`` in its
reason: the test states the requirement, the mark records that lamina does not meet it yet.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import marshal
import pickle
import struct
import sys
import types
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# safetensors' save imports numpy.ctypeslib lazily: imported here, its first import (from a
# .pyc, through marshal) cannot happen while the recorder of marshal calls below is active.
import numpy.ctypeslib  # noqa: F401
import pytest
import torch

# Likewise what the first fake-tensor inference of a process imports (ShapeEnv's validator).
import torch._dynamo  # noqa: F401
import torch.fx.experimental.validator  # noqa: F401
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

import lamina
from lamina import backend as K
from lamina import layers
from lamina.errors import (
    CorruptArchiveError,
    LimitExceededError,
    LoadError,
    UnknownFunctionError,
    UnsafeFunctionError,
)
from lamina.saving import api, archive

# ---------------------------------------------------------------------- the valid archive


def centre(x):
    return x - K.mean(x, axis=-1, keepdims=True)


def build_model() -> lamina.Model:
    """Dense -> ``lambda x: x * 2.0`` -> ``centre`` (K.mean) -> Lambda capturing a layer and
    a Variable -> ``+ 1.0`` (an op-tier node)."""
    torch.manual_seed(0)
    proj = layers.Dense(3, name="proj")
    scale = lamina.Variable(torch.full((3,), 0.5))
    inputs = lamina.Input(shape=(4,), name="input_layer")  # named: the cases refer to it
    h = layers.Dense(3, name="dense")(inputs)
    h = layers.Lambda(lambda x: x * 2.0, name="twice")(h)
    h = layers.Lambda(centre, name="centre")(h)
    h = layers.Lambda(lambda x: proj(x) * scale, name="mix")(h)
    return lamina.Model(inputs, h + 1.0)


@dataclasses.dataclass(frozen=True)
class Clean:
    members: dict[str, bytes]
    config: dict[str, Any]
    model: lamina.Model


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Clean:
    model = build_model()
    path = tmp_path_factory.mktemp("clean") / "model.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as stored:
        members = {info.filename: stored.read(info.filename) for info in stored.infolist()}
    config = json.loads(members[archive.CONFIG])
    return Clean(members, config, model)


# ---------------------------------------------------------------------- zip by hand
@dataclasses.dataclass
class Member:
    """One zip entry, written by hand so that every header field can lie."""

    name: str
    data: bytes
    declared_size: int | None = None  # uncompressed size in the central directory
    crc: int | None = None
    flags: int = 0
    method: int = 0  # 0 stored, 8 deflated, anything else unsupported
    local_name: str | None = None  # the name in the local header, if it differs
    zip64_size: int | None = None  # declare this size through a ZIP64 extra field


def build_zip(members: list[Member]) -> bytes:
    out = bytearray()
    central = bytearray()
    for member in members:
        payload = member.data
        if member.method == 8:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = compressor.compress(member.data) + compressor.flush()
        crc = zlib.crc32(member.data) if member.crc is None else member.crc
        size = len(member.data) if member.declared_size is None else member.declared_size
        local_name = (member.name if member.local_name is None else member.local_name).encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, member.flags, member.method, 0,
                           0x21, crc, len(payload), min(size, 0xFFFFFFFF), len(local_name), 0)
        out += local_name + payload
        extra = b""
        if member.zip64_size is not None:
            extra = struct.pack("<HHQ", 1, 8, member.zip64_size)
            size = 0xFFFFFFFF
        name = member.name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if extra else 20,
                               member.flags, member.method, 0, 0x21, crc, len(payload), size,
                               len(name), len(extra), 0, 0, 0, 0, offset)
        central += name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def split_safetensors(data: bytes) -> tuple[dict[str, Any], bytes]:
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def join_safetensors(header: dict[str, Any], body: bytes, length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return (len(text) if length is None else length).to_bytes(8, "little") + text + body


# ---------------------------------------------------------------------- one case's world
class Ctx:
    """A fresh copy of the clean archive for one case to damage."""

    def __init__(self, clean: Clean, canary: Path) -> None:
        self.members = dict(clean.members)
        self.config = copy.deepcopy(clean.config)
        self.canary = canary

    def code(self, template: str) -> str:
        """A payload with ``CANARY`` replaced by the canary file's path as a literal."""
        return template.replace("CANARY", repr(str(self.canary)))

    def layer(self, name: str) -> dict[str, Any]:
        for entry in self.config["model"]["config"]["layers"]:
            if entry["name"] == name:
                return entry
        raise KeyError(name)

    def function(self, name: str) -> dict[str, Any]:
        return self.layer(name)["config"]["function"]

    def entries(self) -> list[Member]:
        members = dict(self.members)
        members[archive.CONFIG] = json.dumps(self.config).encode()
        return [Member(name, data) for name, data in members.items()]

    def pack(self) -> bytes:
        return build_zip(self.entries())

    def weights(self) -> tuple[dict[str, Any], bytes]:
        return split_safetensors(self.members[archive.WEIGHTS])


Mutation = Callable[[Ctx], "bytes | None"]


@dataclasses.dataclass(frozen=True)
class Case:
    mutate: Mutation
    error: type[BaseException] | tuple[type[BaseException], ...]
    match: str
    layer: str | None = None  # the message must name this layer
    safe_mode: bool = True


def case(case_id: str, mutate: Mutation, error: Any, match: str, *, layer: str | None = None,
         safe_mode: bool = True, hole: str | None = None,
         raises: type[BaseException] | None = None) -> Any:
    marks = []
    if hole is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=f"HOLE: {hole}", raises=raises))
    return pytest.param(Case(mutate, error, match, layer, safe_mode), id=case_id, marks=marks)


def source(layer: str, template: str, captured: dict[str, Any] | None = None) -> Mutation:
    """Replace a Lambda's saved source (and optionally its captured entries)."""
    def mutate(ctx: Ctx) -> None:
        entry = ctx.function(layer)
        entry["source"] = ctx.code(template)
        if captured is not None:
            entry["captured"] = copy.deepcopy(captured)

    return mutate


def function(layer: str, make: Callable[[Ctx], dict[str, Any]]) -> Mutation:
    """Replace a Lambda's whole function entry."""
    def mutate(ctx: Ctx) -> None:
        ctx.layer(layer)["config"]["function"] = make(ctx)

    return mutate


def config_field(key: str, make: Callable[[Ctx], Any], layer: str | None = None) -> Mutation:
    """Set a key of a layer's config (or of config.json itself when ``layer`` is None)."""
    def mutate(ctx: Ctx) -> None:
        target = ctx.config if layer is None else ctx.layer(layer)["config"]
        target[key] = make(ctx)

    return mutate


def raw_config(make: Callable[[Ctx], bytes]) -> Mutation:
    def mutate(ctx: Ctx) -> bytes:
        ctx.members[archive.CONFIG] = make(ctx)
        return build_zip([Member(n, d) for n, d in ctx.members.items()])

    return mutate


def zipped(edit: Callable[[Ctx, list[Member]], list[Member]]) -> Mutation:
    return lambda ctx: build_zip(edit(ctx, ctx.entries()))


def weights(edit: Callable[[Ctx], bytes]) -> Mutation:
    def mutate(ctx: Ctx) -> None:
        ctx.members[archive.WEIGHTS] = edit(ctx)

    return mutate


def header_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Ctx], bytes]:
    def make(ctx: Ctx) -> bytes:
        header, body = ctx.weights()
        edit(header)
        return join_safetensors(header, body)

    return make


def tensors_edit(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Ctx], bytes]:
    """Re-save the weights after editing them as tensors (the file stays well-formed)."""
    def make(ctx: Ctx) -> bytes:
        header, _ = ctx.weights()
        tensors = load_safetensors(ctx.members[archive.WEIGHTS])
        edit(tensors)
        return save_safetensors(tensors, metadata=header.get("__metadata__"))

    return make


def payload_code(ctx: Ctx) -> types.CodeType:
    """Real bytecode of a function that writes the canary (what a bytecode entry holds)."""
    text = ctx.code("def payload(x):\n    open(CANARY, 'w').close()\n    return x\n")
    module = compile(text, "<payload>", "exec")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def bytecode_entry(ctx: Ctx, python: str | None = None,
                   captured: dict[str, Any] | None = None) -> dict[str, Any]:
    import base64

    version = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    return {"kind": "bytecode", "python": version, "name": "payload",
            "code": base64.b64encode(marshal.dumps(payload_code(ctx))).decode("ascii"),
            "captured": captured or {}}


def graph_entry(*nodes: dict[str, Any]) -> dict[str, Any]:
    placeholder = {"op": "placeholder", "name": "x", "target": "x", "args": [], "kwargs": {}}
    last = nodes[-1]["name"]
    output = {"op": "output", "name": "output", "target": "output",
              "args": [{"__node__": last}], "kwargs": {}}
    return {"kind": "graph", "nodes": [placeholder, *nodes, output], "captured": {}}


def call_node(name: str, op: str, target: str, *args: Any) -> dict[str, Any]:
    return {"op": op, "name": name, "target": target, "args": list(args), "kwargs": {}}


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def deep_args(ctx: Ctx) -> None:
    node = ctx.layer("dense")["inbound_nodes"][0]
    node["args"] = [nested(600, node["args"][0])]


TORCH = {"torch": {"kind": "module", "module": "torch"}}
OPS = {"ops": {"kind": "module", "module": "lamina.ops"}}
SYNTAX = "compile() raises a bare SyntaxError that load_model does not turn into a LoadError"


def op_entry(op: str, *args: Any) -> Callable[[Ctx], dict[str, Any]]:
    template = {"__tuple__": [{"__tuple__": list(args)}, {"__dict__": {}}]}
    return lambda ctx: {"kind": "op", "op": op, "count": 1, "template": template}


# ---------------------------------------------------------------------- the corpus
SOURCE_ATTACKS = [
    case("open", source("twice", "lambda x: open(CANARY, 'w')"),
         UnsafeFunctionError, "the name 'open'", layer="twice"),
    case("__import__-os-system",
         source("twice", "lambda x: __import__('os').system('touch ' + CANARY)"),
         UnsafeFunctionError, "the attribute or method '.system'", layer="twice"),
    case("__import__-args-first",
         source("twice", "lambda x: __import__('os', {}, {}, [], open(CANARY, 'w') and 0)"),
         UnsafeFunctionError, "the name '__import__'", layer="twice"),
    case("exec", source("twice", "lambda x: exec('open(' + repr(CANARY) + ', \"w\")')"),
         UnsafeFunctionError, "the name 'exec'", layer="twice"),
    case("eval", source("twice", "lambda x: eval('open(' + repr(CANARY) + ', \"w\")')"),
         UnsafeFunctionError, "the name 'eval'", layer="twice"),
    case("compile", source("twice", "lambda x: compile('1', CANARY, 'eval')"),
         UnsafeFunctionError, "the name 'compile'", layer="twice"),
    case("mro-subclasses-walk",
         source("twice", "lambda x: [c for c in ().__class__.__mro__[1].__subclasses__() "
                         "if c.__name__ == 'FileIO'][0](CANARY, 'w')"),
         UnsafeFunctionError, "'__subclasses__' (names starting with '_')", layer="twice"),
    case("class-attribute", source("twice", "lambda x: x.__class__.__init__.__globals__"),
         UnsafeFunctionError, "'__globals__'", layer="twice"),
    case("getattr-numpy-tofile",
         source("twice", "lambda x: getattr(getattr(x, 'numpy')(), 'tofile')(CANARY)"),
         UnsafeFunctionError, "the name 'getattr'", layer="twice"),
    case("setattr", source("twice", "lambda x: setattr(x, 'data', open(CANARY, 'w'))"),
         UnsafeFunctionError, "the name 'setattr'", layer="twice"),
    case("numpy-tofile", source("twice", "lambda x: x.numpy().tofile(CANARY)"),
         UnsafeFunctionError, "'.tofile'", layer="twice"),
    case("storage-to-file",
         source("twice", "lambda x: x.untyped_storage().from_file(CANARY, True, 4)"),
         UnsafeFunctionError, "'.from_file'", layer="twice"),
    case("torch.load", source("twice", "lambda x: torch.load(torch.save(x, CANARY))", TORCH),
         UnsafeFunctionError, "'torch.load' (not in the allowlist)", layer="twice"),
    case("torch.save", source("twice", "lambda x: torch.save(x, CANARY)", TORCH),
         UnsafeFunctionError, "'torch.save' (not in the allowlist)", layer="twice"),
    case("torch.from_file",
         source("twice", "lambda x: torch.from_file(CANARY, shared=True, size=4)", TORCH),
         UnsafeFunctionError, "'torch.from_file' (not in the allowlist)", layer="twice"),
    case("torch.nn.Module", source("twice", "lambda x: torch.nn.Module.apply", TORCH),
         UnsafeFunctionError, "'torch.nn.Module.apply' (not in the allowlist)", layer="twice"),
    case("ops.__dict__",
         source("twice", "lambda x: ops.__dict__['__builtins__']['open'](CANARY, 'w')", OPS),
         UnsafeFunctionError, "'__dict__'", layer="twice"),
    case("expression-statement-call",
         source("centre", "def centre(x):\n    K.set_epsilon(open(CANARY, 'w'))\n"
                          "    return x\n"),
         UnsafeFunctionError, "expression statement", layer="centre"),
    case("K-not-an-op", source("centre", "def centre(x):\n    y = K.set_epsilon(1.0)\n"
                                         "    return x\n"),
         UnsafeFunctionError, "'lamina.backend.set_epsilon' (not in the allowlist)",
         layer="centre"),
    case("lambda-default-call", source("twice", "lambda x, y=open(CANARY, 'w'): x"),
         UnsafeFunctionError, "a default value that is not a literal", layer="twice"),
    case("lambda-kwonly-default-call", source("twice", "lambda x, *, y=open(CANARY, 'w'): x"),
         UnsafeFunctionError, "a default value that is not a literal", layer="twice"),
    case("def-default-call",
         source("centre", "def centre(x, y=open(CANARY, 'w')):\n    return x\n"),
         UnsafeFunctionError, "a default value that is not a literal", layer="centre"),
    case("nested-lambda-default",
         source("twice", "lambda x: (lambda y=open(CANARY, 'w'): y)() and x"),
         UnsafeFunctionError, "a default value that is not a literal", layer="twice"),
    case("decorator",
         source("centre", "@(lambda fn: [open(CANARY, 'w'), fn][1])\ndef centre(x):\n"
                          "    return x\n"),
         UnsafeFunctionError, "a decorator", layer="centre"),
    case("f-string", source("twice", "lambda x: f\"{open(CANARY, 'w')}\" and x"),
         UnsafeFunctionError, "'JoinedStr'", layer="twice"),
    case("format-string", source("twice", "lambda x: '{0.__class__}'.format(x)"),
         UnsafeFunctionError, "'.format'", layer="twice"),
    case("while-true", source("centre", "def centre(x):\n    while True:\n"
                                        "        y = open(CANARY, 'w')\n    return x\n"),
         UnsafeFunctionError, "'While'", layer="centre"),
    case("import", source("centre", "def centre(x):\n    import os\n"
                                    "    os.system('touch ' + CANARY)\n    return x\n"),
         UnsafeFunctionError, "'Import'", layer="centre"),
    case("import-from", source("centre", "def centre(x):\n    from os import system\n"
                                         "    return system('touch ' + CANARY)\n"),
         UnsafeFunctionError, "'ImportFrom'", layer="centre"),
    case("nested-def", source("centre", "def centre(x):\n    def inner():\n"
                                        "        return open(CANARY, 'w')\n    return x\n"),
         UnsafeFunctionError, "a nested def", layer="centre"),
    case("global", source("centre", "def centre(x):\n    global K\n"
                                    "    K = open(CANARY, 'w')\n    return x\n"),
         UnsafeFunctionError, "'Global'", layer="centre"),
    case("yield", source("centre", "def centre(x):\n    y = yield open(CANARY, 'w')\n"
                                   "    return x\n"),
         UnsafeFunctionError, "'Yield'", layer="centre"),
    case("lambda-yield", source("twice", "lambda: (yield open(CANARY, 'w'))"),
         UnsafeFunctionError, "'Yield'", layer="twice"),
    case("await", source("twice", "lambda x: (await open(CANARY, 'w'))"),
         UnsafeFunctionError, "'Await'", layer="twice"),
    case("walrus", source("twice", "lambda x: (f := open(CANARY, 'w')) and x"),
         UnsafeFunctionError, "'NamedExpr'", layer="twice"),
    case("star-call", source("twice", "lambda x: open(*[CANARY, 'w'])"),
         UnsafeFunctionError, "'*' unpacking", layer="twice"),
    case("star-star-call", source("twice", "lambda x: dict(**{'f': open(CANARY, 'w')})"),
         UnsafeFunctionError, "'**' unpacking", layer="twice"),
    case("star-list", source("twice", "lambda x: [*[open(CANARY, 'w')]]"),
         UnsafeFunctionError, "'Starred'", layer="twice"),
    case("star-params", source("twice", "lambda *a: open(CANARY, 'w')"),
         UnsafeFunctionError, "'*args' or '**kwargs'", layer="twice"),
    case("star-assign", source("centre", "def centre(x):\n    a, *b = [open, CANARY]\n"
                                         "    return x\n"),
         UnsafeFunctionError, "assigning into an item or attribute", layer="centre"),
    case("type", source("twice", "lambda x: type('A', (), {'f': open(CANARY, 'w')})"),
         UnsafeFunctionError, "the name 'type'", layer="twice"),
    case("globals", source("twice", "lambda x: globals()['open'](CANARY, 'w')"),
         UnsafeFunctionError, "the name 'globals'", layer="twice"),
    case("vars-builtins", source("twice", "lambda x: vars(abs)['open'](CANARY, 'w')"),
         UnsafeFunctionError, "the name 'vars'", layer="twice"),
    case("builtins-name", source("twice", "lambda x: __builtins__['open'](CANARY, 'w')"),
         UnsafeFunctionError, "'__builtins__'", layer="twice"),
    case("attribute-store", source("centre", "def centre(x):\n    x.data = open(CANARY, 'w')\n"
                                             "    return x\n"),
         UnsafeFunctionError, "assigning into an item or attribute", layer="centre"),
    case("try-except", source("centre", "def centre(x):\n    try:\n        y = open(CANARY, 'w')"
                                        "\n    except OSError:\n        pass\n    return x\n"),
         UnsafeFunctionError, "'Try'", layer="centre"),
    case("with", source("centre", "def centre(x):\n    with open(CANARY, 'w') as f:\n"
                                  "        pass\n    return x\n"),
         UnsafeFunctionError, "'With'", layer="centre"),
    case("class-def", source("centre", "class centre:\n    f = open(CANARY, 'w')\n"),
         UnsafeFunctionError, "a top-level 'ClassDef'", layer="centre"),
    case("async-def", source("centre", "async def centre(x):\n    return open(CANARY, 'w')\n"),
         UnsafeFunctionError, "a top-level 'AsyncFunctionDef'", layer="centre"),
    case("bare-expression", source("twice", "open(CANARY, 'w')"),
         UnsafeFunctionError, "a top-level 'Expr'", layer="twice"),
    case("two-statements", source("twice", "lambda x: x\nopen(CANARY, 'w')"),
         UnsafeFunctionError, "more than one top-level statement", layer="twice"),
    case("annotation-kept-in-lambda-body",
         source("centre", "def centre(x):\n    y: open(CANARY, 'w') = 1\n    return x\n"),
         UnsafeFunctionError, "'AnnAssign'", layer="centre"),
    case("captured-layer-attribute",
         source("mix", "lambda x: proj.apply(lambda m: open(CANARY, 'w'))"),
         UnsafeFunctionError, "the layer attribute 'apply'", layer="mix"),
    case("captured-layer-forward-hook",
         source("mix", "lambda x: proj.register_forward_hook(lambda *a: open(CANARY, 'w'))"),
         UnsafeFunctionError, "the layer attribute 'register_forward_hook'", layer="mix"),
    case("captured-weight-to-file", source("mix", "lambda x: proj.kernel.numpy().tofile(CANARY)"),
         UnsafeFunctionError, "'.tofile'", layer="mix"),
    case("captured-variable-numpy", source("mix", "lambda x: scale.numpy().tofile(CANARY)"),
         UnsafeFunctionError, "'.tofile'", layer="mix"),
    case("huge-int-literal", source("twice", "lambda x: x * " + "9" * 400),
         UnsafeFunctionError, "the integer literal", layer="twice"),
    case("int-literal-over-str-digits", source("twice", "lambda x: x * " + "9" * 5000),
         UnsafeFunctionError, "source that does not parse", layer="twice"),
    case("constant-power", source("twice", "lambda x: x * 2 ** 10 ** 10"),
         UnsafeFunctionError, "a constant power or shift", layer="twice"),
    case("constant-shift", source("twice", "lambda x: x * (1 << 10 ** 10)"),
         UnsafeFunctionError, "a constant power or shift", layer="twice"),
    case("sequence-repeat", source("twice", "lambda x: [0] * 10 ** 10"),
         UnsafeFunctionError, "repeating a sequence", layer="twice"),
    case("huge-range", source("centre", "def centre(x):\n    for i in range(10000000000):\n"
                                        "        x = x + 1\n    return x\n"),
         UnsafeFunctionError, "range() over more than", layer="centre"),
    case("deeply-nested-expression",
         source("twice", "lambda x: " + "(x + " * 100 + "open(CANARY, 'w')" + ")" * 100),
         UnsafeFunctionError, "nesting deeper than", layer="twice"),
    case("long-operator-chain", source("twice", "lambda x: " + " + ".join(["x"] * 200)),
         UnsafeFunctionError, "nesting deeper than", layer="twice"),
    case("operator-chain-beyond-the-parser",
         source("twice", "lambda x: " + " + ".join(["x"] * 3000)),
         UnsafeFunctionError, "nesting deeper than 200 levels (counted", layer="twice"),
    case("too-many-parentheses", source("twice", "lambda x: " + "(" * 1000 + "x" + ")" * 1000),
         UnsafeFunctionError, "nesting deeper than 200 levels (counted", layer="twice"),
    case("source-too-long", source("twice", "lambda x: x" + " " * 30000),
         UnsafeFunctionError, "longer than", layer="twice"),
    case("nul-byte", source("twice", "lambda x: x\x00open(CANARY, 'w')"),
         UnsafeFunctionError, "source that does not parse", layer="twice"),
    case("argument-passed-path",
         lambda ctx: (source("twice", "lambda x, path: open(path, 'w')")(ctx),
                      ctx.layer("twice")["config"].update(
                          arguments={"__dict__": {"path": str(ctx.canary)}}))[0],
         UnsafeFunctionError, "the name 'open'", layer="twice"),
    # -- the limits, bypassed: these pass the validator and run during load's shape inference
    case("range-over-computed-constant",
         source("centre", "def centre(x):\n    for i in range(10 ** 4 + 1):\n"
                          "        pass\n    return x\n"),
         UnsafeFunctionError, "range", layer="centre"),
    case("power-of-a-call", source("twice", "lambda x: x * (abs(9) ** 10 ** 3 > 0)"),
         UnsafeFunctionError, "power", layer="twice"),
    case("builtin-pow", source("twice", "lambda x: x * (pow(9, 10 ** 3) > 0)"),
         UnsafeFunctionError, "pow", layer="twice"),
    case("repeat-a-repetition", source("twice", "lambda x: x * (len(('ab' * 1000) * 100) > 0)"),
         UnsafeFunctionError, "too large", layer="twice"),
    case("layer-method-through-an-alias",
         source("mix", "lambda x: [proj][0].double() and proj(x) * scale"),
         CorruptArchiveError, 'only call a captured layer', layer="mix"),
    case("captured-module-name-rebound-to-a-layer",
         lambda ctx: ctx.function("mix").update(
             source="def mix(x):\n    torch = proj\n    y = torch.bfloat16()\n"
                    "    return proj(x) * scale\n",
             captured={**ctx.function("mix")["captured"], **TORCH}),
         UnsafeFunctionError, "assigning to 'torch'", layer="mix"),
    case("duplicate-argument", source("twice", "lambda x, x: x"),
         UnsafeFunctionError, 'parameter name used twice', layer="twice"),
    case("async-comprehension", source("twice", "lambda x: [i async for i in x]"),
         UnsafeFunctionError, "async", layer="twice"),
    case("statically-nested-blocks",
         source("centre", "def centre(x):\n" + "".join(
             "    " * (i + 1) + f"for i{i} in range(1):\n" for i in range(21))
             + "    " * 22 + "x = x + 0.0\n    return x\n"),
         UnsafeFunctionError, 'does not compile', layer="centre"),
]

CAPTURED_ATTACKS = [
    case("captured-module-os",
         source("twice", "lambda x: os.system('touch ' + CANARY)",
                {"os": {"kind": "module", "module": "os"}}),
         (UnsafeFunctionError, CorruptArchiveError), "'os'", layer="twice"),
    case("captured-module-builtins",
         source("twice", "lambda x: builtins.open(CANARY, 'w')",
                {"builtins": {"kind": "module", "module": "builtins"}}),
         (UnsafeFunctionError, CorruptArchiveError), "'builtins'", layer="twice"),
    case("captured-builtins-name",
         source("twice", "lambda x: open(CANARY, 'w')",
                {"__builtins__": {"kind": "literal", "value": {"__dict__": {}}}}),
         UnsafeFunctionError, "the captured name '__builtins__'", layer="twice"),
    case("captured-attribute-torch.load",
         source("twice", "lambda x: f(CANARY)",
                {"f": {"kind": "function",
                       "function": {"kind": "attribute", "module": "torch", "name": "load"}}}),
         CorruptArchiveError, "'torch.load' is not allowed", layer="twice"),
    case("captured-attribute-os.system",
         source("twice", "lambda x: f('touch ' + CANARY)",
                {"f": {"kind": "function",
                       "function": {"kind": "attribute", "module": "os", "name": "system"}}}),
         CorruptArchiveError, "module 'os' is not in the allowlist"),
    case("captured-attribute-dunder",
         source("twice", "lambda x: f",
                {"f": {"kind": "function", "function": {
                    "kind": "attribute", "module": "torch", "name": "__builtins__"}}}),
         CorruptArchiveError, "'torch.__builtins__' is not allowed", layer="twice"),
    case("captured-registered-os-system",
         source("twice", "lambda x: f('touch ' + CANARY)",
                {"f": {"kind": "function",
                       "function": {"kind": "registered", "name": "os>system"}}}),
         UnknownFunctionError, "'os>system'"),
    case("captured-nested-source",
         source("twice", "lambda x: g(x)",
                {"g": {"kind": "function", "function": {
                    "kind": "source", "source": "lambda y: open(CANARY, 'w')", "captured": {}}}}),
         UnsafeFunctionError, "the name 'open'", layer="twice"),
    case("captured-unknown-kind",
         source("twice", "lambda x: f", {"f": {"kind": "pickle", "data": "gASVAAAAAAAAAAA="}}),
         CorruptArchiveError, "unknown captured value", layer="twice"),
    case("captured-literal-unknown-tag",
         source("twice", "lambda x: f", {"f": {"kind": "literal", "value": {"__reduce__": []}}}),
         CorruptArchiveError, "Unrecognised constant"),
    case("captured-literal-dtype-not-a-dtype",
         source("twice", "lambda x: f",
                {"f": {"kind": "literal", "value": {"__dtype__": "load"}}}),
         CorruptArchiveError, "Unknown dtype in config: 'load'"),
    case("captured-layer-class-os.system",
         lambda ctx: ctx.function("mix")["captured"]["proj"]["layer"].update(
             class_name="os.system"),
         UnknownFunctionError, "Unknown layer class 'os.system'"),
    case("captured-huge-tensor",
         source("twice", "lambda x: x * w", {"w": {"kind": "tensor", "key": "w",
                                                   "shape": [10 ** 6] * 3, "dtype": "float32"}}),
         CorruptArchiveError, 'more than the file', layer="twice"),
    case("captured-negative-shape",
         source("twice", "lambda x: x * w", {"w": {"kind": "tensor", "key": "w",
                                                   "shape": [-1], "dtype": "float32"}}),
         CorruptArchiveError, 'must not be negative', layer="twice"),
    case("mask-function",
         config_field("mask", lambda ctx: {"kind": "source", "captured": {},
                                           "source": ctx.code("lambda i, m: open(CANARY, 'w')")},
                      "twice"),
         UnsafeFunctionError, "the name 'open'", layer="twice"),
    case("output-shape-function",
         config_field("output_shape",
                      lambda ctx: {"kind": "source", "captured": {},
                                   "source": ctx.code("lambda s: open(CANARY, 'w')")}, "twice"),
         UnsafeFunctionError, "the name 'open'", layer="twice"),
]

TIER_ATTACKS = [
    case("bytecode-safe-mode", function("twice", bytecode_entry),
         UnsafeFunctionError, "safe mode never loads", layer="twice"),
    case("bytecode-safe-mode-captured-os",
         function("twice", lambda ctx: bytecode_entry(
             ctx, captured={"os": {"kind": "module", "module": "os"}})),
         UnsafeFunctionError, "safe mode never loads", layer="twice"),
    case("bytecode-other-python-unsafe-mode",
         function("twice", lambda ctx: bytecode_entry(ctx, python="2.7")),
         LoadError, "bytecode was written by Python 2.7", layer="twice", safe_mode=False),
    case("graph-builtins.eval",
         function("twice", lambda ctx: graph_entry(call_node(
             "e", "call_function", "builtins.eval", ctx.code("open(CANARY, 'w')")))),
         CorruptArchiveError, "'builtins.eval', outside the allowlist"),
    case("graph-os.system",
         function("twice", lambda ctx: graph_entry(call_node(
             "e", "call_function", "os.system", ctx.code("'touch ' + CANARY")))),
         CorruptArchiveError, "'os.system', outside the allowlist"),
    case("graph-method-injection",
         function("twice", lambda ctx: graph_entry(call_node(
             "e", "call_method", ctx.code("numpy().tofile(CANARY) or x.relu"),
             {"__node__": "x"}))),
         UnsafeFunctionError, "'.tofile'", layer="twice"),
    case("graph-getattr-dunder",
         function("twice", lambda ctx: graph_entry(call_node(
             "e", "call_function", "getattr", {"__node__": "x"}, "__class__"))),
         UnsafeFunctionError, "'__class__'", layer="twice"),
    case("graph-get-attr-builtins",
         function("twice", lambda ctx: graph_entry(
             {"op": "get_attr", "name": "b", "target": "__builtins__", "args": [], "kwargs": {}},
             call_node("e", "call_function", "operator.getitem", {"__node__": "b"}, "open"))),
         UnsafeFunctionError, "'__builtins__'", layer="twice"),
    case("graph-node-not-an-object",
         function("twice", lambda ctx: {"kind": "graph", "nodes": [5], "captured": {}}),
         CorruptArchiveError, "graph"),
    case("registered-os-system",
         function("twice", lambda ctx: {"kind": "registered", "name": "os>system"}),
         UnknownFunctionError, "'os>system'"),
    case("registered-builtins-eval",
         function("twice", lambda ctx: {"kind": "registered", "name": "builtins>eval"}),
         UnknownFunctionError, "'builtins>eval'"),
    case("registered-name-not-a-string",
         function("twice", lambda ctx: {"kind": "registered", "name": 5}),
         UnknownFunctionError, "must be a string"),
    case("op-dunder", function("twice", op_entry("__import__", "os")),
         UnknownFunctionError, "'ops>__import__'"),
    case("op-set-epsilon", function("twice", op_entry("set_epsilon", 123.0)),
         (UnsafeFunctionError, UnknownFunctionError), "set_epsilon"),
    case("op-set-learning-phase", function("twice", op_entry("set_learning_phase", 1)),
         (UnsafeFunctionError, UnknownFunctionError), "set_learning_phase"),
    case("function-kind-unknown",
         function("twice", lambda ctx: {"kind": "pickle", "data": "gASVAAAAAAAAAAA="}),
         CorruptArchiveError, "unknown function entry kind 'pickle'", layer="twice"),
    case("function-not-an-object", function("twice", lambda ctx: "os.system"),
         CorruptArchiveError, "a function entry must be an object", layer="twice"),
    case("class-name-os.system",
         lambda ctx: ctx.layer("dense").update(class_name="os.system"),
         UnknownFunctionError, "Unknown layer class 'os.system'"),
    case("class-name-dunder",
         lambda ctx: ctx.layer("dense").update(class_name="__import__"),
         UnknownFunctionError, "Unknown layer class '__import__'"),
    case("model-class-name-subprocess",
         lambda ctx: ctx.config["model"].update(class_name="subprocess.Popen"),
         UnknownFunctionError, "Unknown layer class 'subprocess.Popen'"),
    case("tensor-arguments-not-an-object",
         config_field("tensor_arguments", lambda ctx: [], "twice"),
         CorruptArchiveError, "tensor_arguments"),
    case("dense-units-huge", config_field("units", lambda ctx: 10 ** 15, "dense"),
         CorruptArchiveError, 'more than the file'),
    case("input-shape-huge",
         config_field("batch_shape", lambda ctx: [None, 10 ** 15], "input_layer"),
         CorruptArchiveError, "shape"),
]


def _drop(name: str) -> Callable[[Ctx, list[Member]], list[Member]]:
    return lambda ctx, members: [m for m in members if m.name != name]


def _add(member: Callable[[Ctx], Member]) -> Callable[[Ctx, list[Member]], list[Member]]:
    return lambda ctx, members: [*members, member(ctx)]


def _change(name: str, **fields: Any) -> Callable[[Ctx, list[Member]], list[Member]]:
    def edit(ctx: Ctx, members: list[Member]) -> list[Member]:
        for member in members:
            if member.name == name:
                for key, value in fields.items():
                    setattr(member, key, value(member) if callable(value) else value)
        return members

    return edit


def _deflate_bomb(ctx: Ctx, members: list[Member]) -> list[Member]:
    """config.json deflated from 5 MB of JSON, its directory entry declaring 64 bytes."""
    for member in members:
        if member.name == archive.CONFIG:
            member.data += b" " * 5_000_000
            member.method, member.declared_size = 8, 64
    return members


def _hostile_config(ctx: Ctx) -> bytes:
    hostile = copy.deepcopy(ctx.config)
    for entry in hostile["model"]["config"]["layers"]:
        if entry["name"] == "twice":
            entry["config"]["function"]["source"] = ctx.code("lambda x: open(CANARY, 'w')")
    return json.dumps(hostile).encode()


CONTAINER_CASES = [
    case("empty-file", lambda ctx: b"", CorruptArchiveError, "not a readable zip"),
    case("not-a-zip", lambda ctx: json.dumps(ctx.config).encode(),
         CorruptArchiveError, "not a readable zip"),
    case("truncated-half", lambda ctx: ctx.pack()[: len(ctx.pack()) // 2],
         CorruptArchiveError, "not a readable zip"),
    case("truncated-last-byte", lambda ctx: ctx.pack()[:-1],
         CorruptArchiveError, "not a readable zip"),
    case("truncated-central-directory", lambda ctx: ctx.pack()[:-40],
         CorruptArchiveError, "not a readable zip"),
    case("member-parent-traversal", zipped(_add(lambda ctx: Member("../evil", b"x"))),
         CorruptArchiveError, "unexpected members ['../evil']"),
    case("member-absolute-path", zipped(_add(lambda ctx: Member("/abs/config.json", b"{}"))),
         CorruptArchiveError, "unexpected members ['/abs/config.json']"),
    case("member-backslash-traversal", zipped(_add(lambda ctx: Member("..\\evil", b"x"))),
         CorruptArchiveError, "unexpected members"),
    case("member-nested-config", zipped(_add(lambda ctx: Member("a/config.json", b"{}"))),
         CorruptArchiveError, "unexpected members ['a/config.json']"),
    case("duplicate-config",
         zipped(_add(lambda ctx: Member(archive.CONFIG, _hostile_config(ctx)))),
         CorruptArchiveError, "holds a member name twice"),
    case("duplicate-through-nul-byte",
         zipped(_add(lambda ctx: Member(archive.CONFIG + "\x00../evil", _hostile_config(ctx)))),
         CorruptArchiveError, "holds a member name twice"),
    case("missing-config", zipped(_drop(archive.CONFIG)),
         CorruptArchiveError, "has no config.json"),
    case("missing-weights", zipped(_drop(archive.WEIGHTS)),
         CorruptArchiveError, "has no model.safetensors"),
    case("declared-far-smaller-than-content", zipped(_change(archive.CONFIG, declared_size=16)),
         CorruptArchiveError, "config.json cannot be read"),
    case("declared-smaller-crc-of-prefix",
         zipped(_change(archive.CONFIG, declared_size=16,
                        crc=lambda m: zlib.crc32(m.data[:16]))),
         CorruptArchiveError, "config.json is not valid JSON"),
    case("declared-larger-than-content",
         zipped(_change(archive.CONFIG, declared_size=lambda m: len(m.data) + 100)),
         CorruptArchiveError, "but declares"),
    case("deflate-bomb-declared-small", zipped(_deflate_bomb),
         CorruptArchiveError, "refuses compressed"),
    case("json-declared-over-limit",
         zipped(_change(archive.CONFIG, declared_size=archive.MAX_JSON_BYTES + 1)),
         CorruptArchiveError, "over the 67108864-byte limit"),
    case("weights-declared-over-limit-zip64",
         zipped(_change(archive.WEIGHTS, zip64_size=archive.MAX_WEIGHTS_BYTES + 1)),
         CorruptArchiveError, "model.safetensors declares 68719476737 bytes"),
    case("local-name-differs", zipped(_change(archive.CONFIG, local_name="../evil.json")),
         CorruptArchiveError, "config.json cannot be read"),
    case("encrypted-flag", zipped(_change(archive.CONFIG, flags=1)),
         CorruptArchiveError, "config.json cannot be read"),
    case("unknown-compression", zipped(_change(archive.WEIGHTS, method=99)),
         CorruptArchiveError, "refuses compressed"),
    case("bad-crc", zipped(_change(archive.CONFIG, crc=lambda m: zlib.crc32(m.data) ^ 1)),
         CorruptArchiveError, "config.json cannot be read"),
]

JSON_CASES = [
    case("config-not-utf8", raw_config(lambda ctx: b"\xff\xfe{}"),
         CorruptArchiveError, "config.json is not valid JSON"),
    case("config-not-json", raw_config(lambda ctx: b"import os; os.system('x')"),
         CorruptArchiveError, "config.json is not valid JSON"),
    case("config-nan", raw_config(lambda ctx: b'{"format_version": NaN}'),
         CorruptArchiveError, "the constant NaN is not allowed"),
    case("config-infinity",
         raw_config(lambda ctx: json.dumps(ctx.config).replace(
             '"units": 3', '"units": -Infinity').encode()),
         CorruptArchiveError, "the constant -Infinity is not allowed"),
    case("config-a-list", raw_config(lambda ctx: b"[1, 2]"),
         CorruptArchiveError, "config.json must hold a JSON object"),
    case("config-huge-integer",
         raw_config(lambda ctx: b'{"format_version": 1' + b"0" * 5000 + b"}"),
         CorruptArchiveError, "config.json is not valid JSON"),
    case("config-nested-beyond-the-parser",
         raw_config(lambda ctx: b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
         LimitExceededError, "nests 100001 levels deep; the config nests too deeply"),
    case("config-nested-beyond-the-rebuilder", deep_args,
         LimitExceededError, "the config nests too deeply"),
    case("format-version-2", config_field("format_version", lambda ctx: 2),
         LoadError, "has format version 2"),
    case("format-version-missing", lambda ctx: ctx.config.pop("format_version") and None,
         LoadError, "has format version None"),
    case("format-version-string", config_field("format_version", lambda ctx: "1"),
         LoadError, "has format version '1'"),
    case("format-version-true", config_field("format_version", lambda ctx: True),
         LoadError, "format version True"),
    case("model-entry-missing", lambda ctx: ctx.config.pop("model") and None,
         CorruptArchiveError, "config.json has no model entry"),
    case("model-config-not-an-object", config_field("model", lambda ctx: {
        "class_name": "Functional", "name": "f", "config": None}),
        CorruptArchiveError, "the config cannot be rebuilt"),
    case("layers-not-a-list",
         lambda ctx: ctx.config["model"]["config"].update(layers=5),
         CorruptArchiveError, "the config cannot be rebuilt"),
    case("inbound-ref-to-nowhere",
         lambda ctx: ctx.layer("dense")["inbound_nodes"][0]["args"][0].update(
             __ref__=["nowhere", 0, 0]),
         CorruptArchiveError, "read tensors that no layer of the config produces"),
    case("layer-name-is-a-module-path", config_field("name", lambda ctx: "os.path", "twice"),
         CorruptArchiveError, "the config cannot be rebuilt"),
    case("hostile-source-behind-a-bad-version",
         lambda ctx: (source("twice", "lambda x: open(CANARY, 'w')")(ctx),
                      ctx.config.update(format_version=99))[0],
         LoadError, "has format version 99"),
]


def _transpose_kernel(tensors: dict[str, torch.Tensor]) -> None:
    """The same bytes, the kernel's two axes swapped."""
    tensors["dense.kernel"] = tensors["dense.kernel"].t().contiguous()


def _retype(key: str, dtype: str) -> Callable[[dict[str, Any]], None]:
    return lambda header: header[key].update(dtype=dtype)


WEIGHT_CASES = [
    case("weights-not-safetensors", weights(lambda ctx: b"\x00" * 64),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-empty", weights(lambda ctx: b""),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-header-length-lies",
         weights(lambda ctx: join_safetensors(*ctx.weights(), length=2 ** 40)),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-offsets-beyond-data",
         weights(header_edit(lambda h: h["mix.scale"].update(data_offsets=[108, 10 ** 9]))),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-overlapping-offsets",
         weights(header_edit(lambda h: h["mix.scale"].update(data_offsets=[0, 12]))),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-data-truncated", weights(lambda ctx: ctx.members[archive.WEIGHTS][:-4]),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-header-not-json",
         weights(lambda ctx: (16).to_bytes(8, "little") + b"{'__import__': }"),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-dtype-size-lie", weights(header_edit(_retype("mix.scale", "F64"))),
         CorruptArchiveError, "model.safetensors is not a valid safetensors file"),
    case("weights-wrong-dtype", weights(header_edit(_retype("mix.scale", "I32"))),
         CorruptArchiveError, "weight 'mix.scale' is (3,) torch.int32 in the file"),
    case("weights-wrong-shape",
         weights(header_edit(lambda h: h["mix.scale"].update(shape=[1, 3]))),
         CorruptArchiveError, "weight 'mix.scale' is (1, 3) torch.float32 in the file"),
    case("weights-wrong-shape-same-size",
         weights(tensors_edit(lambda t: _transpose_kernel(t))),
         CorruptArchiveError, "weight 'dense.kernel' is (3, 4)"),
    case("weights-missing-key", weights(tensors_edit(lambda t: t.pop("mix.scale"))),
         CorruptArchiveError, "missing ['mix.scale']"),
    case("weights-extra-key",
         weights(tensors_edit(lambda t: t.update(evil=torch.zeros(1)))),
         CorruptArchiveError, "unexpected ['evil']"),
    case("weights-transposed-list-lies",
         weights(header_edit(lambda h: h["__metadata__"].update(
             lamina_transposed=json.dumps(["mix.scale"])))),
         CorruptArchiveError, "lists transposed weights that are not 2-D"),
    case("weights-transposed-list-not-json",
         weights(header_edit(lambda h: h["__metadata__"].update(lamina_transposed="[[["))),
         CorruptArchiveError, "lists transposed weights"),
    case("weight-alias-wrong-shape",
         lambda ctx: (weights(tensors_edit(lambda t: t.pop("mix.scale")))(ctx),
                      ctx.config.update(weight_aliases={"mix.scale": "dense.kernel"}))[0],
         CorruptArchiveError, "weight 'mix.scale' is (4, 3)"),
    case("weight-aliases-not-an-object", config_field("weight_aliases", lambda ctx: ["x"]),
         CorruptArchiveError, "weight aliases must map names to names"),
    case("optimizer-member-garbage",
         lambda ctx: ctx.members.update({archive.OPTIMIZER: b"\x01" * 40}),
         CorruptArchiveError, "optimizer.safetensors is not a valid safetensors file"),
]

CORPUS = (SOURCE_ATTACKS + CAPTURED_ATTACKS + TIER_ATTACKS + CONTAINER_CASES + JSON_CASES
          + WEIGHT_CASES)


# ---------------------------------------------------------------------- the watchers
def _global_state() -> dict[str, Any]:
    return {"epsilon": K.epsilon(), "learning_phase": K.learning_phase(),
            "default_dtype": torch.get_default_dtype()}


@pytest.fixture
def forbidden_loaders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record any call of pickle, marshal or torch.load; restore lamina's global state."""
    calls: list[str] = []

    def recorder(name: str) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called while loading")

        return record

    for module, name in [(pickle, "loads"), (pickle, "load"), (marshal, "loads"),
                         (marshal, "load"), (torch, "load")]:
        monkeypatch.setattr(module, name, recorder(f"{module.__name__}.{name}"))
    before = _global_state()
    try:
        yield calls
    finally:
        K.set_epsilon(before["epsilon"])
        K.set_learning_phase(before["learning_phase"])
        torch.set_default_dtype(before["default_dtype"])


def test_the_clean_archive_loads_and_predicts_the_same(clean: Clean, tmp_path: Path,
                                                       forbidden_loaders: list[str]) -> None:
    path = tmp_path / "clean.lamina"
    path.write_bytes(Ctx(clean, tmp_path / "canary").pack())
    loaded = lamina.load_model(path)
    data = torch.randn(5, 4)
    torch.testing.assert_close(loaded(data), clean.model(data))
    kinds = [(e["name"], (e["config"].get("function") or {}).get("kind"))
             for e in clean.config["model"]["config"]["layers"]]
    assert kinds[:5] == [("input_layer", None), ("dense", None), ("twice", "source"),
                         ("centre", "source"), ("mix", "source")]
    assert kinds[5][0].startswith("add") and kinds[5][1] == "op"
    assert forbidden_loaders == []


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({p.id for p in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("hostile", CORPUS)
def test_hostile_archive_is_refused_and_runs_nothing(
        hostile: Case, clean: Clean, tmp_path: Path, forbidden_loaders: list[str]) -> None:
    canary = tmp_path / "canary"
    ctx = Ctx(clean, canary)
    data = hostile.mutate(ctx)
    path = tmp_path / "hostile.lamina"
    path.write_bytes(ctx.pack() if data is None else data)
    before = _global_state()
    result = None
    with pytest.raises(hostile.error) as raised:
        result = lamina.load_model(path, safe_mode=hostile.safe_mode)
    error = raised.value
    assert isinstance(error, LoadError), type(error).__mro__
    assert hostile.match in str(error), str(error)
    if hostile.layer is not None:
        assert f"'{hostile.layer}'" in str(error), str(error)
    assert result is None
    assert not canary.exists(), "a payload from the file ran"
    assert _global_state() == before
    assert forbidden_loaders == []


def test_annotations_are_dropped_not_evaluated(clean: Clean, tmp_path: Path,
                                               forbidden_loaders: list[str]) -> None:
    """Annotations would run when the def is defined; the loader removes them instead."""
    canary = tmp_path / "canary"
    ctx = Ctx(clean, canary)
    source("centre", "def centre(x: open(CANARY, 'w')) -> open(CANARY, 'w'):\n"
                     "    return x - K.mean(x, axis=-1, keepdims=True)\n")(ctx)
    path = tmp_path / "annotated.lamina"
    path.write_bytes(ctx.pack())
    loaded = lamina.load_model(path)
    data = torch.randn(2, 4)
    torch.testing.assert_close(loaded(data), clean.model(data))
    assert not canary.exists()
    assert forbidden_loaders == []


def test_a_late_failure_returns_no_model_and_changes_nothing(
        clean: Clean, tmp_path: Path, forbidden_loaders: list[str]) -> None:
    """A file that fails at the last check (a weight's shape) leaves the world as it was."""
    ctx = Ctx(clean, tmp_path / "canary")
    weights(header_edit(lambda h: h["mix.scale"].update(shape=[1, 3])))(ctx)
    path = tmp_path / "late.lamina"
    path.write_bytes(ctx.pack())
    good = tmp_path / "good.lamina"
    good.write_bytes(Ctx(clean, tmp_path / "canary").pack())
    reference = lamina.load_model(good)
    state = {k: v.detach().clone() for k, v in reference.state_dict().items()}
    before = _global_state()
    for _ in range(2):  # twice: a failed load leaves nothing behind that changes the next
        with pytest.raises(CorruptArchiveError, match="mix.scale"):
            lamina.load_model(path)
    assert _global_state() == before
    for key, value in reference.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert lamina.load_model(good) is not reference
    assert forbidden_loaders == []


# ---------------------------------------------------------------------- load_weights
def _weights_cases() -> list[Any]:
    def header(edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
        def make(data: bytes) -> bytes:
            head, body = split_safetensors(data)
            edit(head)
            return join_safetensors(head, body)

        return make

    def tensors(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[bytes], bytes]:
        def make(data: bytes) -> bytes:
            head, _ = split_safetensors(data)
            loaded = load_safetensors(data)
            edit(loaded)
            return save_safetensors(loaded, metadata=head.get("__metadata__"))

        return make

    def renamed(order: str) -> Callable[[bytes], bytes]:
        def make(data: bytes) -> bytes:
            loaded = load_safetensors(data)
            return save_safetensors({f"w{i}": t for i, t in enumerate(loaded.values())},
                                    metadata={"lamina_order": order})

        return make

    plain = "is not a valid safetensors file"
    return [
        pytest.param(lambda d: b"", plain, id="empty"),
        pytest.param(lambda d: d[: len(d) // 2], plain, id="truncated"),
        pytest.param(lambda d: b"PK\x03\x04" + d, plain, id="garbage-prefix"),
        pytest.param(lambda d: join_safetensors(*split_safetensors(d), length=2 ** 40), plain,
                     id="header-length-lies"),
        pytest.param(header(lambda h: h["mix.scale"].update(data_offsets=[0, 10 ** 9])),
                     plain, id="offsets-beyond-data"),
        pytest.param(header(lambda h: h["mix.scale"].update(dtype="I32")),
                     "weight 'mix.scale' is (3,) torch.int32", id="wrong-dtype"),
        pytest.param(header(lambda h: h["mix.scale"].update(shape=[3, 1])),
                     "weight 'mix.scale' is (3, 1)", id="wrong-shape"),
        pytest.param(tensors(lambda t: t.pop("mix.scale")), "missing ['mix.scale']",
                     id="missing-key"),
        pytest.param(tensors(lambda t: t.update(evil=torch.zeros(1))), "unexpected ['evil']",
                     id="extra-key"),
        pytest.param(tensors(lambda t: _transpose_kernel(t)),
                     "weight 'dense.kernel' is (3, 4)", id="one-bad-among-good"),
        pytest.param(renamed(json.dumps(["a", "b", "c", "d", "e"])), "missing",
                     id="order-names-other-tensors"),
        pytest.param(renamed("[[["), "do not match", id="order-not-json"),
        pytest.param(renamed(json.dumps([1, "w0", "w1", "w2", "w3"])), "do not match",
                     id="order-mixed-types"),
    ]


@pytest.mark.parametrize(("damage", "match"), _weights_cases())
def test_damaged_load_weights_changes_no_weight(damage: Callable[[bytes], bytes], match: str,
                                                tmp_path: Path,
                                                forbidden_loaders: list[str]) -> None:
    source_model = build_model()
    path = tmp_path / "weights.safetensors"
    api.save_weights(source_model, path)
    path.write_bytes(damage(path.read_bytes()))
    torch.manual_seed(1)
    target = build_model()
    before = {k: v.detach().clone() for k, v in target.state_dict().items()}
    with pytest.raises(LoadError) as raised:
        api.load_weights(target, path)
    assert match in str(raised.value), str(raised.value)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed"
    assert forbidden_loaders == []


def test_load_weights_round_trip_still_works(tmp_path: Path) -> None:
    """The control for the damaged cases: the same file, undamaged, loads."""
    source_model = build_model()
    path = tmp_path / "weights.safetensors"
    api.save_weights(source_model, path)
    torch.manual_seed(1)
    target = build_model()
    api.load_weights(target, path)
    for key, value in target.state_dict().items():
        assert torch.equal(value, source_model.state_dict()[key]), key


def test_missing_or_unreadable_paths_are_load_errors(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="No such file"):
        lamina.load_model(tmp_path / "absent.lamina")
    with pytest.raises(LoadError, match="No such file"):
        api.load_weights(build_model(), tmp_path / "absent.safetensors")
    with pytest.raises(CorruptArchiveError):
        lamina.load_model(tmp_path)  # a directory


def test_load_weights_on_a_directory_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError):
        api.load_weights(build_model(), tmp_path)


def test_streams_are_read_like_files(clean: Clean, tmp_path: Path) -> None:
    """A file object goes through the same checks as a path."""
    ctx = Ctx(clean, tmp_path / "canary")
    source("twice", "lambda x: open(CANARY, 'w')")(ctx)
    with pytest.raises(UnsafeFunctionError, match="the name 'open'"):
        lamina.load_model(io.BytesIO(ctx.pack()))
    assert not (tmp_path / "canary").exists()

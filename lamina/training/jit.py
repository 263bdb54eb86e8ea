"""``compile(jit=True)``: the train, test and predict steps run through ``torch.compile``.

Each step function is compiled once; the batch axis of its inputs is marked dynamic, so a
smaller last batch reuses the compiled graph instead of compiling another. Lambda layers
compile like plain code: a function loaded from a ``.lamina`` file is an ordinary Python
function (its captured modules are plain objects), so Dynamo traces it as it would the
original. Its globals have no ``__name__``, so Dynamo reads them as the dict they are.

Dynamo reads the globals of a function whose ``__name__`` is set through the module of
that name (``importlib.import_module``; see ``get_globals_source_and_value`` in
``torch/_dynamo/symbolic_convert.py``). Code run with ``exec`` in a namespace that names a
module nobody registered cannot be compiled: lamina says which layer and how to fix it
(:class:`UnimportableModuleError`), and never registers modules itself.

A Lambda that Dynamo cannot trace whole (``print``, ``.item()``, ``.numpy()``, an ``if`` on
a tensor's value) makes a *graph break*: torch runs that part in Python and compiles the
rest. That works, but is slower, so while lamina's compiled steps run, :class:`BreakWatch`
listens to Dynamo's graph-break log, finds which layer's code the break is in (by the code
object of the Lambda's function, or of the layer class's ``call``) and warns once per
layer with a :class:`GraphBreakWarning`. Breaks outside the model's layers (inside torch's
``DistributedDataParallel``, say) are torch's business and not reported. Breaks are found
while Dynamo compiles, so the watch listens from the start of a compilation (Dynamo's
compile-start callback) to the end of the step; a step served by an already compiled graph
touches no logger (each ``Logger.setLevel`` clears the cache of every logger torch made,
~70 us, which made ``train_on_batch(jit=True)`` slower than Keras's). A model with breaks
listens on every call, as the resumed code runs then too.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import torch

from lamina.errors import LaminaError
from lamina.layers.lambda_layer import Lambda
from lamina.layers.layer import Layer
from lamina.utils import tree

# Dynamo reads ``.grad`` of intermediate tensors when it resumes after a graph break and
# hides the warning that causes, except when warnings are errors (``-W error``, pytest's
# ``filterwarnings = error``), where the hiding comes too late and the step fails.
_NON_LEAF_GRAD = "The .grad attribute of a Tensor that is not a leaf Tensor"

_AT = re.compile(r"in user code at (?P<file>.+?):(?P<line>\d+)\s*$", re.MULTILINE)
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_REASON = re.compile(r"Graph Break Reason: (?P<text>.+)")
_EXPLANATION = re.compile(r"Explanation: (?P<text>.+)")


class GraphBreakWarning(UserWarning):
    """A layer's code cannot be compiled whole by ``torch.compile``; it runs, more slowly."""


class UnimportableModuleError(LaminaError, ImportError):
    """A layer's code was run in a namespace named after a module that cannot be imported,
    so ``torch.compile`` cannot read its globals; the message names the layer."""


def import_inductor_quietly() -> None:
    """Import torch's inductor backend without the DeprecationWarning it raises inside torch.

    Importing inductor defines TorchScript helpers that emit a DeprecationWarning from
    inside torch; nothing a lamina user could act on, and fatal under ``-W error``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # Imported here, on first use of the backend: inductor takes most of a second to
        # import, which a model that is never compiled should not pay.
        import torch._inductor.compile_fx  # noqa: F401


def backend_name(jit: bool | str) -> str:
    """The ``torch.compile`` backend for ``compile(jit=...)``: ``True`` is inductor."""
    return "inductor" if jit is True else str(jit)


class CompiledStep:
    """A step function through ``torch.compile``, reporting graph breaks after each call."""

    __slots__ = ("compiled", "watch")

    def __init__(self, function: Callable[..., Any], backend: str, watch: BreakWatch) -> None:
        if backend == "inductor":
            import_inductor_quietly()
        self.compiled = torch.compile(function, backend=backend)
        self.watch = watch

    def __call__(self, *args: Any) -> Any:
        for leaf in tree.flatten(args):
            if isinstance(leaf, torch.Tensor) and leaf.dim():
                torch._dynamo.maybe_mark_dynamic(leaf, 0)
        try:
            result = self.compiled(*args)
        except (torch._dynamo.exc.TorchDynamoException, ImportError) as error:
            unimportable = _unimportable_code(self.watch.model)
            if unimportable:
                raise UnimportableModuleError(_explain_unimportable(unimportable)) from error
            raise
        if self.watch.messages:
            self.watch.report()
        return result


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _graph_break_loggers() -> list[logging.Logger]:
    # Imported here, when a compiled step first runs: torch._dynamo takes about a second to
    # import, which ``import lamina`` should not pay for every model that never compiles.
    from torch._dynamo import convert_frame, symbolic_convert

    return [module.graph_break_log for module in (symbolic_convert, convert_frame)
            if isinstance(getattr(module, "graph_break_log", None), logging.Logger)]


class BreakWatch:
    """While active (``with watch:``), collects Dynamo's graph breaks and warns once per
    layer of ``model`` that causes one. Re-entrant: ``evaluate`` inside ``fit`` nests.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.reported: set[tuple[str, ...]] = set()
        self._collector = _Collector()
        self._depth = 0
        self._restore: list[tuple[logging.Logger, int, bool]] = []
        self._warnings: Any = None
        #: Listen on every call, not only from a compilation's start (graph breaks seen).
        self._always = False
        #: The watch armed when this one was (restored when this scope ends).
        self.outer: BreakWatch | None = None

    @property
    def messages(self) -> list[str]:
        return self._collector.messages

    def __enter__(self) -> BreakWatch:
        self._depth += 1
        if self._depth == 1 and (self._always or not _arm(self)):
            self._listen()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._depth -= 1
        if self._depth:
            return
        _disarm(self)
        if self._warnings is not None:
            self._stop_listening(exc_info)
        if self.messages:
            # A model with graph breaks runs resumed code on every call, which reads the
            # .grad of intermediates (_NON_LEAF_GRAD): listen from the start from now on.
            self._always = True
            if exc_info[0] is None:
                self.report()
        self.messages.clear()

    def _listen(self) -> None:
        """Collect the graph-break log (and hide the .grad warning) until the scope ends."""
        if self._warnings is not None:
            return
        for logger in _graph_break_loggers():
            self._restore.append((logger, logger.level, logger.propagate))
            if not logger.isEnabledFor(logging.DEBUG):
                # The user has not asked for these logs: collect them without printing.
                logger.setLevel(logging.DEBUG)
                logger.propagate = False
            logger.addHandler(self._collector)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", message=_NON_LEAF_GRAD, category=UserWarning)

    def _stop_listening(self, exc_info: tuple) -> None:
        for logger, level, propagate in self._restore:
            logger.removeHandler(self._collector)
            logger.setLevel(level)
            logger.propagate = propagate
        self._restore = []
        self._warnings.__exit__(*exc_info)
        self._warnings = None

    def report(self) -> None:
        """Warn about each collected break in a layer not reported before."""
        messages = list(self.messages)
        self.messages.clear()
        for message in messages:
            found = _attribute(self.model, message)
            if found is None:
                continue
            layers, where = found
            key = tuple(layer.name for layer in layers)
            if key in self.reported:
                continue
            self.reported.add(key)
            warnings.warn(_describe(layers, where, _reason(message)), GraphBreakWarning,
                          stacklevel=3)


#: The watch whose scope the current thread is in: a compilation that starts there makes it
#: listen (``_on_compile_start``). Listening costs ~70 us a call (each ``Logger.setLevel``
#: clears the cache of every logger torch made), so a call that compiles nothing does not.
_armed = threading.local()


def _arm(watch: BreakWatch) -> bool:
    """Make ``watch`` listen when a compilation starts in its scope; ``False`` when this
    torch has no compile-start callbacks (the watch then listens for its whole scope)."""
    # Deferred: torch._dynamo is imported by torch.compile, which made the steps watched.
    from torch._dynamo import callback as dynamo_callback

    starts = getattr(getattr(dynamo_callback, "callback_handler", None), "start_callbacks",
                     None)
    if not isinstance(starts, list):
        return False
    if _on_compile_start not in starts:  # first use, or after torch._dynamo.reset()
        dynamo_callback.on_compile_start(_on_compile_start)
    watch.outer = getattr(_armed, "watch", None)  # a scope inside another model's
    _armed.watch = watch
    return True


def _disarm(watch: BreakWatch) -> None:
    if getattr(_armed, "watch", None) is watch:
        _armed.watch, watch.outer = watch.outer, None


def _on_compile_start(*_: Any) -> None:
    """Dynamo starts compiling a frame: the watch of this thread's scope, if any, listens."""
    watch = getattr(_armed, "watch", None)
    if watch is not None:
        watch._listen()


def _locations(message: str) -> list[tuple[str, int]]:
    """Code locations in a graph-break message, innermost first."""
    found = [(m["file"], int(m["line"])) for m in _AT.finditer(message)]
    frames = [(m["file"], int(m["line"])) for m in _FRAME.finditer(message)]
    return found + frames[::-1]


def _reason(message: str) -> str:
    for pattern in (_EXPLANATION, _REASON):
        match = pattern.search(message)
        if match:
            return match["text"].strip()
    return message.strip().splitlines()[0] if message.strip() else "unknown reason"


def _layer_function(module: torch.nn.Module) -> Any:
    """The code that is the layer's own: a Lambda's function (a module's ``forward``), the
    ``call`` of another layer class; ``None`` for a model (a layer with ``layers``), whose
    ``call`` only runs its layers, and for modules that are not layers."""
    if isinstance(module, Lambda):
        function = module.function
        return type(function).forward if isinstance(function, torch.nn.Module) else function
    if isinstance(module, Layer) and not hasattr(type(module), "layers"):
        return type(module).call
    return None


def _layer_code(module: torch.nn.Module) -> Any:
    return getattr(_layer_function(module), "__code__", None)


def _unimportable_code(model: torch.nn.Module) -> list[tuple[Any, str]]:
    """The layers of ``model`` (models too: Dynamo inlines a subclassed model's ``call``)
    whose code has globals named after a module that is neither in ``sys.modules`` nor
    importable, with that name."""
    found = []
    for module in model.modules():
        own_call = getattr(type(module), "call", None) if isinstance(module, Layer) else None
        for function in (_layer_function(module), own_call):
            namespace = getattr(function, "__globals__", None)
            name = namespace.get("__name__") if isinstance(namespace, dict) else None
            if isinstance(name, str) and not _importable(name):
                found.append((module, name))
                break
    return found


def _importable(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is missing, a bad name
        return False


def _explain_unimportable(found: list[tuple[Any, str]]) -> str:
    subjects = ", ".join(_subject([layer]) for layer, _ in found)
    names = ", ".join(sorted({f"'{name}'" for _, name in found}))
    whose = "its" if len(found) == 1 else "their"
    return (
        f"{subjects} cannot be compiled by torch.compile (compile(jit=...)): {whose} code "
        f"runs in a namespace whose __name__ is {names}, but no module of that name can be "
        "imported, and torch.compile reads the globals of such code through the module its "
        "__name__ names (importlib.import_module). Define the code in a module Python can "
        "import, or in the script being run; when you run a source file yourself "
        "(importlib.util.module_from_spec, exec), register the module in sys.modules "
        "first, as importlib's recipe for importing a source file does; or compile the "
        "model without jit."
    )


def _attribute(model: torch.nn.Module, message: str) -> tuple[list[Any], str] | None:
    """The layers whose code holds the innermost location of a break, and that location."""
    return layers_at(model, _locations(message))


def layers_at(model: torch.nn.Module, locations: list[tuple[str, int]]
              ) -> tuple[list[Any], str] | None:
    """The layers of ``model`` whose code (a Lambda's function, another layer's ``call``)
    holds the first of ``locations`` (``(filename, line)``, innermost first) that any
    layer's code holds, and that location as ``file:line``; ``None`` if none does."""
    spans = []
    for module in model.modules():
        code = _layer_code(module)
        if code is not None:
            lines = {line for _, _, line in code.co_lines() if line is not None}
            spans.append((code.co_filename, lines, module))
    for filename, line in locations:
        layers = [module for name, lines, module in spans if name == filename and line in lines]
        if layers:
            unique = list({id(layer): layer for layer in layers}.values())
            return unique, f"{filename}:{line}"
    return None


def _subject(layers: list[Any]) -> str:
    first = layers[0]
    names = ", ".join(f"'{layer.name}'" for layer in layers)
    if isinstance(first, Lambda):
        return f"Lambda {names} ({first.source})"
    return f"Layer {names} ({type(first).__name__})"


def _describe(layers: list[Any], where: str, reason: str) -> str:
    return (
        f"{_subject(layers)} breaks the graph that compile(jit=True) builds, at {where}: "
        f"{reason.rstrip('.')}. The model still trains and predicts, with that part run "
        "outside the compiled graph, which is slower. To compile it whole, avoid Python side "
        "effects (print, .item(), .numpy(), an if on a tensor's value) in that code."
    )
